"""The workers' Celery app: the shared set-up of ``app.core.queues`` with the task modules loaded.

``celery -A workers.celery_app:celery_app worker`` (``rtbf worker``, and the children of ``rtbf up``) runs it.
The web process never imports this module: it sends tasks by name through a sender of its own
(``app.core.tasks``) built from the same configuration.
"""

from __future__ import annotations

from typing import Any

from celery.signals import worker_process_init

from app.core.config import get_settings
from app.core.logging import configure_logging
from app.core.queues import make_celery

TASK_MODULES = ["workers.tasks.notifications", "workers.tasks.engine_jobs"]

celery_app = make_celery(include=TASK_MODULES)


@worker_process_init.connect
def _configure_worker_logging(**_kwargs: Any) -> None:
    configure_logging(get_settings().log_level)
