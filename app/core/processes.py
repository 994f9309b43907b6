"""Start and stop the web server and the Celery worker as child processes (``rtbf up``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Sequence

from app.core.config import Settings


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


def worker_command(*, queues: str = "default,gpu", concurrency: int = 1, pool: str = "solo") -> list[str]:
    return [
        sys.executable, "-m", "celery", "-A", "workers.celery_app:celery_app", "worker",
        "-Q", queues, "--concurrency", str(concurrency), "--pool", pool, "--loglevel", "INFO",
    ]


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
    """A supervisor's SIGTERM stops ``rtbf up`` the way Ctrl-C does, so its children never outlive it."""
    signal.signal(signal.SIGTERM, _raise_interrupt)
