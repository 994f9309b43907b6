"""The fault tests' workers: engine workers started as ``rtbf up`` starts them, in a process group of their own so
that a fault can take the whole group down (the stack they work for: ``tests/job_stack.py``). Imported by name:
the test folders are not packages."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from app.core import processes
from app.jobs.models import Job, JobStatus
from tests.workers.worker_helpers import REPO_ROOT, TEST_FLAGS

def running_at(stage_prefix: str) -> Callable[[Job], bool]:
    """The job runs and reports a stage starting with ``stage_prefix`` (or it already ended: fail fast)."""
    return lambda job: (not job.active) or (job.status == JobStatus.running
                                            and str(job.progress.get("stage", "")).startswith(stage_prefix))


@contextmanager
def engine_worker_group(env: dict[str, str], log_path: Path, *, hostname: str,
                        prefix: tuple[str, ...] = ()) -> Iterator[subprocess.Popen[bytes]]:
    """The engine worker with ``rtbf up``'s command line, in a session (process group) of its own as ``rtbf up``
    starts it; ``prefix`` runs it under a wrapper (``prlimit``, which execs it). Whatever of the group is left at
    the end is stopped: TERM, then KILL."""
    command = [*prefix, *processes.engine_worker_command(hostname), *TEST_FLAGS]
    with log_path.open("ab") as log:
        proc = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            yield proc
        finally:
            _signal_group(proc, signal.SIGTERM)
            with suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=20)
            _signal_group(proc, signal.SIGKILL)  # the pool child too, should it have outlived its parent
            proc.wait()


def _group_members(pgid: int) -> list[int]:
    """Live celery processes in process group ``pgid``, read from /proc (the leader may be gone already)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
            cmdline = (stat.parent / "cmdline").read_bytes()
        except (OSError, IndexError):
            continue  # it ended while we looked
        if int(fields[2]) == pgid and b"celery" in cmdline:
            found.append(int(stat.parent.name))
    return found


def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    # Each member by pid rather than killpg: once the group is empty its id could name someone else's group.
    for pid in _group_members(proc.pid):
        with suppress(ProcessLookupError):
            os.kill(pid, sig)


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL to every process of the worker (the OOM killer, a ``kill -9 -PGID``, a lost container)."""
    members = _group_members(proc.pid)
    assert proc.pid in members and len(members) >= 2, members  # the main process and its pool child
    _signal_group(proc, signal.SIGKILL)
    proc.wait(timeout=20)
