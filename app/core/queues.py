"""The Celery set-up both processes share: queue names, broker, and the app's configuration.

The web process only sends tasks, by name (``app.core.tasks``), through an app built here without any task
module; the workers build theirs here too (``workers/celery_app.py``, with the task modules included), so both
sides always agree on the broker, the queues and the routes while the web never imports the worker package.

Redis when ``REDIS_URL`` is set, else kombu's filesystem transport under ``data_dir``. Job state of record lives
in the database; Celery results are not kept. ``acks_late`` + prefetch 1 mean a task lost with its worker is
redelivered, so tasks must be idempotent (they take ids and re-check rows).

Two workers consume the two queues (app/core/processes.py builds their command lines): the engine worker takes
``gpu`` (discovery and unlearning, minutes to an hour each) and the email worker ``default``, so a subject's
one-time code never waits behind a job.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from app.core.config import Settings, get_settings

if TYPE_CHECKING:
    from celery import Celery

DEFAULT_QUEUE = "default"
GPU_QUEUE = "gpu"


def broker_options(settings: Settings) -> tuple[str, dict[str, object]]:
    if settings.redis_url:
        # Redis hands an unacknowledged task to another worker after visibility_timeout: keep that beyond
        # the hard time limit, or a long unlearning job would run twice at once.
        return settings.redis_url, {"visibility_timeout": settings.job_time_limit_s + 600}
    folder = settings.broker_dir
    for sub in ("queue", "processed", "control"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    queue_dir = str(folder / "queue")
    # Producer and consumer share one folder: this transport is for a single machine (the embedded default).
    return "filesystem://", {
        "data_folder_in": queue_dir,
        "data_folder_out": queue_dir,
        "processed_folder": str(folder / "processed"),
        # kombu defaults this to ./control relative to the working directory.
        "control_folder": str(folder / "control"),
        "store_processed": False,
    }


def make_celery(settings: Settings | None = None, *, include: Sequence[str] = ()) -> Celery:
    """``include``: the task modules a worker loads; a sender needs none (it sends tasks by name)."""
    # Imported here: the web process imports the queue names at start-up and Celery only once it sends.
    from celery import Celery
    from kombu import Queue

    settings = settings or get_settings()
    broker, transport_options = broker_options(settings)
    app = Celery("rtbf", broker=broker, include=list(include))
    app.conf.update(
        broker_transport_options=transport_options,
        broker_connection_retry_on_startup=True,
        task_ignore_result=True,
        result_backend=None,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        # No worker_max_tasks_per_child here: it would also restart the email worker's process for every email.
        # The engine worker asks for a fresh process per job on its command line (app/core/processes.py).
        task_default_queue=DEFAULT_QUEUE,
        task_queues=(Queue(DEFAULT_QUEUE, routing_key=DEFAULT_QUEUE), Queue(GPU_QUEUE, routing_key=GPU_QUEUE)),
        task_routes={"rtbf.engine.*": {"queue": GPU_QUEUE}},
        task_serializer="json",
        accept_content=["json"],
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        timezone="UTC",
    )
    return app
