"""`rtbf officer disable|enable|set-password|sign-out`: each ends the officer's server-side sessions as it says."""

from __future__ import annotations

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from app.officers import service as officer_service
from app.officers import sessions as officer_sessions
from app.officers.models import OfficerSession, SessionEndReason

EMAIL = "dpo@example.org"
PASSWORD = "a long enough password"


def _session(url: str) -> Session:
    return Session(create_engine(url, poolclass=NullPool), expire_on_commit=False)


def _officer_with_a_session(url: str) -> tuple[str, str]:
    with _session(url) as db:
        officer = officer_service.create_officer(session=db, email=EMAIL, password=PASSWORD, name="DPO")
        token = officer_sessions.start(session=db, officer_id=officer.id)
        db.commit()
        return officer.id, token


def _live(url: str, officer_id: str, token: str) -> bool:
    with _session(url) as db:
        officer = officer_service.current_session_officer(session=db, officer_id=officer_id, session_token=token)
        return officer is not None


def _end_reasons(url: str) -> set[SessionEndReason | None]:
    with _session(url) as db:
        return set(db.scalars(select(OfficerSession.revoked_reason)))


def test_disable_ends_sessions_and_enable_allows_sign_in_again(cli, runner, cli_database) -> None:
    officer_id, token = _officer_with_a_session(cli_database)
    assert _live(cli_database, officer_id, token)
    result = runner.invoke(cli, ["officer", "disable", EMAIL])
    assert result.exit_code == 0, result.output
    assert not _live(cli_database, officer_id, token)
    assert _end_reasons(cli_database) == {SessionEndReason.officer_disabled}
    with _session(cli_database) as db:
        assert officer_service.authenticate(session=db, email=EMAIL, password=PASSWORD) is None

    assert runner.invoke(cli, ["officer", "enable", EMAIL]).exit_code == 0
    assert not _live(cli_database, officer_id, token)  # the old session stays ended
    with _session(cli_database) as db:
        assert officer_service.authenticate(session=db, email=EMAIL, password=PASSWORD) is not None

    unknown = runner.invoke(cli, ["officer", "disable", "nobody@example.org"])
    assert unknown.exit_code == 1 and "No officer with this email" in unknown.output


def test_set_password_prompts_and_ends_sessions(cli, runner, cli_database) -> None:
    officer_id, token = _officer_with_a_session(cli_database)
    result = runner.invoke(cli, ["officer", "set-password", EMAIL], input="the new passphrase\nthe new passphrase\n")
    assert result.exit_code == 0, result.output
    assert "the new passphrase" not in result.output
    assert not _live(cli_database, officer_id, token)
    assert _end_reasons(cli_database) == {SessionEndReason.password_changed}
    with _session(cli_database) as db:
        assert officer_service.authenticate(session=db, email=EMAIL, password=PASSWORD) is None
        assert officer_service.authenticate(session=db, email=EMAIL, password="the new passphrase") is not None
    short = runner.invoke(cli, ["officer", "set-password", EMAIL, "--password", "short"])
    assert short.exit_code == 1 and "12 characters" in short.output


def test_sign_out_ends_every_session(cli, runner, cli_database) -> None:
    officer_id, token = _officer_with_a_session(cli_database)
    result = runner.invoke(cli, ["officer", "sign-out", EMAIL])
    assert result.exit_code == 0 and "1 session ended." in result.output
    assert not _live(cli_database, officer_id, token)
    assert _end_reasons(cli_database) == {SessionEndReason.revoked}
    again = runner.invoke(cli, ["officer", "sign-out", EMAIL])
    assert again.exit_code == 0 and "0 sessions ended." in again.output
