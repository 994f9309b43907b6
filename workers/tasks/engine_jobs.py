"""Discovery and unlearning tasks on the GPU queue: load the job by id, run the engine, record the outcome.

The job row in the database is the state of record. Each state change commits in its own short transaction
so the officer's page sees progress while the engine runs; the engine's progress callback beats the job's
heart and raises ``Cancelled`` once the officer asked to stop. torch is imported here only inside functions.

Nothing here logs personal data: log lines carry job ids, stages and exception types; an unexpected
exception's message (which could quote a subject's text) is left out, its stack frames kept.
"""

from __future__ import annotations

import json
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from celery import Task, bootsteps
from celery.exceptions import SoftTimeLimitExceeded, TimeLimitExceeded
from celery.signals import worker_ready
from sqlalchemy.exc import OperationalError

from app.core.config import get_settings
from app.core.db import one_off_session
from app.core.logging import get_logger
from app.core.queues import GPU_QUEUE
from app.jobs import service as jobs_service
from app.jobs.models import JobKind
from app.jobs.subjects import subject_payload
from app.requests import service as request_service
from workers.celery_app import celery_app
from workers.engine.errors import Cancelled, EngineError
from workers.tasks import task_session

log = get_logger(__name__)
_settings = get_settings()
# Progress rows are written at most this often (stage changes always go through).
PROGRESS_INTERVAL_S = 1.0


@dataclass
class Plan:
    """Everything a job needs, read in the claim transaction (so the engine runs without a session open)."""

    job_id: str
    kind: JobKind
    attempt: int
    model_path: str
    method: str | None
    params: dict[str, Any]
    request_ids: list[str]
    subjects: list[dict[str, Any]]
    attributes: list[list[str]] = field(default_factory=list)
    reports_before: list[dict[str, Any] | None] = field(default_factory=list)
    # Earlier erasures the base version carries (jobs_service.earlier_erasures): re-checked on the new version.
    # (subject payload, forgotten attributes, request reference)
    earlier: list[tuple[dict[str, Any], list[str], str]] = field(default_factory=list)
    corpus: str | None = None  # the registered model's training corpus, searched by discovery


class Reporter:
    """The engine's progress callback: throttled writes to the job row; raises the engine's ``Cancelled`` when
    the officer asked to stop or the job was ended meanwhile (reaped as stale), which unwinds the engine."""

    def __init__(self, job_id: str, *, soft_deadline: float | None = None) -> None:
        self.job_id, self.last_write, self.last_stage = job_id, 0.0, None
        self.leak_rate: float | None = None
        self.soft_deadline = soft_deadline  # time.monotonic() value

    def __call__(self, event: Any) -> None:
        # Celery's soft limit is an exception raised wherever the job happens to be, and a library's broad
        # ``except Exception`` can swallow it (seen here: a discovery ran past a 2 s soft limit and succeeded,
        # the limit having fired during the fresh process's imports). Our own progress events are points where
        # it reliably propagates, so they enforce the limit again.
        if self.soft_deadline is not None and time.monotonic() > self.soft_deadline:
            raise SoftTimeLimitExceeded()
        metrics = dict(event.metrics or {})
        if "leak_rate" in metrics:
            self.leak_rate = metrics["leak_rate"]
        now = time.monotonic()
        if event.stage == self.last_stage and now - self.last_write < PROGRESS_INTERVAL_S:
            return
        self.last_write, self.last_stage = now, event.stage
        progress = {"stage": event.stage, "step": event.step, "total": event.total, "message": event.message,
                    "loss": metrics.get("loss"), "leak_rate": self.leak_rate,
                    "metrics": {k: round(float(v), 4) for k, v in metrics.items()}}
        with task_session() as session:
            cancel = jobs_service.record_progress(session=session, job_id=self.job_id, progress=progress)
        if cancel:
            raise Cancelled()


