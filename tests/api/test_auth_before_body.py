"""Authentication and scope come before the body: a malformed body from a caller with no key, a bad key or the
wrong scope is a 401/403, never a 422 that would describe the schema to them. Checked on every operation."""

from __future__ import annotations

import pytest

MALFORMED = b"{"


def _operations_with_a_body(client) -> list[tuple[str, str]]:
    spec = client.get("/openapi.json").json()
    found = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if path.startswith("/api/v1/") and method in ("post", "put", "patch") and op.get("requestBody"):
                url = path.replace("{", "").replace("}", "")  # any id: authentication comes before the lookup
                found.append((method.upper(), url))
    return found


def test_every_operation_with_a_body_refuses_a_malformed_body_from_an_unauthorised_caller(client, key_for) -> None:
    operations = _operations_with_a_body(client)
    assert len(operations) >= 9
    wrong_scope = key_for("audit:read")  # no operation with a body takes audit:read
    callers = {"no key": ({}, 401), "bad key": ({"Authorization": "Bearer rtbf_nope"}, 401),
               "not bearer": ({"Authorization": "Basic abc"}, 401), "wrong scope": (wrong_scope, 403)}
    for method, url in operations:
        for who, (headers, status) in callers.items():
            response = client.request(method, url, content=MALFORMED,
                                      headers={**headers, "Content-Type": "application/json"})
            assert response.status_code == status, (method, url, who, response.text)
            assert response.json()["error"]["code"] != "validation_error", (method, url, who)


@pytest.mark.parametrize("scope", ["requests:write"])
def test_an_authorised_caller_still_learns_what_is_wrong_with_a_malformed_body(client, key_for, scope) -> None:
    response = client.post("/api/v1/requests", content=MALFORMED,
                           headers={**key_for(scope), "Content-Type": "application/json"})
    assert response.status_code == 422, response.text
