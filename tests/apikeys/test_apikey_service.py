import pytest
from sqlalchemy import text

from app.apikeys import service
from app.core.errors import InvalidInput, NotFound


def test_create_and_authenticate(session) -> None:
    key, token = service.create_key(session=session, name="Legal tooling", scopes=["requests:read", "audit:read"])
    assert token.startswith(f"rtbf_{key.prefix}_") and key.scopes == ["audit:read", "requests:read"]
    stored = session.execute(text("SELECT key_hash FROM api_keys WHERE id = :id"), {"id": key.id}).scalar_one()
    assert token not in stored and token.split("_", 2)[2] not in stored
    assert service.authenticate_key(session=session, token=token).id == key.id


@pytest.mark.parametrize("mangle", [lambda t: t + "x", lambda t: t[:-1], lambda t: "rtbf_000000000000_" + t.split("_", 2)[2],
                                    lambda t: "", lambda t: "Bearer " + t, lambda t: t.replace("rtbf_", "xxxx_")])
def test_wrong_tokens_are_refused(session, mangle) -> None:
    _, token = service.create_key(session=session, name="k", scopes=["requests:read"])
    assert service.authenticate_key(session=session, token=mangle(token)) is None


def test_revoked_key_is_refused(session) -> None:
    key, token = service.create_key(session=session, name="k", scopes=["requests:read"])
    service.revoke_key(session=session, key_id=key.prefix)
    assert service.authenticate_key(session=session, token=token) is None
    with pytest.raises(NotFound):
        service.revoke_key(session=session, key_id="nope")


@pytest.mark.parametrize(("name", "scopes"), [("k", []), ("k", ["requests:delete"]), ("", ["requests:read"]),
                                             ("x" * 121, ["requests:read"])])
def test_bad_keys_are_refused_and_nothing_is_stored(session, name, scopes) -> None:
    with pytest.raises(InvalidInput):
        service.create_key(session=session, name=name, scopes=scopes)
    assert service.list_keys(session=session) == []
