"""Start and stop the web server and the Celery workers (engine and email) as child processes (``rtbf up``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from typing import Any

from app.core.config import Settings
from app.core.queues import DEFAULT_QUEUE, GPU_QUEUE

# The worker side's programs, named for child processes only: app/ never imports workers/, but ``rtbf up``
# runs the whole product, workers included.
CELERY_APP = "workers.celery_app:celery_app"
# The whole ``rtbf`` CLI (platform and engine commands) as ``python -m``; the console script's entry module.
CLI_MODULE = "workers.cli"

# Fixed node names: a restarted engine worker finds the jobs its previous process was running by its name
# (workers/tasks/engine_jobs.py). The engine keeps the name the single worker had, so jobs claimed before an
# upgrade are still recovered; %h is the host name, so two machines never share one.
ENGINE_WORKER_NAME = "rtbf@%h"
EMAIL_WORKER_NAME = "rtbf-email@%h"


def child_environment(settings: Settings, *, host: str, port: int) -> dict[str, str]:
    """The children must read the same data_dir, database and broker as the parent resolved."""
    env = dict(os.environ)
    # Links in emails point at where the server really listens, unless an operator set the public URL.
    env.setdefault("RTBF_BASE_URL", f"http://{host}:{port}")
    env["RTBF_DATA_DIR"] = str(settings.data_dir.resolve())
    env["DATABASE_URL"] = str(settings.database_url)
    if settings.redis_url:
        env["REDIS_URL"] = settings.redis_url
    return env


def web_command(settings: Settings, *, host: str, port: int) -> list[str]:
    # No access log: paths carry the subject's status-link token, which is a secret capability.
    return [sys.executable, "-m", "uvicorn", "app.main:app", "--host", host, "--port", str(port), "--no-access-log"]


def worker_arguments(*, queues: str, hostname: str = "celery@%h", concurrency: int = 1, pool: str = "prefork",
                     max_tasks_per_child: int | None = None) -> list[str]:
    """The arguments of ``celery worker`` (from ``worker`` on), for ``rtbf worker`` and the children of ``up``.

    ``max_tasks_per_child`` None means: 1 for a worker that takes GPU jobs (a fresh process gives a finished
    job's GPU memory back to the driver), no limit otherwise (an email worker keeps its warm process); 0: no limit.
    Celery honours it, and the tasks' time limits, only in the prefork pool.
    """
    if max_tasks_per_child is None:
        max_tasks_per_child = 1 if GPU_QUEUE in queues.split(",") else 0
    args = ["worker", "-Q", queues, "--concurrency", str(concurrency), "--pool", pool, "--hostname", hostname,
            "--loglevel", "INFO"]
    return args + (["--max-tasks-per-child", str(max_tasks_per_child)] if max_tasks_per_child else [])


def worker_command(**arguments: Any) -> list[str]:
    return [sys.executable, "-m", "celery", "-A", CELERY_APP, *worker_arguments(**arguments)]


def engine_worker_command(hostname: str = ENGINE_WORKER_NAME) -> list[str]:
    """Discovery and unlearning only, one at a time (one per GPU), a fresh process per job."""
    return worker_command(queues=GPU_QUEUE, hostname=hostname)


def email_worker_command(hostname: str = EMAIL_WORKER_NAME) -> list[str]:
    """Emails only: never behind a long job. Still prefork, so the email task's time limits hold."""
    return worker_command(queues=DEFAULT_QUEUE, hostname=hostname)


def start(command: Sequence[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    # A new process group: Ctrl-C in the terminal reaches the parent, which then stops each child itself.
    return subprocess.Popen(list(command), env=env, start_new_session=True)


def stop(processes: Sequence[subprocess.Popen[bytes]], *, timeout: float = 10.0) -> None:
    for proc in processes:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in processes:
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _raise_interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def interrupt_on_sigterm() -> None:
    """A supervisor's SIGTERM stops ``rtbf up`` the way Ctrl-C does, so its children never outlive it. SIGINT is
    set too: a process started in the background by a shell without job control inherits SIGINT ignored, and
    Python then never turns Ctrl-C into KeyboardInterrupt (``rtbf up`` under such a shell kept running)."""
    signal.signal(signal.SIGTERM, _raise_interrupt)
    signal.signal(signal.SIGINT, _raise_interrupt)
