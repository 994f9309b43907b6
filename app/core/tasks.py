"""Enqueue Celery tasks only after the surrounding transaction commits.

Services call ``enqueue_after_commit``; the ids collect in ``session.info`` and are sent by the
``after_commit`` listener. A rollback drops them, so a worker never sees an id that does not exist. A task sent for
an HTTP request carries its id in the ``http_request_id`` header; the worker binds it into the task's log lines
(``workers/celery_app.py``).
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from app.core import request_id
from app.core.logging import get_logger
from app.core.queues import DEFAULT_QUEUE, make_celery

if TYPE_CHECKING:
    from celery import Celery

log = get_logger(__name__)
_PENDING = "rtbf_pending_tasks"


@lru_cache(maxsize=1)
def task_sender() -> Celery:
    """The Celery app that sends tasks by name: the workers' set-up without their task modules, so the web
    process never imports the worker package. Built on first use: the broker set-up reads settings (and
    creates the filesystem broker's folders), and most sessions never enqueue anything."""
    return make_celery()


def enqueue_after_commit(session: Session, task_name: str, *args: Any, queue: str = DEFAULT_QUEUE) -> None:
    session.info.setdefault(_PENDING, []).append((task_name, args, queue))


def pending_tasks(session: Session) -> list[tuple[str, tuple[Any, ...], str]]:
    return list(session.info.get(_PENDING, []))


@event.listens_for(Session, "after_commit")
def _send_pending(session: Session) -> None:
    pending = session.info.pop(_PENDING, [])
    if not pending:
        return
    sender = task_sender()
    http_request_id = request_id.current()
    headers = {request_id.LOG_KEY: http_request_id} if http_request_id else None
    for task_name, args, queue in pending:
        try:
            sender.send_task(task_name, args=list(args), queue=queue, headers=headers)
            log.info("task.enqueued", task=task_name, queue=queue, ids=[str(a) for a in args])
        except Exception:  # the data is committed; a lost enqueue is recoverable (outbox keeps the row)
            log.exception("task.enqueue_failed", task=task_name, queue=queue)


@event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)
