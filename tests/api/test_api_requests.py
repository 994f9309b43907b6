"""/api/v1: authentication and scopes on every route, validation, pagination, and the review actions."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.notifications.models import OutboxMessage
from app.requests.models import ErasureRequest

NEW = {"full_name": "Ada Lovelace", "email": "ada@example.org", "target_model": "support-bot"}
ALL = ("requests:read", "requests:write", "requests:review", "audit:read")
ID = "{id}"
ROUTES = [
    # (method, path, body, scopes that are enough)
    ("post", "/api/v1/requests", NEW, {"requests:write"}),
    ("get", "/api/v1/requests", None, {"requests:read"}),
    ("get", f"/api/v1/requests/{ID}", None, {"requests:read", "requests:review"}),
    ("post", f"/api/v1/requests/{ID}/approve", {"ground": "objection"}, {"requests:review"}),
    ("post", f"/api/v1/requests/{ID}/deny", {"ground": "legal_claims", "reason": "Litigation hold"}, {"requests:review"}),
    ("post", f"/api/v1/requests/{ID}/extend", {"months": 1, "reason": "Complex"}, {"requests:review"}),
    ("post", f"/api/v1/requests/{ID}/cancel", {"reason": "Withdrawn"}, {"requests:review"}),
    ("get", f"/api/v1/requests/{ID}/audit", None, {"audit:read"}),
    ("get", "/api/v1/audit/verify", None, {"audit:read"}),
]
ROUTE_IDS = [f"{m} {p}" for m, p, _, _ in ROUTES]


def counts(session) -> tuple[int, int, int]:
    return tuple(session.scalar(select(func.count()).select_from(t)) for t in (ErasureRequest, AuditEntry, OutboxMessage))


@pytest.fixture
def existing(client, key_for) -> str:
    response = client.post("/api/v1/requests", json=NEW, headers=key_for("requests:write"))
    assert response.status_code == 201, response.text
    return response.json()["id"]


def call(client, method, path, body, request_id, headers=None):
    return getattr(client, method)(path.replace(ID, request_id), headers=headers or {},
                                   **({"json": body} if body is not None else {}))


def assert_error(response, status, code):
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code and body["error"]["message"]


@pytest.mark.parametrize(("method", "path", "body", "scopes"), ROUTES, ids=ROUTE_IDS)
def test_401_without_or_with_a_bad_key(client, session, existing, method, path, body, scopes) -> None:
    before = counts(session)
    for headers in ({}, {"Authorization": "Bearer rtbf_nope_nope"}, {"Authorization": "Basic abc"}):
        response = call(client, method, path, body, existing, headers)
        assert_error(response, 401, "unauthorized")
    assert counts(session) == before


@pytest.mark.parametrize(("method", "path", "body", "scopes"), ROUTES, ids=ROUTE_IDS)
def test_403_with_the_wrong_scope(client, session, key_for, existing, method, path, body, scopes) -> None:
    headers = key_for(*[s for s in ALL if s not in scopes])
    before = counts(session)
    assert_error(call(client, method, path, body, existing, headers), 403, "forbidden")
    assert counts(session) == before


@pytest.mark.parametrize(("method", "path", "body", "scopes"), ROUTES, ids=ROUTE_IDS)
def test_each_route_works_with_its_scope(client, key_for, existing, method, path, body, scopes) -> None:
    response = call(client, method, path, body, existing, key_for(*scopes))
    assert response.status_code in (200, 201), response.text


@pytest.mark.parametrize(("method", "path", "body", "scopes"), [r for r in ROUTES if ID in r[1]],
                         ids=[i for r, i in zip(ROUTES, ROUTE_IDS, strict=True) if ID in r[1]])
def test_unknown_id_is_404_and_changes_nothing(client, session, key_for, existing, method, path, body, scopes) -> None:
    headers = key_for(*ALL)
    before = counts(session)
    for unknown in (str(uuid.uuid4()), "not-a-uuid"):
        assert_error(call(client, method, path, body, unknown, headers), 404, "not_found")
    assert counts(session) == before


def test_create_returns_identifiers_token_and_lands_in_review(client, session, key_for) -> None:
    response = client.post("/api/v1/requests", json={**NEW, "phone": "+44 20 7946 0000"}, headers=key_for("requests:write"))
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "pending_review" and body["channel"] == "api" and body["verified_at"]
    assert body["identifiers"]["email"] == "ada@example.org" and body["identifiers"]["phone"] == "+44 20 7946 0000"
    assert body["status_url"].endswith("/status/" + body["status_token"]) and len(body["status_token"]) >= 43
    assert body["due_at"] > body["received_at"] and body["days_left"] >= 28 and body["overdue"] is False
    entries = client.get(f"/api/v1/requests/{body['id']}/audit", headers=key_for("audit:read")).json()
    assert [e["event"] for e in entries] == ["erasure.received", "erasure.pending_review"]
    assert entries[0]["actor"].startswith("apikey:") and entries[1]["details"]["method"] == "api_key"
    assert "ada@example.org" not in str(entries)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"full_name": "x" * 201}, "full_name"),
        ({"email": "not-an-email"}, "email"),
        ({"email": "a@" + "b" * 250 + ".org"}, "email"),
        ({"details": "x" * 5001}, "details"),
        ({"full_name": ""}, "full_name"),
        ({"unexpected": "field"}, "unexpected"),
    ],
)
def test_invalid_create_is_422_and_changes_nothing(client, session, key_for, change, field) -> None:
    headers = key_for("requests:write")
    before = counts(session)
    response = client.post("/api/v1/requests", json={**NEW, **change}, headers=headers)
    assert_error(response, 422, "validation_error")
    assert any(field in d["loc"] for d in response.json()["error"]["details"])
    assert "x" * 50 not in response.text  # submitted values are not echoed back
    assert counts(session) == before


def test_missing_body_and_bad_json(client, key_for) -> None:
    headers = key_for("requests:write")
    assert_error(client.post("/api/v1/requests", headers=headers), 422, "validation_error")
    assert_error(client.post("/api/v1/requests", content=b"{oops", headers={**headers, "content-type": "application/json"}),
                 422, "validation_error")


def test_get_hides_identifiers_without_read_scope(client, key_for, existing) -> None:
    with_read = client.get(f"/api/v1/requests/{existing}", headers=key_for("requests:read")).json()
    review_only = client.get(f"/api/v1/requests/{existing}", headers=key_for("requests:review")).json()
    assert with_read["identifiers"]["full_name"] == "Ada Lovelace"
    assert review_only["identifiers"] is None and review_only["id"] == existing


def test_list_pagination_and_filters(client, key_for) -> None:
    writer, reader, reviewer = key_for("requests:write"), key_for("requests:read"), key_for("requests:review")
    ids = [client.post("/api/v1/requests", json={**NEW, "email": f"s{i}@example.org"}, headers=writer).json()["id"]
           for i in range(5)]
    client.post(f"/api/v1/requests/{ids[0]}/deny", json={"ground": "excessive", "reason": "Repeat"}, headers=reviewer)
    page = client.get("/api/v1/requests", params={"limit": 2, "offset": 0}, headers=reader).json()
    assert page["total"] == 5 and page["limit"] == 2 and len(page["items"]) == 2
    rest = client.get("/api/v1/requests", params={"limit": 10, "offset": 2}, headers=reader).json()
    assert len(rest["items"]) == 3
    seen = [i["id"] for i in page["items"] + rest["items"]]
    assert sorted(seen) == sorted(ids)
    dues = [i["due_at"] for i in page["items"] + rest["items"]]
    assert dues == sorted(dues)
    pending = client.get("/api/v1/requests", params={"status": "pending_review"}, headers=reader).json()
    assert pending["total"] == 4 and ids[0] not in [i["id"] for i in pending["items"]]
    assert client.get("/api/v1/requests", params={"overdue": "true"}, headers=reader).json()["total"] == 0
    for params in ({"limit": 0}, {"limit": 201}, {"offset": -1}, {"status": "bogus"}, {"overdue": "maybe"}):
        assert_error(client.get("/api/v1/requests", params=params, headers=reader), 422, "validation_error")


def test_review_actions_and_illegal_transition(client, session, key_for, existing) -> None:
    reviewer = key_for("requests:review", "requests:read")
    extended = client.post(f"/api/v1/requests/{existing}/extend", json={"months": 2, "reason": "Complex"}, headers=reviewer)
    assert extended.status_code == 200 and extended.json()["extended"] is True
    assert extended.json()["due_at"] > extended.json()["original_due_at"]
    assert_error(client.post(f"/api/v1/requests/{existing}/extend", json={"months": 1, "reason": "x"}, headers=reviewer),
                 409, "already_extended")
    approved = client.post(f"/api/v1/requests/{existing}/approve", json={"ground": "consent_withdrawn"}, headers=reviewer)
    assert approved.json()["status"] == "approved" and approved.json()["decision_ground"] == "consent_withdrawn"
    before = counts(session)
    denied = client.post(f"/api/v1/requests/{existing}/deny", json={"ground": "legal_claims", "reason": "r"},
                         headers=reviewer)
    assert_error(denied, 409, "illegal_transition")
    assert denied.json()["error"]["details"] == {"from": "approved", "to": "denied", "allowed": ["canceled", "completed", "discovering", "unlearning"]}
    assert counts(session) == before
    assert client.get(f"/api/v1/requests/{existing}", headers=reviewer).json()["status"] == "approved"


@pytest.mark.parametrize(("action", "body"), [("approve", {"ground": "because"}), ("deny", {"ground": "legal_claims"}),
                                              ("deny", {"ground": "legal_claims", "reason": "x" * 2001}),
                                              ("extend", {"months": 3, "reason": "r"}), ("extend", {"months": 1})])
def test_invalid_review_bodies_change_nothing(client, session, key_for, existing, action, body) -> None:
    headers = key_for("requests:review")
    before = counts(session)
    assert_error(client.post(f"/api/v1/requests/{existing}/{action}", json=body, headers=headers),
                 422, "validation_error")
    assert counts(session) == before


def test_audit_verify_endpoint(client, key_for, existing) -> None:
    result = client.get("/api/v1/audit/verify", headers=key_for("audit:read")).json()
    assert result["ok"] is True and result["checked"] >= 3


def test_unknown_api_path_and_method_use_the_error_shape(client) -> None:
    assert_error(client.get("/api/v1/nothing-here"), 404, "not_found")
    assert_error(client.delete("/api/v1/requests"), 405, "method_not_allowed")


def test_openapi_has_stable_operation_ids(client) -> None:
    schema = client.get("/openapi.json").json()
    ops = {op["operationId"] for path in schema["paths"].values() for op in path.values() if "operationId" in op}
    assert {"createRequest", "listRequests", "getRequest", "approveRequest", "denyRequest", "extendRequest",
            "cancelRequest", "getRequestAudit", "verifyAuditLog"} <= ops
    assert "HTTPBearer" in schema["components"]["securitySchemes"]
    assert client.get("/docs").status_code == 200


def test_errors_outside_the_api_are_html_pages(client) -> None:
    response = client.get("/no-such-page")
    assert response.status_code == 404 and response.headers["content-type"].startswith("text/html")
