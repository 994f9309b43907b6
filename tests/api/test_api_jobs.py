"""/api/v1 models, jobs and evidence bundles: scopes, the one error shape, redacted findings, the whole flow."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from app.audit.bundle_checks import verify_bundle
from app.jobs import service as jobs_service
from app.requests import service as request_service
from tests.audit.bundle_helpers import EMAIL, NAME, PHONE, model_dir, probe_report, unlearning_evidence
from workers.engine.evidence import redact_report, sha256_dir, sha256_text

ALL = ("requests:read", "requests:write", "requests:review", "audit:read", "models:read", "models:write",
       "jobs:write")
SUBJECT = {"full_name": NAME, "email": EMAIL, "phone": PHONE}


def assert_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code and body["error"]["message"]


@pytest.fixture
def admin(key_for) -> dict[str, str]:
    return key_for(*ALL)


@pytest.fixture
def model_id(client, admin, tmp_path: Path) -> str:
    response = client.post("/api/v1/models", headers=admin,
                           json={"name": "support-bot", "path": str(model_dir(tmp_path / "v1", b"one"))})
    assert response.status_code == 201, response.text
    return response.json()["id"]


@pytest.fixture
def approved(client, admin, model_id) -> str:
    created = client.post("/api/v1/requests", headers=admin, json=SUBJECT)
    request_id = created.json()["id"]
    assert client.post(f"/api/v1/requests/{request_id}/approve", headers=admin,
                       json={"ground": "objection"}).status_code == 200
    return request_id


def _discover(client, admin, session: Session, request_id: str) -> dict:
    """Start discovery over the API, then play the worker's part with a report that quotes the subject."""
    response = client.post(f"/api/v1/requests/{request_id}/discovery", headers=admin)
    assert response.status_code == 202, response.text
    job = response.json()
    jobs_service.claim(session=session, job_id=job["id"], worker="celery@test")
    weights = jobs_service.get_job(session=session, job_id=job["id"]).base_version.weights_sha256
    report = probe_report(weights, leaking=True)
    jobs_service.complete_discovery(session=session, job_id=job["id"],
                                    reports={request_id: (report.to_dict(), redact_report(report))})
    session.commit()
    return job


# (method, path, body, scopes that are enough); {request}, {job} and {model} are filled in per test.
ROUTES = [
    ("get", "/api/v1/models", None, {"models:read"}),
    ("post", "/api/v1/models", {"name": "x", "path": "/nonexistent"}, {"models:write"}),
    ("get", "/api/v1/models/{model}", None, {"models:read"}),
    ("post", "/api/v1/models/{model}/restore", {"reason": "r"}, {"models:write"}),
    ("post", "/api/v1/requests/{request}/discovery", None, {"jobs:write"}),
    ("post", "/api/v1/jobs/unlearning", {"request_ids": ["{request}"]}, {"jobs:write"}),
    ("get", "/api/v1/requests/{request}/jobs", None, {"jobs:write", "requests:read"}),
    ("get", "/api/v1/jobs/{job}", None, {"jobs:write", "requests:read"}),
    ("post", "/api/v1/jobs/{job}/cancel", None, {"jobs:write"}),
    ("get", "/api/v1/requests/{request}/bundle", None, {"audit:read"}),
]


@pytest.mark.parametrize(("method", "path", "body", "scopes"), ROUTES, ids=[f"{m} {p}" for m, p, _, _ in ROUTES])
def test_every_route_wants_a_key_with_its_scope(client, key_for, session, admin, approved, model_id, method, path,
                                                body, scopes) -> None:
    job = client.post(f"/api/v1/requests/{approved}/discovery", headers=admin).json()["id"]
    url = path.format(request=approved, job=job, model=model_id)
    payload = json.loads(json.dumps(body).replace("{request}", approved)) if body else None
    kwargs = {"json": payload} if payload is not None else {}
    for headers in ({}, {"Authorization": "Bearer rtbf_nope_nope"}):
        assert_error(getattr(client, method)(url, headers=headers, **kwargs), 401, "unauthorized")
    wrong = key_for(*[s for s in ALL if s not in scopes])
    assert_error(getattr(client, method)(url, headers=wrong, **kwargs), 403, "forbidden")
    right = getattr(client, method)(url, headers=key_for(*sorted(scopes)[:1]), **kwargs)
    assert right.status_code not in (401, 403), right.text