def _plan(session: Any, job: Any) -> Plan:
    requests = [request_service.get_request(session=session, request_id=link.request_id) for link in job.requests]
    plan = Plan(job_id=job.id, kind=job.kind, attempt=job.attempts, model_path=job.base_version.path,
                method=job.method, params=dict(job.params or {}), request_ids=[r.id for r in requests],
                subjects=[subject_payload(r) for r in requests], corpus=job.target_model.corpus_path)
    if job.kind == JobKind.unlearning:
        for link in job.requests:
            findings = jobs_service.latest_findings(session=session, request_id=link.request_id)
            plan.attributes.append(list(link.attributes or []))
            plan.reports_before.append(jobs_service.decrypt_report(findings.link) if findings else None)
        for request, attributes in jobs_service.earlier_erasures(session=session, job=job):
            plan.earlier.append((subject_payload(request), attributes, request.reference))
    return plan


def _load(plan: Plan) -> Any:
    from workers.engine.modelio import load_model

    if _settings.job_threads:
        import torch

        torch.set_num_threads(_settings.job_threads)
    return load_model(plan.model_path, device=_settings.job_device)


def _discover(plan: Plan, reporter: Reporter) -> None:
    from workers.engine import evidence as ev
    from workers.engine.probe import ProbeConfig
    from workers.engine.probe.discovery import run_discovery
    from workers.engine.probe.elicit import ElicitConfig
    from workers.engine.subject import parse_subject

    loaded = _load(plan)
    seed = int(plan.params.get("seed", 0))
    reports: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    for request_id, payload in zip(plan.request_ids, plan.subjects, strict=True):
        report = run_discovery(loaded, parse_subject(payload), config=ProbeConfig(seed=seed),
                               elicitation=ElicitConfig(seed=seed), corpus=plan.corpus, progress=reporter)
        reports[request_id] = (report.to_dict(), ev.redact_report(report))
    with task_session() as session:
        jobs_service.complete_discovery(session=session, job_id=plan.job_id, reports=reports)


def _unlearn(plan: Plan, reporter: Reporter) -> None:
    from workers.engine import evidence as ev
    from workers.engine.probe.report import ProbeReport
    from workers.engine.subject import parse_subject
    from workers.engine.unlearning import EarlierErasure, UnlearnConfig, run_unlearning

    loaded = _load(plan)
    subjects = [parse_subject(p) for p in plan.subjects]
    reports = [ProbeReport.from_dict(r) if r else None for r in plan.reports_before]
    knobs = {k: plan.params[k] for k in ("max_steps", "lr", "rank", "seed") if k in plan.params}
    # The attack checks the job recorded when it was queued (the officer's setting or the API's override); a job
    # queued before they existed runs none, as it did then.
    checks = {k: tuple(plan.params[k]) for k in ("attacks", "gating_attacks") if k in plan.params}
    config = UnlearnConfig(method=plan.method or "fpga", attributes_per_subject=[tuple(a) for a in plan.attributes],
                           **knobs, **checks)
    out_dir = _settings.jobs_dir / plan.job_id / f"attempt-{plan.attempt}"
    if out_dir.exists():  # a previous attempt of this job died here; its files prove nothing
        import shutil

        shutil.rmtree(out_dir)
    earlier = [EarlierErasure(subject=parse_subject(payload), attributes=tuple(attributes), label=reference)
               for payload, attributes, reference in plan.earlier]
    result = run_unlearning(loaded, subjects if len(subjects) > 1 else subjects[0], out_dir=out_dir, config=config,
                            reports_before=reports if len(reports) > 1 else None,
                            report_before=reports[0] if len(reports) == 1 else None, progress=reporter,
                            earlier=earlier)
    evidence_text = Path(result.evidence_path).read_text(encoding="utf-8")
    with task_session() as session:
        jobs_service.complete_unlearning(
            session=session, job_id=plan.job_id, passed=result.passed, evidence=json.loads(evidence_text),
            evidence_sha256=ev.sha256_text(evidence_text), output_dir=str(out_dir), model_dir=str(result.model_dir),
            weights_sha256=result.evidence["weights"]["result_sha256"],
            reasons=list(result.evidence["verdict"].get("reasons", [])),
            passed_requests=[request_id for request_id, ok in zip(
                plan.request_ids, result.evidence["verdict"]["subjects_passed"], strict=True) if ok])


