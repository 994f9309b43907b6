"""Fixtures for the job state machine: a registered (fake) model, approved requests, finished discoveries.

The service tests never load the model: ``add_model`` only checks the directory and hashes its weight files,
so a config.json and a few bytes named *.safetensors are enough. Discovery outcomes are recorded through the
worker-side service calls (claim, complete_discovery) with reports in the engine's ``to_dict`` shape.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from app.jobs import service as jobs
from app.jobs.models import Job
from app.requests import review
from app.requests import service as requests
from app.requests.models import ErasureRequest
from app.requests.schemas import RequestCreate
from app.targets import service as targets
from app.targets.models import TargetModel
from jobs_helpers import OFFICER, fake_model_dir, probe_report


@pytest.fixture
def model(session: Session, tmp_path: Path) -> TargetModel:
    return targets.add_model(session=session, name="demo-assistant", path=fake_model_dir(tmp_path / "m1"),
                             actor=OFFICER)


@pytest.fixture
def make_request(session: Session) -> Callable[..., ErasureRequest]:
    counter = iter(range(1000))

    def factory(*, approved: bool = True, name: str = "Jane Roe", model_name: str | None = None) -> ErasureRequest:
        data = RequestCreate(full_name=name, email=f"subject{next(counter)}@example.org", target_model=model_name)
        request = requests.create_request(session=session, data=data, channel="api", verified=True,
                                          actor="apikey:test").request
        if approved:
            review.approve(session=session, request_id=request.id, actor=OFFICER, ground="consent_withdrawn")
        return request

    return factory


@pytest.fixture
def discovered(session: Session) -> Callable[..., Job]:
    """Run a discovery for ``request`` to success on its model's current version, findings as given."""

    def run(request: ErasureRequest, *, confirmed: list[str] = ("email",), candidates: list[str] = ("phone",),
            model_id: str | None = None) -> Job:
        job = jobs.start_discovery(session=session, request_id=request.id, actor=OFFICER, model_id=model_id)
        assert jobs.claim(session=session, job_id=job.id, worker="celery@test") is job
        report = probe_report(job.target_model, confirmed=list(confirmed), candidates=list(candidates),
                              secret=requests.identifiers(request).email)
        return jobs.complete_discovery(session=session, job_id=job.id, reports={request.id: report})

    return run
