"""/metrics: numbers read from a fresh PostgreSQL database and a real broker, scraped and parsed as Prometheus would."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from pydantic import ValidationError
from sqlalchemy import func, select

from app.audit import service as audit_service
from app.audit.models import AuditEntry
from app.core.config import Settings
from app.core.db import utcnow
from app.core.queues import make_celery
from app.jobs.models import Job, JobKind, JobStatus
from app.main import create_app
from app.requests import review
from app.requests import service as requests
from app.requests.models import ErasureRequest
from app.requests.schemas import RequestCreate
from app.requests.statuses import RequestStatus
from app.targets import service as targets

OFFICER = "officer:test"
TOKEN = "a-scrape-token-of-some-length"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
def make_app(make_database: Callable[[], str], settings: Settings, tmp_path: Path) -> Iterator[Callable[..., FastAPI]]:
    """Apps on one fresh database; their broker (filesystem unless ``redis_url``) under this test's folder."""
    database_url, apps = make_database(), []

    def factory(**overrides: object) -> FastAPI:
        app = create_app(settings.model_copy(update={"database_url": database_url, "data_dir": tmp_path / "data",
                                                      **overrides}))
        apps.append(app)
        return app

    yield factory
    for app in apps:
        app.state.engine.dispose()


def scrape(app: FastAPI, **headers: str) -> Samples:
    with TestClient(app) as client:
        response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.text) for sample in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def _file(db, days_ago: float, *, verified: bool = True) -> ErasureRequest:
    data = RequestCreate(full_name="Ada Lovelace", email=f"{uuid.uuid4().hex[:12]}@example.org")
    return requests.create_request(session=db, data=data, channel="api" if verified else "web", verified=verified,
                                   actor="apikey:test" if verified else None,
                                   now=utcnow() - timedelta(days=days_ago)).request


def _job(db, model, kind: JobKind, status: JobStatus, *, started: datetime | None = None,
         seconds: float | None = None) -> None:
    finished = started + timedelta(seconds=seconds) if started and seconds is not None else None
    if status == JobStatus.canceled:
        finished = utcnow()  # canceled while queued: finished, never started
    db.add(Job(id=str(uuid.uuid4()), kind=kind, status=status, target_model_id=model.id,
               base_version_id=model.current.id, created_by=OFFICER, started_at=started, finished_at=finished))


def test_requests_by_status_and_age_jobs_durations_and_the_audit_head(make_app, tmp_path: Path) -> None:
    app = make_app()
    with app.state.session_factory() as db:
        _file(db, 1)
        _file(db, 8.5)
        for days in (15.5, 22.5):
            review.approve(session=db, request_id=_file(db, days).id, actor=OFFICER, ground="consent_withdrawn")
        overdue = _file(db, 35)
        extended = _file(db, 45)
        review.extend(session=db, request_id=extended.id, actor=OFFICER, months=2, reason="Complex",
                      now=extended.received_at + timedelta(days=1))
        review.deny(session=db, request_id=_file(db, 40).id, actor=OFFICER, ground="legal_claims", reason="A claim")
        _file(db, 40, verified=False)  # its deadline is not running yet: not open
        review.cancel(session=db, request_id=_file(db, 10).id, actor=OFFICER)

        model_dir = tmp_path / "model"
        model_dir.mkdir()
        (model_dir / "config.json").write_text('{"model_type": "gpt2"}')
        (model_dir / "model.safetensors").write_bytes(b"weights")
        model = targets.add_model(session=db, name="demo-assistant", path=model_dir, actor=OFFICER)
        t0 = utcnow() - timedelta(hours=3)
        _job(db, model, JobKind.discovery, JobStatus.succeeded, started=t0, seconds=45)
        _job(db, model, JobKind.discovery, JobStatus.succeeded, started=t0, seconds=100)
        _job(db, model, JobKind.discovery, JobStatus.running, started=t0)
        _job(db, model, JobKind.unlearning, JobStatus.failed, started=t0, seconds=2000)
        _job(db, model, JobKind.unlearning, JobStatus.queued)
        _job(db, model, JobKind.unlearning, JobStatus.canceled)
        last = audit_service.append(session=db, event="test.marker", actor=OFFICER)
        db.commit()
        entries = db.scalar(select(func.count()).select_from(AuditEntry))
        identifying = [r for e in db.scalars(select(ErasureRequest)) for r in (e.id, e.reference)]

    samples = scrape(app)

    expected_status = {RequestStatus.identity_unverified: 1, RequestStatus.pending_review: 4,
                       RequestStatus.approved: 2, RequestStatus.denied: 1, RequestStatus.canceled: 1}
    for status in RequestStatus:
        assert value(samples, "rtbf_erasure_requests", status=status.value) == expected_status.get(status, 0), status
    # Open: 8.5, 15.5, 22.5, 35 and 45 days old; the denied, canceled and unverified ones do not count.
    assert [value(samples, "rtbf_erasure_requests_open_older_than", days=d) for d in ("7", "14", "21", "28")] == [
        5, 4, 3, 2]
    assert value(samples, "rtbf_erasure_requests_overdue") == 1  # the extended one is not, though older
    assert overdue.due_at < utcnow() < extended.due_at

    for kind, status, count in [("discovery", "succeeded", 2), ("discovery", "running", 1), ("discovery", "failed", 0),
                                ("unlearning", "failed", 1), ("unlearning", "queued", 1),
                                ("unlearning", "canceled", 1), ("unlearning", "succeeded", 0)]:
        assert value(samples, "rtbf_jobs", kind=kind, status=status) == count, (kind, status)

    discovery = {"kind": "discovery", "status": "succeeded"}
    assert value(samples, "rtbf_job_duration_seconds_count", **discovery) == 2
    assert value(samples, "rtbf_job_duration_seconds_sum", **discovery) == 145
    assert [value(samples, "rtbf_job_duration_seconds_bucket", le=le, **discovery)
            for le in ("30.0", "60.0", "120.0", "+Inf")] == [0, 1, 2, 2]
    failed = {"kind": "unlearning", "status": "failed"}
    assert [value(samples, "rtbf_job_duration_seconds_bucket", le=le, **failed)
            for le in ("1800.0", "2700.0", "+Inf")] == [0, 1, 1]
    # Only finished jobs that ran: not the running one, nor the one canceled before it started.
    assert {labels for name, labels in samples if name == "rtbf_job_duration_seconds_count"} == {
        tuple(sorted(discovery.items())), tuple(sorted(failed.items()))}

    assert value(samples, "rtbf_audit_chain_head_seq") == last.seq == entries

    label_values = {v for _, labels in samples for _, v in labels}
    assert not label_values & set(identifying)


