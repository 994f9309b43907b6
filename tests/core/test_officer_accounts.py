import pytest

from app.core.errors import Conflict, InvalidInput, NotFound
from app.officers import service


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