def _crash_reason(kind: str, job_id: str, exc: BaseException) -> str:
    # The message of an unexpected exception may quote personal data (a prompt, a completion): log the
    # type and the stack frames only, and give the officer the type and where to look.
    log.error(f"job.{kind}.crashed", job_id=job_id, error_type=type(exc).__name__,
              stack="".join(traceback.format_tb(exc.__traceback__))[-4000:])
    return f"Internal error in the worker ({type(exc).__name__}); see the worker log for job {job_id}."


def _soft_limit_reason() -> str:
    return f"The job ran past its time limit ({_settings.job_soft_time_limit_s} s) and was stopped."


def _claim(job_id: str, *, worker: str, task_id: str | None) -> Plan | str:
    """Claim the job (committed at once, so the page shows it running), then read its plan; a plan that
    cannot be read fails the job instead of leaving it running. A status string means: nothing to run."""
    with task_session() as session:
        jobs_service.reap_stale(session=session)
        job = jobs_service.claim(session=session, job_id=job_id, worker=worker, task_id=task_id)
        if job is None:
            return "skipped"
        kind = job.kind.value
    try:
        with task_session() as session:
            return _plan(session, jobs_service.get_job(session=session, job_id=job_id))
    except OperationalError:
        raise  # the database is away: the task is retried (autoretry_for) and claims the job again
    except Exception as exc:  # e.g. a request whose ciphertext no longer decrypts: retrying cannot help
        error = _crash_reason(kind, job_id, exc)
    with task_session() as session:
        return jobs_service.fail(session=session, job_id=job_id, error=error).status.value


