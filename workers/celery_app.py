"""The workers' Celery app: the shared set-up of ``app.core.queues`` with the task modules loaded.

``celery -A workers.celery_app:celery_app worker`` (``rtbf worker``, and the children of ``rtbf up``) runs it.
The web process never imports this module: it sends tasks by name through a sender of its own
(``app.core.tasks``) built from the same configuration, naming the HTTP request that sent a task in its
``http_request_id`` header; each task's log lines carry it.
"""

from __future__ import annotations

from typing import Any

import structlog
from celery.signals import task_postrun, task_prerun, worker_process_init

from app.core.config import get_settings
from app.core.logging import configure_logging
from app.core.queues import make_celery
from app.core.request_id import LOG_KEY

TASK_MODULES = ["workers.tasks.notifications", "workers.tasks.engine_jobs"]

celery_app = make_celery(include=TASK_MODULES)


@worker_process_init.connect
def _configure_worker_logging(**_kwargs: Any) -> None:
    configure_logging(get_settings().log_level)


@task_prerun.connect
def _bind_http_request_id(task: Any = None, **_kwargs: Any) -> None:
    """The task's log lines name the web request that sent it (none for a task sent from elsewhere)."""
    structlog.contextvars.unbind_contextvars(LOG_KEY)
    headers = getattr(getattr(task, "request", None), "headers", None) or {}
    value = headers.get(LOG_KEY)
    if isinstance(value, str) and value:
        structlog.contextvars.bind_contextvars(**{LOG_KEY: value})


@task_postrun.connect
def _unbind_http_request_id(**_kwargs: Any) -> None:
    structlog.contextvars.unbind_contextvars(LOG_KEY)
