import pytest

from app.core.errors import Conflict, InvalidInput, NotFound
from app.officers import service
from app.officers import sessions as officer_sessions


def test_create_and_authenticate(session) -> None:
    officer = service.create_officer(session=session, email=" DPO@Example.org", password="long enough password",
                                     name="Data Protection Officer")
    assert officer.email == "dpo@example.org" and officer.password_hash.startswith("$argon2")
    assert service.authenticate(session=session, email="dpo@example.org", password="long enough password").id == officer.id
    assert service.authenticate(session=session, email="dpo@example.org", password="wrong password!!") is None
    assert service.authenticate(session=session, email="nobody@example.org", password="long enough password") is None
    officer.active = False
    assert service.authenticate(session=session, email="dpo@example.org", password="long enough password") is None
    assert service.get_officer(session=session, officer_id=officer.id).id == officer.id
    with pytest.raises(NotFound):
        service.get_officer(session=session, officer_id="missing")


def test_duplicate_and_invalid_officers_are_refused(session) -> None:
    service.create_officer(session=session, email="a@example.org", password="long enough password", name="A")
    with pytest.raises(Conflict):
        service.create_officer(session=session, email="A@example.org", password="long enough password", name="B")
    for email, password, name in [("not-an-email", "long enough password", "C"), ("c@example.org", "short", "C"),
                                  ("c@example.org", "long enough password", " ")]:
        with pytest.raises(InvalidInput):
            service.create_officer(session=session, email=email, password=password, name=name)
    assert service.count_officers(session=session) == 1


def test_changing_ones_own_password(session, settings) -> None:
    officer = service.create_officer(session=session, email="dpo@example.org", password="long enough password",
                                     name="DPO")
    old_hash = officer.password_hash
    laptop = officer_sessions.start(session=session, officer_id=officer.id)
    phone = officer_sessions.start(session=session, officer_id=officer.id)

    with pytest.raises(service.WrongCurrentPassword) as wrong:
        service.change_password(session=session, officer_id=officer.id, current_password="not the password",
                                new_password="a brand new passphrase", client_ip="192.0.2.1", settings=settings)
    assert wrong.value.keep_changes  # the failed guess is committed: it counts towards the throttle
    with pytest.raises(InvalidInput, match="12 characters"):
        service.change_password(session=session, officer_id=officer.id, current_password="long enough password",
                                new_password="short", client_ip="192.0.2.1", settings=settings)
    assert officer.password_hash == old_hash
    assert officer_sessions.resolve(session=session, token=laptop, officer_id=officer.id) is not None

    token = service.change_password(session=session, officer_id=officer.id, current_password="long enough password",
                                    new_password="a brand new passphrase", client_ip="192.0.2.1", settings=settings)
    assert [officer_sessions.resolve(session=session, token=t, officer_id=officer.id) for t in (laptop, phone)] \
        == [None, None]
    assert officer_sessions.resolve(session=session, token=token, officer_id=officer.id) is not None
    assert service.authenticate(session=session, email="dpo@example.org", password="long enough password") is None
    assert service.authenticate(session=session, email="dpo@example.org", password="a brand new passphrase")
