"""``/metrics`` in the Prometheus text format, read from the database and the broker at scrape time.

A custom collector queries the state of record while Prometheus waits instead of keeping counters in memory, so
any of several web processes gives the same answer and a restart loses nothing. Labels are enum values only
(statuses, kinds, queue names): never a request id, a reference or anything of a subject's.

Access: with ``metrics_token`` set, a scrape must send ``Authorization: Bearer <token>``. Without one, production
answers 404 as if there were no such page (operational numbers stay off a public port until an operator opts in),
while development and test, which bind 127.0.0.1 by default, serve it to anyone.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from fastapi import APIRouter, HTTPException, Request, Response
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import CollectorRegistry
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.audit.models import AuditEntry
from app.core.config import Settings
from app.core.db import utcnow
from app.core.logging import get_logger
from app.core.queues import DEFAULT_QUEUE, GPU_QUEUE, broker_options
from app.core.security import constant_time_equals
from app.jobs.models import Job, JobKind, JobStatus
from app.requests.models import ErasureRequest
from app.requests.statuses import OPEN_STATUSES, RequestStatus

log = get_logger(__name__)
router = APIRouter()

# Weekly steps towards the one-month deadline of Art. 12(3), counted from receipt.
AGE_THRESHOLDS_DAYS = (7, 14, 21, 28)
# A job runs from under a minute (discovery on a small model) to the hour of its time limit.
DURATION_BUCKETS_S = (30, 60, 120, 300, 600, 900, 1800, 2700, 3600, 5400)
# A broker that is down must cost a scrape a few seconds, not hang it (kombu retries forever by default).
BROKER_TIMEOUT_S = 2


def queue_depths(settings: Settings) -> dict[str, int] | None:
    """Messages waiting in each Celery queue (not those a worker holds), or None when the broker cannot be read."""
    # Imported at the first scrape, as app.core.queues imports Celery only once it sends: neither is needed before.
    from kombu import Connection

    url, options = broker_options(settings)
    options = {**options, "socket_timeout": BROKER_TIMEOUT_S, "socket_connect_timeout": BROKER_TIMEOUT_S}
    try:
        with Connection(url, transport_options=options, connect_timeout=BROKER_TIMEOUT_S) as connection:
            connection.ensure_connection(max_retries=1)
            channel = connection.channel()
            try:
                # A declare without ``passive`` creates nothing on Redis or the filesystem transport and, unlike
                # a passive one, does not fail for a queue that is empty (Redis drops an empty list's key).
                return {queue: channel.queue_declare(queue=queue).message_count for queue in (DEFAULT_QUEUE, GPU_QUEUE)}
            finally:
                channel.close()
    except Exception as exc:  # any broker failure leaves the depth unknown, never a made-up 0
        # The type only: the message of a connection error can quote the broker URL and its password.
        log.warning("metrics.broker_unreadable", error=type(exc).__name__)
        return None


class StateCollector:
    """The product's state at scrape time, from one short-lived read-only session."""

    def __init__(self, session_factory: sessionmaker[Session], settings: Settings) -> None:
        self._session_factory = session_factory
        self._settings = settings

    def collect(self) -> Iterator[Metric]:
        session = self._session_factory()
        try:
            yield from self._requests(session)
            yield from self._jobs(session)
            head = session.scalar(select(func.max(AuditEntry.seq)))
        finally:
            session.close()
        yield GaugeMetricFamily("rtbf_audit_chain_head_seq", "Sequence number of the last audit log entry (0: empty).",
                                value=head or 0)
        yield from self._queues()

    def _requests(self, session: Session) -> Iterator[Metric]:
        counts = dict(session.execute(
            select(ErasureRequest.status, func.count()).group_by(ErasureRequest.status)).all())
        by_status = GaugeMetricFamily("rtbf_erasure_requests", "Erasure requests by status.", labels=["status"])
        for status in RequestStatus:
            by_status.add_metric([status.value], counts.get(status, 0))
        yield by_status

        now = utcnow()
        older = [func.count().filter(ErasureRequest.received_at < now - timedelta(days=days))
                 for days in AGE_THRESHOLDS_DAYS]
        overdue = func.count().filter(ErasureRequest.due_at < now)
        *aged, late = session.execute(select(*older, overdue).where(ErasureRequest.status.in_(OPEN_STATUSES))).one()
        by_age = GaugeMetricFamily("rtbf_erasure_requests_open_older_than",
                                   "Open erasure requests received more than `days` days ago.", labels=["days"])
        for days, count in zip(AGE_THRESHOLDS_DAYS, aged, strict=True):
            by_age.add_metric([str(days)], count)
        yield by_age
        yield GaugeMetricFamily("rtbf_erasure_requests_overdue",
                                "Open erasure requests past their (possibly extended) due date.", value=late)

    def _jobs(self, session: Session) -> Iterator[Metric]:
        counts = dict(((kind, status), n) for kind, status, n in session.execute(
            select(Job.kind, Job.status, func.count()).group_by(Job.kind, Job.status)))
        by_state = GaugeMetricFamily("rtbf_jobs", "Jobs by kind and status.", labels=["kind", "status"])
        for kind in JobKind:
            for status in JobStatus:
                by_state.add_metric([kind.value, status.value], counts.get((kind, status), 0))
        yield by_state

        # Computed in Python: durations between two timestamps differ by dialect (SQLite keeps them as text), and
        # jobs are few (each one is minutes of GPU time).
        finished = session.execute(select(Job.kind, Job.status, Job.started_at, Job.finished_at).where(
            Job.started_at.is_not(None), Job.finished_at.is_not(None)))
        durations: dict[tuple[str, str], list[float]] = {}
        for kind, status, started, ended in finished:
            durations.setdefault((kind.value, status.value), []).append((ended - started).total_seconds())
        histogram = HistogramMetricFamily("rtbf_job_duration_seconds", "Run time of finished jobs, start to finish.",
                                          labels=["kind", "status"])
        for labels, values in sorted(durations.items()):
            histogram.add_metric(list(labels), _cumulative(values), sum_value=sum(values))
        yield histogram

    def _queues(self) -> Iterator[Metric]:
        depths = queue_depths(self._settings)
        yield GaugeMetricFamily("rtbf_broker_up", "Whether the Celery broker answered this scrape.",
                                value=int(depths is not None))
        if depths is None:
            return  # an absent series, which alerts can test for, rather than a wrong number
        depth = GaugeMetricFamily("rtbf_queue_depth", "Messages waiting in a Celery queue.", labels=["queue"])
        for queue, count in depths.items():
            depth.add_metric([queue], count)
        yield depth


def _cumulative(values: list[float]) -> list[tuple[str, float]]:
    return [(str(float(bound)), sum(v <= bound for v in values)) for bound in DURATION_BUCKETS_S] + [
        ("+Inf", len(values))]


def _authorize(request: Request, settings: Settings) -> None:
    if settings.metrics_token is None:
        if settings.environment == "production":
            raise HTTPException(status_code=404)
        return
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not constant_time_equals(token.strip(), settings.metrics_token):
        raise HTTPException(status_code=401, detail="A bearer token is required.",
                            headers={"WWW-Authenticate": "Bearer"})


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    _authorize(request, settings)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StateCollector(request.app.state.session_factory, settings))
    encoder, content_type = choose_encoder(request.headers.get("accept", ""))
    return Response(encoder(registry), media_type=content_type)
