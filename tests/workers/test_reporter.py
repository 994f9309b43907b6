"""The worker side of a job, without a worker process: the progress callback enforces the soft time limit at
every event (Celery's own signal can be swallowed by a library's broad ``except Exception``)."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest
from celery.exceptions import SoftTimeLimitExceeded


def _event() -> SimpleNamespace:
    return SimpleNamespace(stage="probe", step=1, total=2, message="", metrics={})


def test_a_progress_event_after_the_soft_deadline_raises_before_touching_the_database() -> None:
    from workers.tasks.engine_jobs import Reporter

    # A job id that exists nowhere: reaching the database would fail differently.
    reporter = Reporter("no-such-job", soft_deadline=time.monotonic() - 0.001)
    with pytest.raises(SoftTimeLimitExceeded):
        reporter(_event())


def test_no_soft_limit_never_raises_on_its_own() -> None:
    from workers.tasks import engine_jobs

    reporter = engine_jobs.Reporter("job-1", soft_deadline=None)
    reporter.last_stage, reporter.last_write = "probe", time.monotonic()  # within the write throttle
    assert reporter(_event()) is None
    reporter = engine_jobs.Reporter("job-1", soft_deadline=time.monotonic() + 3600)
    reporter.last_stage, reporter.last_write = "probe", time.monotonic()
    assert reporter(_event()) is None



def test_a_soft_limit_a_library_wrapped_is_still_the_time_limit() -> None:
    from workers.tasks.engine_jobs import _stopped_by_soft_limit

    def lazy_import() -> None:  # what transformers' lazy module does with any error during an import
        try:
            raise SoftTimeLimitExceeded()
        except Exception as exc:
            raise RuntimeError("Failed to import transformers.models.llama because of the following error") from exc

    with pytest.raises(RuntimeError) as wrapped:
        lazy_import()
    assert _stopped_by_soft_limit(wrapped.value)
    assert not _stopped_by_soft_limit(RuntimeError("a real crash"))
    try:  # an error whose raiser said the limit is not its cause ("from None") is a crash of its own
        try:
            raise SoftTimeLimitExceeded()
        except SoftTimeLimitExceeded:
            raise ValueError("cleanup failed") from None
    except ValueError as exc:
        assert not _stopped_by_soft_limit(exc)