def test_register_list_and_get_models(client, admin, key_for, tmp_path: Path, model_id) -> None:
    reader = key_for("models:read")
    listed = client.get("/api/v1/models", headers=reader).json()
    assert [m["name"] for m in listed] == ["support-bot"] and listed[0]["current_version"] == 1
    by_name = client.get("/api/v1/models/support-bot", headers=reader).json()
    assert by_name["id"] == model_id and by_name["versions"][0]["weights_sha256"] == sha256_dir(tmp_path / "v1")
    assert by_name["versions"][0]["current"] and by_name["versions"][0]["origin"] == "registered"
    assert_error(client.get("/api/v1/models/ghost", headers=reader), 404, "not_found")
    again = client.post("/api/v1/models", headers=admin, json={"name": "support-bot", "path": str(tmp_path / "v1")})
    assert_error(again, 409, "conflict")
    nowhere = client.post("/api/v1/models", headers=admin, json={"name": "other", "path": str(tmp_path / "none")})
    assert_error(nowhere, 422, "validation_error")
    assert nowhere.json()["error"]["details"] == {"field": "path"}
    extra = client.post("/api/v1/models", headers=admin, json={"name": "o", "path": "/x", "weights": "y"})
    assert_error(extra, 422, "validation_error")


def test_discovery_job_can_be_read_and_canceled(client, admin, key_for, approved) -> None:
    started = client.post(f"/api/v1/requests/{approved}/discovery", headers=admin)
    assert started.status_code == 202
    job = started.json()
    assert (job["kind"], job["status"], job["model_name"], job["base_version"]) == ("discovery", "queued",
                                                                                     "support-bot", 1)
    assert client.get(f"/api/v1/requests/{approved}", headers=admin).json()["status"] == "discovering"
    assert_error(client.post(f"/api/v1/requests/{approved}/discovery", headers=admin), 409, "illegal_transition")
    watcher = key_for("requests:read")
    assert client.get(f"/api/v1/jobs/{job['id']}", headers=watcher).json()["status"] == "queued"
    assert [j["id"] for j in client.get(f"/api/v1/requests/{approved}/jobs", headers=watcher).json()] == [job["id"]]
    canceled = client.post(f"/api/v1/jobs/{job['id']}/cancel", headers=admin)
    assert canceled.status_code == 200 and canceled.json()["status"] == "canceled"
    assert client.get(f"/api/v1/requests/{approved}", headers=admin).json()["status"] == "approved"
    assert_error(client.post(f"/api/v1/jobs/{job['id']}/cancel", headers=admin), 409, "conflict")
    assert_error(client.get("/api/v1/jobs/no-such-job", headers=admin), 404, "not_found")
    assert_error(client.post("/api/v1/requests/no-such-request/discovery", headers=admin), 404, "not_found")


def test_findings_are_redacted(client, admin, session, approved) -> None:
    job = _discover(client, admin, session, approved)
    response = client.get(f"/api/v1/jobs/{job['id']}", headers=admin)
    body = response.json()
    assert body["status"] == "succeeded"
    link = body["requests"][0]
    assert link["confirmed"] == ["email"] and link["candidates"] == ["phone"] and link["report_sha256"]
    for secret in (NAME, EMAIL, PHONE, "Quentin"):
        assert secret not in response.text


def test_unlearning_validation(client, admin, session, approved) -> None:
    path = "/api/v1/jobs/unlearning"
    assert_error(client.post(path, headers=admin, json={"request_ids": [approved]}), 409, "conflict")  # no discovery
    _discover(client, admin, session, approved)
    assert_error(client.post(path, headers=admin, json={"request_ids": [approved], "method": "magic"}), 422,
                 "validation_error")
    assert_error(client.post(path, headers=admin, json={"request_ids": [approved], "params": {"lr": 9.0}}), 422,
                 "validation_error")
    assert_error(client.post(path, headers=admin, json={"request_ids": [approved], "params": {"epochs": 1}}), 422,
                 "validation_error")
    assert_error(client.post(path, headers=admin, json={"request_ids": []}), 422, "validation_error")
    assert_error(client.post(path, headers=admin, json={"request_ids": [approved],
                                                        "attributes": {approved: ["iban"]}}), 422, "validation_error")
    missing = client.post(path, headers=admin, json={"request_ids": ["5b0ed1b6-4a4e-4c1a-9a7e-000000000000"]})
    assert_error(missing, 404, "not_found")