def _stopped_by_soft_limit(exc: BaseException) -> bool:
    """Whether the soft limit is what ended the job, raised inside a library that wrapped it: transformers' lazy
    imports turn any error into a RuntimeError "Failed to import ..." (seen in CI under load: the 2 s limit fired
    while the fresh process imported the model classes, and the officer read "Internal error")."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, SoftTimeLimitExceeded):
            return True
        seen.add(id(current))
        # The chain Python prints: the explicit cause, else the error being handled unless ``from None`` hid it.
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    return False


def run_job(job_id: str, *, worker: str, task_id: str | None) -> str:
    """Claim, run, record. Returns the job's final status (for the worker log; the database has the truth).

    A job id that does not exist (or a job that already ended) is a no-op: "skipped"."""
    started = time.monotonic()
    try:
        plan = _claim(job_id, worker=worker, task_id=task_id)
    except SoftTimeLimitExceeded:  # only a tiny soft limit expires this early; the claim may have committed
        with task_session() as session:
            return jobs_service.fail(session=session, job_id=job_id, error=_soft_limit_reason()).status.value
    if isinstance(plan, str):
        return plan
    log.info(f"job.{plan.kind.value}.running", job_id=job_id, attempt=plan.attempt, worker=worker)
    soft_limit = _settings.job_soft_time_limit_s
    reporter = Reporter(job_id, soft_deadline=started + soft_limit if soft_limit else None)
    body = _discover if plan.kind == JobKind.discovery else _unlearn
    try:
        body(plan, reporter)
    except Cancelled:
        with task_session() as session:
            return jobs_service.finish_canceled(session=session, job_id=job_id).status.value
    except SoftTimeLimitExceeded:
        error = _soft_limit_reason()
    except EngineError as exc:
        error = str(exc)
    except Exception as exc:  # recorded, not re-raised: a redelivery would fail the same way
        error = _soft_limit_reason() if _stopped_by_soft_limit(exc) else _crash_reason(plan.kind.value, job_id, exc)
    else:
        with task_session() as session:
            return jobs_service.get_job(session=session, job_id=job_id).status.value
    with task_session() as session:
        return jobs_service.fail(session=session, job_id=job_id, error=error).status.value


class EngineTask(Task):
    """Records what the task body itself cannot: the hard time limit killed the pool process."""

    def on_failure(self, exc: BaseException, task_id: str, args: Any, kwargs: Any, einfo: Any) -> None:
        # Celery (>= 5.5) calls this in the main process after the hard time limit killed the child; the
        # message is acknowledged, so nothing else would ever end the job.
        if not isinstance(exc, TimeLimitExceeded) or not args:
            return
        error = (f"The job ran past its hard time limit ({_settings.job_time_limit_s} s); the worker process "
                 "was stopped.")
        with one_off_session(str(get_settings().database_url)) as session:
            jobs_service.fail(session=session, job_id=str(args[0]), error=error)
        log.warning("job.time_limit", job_id=str(args[0]), task_id=task_id)


def _task_options() -> dict[str, Any]:
    """Time limits come from settings (a soft limit of 0 means none); a lost database connection retries the
    task, which then claims the job again. Celery arms the hard limit only once the soft one has fired, so
    the soft limit must be the smaller one."""
    settings = get_settings()
    return {"base": EngineTask, "bind": True, "soft_time_limit": settings.job_soft_time_limit_s or None,
            "time_limit": settings.job_time_limit_s, "acks_late": True, "reject_on_worker_lost": True,
            "autoretry_for": (OperationalError,), "retry_backoff": 5, "retry_backoff_max": 120, "max_retries": 5}


@celery_app.task(name=jobs_service.DISCOVER_TASK, **_task_options())
def discover(self: Any, job_id: str) -> str:
    return run_job(job_id, worker=self.request.hostname or "worker", task_id=self.request.id)


@celery_app.task(name=jobs_service.UNLEARN_TASK, **_task_options())
def unlearn(self: Any, job_id: str) -> str:
    return run_job(job_id, worker=self.request.hostname or "worker", task_id=self.request.id)


def _takes_jobs(consumer: Any) -> bool:
    task_consumer = getattr(consumer, "task_consumer", None)
    return any(queue.name == GPU_QUEUE for queue in getattr(task_consumer, "queues", None) or ())


@worker_ready.connect
def _recover_lost_jobs(sender: Any = None, **_kwargs: Any) -> None:
    """On start, jobs this worker name was running died with its previous process: fail them (recoverable).

    Only in a worker that takes jobs: the email worker's name never runs one, and its reaping would be one more
    writer at start-up (on SQLite, the engine worker starting beside it would have to wait for the lock)."""
    if not _takes_jobs(sender):
        return
    name = getattr(sender, "hostname", None)
    with one_off_session(str(get_settings().database_url)) as session:
        lost = jobs_service.worker_restarted(session=session, worker=name) if name else []
        lost += jobs_service.reap_stale(session=session)
    if lost:
        log.warning("job.recovered_lost", jobs=lost, worker=name)


_TASKS = {JobKind.discovery: jobs_service.DISCOVER_TASK, JobKind.unlearning: jobs_service.UNLEARN_TASK}


class ResendQueuedJobs(bootsteps.StartStopStep):
    """Each time the consumer connects to the broker (at start, and again after losing it), send the task of every
    queued job again. A Redis restarted without its data, an enqueue that failed after its commit, or a message
    reserved by a worker that died would otherwise leave the job queued for ever (or until the visibility
    timeout, past the hard time limit). A second message for a job is harmless: ``claim`` lets one run it."""

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def start(self, parent: Any) -> None:
        if not _takes_jobs(parent):
            return
        try:
            with one_off_session(str(get_settings().database_url)) as session:
                queued = [(job.id, job.kind) for job in jobs_service.queued_jobs(session=session)]
            for job_id, kind in queued:
                parent.app.send_task(_TASKS[kind], args=[job_id], queue=GPU_QUEUE)
        except Exception as exc:  # the database or the broker away again: the next connection tries again
            log.warning("job.resend_failed", error_type=type(exc).__name__)
            return
        if queued:
            log.info("job.resent", jobs=[job_id for job_id, _ in queued])


celery_app.steps["consumer"].add(ResendQueuedJobs)
