"""Email rendering, the encrypted outbox, and delivery (outbox-only without SMTP; real SMTP when configured)."""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from app.core.errors import InvalidInput
from app.notifications import service
from app.notifications.delivery import deliver
from app.requests import service as request_service
from app.requests.schemas import RequestCreate

T0 = datetime(2025, 1, 31, 9, 0, tzinfo=UTC)


@pytest.fixture
def request_row(session):
    data = RequestCreate(full_name="Ada Lovelace", email="ada@example.org")
    return request_service.create_request(session=session, data=data, channel="web", now=T0).request


def test_every_kind_renders_with_a_subject_line(request_row) -> None:
    context = {"request": request_row, "reference": request_row.reference, "code": "123456", "verify_url": "http://x/v",
               "ttl_minutes": 10, "ground_label": "Art. 17(1)(b)", "reason": "Because", "months": 2,
               "model_name": "demo-assistant", "version": 2, "url": "http://x/officer/requests/1", "job_url": None}
    for kind in sorted(service.EMAIL_KINDS):
        subject, body = service.render_email(kind, context)
        assert request_row.reference in subject and body.strip(), kind
        assert "{{" not in body and "{%" not in body


def test_missing_context_is_an_error_not_a_blank(request_row) -> None:
    with pytest.raises(Exception, match="code"):
        service.render_email("verification_code", {"reference": "RTBF-X", "request": request_row})
    with pytest.raises(InvalidInput):
        service.render_email("unknown_kind", {})


def test_outbox_stores_address_and_body_encrypted(session, request_row) -> None:
    rows = session.execute(text("SELECT to_address, body, subject FROM outbox_messages WHERE request_id = :r"),
                           {"r": request_row.id}).all()
    assert len(rows) == 1
    to_address, body, subject = rows[0]
    assert b"ada@example.org" not in bytes(to_address) and b"verification code" not in bytes(body).lower()
    view = service.list_outbox(session=session, request_id=request_row.id)[0]
    assert view.to_address == "ada@example.org" and "Your verification code is:" in view.body
    assert view.subject == subject and view.sent_at is None and view.delivery is None


def test_delivery_without_smtp_marks_it_delivered_to_the_outbox(session, settings, request_row) -> None:
    message = service.list_outbox(session=session, request_id=request_row.id)[0]
    assert settings.smtp_host is None
    assert deliver(session=session, message_id=message.id, settings=settings) == "outbox"
    assert deliver(session=session, message_id=message.id, settings=settings) == "already_sent"
    assert deliver(session=session, message_id="missing", settings=settings) == "missing"
    view = service.list_outbox(session=session, request_id=request_row.id)[0]
    assert view.delivery == "outbox" and view.sent_at is not None


@pytest.fixture
def smtp_server() -> Iterator[object]:
    """A real SMTP server on a free local port: the standard library's (Python 3.11; gone in 3.12)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        asyncore = pytest.importorskip("asyncore")
        smtpd = pytest.importorskip("smtpd")

    class Recorder(smtpd.SMTPServer):
        def __init__(self) -> None:
            super().__init__(("127.0.0.1", 0), None, decode_data=True)
            self.received: list[tuple[str, list[str], str]] = []

        def process_message(self, peer, mailfrom, rcpttos, data, **kwargs):  # type: ignore[no-untyped-def]
            self.received.append((mailfrom, rcpttos, data))

    server = Recorder()
    thread = threading.Thread(target=asyncore.loop, kwargs={"timeout": 0.05, "map": None}, daemon=True)
    thread.start()
    yield server
    server.close()
    thread.join(timeout=5)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_delivery_over_smtp(session, settings, request_row, smtp_server) -> None:
    port = smtp_server.socket.getsockname()[1]
    smtp_settings = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_starttls": False,
                                                "mail_from": "dpo@example.com"})
    message = service.list_outbox(session=session, request_id=request_row.id)[0]
    assert deliver(session=session, message_id=message.id, settings=smtp_settings) == "smtp"
    mailfrom, rcpttos, data = smtp_server.received[0]
    assert mailfrom == "dpo@example.com" and rcpttos == ["ada@example.org"]
    assert "Your verification code is:" in data and request_row.reference in data


def test_smtp_failure_is_recorded_without_the_address(session, settings, request_row) -> None:
    bad = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": 1, "smtp_starttls": False})
    message = service.list_outbox(session=session, request_id=request_row.id)[0]
    with pytest.raises(OSError):
        deliver(session=session, message_id=message.id, settings=bad)
    view = service.list_outbox(session=session, request_id=request_row.id)[0]
    assert view.sent_at is None
    error = session.execute(text("SELECT last_error FROM outbox_messages WHERE id = :i"), {"i": message.id}).scalar_one()
    assert error == "ConnectionRefusedError"