def test_the_whole_flow_over_the_api(client, admin, key_for, session, approved, tmp_path: Path) -> None:
    """Discovery, unlearning (batch of one, a candidate included), evidence bundle, restore."""
    _discover(client, admin, session, approved)
    started = client.post("/api/v1/jobs/unlearning", headers=admin, json={
        "request_ids": [approved], "method": "relearn", "attributes": {approved: ["email", "phone"]},
        "params": {"max_steps": 30, "lr": 0.001}})
    assert started.status_code == 202, started.text
    job = started.json()
    assert (job["method"], job["params"], job["requests"][0]["attributes"]) == (
        "relearn", {"max_steps": 30, "lr": 0.001, "attacks": ["quantize", "multiquery"],
                    "gating_attacks": ["quantize", "multiquery"]}, ["email", "phone"])
    assert client.get(f"/api/v1/requests/{approved}", headers=admin).json()["status"] == "unlearning"
    # The worker's part: a verified run makes version 2.
    jobs_service.claim(session=session, job_id=job["id"], worker="celery@test")
    base = jobs_service.get_job(session=session, job_id=job["id"]).base_version.weights_sha256
    result_dir = model_dir(tmp_path / "v2", b"two")
    report = probe_report(base, leaking=False)
    evidence = unlearning_evidence(report, report, base, sha256_dir(result_dir))
    text = json.dumps(evidence, indent=2, sort_keys=True) + "\n"
    jobs_service.complete_unlearning(session=session, job_id=job["id"], passed=True, evidence=evidence,
                                     evidence_sha256=sha256_text(text), output_dir=str(tmp_path),
                                     model_dir=str(result_dir), weights_sha256=sha256_dir(result_dir), reasons=[])
    session.commit()
    done = client.get(f"/api/v1/jobs/{job['id']}", headers=admin).json()
    assert (done["status"], done["result_version"], done["evidence_sha256"]) == ("succeeded", 2, sha256_text(text))
    assert client.get(f"/api/v1/requests/{approved}", headers=admin).json()["status"] == "completed"

    bundle = client.get(f"/api/v1/requests/{approved}/bundle", headers=key_for("audit:read"))
    assert bundle.status_code == 200 and "attachment" in bundle.headers["content-disposition"]
    assert verify_bundle(bundle.json()).ok
    for secret in (NAME, EMAIL, PHONE):
        assert secret not in bundle.text
    assert_error(client.get("/api/v1/requests/nope/bundle", headers=admin), 404, "not_found")

    model = client.get("/api/v1/models/support-bot", headers=admin).json()
    assert model["current_version"] == 2 and model["versions"][1]["requests_served"] == [approved]
    assert model["versions"][1]["parent_number"] == 1
    assert_error(client.post("/api/v1/models/support-bot/restore", headers=admin, json={"reason": ""}), 422,
                 "validation_error")
    restored = client.post("/api/v1/models/support-bot/restore", headers=admin, json={"reason": "bad answers"})
    assert restored.status_code == 200 and restored.json()["current_version"] == 1
    reference = client.get(f"/api/v1/requests/{approved}", headers=admin).json()["reference"]
    assert restored.json()["reopened_requests"] == [{"id": approved, "reference": reference}]
    assert client.get(f"/api/v1/requests/{approved}", headers=admin).json()["status"] == "approved"
    assert_error(client.post("/api/v1/models/support-bot/restore", headers=admin, json={"reason": "again"}), 409,
                 "conflict")
    events = [e.event for e in request_service.history(session=session, request_id=approved)]
    assert events.index("model.erasure_reverted") < events.index("request.reopened")
    # The reopened request's bundle still verifies, and the erasure can be run again (findings on v1 still hold).
    reopened = client.get(f"/api/v1/requests/{approved}/bundle", headers=key_for("audit:read")).json()
    assert reopened["request"]["status"] == "approved" and verify_bundle(reopened).ok
    again = client.post("/api/v1/jobs/unlearning", headers=admin, json={"request_ids": [approved]})
    assert again.status_code == 202 and again.json()["base_version"] == 1, again.text


