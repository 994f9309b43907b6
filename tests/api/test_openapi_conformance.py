"""The REST API matches its OpenAPI description and never answers 5xx: schemathesis against the ASGI app.

Every /api/v1 operation runs in-process against the real app on the test PostgreSQL, with every schemathesis
check (server errors, status codes and headers the description lists, response bodies against their schemas,
schema-valid input accepted, schema-invalid input refused, authentication enforced, ``Allow`` on 405):

- ``test_conformance_with_all_scopes``: a key holding every scope; schemathesis's coverage phase (boundary and
  invalid values of each parameter, unexpected methods, malformed bodies) and then fuzzing;
- ``test_conformance_with_one_scope``: for each scope, a key holding only that one (fuzzing), so each operation
  meets keys it must refuse (403) and the narrowest key it accepts.

The key goes as an explicit header (schemathesis leaves ``Authorization`` alone: ``with-security-parameters`` is
off); its ignored_auth check then sends the accepted requests again without a key and with a wrong one.

The database holds a model with two versions and requests in several states with their jobs (seeded once per
module inside a transaction; each test runs in a savepoint rolled back afterwards). Ids in a schema-valid path
(and unlearning's request ids) are replaced, in most cases, by ids of that data (chosen from the generated
value, so runs are reproducible), so that operations answer 200, 202 and 409 and not only 404. Generation is
deterministic (fixed seed, derandomised, no example database), without deadline: about 2,400 cases in all
(some 670 coverage and 1,000 fuzzing cases with every scope, 730 with one scope), half a minute on one core.

The one documented answer the schema cannot state: ``registerModel`` answers 422 to a path that does not hold a
model on the file system, so for that operation 422 counts as an acceptance of schema-valid input.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.core.parameters import ParameterLocation
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from app.apikeys import service as apikey_service
from app.apikeys.service import SCOPES
from app.core.config import get_settings
from app.jobs import service as jobs_service
from app.main import create_app
from app.requests import service as request_service
from app.requests.grounds import ErasureGround
from app.requests.schemas import RequestCreate
from app.targets import service as target_service
from tests.audit.bundle_helpers import EMAIL, NAME, PHONE, model_dir, probe_report, unlearning_evidence
from workers.engine.evidence import redact_report, sha256_dir, sha256_text

APP = create_app()
ACTOR = "officer:conformance-test"
# Coverage cases are not bounded by max-examples; fuzzing runs this many per operation (per key for one scope).
FUZZ_ALL_SCOPES = 60
FUZZ_ONE_SCOPE = 6
# Schema-valid input may be refused only for these reasons (the defaults, plus 422 where the schema cannot say it).
ACCEPTED = ["2xx", "401", "403", "404", "409"]


def _config(*, coverage: bool, max_examples: int) -> schemathesis.Config:
    return schemathesis.Config.from_dict({
        "seed": 20240917,
        "generation": {"max-examples": max_examples, "deterministic": True, "database": "none",
                       "with-security-parameters": False},
        "phases": {"examples": {"enabled": False}, "coverage": {"enabled": coverage},
                   "stateful": {"enabled": False}},
        "checks": {"positive_data_acceptance": {"expected-statuses": ACCEPTED}},
        "operations": [{"include-operation-id": "registerModel",
                        "checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED, "422"]}}}],
    })


def _schema(**config: Any) -> schemathesis.BaseSchema:
    loaded = schemathesis.openapi.from_asgi("/openapi.json", APP, config=_config(**config))
    return loaded.include(path_regex="^/api/v1/")


ALL_SCOPES = _schema(coverage=True, max_examples=FUZZ_ALL_SCOPES)
ONE_SCOPE = _schema(coverage=False, max_examples=FUZZ_ONE_SCOPE)


def _create(session: Session, **fields: Any) -> str:
    data = RequestCreate(full_name=NAME, email=EMAIL, phone=PHONE, **fields)
    created = request_service.create_request(session=session, data=data, channel="api", verified=True, actor=ACTOR,
                                             settings=get_settings())
    return created.request.id


def _approved(session: Session) -> str:
    request_id = _create(session)
    request_service.approve(session=session, request_id=request_id, actor=ACTOR, ground=ErasureGround.objection,
                            settings=get_settings())
    return request_id


def _discovered(session: Session, request_id: str) -> str:
    """Discovery started, and finished as the worker would, with a report that finds the email."""
    job = jobs_service.start_discovery(session=session, request_id=request_id, actor=ACTOR)
    jobs_service.claim(session=session, job_id=job.id, worker="celery@conformance")
    report = probe_report(job.base_version.weights_sha256, leaking=True)
    jobs_service.complete_discovery(session=session, job_id=job.id,
                                    reports={request_id: (report.to_dict(), redact_report(report))})
    return job.id


def _seed(session: Session, root: Path) -> dict[str, Any]:
    tokens = {}
    for scope in ["all", *sorted(SCOPES)]:
        scopes = sorted(SCOPES) if scope == "all" else [scope]
        _, tokens[scope] = apikey_service.create_key(session=session, name=f"conformance {scope}", scopes=scopes)
    model = target_service.add_model(session=session, name="conformance-bot", path=model_dir(root / "v1", b"one"),
                                     actor=ACTOR, description="Seeded for the OpenAPI conformance test")
    # A completed request whose unlearning made version 2 (so that restoreModel has a version to go back to).
    completed = _approved(session)
    _discovered(session, completed)
    unlearning = jobs_service.start_unlearning(session=session, request_ids=[completed], actor=ACTOR)
    jobs_service.claim(session=session, job_id=unlearning.id, worker="celery@conformance")
    base = unlearning.base_version.weights_sha256
    result_dir = model_dir(root / "v2", b"two")
    report = probe_report(base, leaking=False)
    evidence = unlearning_evidence(report, report, base, sha256_dir(result_dir))
    jobs_service.complete_unlearning(session=session, job_id=unlearning.id, passed=True, evidence=evidence,
                                     evidence_sha256=sha256_text(str(evidence)), output_dir=str(root),
                                     model_dir=str(result_dir), weights_sha256=sha256_dir(result_dir), reasons=[])
    # An approved request with a discovery on the current version (ready for unlearning), an approved one
    # without, and one pending review with a queued discovery.
    ready = _approved(session)
    discovery = _discovered(session, ready)
    approved = _approved(session)
    pending = _create(session, target_model="conformance-bot")
    queued = jobs_service.start_discovery(session=session, request_id=pending, actor=ACTOR)
    session.commit()
    return {
        "tokens": tokens,
        "request_id": [ready, approved, pending, completed],
        "job_id": [discovery, queued.id, unlearning.id],
        "model_id": [model.id, model.name],
    }


@pytest.fixture(scope="module")
def seeded(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, dict[str, Any]]]:
    """The seeded data, inside a transaction of this module's own connection that is rolled back at the end."""
    connection = engine.connect()
    outer = connection.begin()
    with Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False) as session:
        data = _seed(session, tmp_path_factory.mktemp("conformance-models"))
    try:
        yield connection, data
    finally:
        outer.rollback()
        connection.close()