def test_queue_depth_of_the_filesystem_broker(make_app) -> None:
    app = make_app()
    producer = make_celery(app.state.settings)
    for queue in ("gpu", "gpu", "gpu", "default"):
        producer.send_task("rtbf.test.never_consumed", queue=queue)

    samples = scrape(app)
    assert value(samples, "rtbf_broker_up") == 1
    assert value(samples, "rtbf_queue_depth", queue="gpu") == 3
    assert value(samples, "rtbf_queue_depth", queue="default") == 1


def test_queue_depth_of_redis_and_a_broker_that_is_down(make_app, redis_url: str) -> None:
    app = make_app(redis_url=redis_url)
    producer = make_celery(app.state.settings)
    for _ in range(2):
        producer.send_task("rtbf.test.never_consumed", queue="gpu")
    samples = scrape(app)
    assert value(samples, "rtbf_queue_depth", queue="gpu") == 2
    assert value(samples, "rtbf_queue_depth", queue="default") == 0

    down = scrape(make_app(redis_url="redis://127.0.0.1:1/0"))
    assert value(down, "rtbf_broker_up") == 0
    assert not [name for name, _ in down if name == "rtbf_queue_depth"]  # unknown, not 0
    assert value(down, "rtbf_audit_chain_head_seq") == 0  # the database part still answers


def test_a_token_guards_metrics_and_production_without_one_serves_none(make_app) -> None:
    guarded = make_app(metrics_token=TOKEN)
    with TestClient(guarded) as client:
        for headers in ({}, {"Authorization": "Bearer wrong-token-wrong-token"}, {"Authorization": TOKEN}):
            refused = client.get("/metrics", headers=headers)
            assert refused.status_code == 401 and refused.headers["WWW-Authenticate"] == "Bearer", headers
            assert "rtbf_" not in refused.text
    assert value(scrape(guarded, Authorization=f"Bearer {TOKEN}"), "rtbf_broker_up") == 1

    with TestClient(make_app(environment="production")) as client:
        assert client.get("/metrics").status_code == 404
    assert value(scrape(make_app(environment="production", metrics_token=TOKEN),
                        Authorization=f"Bearer {TOKEN}"), "rtbf_broker_up") == 1

    with pytest.raises(ValidationError):
        Settings(metrics_token="short")


def test_metrics_stays_out_of_the_api_description(make_app) -> None:
    with TestClient(make_app()) as client:
        assert "/metrics" not in client.get("/openapi.json").json()["paths"]