def test_openapi_lists_the_operations(client) -> None:
    spec = client.get("/openapi.json").json()
    ops = {op["operationId"] for item in spec["paths"].values() for op in item.values()}
    assert {"listModels", "registerModel", "getModel", "restoreModel", "startDiscovery", "startUnlearning",
            "listRequestJobs", "getJob", "cancelJob", "exportRequestBundle"} <= ops
    restore = spec["paths"]["/api/v1/models/{model_id}/restore"]["post"]
    answer = restore["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    reopened = spec["components"]["schemas"][answer]["properties"]["reopened_requests"]
    assert reopened["items"]["$ref"].endswith("/ReopenedRequest")
    assert set(spec["components"]["schemas"]["ReopenedRequest"]["properties"]) == {"id", "reference"}


def test_attack_checks_are_validated_against_the_engines_names(client, admin, session, approved) -> None:
    from app.jobs.models import Job

    _discover(client, admin, session, approved)
    path = "/api/v1/jobs/unlearning"
    for body in ({"attacks": ["quantize", "jailbreak"]}, {"gating_attacks": ["QUANTIZE"]}, {"attacks": "quantize"},
                 {"attacks": ["quantize"] * 5}, {"gating_attacks": [1]}):
        response = client.post(path, headers=admin, json={"request_ids": [approved], **body})
        assert_error(response, 422, "validation_error")
    assert session.query(Job).filter(Job.kind == "unlearning").count() == 0
    schema = client.get("/openapi.json").json()["components"]["schemas"]["UnlearningBody"]["properties"]
    for name in ("attacks", "gating_attacks"):
        listed = next(s for s in schema[name]["anyOf"] if s.get("type") == "array")
        assert listed["items"]["enum"] == ["quantize", "relearn", "multiquery", "multihop"]
        assert listed["maxItems"] == 4 and schema[name]["description"]


def test_a_job_may_override_the_attack_checks(client, admin, session, approved) -> None:
    _discover(client, admin, session, approved)
    started = client.post("/api/v1/jobs/unlearning", headers=admin, json={
        "request_ids": [approved], "attacks": ["multihop", "relearn", "relearn"], "gating_attacks": ["multihop"]})
    assert started.status_code == 202, started.text
    job = started.json()
    # Registry order, duplicates dropped; recorded in the job's params (and so in the bundle) and its audit entry.
    assert job["params"] == {"attacks": ["relearn", "multihop"], "gating_attacks": ["multihop"]}
    queued = next(e for e in client.get(f"/api/v1/requests/{approved}/audit", headers=admin).json()
                  if e["event"] == "job.unlearning.queued")
    assert (queued["details"]["attacks"], queued["details"]["gating_attacks"]) == (["relearn", "multihop"],
                                                                                  ["multihop"])


@pytest.mark.parametrize(("body", "params"), [
    # Only attacks: the setting's gating ones among them gate (the default setting gates quantize and multiquery).
    ({"attacks": ["relearn", "multiquery"]}, {"attacks": ["relearn", "multiquery"], "gating_attacks": ["multiquery"]}),
    ({"attacks": []}, {"attacks": [], "gating_attacks": []}),
    # A gating attack runs even when attacks leaves it out.
    ({"attacks": ["quantize"], "gating_attacks": ["relearn"]}, {"attacks": ["quantize", "relearn"],
                                                                "gating_attacks": ["relearn"]}),
    ({"gating_attacks": []}, {"attacks": ["quantize", "multiquery"], "gating_attacks": []}),
])
def test_a_partial_override_keeps_the_rest_of_the_setting(client, admin, session, approved, body, params) -> None:
    _discover(client, admin, session, approved)
    started = client.post("/api/v1/jobs/unlearning", headers=admin, json={"request_ids": [approved], **body})
    assert started.status_code == 202, started.text
    assert started.json()["params"] == params
