"""/api/v1 hardening: bad values are a 422 in the one error shape (never a 500, nothing stored), the OpenAPI
description states the bounds the server checks and lists every answer, and a 405 names the allowed methods."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.requests.models import ErasureRequest
from app.requests.schemas import MAX_OFFSET
from app.targets.models import TargetModel
from tests.audit.bundle_helpers import model_dir

ALL = ("requests:read", "requests:write", "requests:review", "audit:read", "models:read", "models:write",
       "jobs:write")
NEW = {"full_name": "Ada Lovelace", "email": "ada@example.org"}


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code and body["error"]["message"]
    return body["error"]


def counts(session) -> tuple[int, ...]:
    return tuple(session.scalar(select(func.count()).select_from(t)) for t in (ErasureRequest, AuditEntry, TargetModel))


@pytest.fixture
def admin(key_for) -> dict[str, str]:
    return key_for(*ALL)


@pytest.fixture
def request_id(client, admin) -> str:
    response = client.post("/api/v1/requests", json=NEW, headers=admin)
    assert response.status_code == 201, response.text
    return response.json()["id"]


@pytest.fixture
def spec(client) -> dict:
    return client.get("/openapi.json").json()


def operation(spec: dict, operation_id: str) -> dict:
    return next(op for item in spec["paths"].values() for op in item.values() if op.get("operationId") == operation_id)


def body_schema(spec: dict, operation_id: str) -> dict:
    ref = operation(spec, operation_id)["requestBody"]["content"]["application/json"]["schema"]
    if "anyOf" in ref:  # an optional body
        ref = next(option for option in ref["anyOf"] if "$ref" in option)
    return spec["components"]["schemas"][ref["$ref"].rsplit("/", 1)[1]]


# The 500 schemathesis found: PostgreSQL's "bigint out of range".
def test_an_offset_beyond_the_maximum_is_a_422_not_a_500(client, admin, request_id, spec) -> None:
    huge = client.get("/api/v1/requests?offset=16941027021141562248726052864&status=approved", headers=admin)
    error = assert_error(huge, 422, "validation_error")
    assert error["details"][0]["loc"] == ["query", "offset"]
    assert_error(client.get("/api/v1/requests", params={"offset": MAX_OFFSET + 1}, headers=admin), 422,
                 "validation_error")
    last = client.get("/api/v1/requests", params={"offset": MAX_OFFSET}, headers=admin)
    assert last.status_code == 200 and last.json()["items"] == [] and last.json()["total"] == 1
    params = {p["name"]: p["schema"] for p in operation(spec, "listRequests")["parameters"]}
    assert params["offset"]["maximum"] == MAX_OFFSET and params["limit"]["maximum"] == 200


# The other 500: the file system's "File name too long" escaped as an OSError.
@pytest.mark.parametrize("field", ["path", "corpus"])
def test_a_path_the_file_system_refuses_is_a_422(client, admin, session, tmp_path: Path, field) -> None:
    good = str(model_dir(tmp_path / "model", b"weights"))
    body = {"name": "long-path", "path": good, field: "a" * 1000}
    before = counts(session)
    error = assert_error(client.post("/api/v1/models", json=body, headers=admin), 422, "validation_error")
    assert error["details"] == {"field": field} and "too long" in error["message"]
    assert "a" * 100 not in error["message"]  # the reason, not the input echoed back
    assert counts(session) == before
    assert client.get("/api/v1/models", headers=admin).json() == []
    # The same registration with a usable path works.
    registered = client.post("/api/v1/models", json={"name": "long-path", "path": good}, headers=admin)
    assert registered.status_code == 201, registered.text


def test_model_bounds_are_stated_and_enforced(client, admin, spec) -> None:
    schema = body_schema(spec, "registerModel")["properties"]
    assert schema["path"]["maxLength"] == 1000 and schema["name"]["maxLength"] == 80 and schema["name"]["pattern"]
    too_long = client.post("/api/v1/models", json={"name": "m", "path": "/" + "a" * 1000}, headers=admin)
    assert assert_error(too_long, 422, "validation_error")["details"][0]["loc"] == ["body", "path"]
    bad_name = client.post("/api/v1/models", json={"name": "-bad name", "path": "/x"}, headers=admin)
    assert assert_error(bad_name, 422, "validation_error")["details"][0]["loc"] == ["body", "name"]
    missing = client.post("/api/v1/models", json={"name": "ghost", "path": "/no/such/model"}, headers=admin)
    assert assert_error(missing, 422, "validation_error")["details"] == {"field": "path"}
    assert "422" in operation(spec, "registerModel")["responses"]


@pytest.mark.parametrize("url", ["/api/v1/jobs/a%00b", "/api/v1/models/a%00b", "/api/v1/requests/a%00b",
                                 "/api/v1/jobs/" + "x" * 81])
def test_an_id_postgresql_cannot_hold_is_a_422(client, admin, url) -> None:
    assert_error(client.get(url, headers=admin), 422, "validation_error")


def test_text_with_nul_is_a_422(client, admin, session, request_id) -> None:
    before = counts(session)
    for body in ({**NEW, "target_model": "bot\x00"}, {**NEW, "full_name": "Ada\x00"}):
        assert_error(client.post("/api/v1/requests", json=body, headers=admin), 422, "validation_error")
    assert_error(client.post(f"/api/v1/requests/{request_id}/deny", json={"ground": "excessive", "reason": "a\x00"},
                             headers=admin), 422, "validation_error")
    assert counts(session) == before


# Schema-valid requests the server refused: the schema now states the constraint.
def test_a_blank_reason_is_refused_and_the_schema_says_so(client, admin, session, request_id, spec) -> None:
    pattern = body_schema(spec, "denyRequest")["properties"]["reason"]["pattern"]
    assert not re.search(pattern, " \t\n ") and re.search(pattern, "  Litigation hold ")
    before = counts(session)
    blank = client.post(f"/api/v1/requests/{request_id}/deny", json={"ground": "legal_claims", "reason": "   "},
                        headers=admin)
    assert assert_error(blank, 422, "validation_error")["details"][0]["loc"] == ["body", "reason"]
    assert counts(session) == before
    denied = client.post(f"/api/v1/requests/{request_id}/deny", json={"ground": "legal_claims", "reason": "  Hold "},
                         headers=admin)
    assert denied.status_code == 200 and denied.json()["decision_reason"] == "Hold"
    assert body_schema(spec, "restoreModel")["properties"]["reason"]["pattern"] == pattern


def test_unlearning_params_state_their_bounds(client, admin, spec) -> None:
    params = spec["components"]["schemas"]["UnlearningParams"]["properties"]
    bounds = {name: [option for option in value["anyOf"] if option["type"] != "null"][0]
              for name, value in params.items()}
    assert (bounds["rank"]["minimum"], bounds["rank"]["maximum"]) == (1, 64)
    assert (bounds["max_steps"]["minimum"], bounds["max_steps"]["maximum"]) == (1, 2000)
    assert bounds["lr"]["maximum"] == 0.5 and bounds["seed"]["maximum"] == 2**31 - 1
    unknown = "5b0ed1b6-4a4e-4c1a-9a7e-000000000000"
    for rank in (0, 65):
        rejected = client.post("/api/v1/jobs/unlearning", json={"request_ids": [unknown], "params": {"rank": rank}},
                               headers=admin)
        assert assert_error(rejected, 422, "validation_error")["details"][0]["loc"] == ["body", "params", "rank"]
    # In bounds, the request itself is looked at (and is unknown).
    assert_error(client.post("/api/v1/jobs/unlearning", json={"request_ids": [unknown], "params": {"rank": 64}},
                             headers=admin), 404, "not_found")


@pytest.mark.parametrize(("method", "url", "allow"), [
    ("DELETE", "/api/v1/models", "GET, POST"),
    ("OPTIONS", "/api/v1/models", "GET, POST"),
    ("PUT", "/api/v1/requests", "GET, POST"),
    ("DELETE", "/api/v1/requests/{id}", "GET"),
    ("GET", "/api/v1/requests/{id}/approve", "POST"),
    # Also matched by /api/v1/jobs/{job_id}, but OpenAPI matches the concrete path first.
    ("OPTIONS", "/api/v1/jobs/unlearning", "POST"),
])
def test_a_405_names_every_allowed_method(client, admin, request_id, method, url, allow) -> None:
    response = client.request(method, url.format(id=request_id), headers=admin)
    assert_error(response, 405, "method_not_allowed")
    assert response.headers["allow"] == allow


def test_a_page_405_names_its_methods_too(client) -> None:
    response = client.delete("/")
    assert response.status_code == 405 and response.headers["allow"] == "GET"


def test_every_operation_documents_its_errors_with_the_error_shape(spec) -> None:
    error_ref = "#/components/schemas/ErrorResponse"
    assert set(spec["components"]["schemas"]["ErrorResponse"]["properties"]) == {"error"}
    for path, item in spec["paths"].items():
        if not path.startswith("/api/v1/"):
            continue
        for method, op in item.items():
            responses = op["responses"]
            for code in ("401", "403"):
                assert responses[code]["content"]["application/json"]["schema"]["$ref"] == error_ref, (path, method)
            if op.get("parameters") or op.get("requestBody"):
                assert "422" in responses, (path, method)
            if "{" in path:
                assert "404" in responses, (path, method)
            if op.get("requestBody"):
                assert "400" in responses, (path, method)
