"""Run a real Celery worker as a subprocess and wait (bounded) for a condition."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from app.core import processes

REPO_ROOT = Path(__file__).resolve().parents[2]


def env_for(**overrides: str | None) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def run_python(code: str, env: dict[str, str]) -> str:
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


# Quieter and quicker to start; none of these changes which tasks a worker takes or how it runs them.
TEST_FLAGS = ["--without-heartbeat", "--without-gossip", "--without-mingle"]


def worker_command(*, pool: str = "solo", concurrency: int = 1, hostname: str | None = None,
                   queues: str = "default,gpu") -> list[str]:
    """One worker on both queues (the e2e test's set-up); max tasks per child as ``rtbf worker`` derives it."""
    return processes.worker_command(queues=queues, pool=pool, concurrency=concurrency,
                                    hostname=hostname or "celery@%h") + TEST_FLAGS


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextmanager
def worker_process(command: list[str], env: dict[str, str], log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A worker subprocess (appending to ``log_path``), stopped at the end; prefork children go with it."""
    with log_path.open("ab") as log:
        proc = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            yield proc
        finally:
            orphans = children_of(proc.pid)
            stop(proc)
            for pid in orphans:  # a pool child whose parent was killed is not stopped by anyone else
                if _is_celery(pid):  # still ours (not a recycled pid)
                    kill_quietly(pid)


def celery_worker(env: dict[str, str], log_path: Path, *, pool: str = "solo", concurrency: int = 1,
                  hostname: str | None = None, queues: str = "default,gpu"):
    return worker_process(worker_command(pool=pool, concurrency=concurrency, hostname=hostname, queues=queues),
                          env, log_path)


def engine_worker(env: dict[str, str], log_path: Path, *, hostname: str | None = None):
    """The engine worker exactly as ``rtbf up`` starts it (gpu queue, prefork, a fresh process per job)."""
    command = processes.engine_worker_command(hostname or processes.ENGINE_WORKER_NAME)
    return worker_process(command + TEST_FLAGS, env, log_path)


def email_worker(env: dict[str, str], log_path: Path, *, hostname: str | None = None):
    """The email worker exactly as ``rtbf up`` starts it (default queue, prefork, its process kept)."""
    command = processes.email_worker_command(hostname or processes.EMAIL_WORKER_NAME)
    return worker_process(command + TEST_FLAGS, env, log_path)


def cli_worker(env: dict[str, str], log_path: Path, *arguments: str):
    """``rtbf worker ARGUMENTS`` (the operator's command, as in docker-compose.yml)."""
    return worker_process([sys.executable, "-c", "from workers.cli import main; main()", "worker", *arguments], env,
                          log_path)


def ready(log_path: Path) -> bool:
    """Celery logs '<name> ready.' once the worker consumes (and worker_ready handlers have run)."""
    return log_path.exists() and " ready." in log_path.read_text(errors="replace")


def children_of(pid: int) -> list[int]:
    """Pids whose parent is ``pid`` (a prefork worker's pool processes), read from /proc."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # The command name (field 2) is in parentheses and may hold spaces: split after its last ')'.
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # the process ended while we looked
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return sorted(found)


def _is_celery(pid: int) -> bool:
    try:
        return b"celery" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def kill_quietly(pid: int, sig: int = signal.SIGKILL) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def wait_until(condition: Callable[[], bool], *, timeout: float, what: str, proc: subprocess.Popen[bytes] | None = None,
               log_path: Path | None = None) -> None:
    """Poll ``condition`` until it holds; fail with the worker's log after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        if proc is not None and proc.poll() is not None:
            break
        time.sleep(0.1)
    log = log_path.read_text(errors="replace")[-3000:] if log_path and log_path.exists() else ""
    raise AssertionError(f"timed out waiting for {what}\n{log}")
