"""Sign-in throttling that cannot be used to lock an officer out: a hard block per client address, a growing
delay (never a block) per account, and check-then-record atomic across processes (PostgreSQL and SQLite)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.core.config import Settings
from app.core.db import make_engine, make_session_factory, unit_of_work, utcnow
from app.core.migrate import upgrade
from app.core.security import blind_index
from app.officers import service, throttle
from app.officers.models import SignInFailure

EMAIL = "dpo@example.org"
PASSWORD = "correct horse battery staple"
WRONG = "wrong password!"
ATTACKER, OFFICE = "203.0.113.66", "198.51.100.7"


@pytest.fixture
def officer_email(session: Session) -> str:
    service.create_officer(session=session, email=EMAIL, password=PASSWORD, name="DPO")
    return EMAIL


def _delays(settings: Settings) -> list[float]:
    return [throttle.delay(n, settings).total_seconds() for n in range(0, 13)]


def test_the_delay_starts_after_the_free_failures_and_doubles_up_to_the_cap(settings: Settings) -> None:
    assert (settings.sign_in_free_failures_per_email, settings.sign_in_delay_base_seconds,
            settings.sign_in_delay_max_seconds) == (5, 5, 60)
    assert _delays(settings) == [0, 0, 0, 0, 0, 5, 10, 20, 40, 60, 60, 60, 60]
    custom = settings.model_copy(update={"sign_in_free_failures_per_email": 2, "sign_in_delay_base_seconds": 1,
                                         "sign_in_delay_max_seconds": 3600})
    assert _delays(custom) == [0, 0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]
    assert throttle.delay(10_000, custom).total_seconds() == 3600  # a huge count neither overflows nor passes the cap


def test_a_guessed_at_account_waits_seconds_not_the_window(
    session: Session, settings: Settings, officer_email: str
) -> None:
    start = utcnow()
    for n in range(5):
        with pytest.raises(service.SignInRefused):
            service.sign_in(session=session, email=officer_email, password=WRONG, client_ip=ATTACKER,
                            now=start + timedelta(seconds=n), settings=settings)
    last = start + timedelta(seconds=4)

    # The officer, from their own address, right after: asked to wait until 5 s after the last failure ...
    with pytest.raises(service.SignInThrottled) as throttled:
        service.sign_in(session=session, email=officer_email, password=PASSWORD, client_ip=OFFICE,
                        now=last + timedelta(seconds=1), settings=settings)
    assert throttled.value.retry_after_s == 4 and throttled.value.retry_at == last + timedelta(seconds=5)
    assert throttled.value.message == "Too many failed sign-in attempts. Try again in 4 seconds."
    assert throttled.value.status_code == 429
    # ... and signed in once that has passed, although all five failures are still in the 15-minute window.
    signed_in = service.sign_in(session=session, email=officer_email, password=PASSWORD, client_ip=OFFICE,
                                now=last + timedelta(seconds=5), settings=settings)
    assert signed_in.officer.email == officer_email
    email_index = blind_index(EMAIL, "officer_sign_in_email", settings=settings)
    assert session.scalar(select(func.count()).select_from(SignInFailure)
                          .where(SignInFailure.email_index == email_index)) == 0  # a success clears the account's


def test_guesses_at_one_account_from_many_addresses_are_slowed_exponentially(
    session: Session, settings: Settings, officer_email: str
) -> None:
    now = utcnow()
    waits = []
    for n in range(11):
        address = f"192.0.2.{n + 1}"  # a new address each time: the per-address limit never applies
        if n >= 5:
            block = throttle.blocked(session=session, email=officer_email, client_ip=address, now=now,
                                     settings=settings)
            assert block is not None and block.scope == "email"
            waits.append((block.retry_at - now).total_seconds())
            # A guess a moment too early is refused without checking the password, and not counted.
            with pytest.raises(service.SignInThrottled):
                service.sign_in(session=session, email=officer_email, password=PASSWORD, client_ip=address,
                                now=block.retry_at - timedelta(milliseconds=1), settings=settings)
            now = block.retry_at
        with pytest.raises(service.SignInRefused):
            service.sign_in(session=session, email=officer_email, password=WRONG, client_ip=address, now=now,
                            settings=settings)
    assert waits == [5, 10, 20, 40, 60, 60]
    assert session.scalar(select(func.count()).select_from(SignInFailure)) == 11


def test_an_address_past_its_limit_is_blocked_for_the_window(
    session: Session, settings: Settings, officer_email: str
) -> None:
    strict = settings.model_copy(update={"sign_in_max_failures_per_ip": 3})
    start = utcnow()
    for n in range(3):
        with pytest.raises(service.SignInRefused):
            service.sign_in(session=session, email=f"guess{n}@example.org", password=WRONG, client_ip=ATTACKER,
                            now=start + timedelta(seconds=n), settings=strict)
    window = timedelta(seconds=settings.sign_in_window_seconds)
    almost = start + window - timedelta(seconds=1)
    with pytest.raises(service.SignInThrottled) as throttled:
        service.sign_in(session=session, email=officer_email, password=PASSWORD, client_ip=ATTACKER, now=almost,
                        settings=strict)
    assert throttled.value.retry_at == start + window  # until the oldest of the three leaves the window
    long_wait = service.SignInThrottled(retry_at=start + window, now=start + timedelta(seconds=3))
    assert long_wait.message.startswith("Too many failed sign-in attempts. Try again after ")
    assert long_wait.message.endswith(" UTC (in 15 minutes).")
    # The officer's own address is not concerned; the attacker's may try again once the window has passed.
    service.sign_in(session=session, email=officer_email, password=PASSWORD, client_ip=OFFICE, now=almost,
                    settings=strict)
    service.sign_in(session=session, email=officer_email, password=PASSWORD, client_ip=ATTACKER,
                    now=start + window, settings=strict)


# ---- atomic across processes ----------------------------------------------------------------------------------

ATTEMPTS, LIMIT = 8, 3


def _concurrent_failures(url: str, settings: Settings, scope: str) -> tuple[list[str], int]:
    """ATTEMPTS wrong passwords at once, each on a connection of its own: (outcomes, failure rows stored).

    ``scope="email"``: one account from as many addresses; ``"ip"``: one address at as many accounts.
    """
    strict = settings.model_copy(update={
        "sign_in_free_failures_per_email": LIMIT, "sign_in_max_failures_per_ip": LIMIT,
        # Past the limit the next attempt waits an hour: every late attempt of this test must be refused.
        "sign_in_delay_base_seconds": 3600, "sign_in_delay_max_seconds": 3600,
    })
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with unit_of_work(factory) as db:
        service.create_officer(session=db, email=EMAIL, password=PASSWORD, name="DPO")
    start = threading.Barrier(ATTEMPTS)
    outcomes: list[str] = []

    def attempt(n: int) -> None:
        email = EMAIL if scope == "email" else f"guess{n}@example.org"
        address = f"192.0.2.{n + 1}" if scope == "email" else ATTACKER
        start.wait()
        with factory() as db:
            try:
                service.sign_in(session=db, email=email, password=WRONG, client_ip=address, settings=strict)
            except service.SignInRefused:
                db.commit()
                outcomes.append("refused")
            except service.SignInThrottled:
                db.rollback()
                outcomes.append("throttled")
            except Exception as exc:  # noqa: BLE001 - any other outcome is a failure, asserted below
                outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(ATTEMPTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    with factory() as db:
        stored = db.scalar(select(func.count()).select_from(SignInFailure)) or 0
    engine.dispose()
    return sorted(outcomes), stored


@pytest.mark.parametrize("scope", ["email", "ip"])
def test_concurrent_attempts_on_postgres_let_exactly_the_limit_through(
    make_database, settings: Settings, scope: str
) -> None:
    outcomes, stored = _concurrent_failures(make_database(), settings, scope)
    assert outcomes == ["refused"] * LIMIT + ["throttled"] * (ATTEMPTS - LIMIT)
    assert stored == LIMIT


def test_concurrent_attempts_on_sqlite_let_exactly_the_limit_through(tmp_path, settings: Settings) -> None:
    url = f"sqlite:///{tmp_path / 'rtbf.sqlite3'}"
    upgrade(url)
    outcomes, stored = _concurrent_failures(url, settings, "email")
    assert outcomes == ["refused"] * LIMIT + ["throttled"] * (ATTEMPTS - LIMIT)
    assert stored == LIMIT