@pytest.fixture
def data(seeded: tuple[Any, dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The app's sessions for one test: in a savepoint of the seeded transaction, rolled back afterwards."""
    connection, data = seeded
    savepoint = connection.begin_nested()
    session = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    APP.state.session_factory = lambda: session
    try:
        yield data
    finally:
        session.close()
        savepoint.rollback()


def _use_seeded_ids(case: schemathesis.Case, data: dict[str, Any]) -> None:
    """Point a schema-valid path (and unlearning's request ids) at seeded resources, in most cases."""
    meta = case.meta
    if meta is None:
        return
    path = meta.components.get(ParameterLocation.PATH)
    if case.path_parameters and path is not None and not path.mode.is_negative:
        for name, value in list(case.path_parameters.items()):
            pool = data.get(name)
            if pool:
                pick = zlib.crc32(repr(value).encode()) % (len(pool) + 1)
                if pick < len(pool):
                    case.path_parameters[name] = pool[pick]
    body = meta.components.get(ParameterLocation.BODY)
    if (case.operation.label == "POST /api/v1/jobs/unlearning" and body is not None
            and not body.mode.is_negative and isinstance(case.body, dict) and case.body.get("request_ids")):
        pool = data["request_id"]
        pick = zlib.crc32(repr(case.body["request_ids"]).encode()) % (len(pool) + 1)
        if pick < len(pool):
            case.body["request_ids"] = [pool[pick]]


def _run(case: schemathesis.Case, data: dict[str, Any], scope: str) -> None:
    _use_seeded_ids(case, data)
    case.call_and_validate(headers={"Authorization": f"Bearer {data['tokens'][scope]}"})


# The fixture is function-scoped on purpose: one savepoint for all the cases of a test, so they meet each other's data.
SETTINGS = settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)


@ALL_SCOPES.parametrize()
@SETTINGS
def test_conformance_with_all_scopes(case: schemathesis.Case, data: dict[str, Any]) -> None:
    _run(case, data, "all")


@pytest.mark.parametrize("scope", sorted(SCOPES))
@ONE_SCOPE.parametrize()
@SETTINGS
def test_conformance_with_one_scope(case: schemathesis.Case, data: dict[str, Any], scope: str) -> None:
    _run(case, data, scope)
