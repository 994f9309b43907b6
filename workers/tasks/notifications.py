"""Email delivery task (enqueued by the web process after the outbox row is committed)."""

from __future__ import annotations

import smtplib

from app.core.config import get_settings
from app.core.logging import get_logger
from app.notifications.delivery import deliver
from app.notifications.service import SEND_EMAIL_TASK
from workers.celery_app import celery_app
from workers.tasks import task_session

log = get_logger(__name__)


@celery_app.task(
    name=SEND_EMAIL_TASK,
    autoretry_for=(OSError, smtplib.SMTPException),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=8,
    soft_time_limit=60,
    time_limit=90,
)
def send_email(message_id: str) -> str:
    with task_session() as session:
        outcome = deliver(session=session, message_id=message_id, settings=get_settings())
    return outcome
