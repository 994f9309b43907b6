"""The one text policy on the API: what the schema's patterns allow is what the server accepts, and the reverse."""

from __future__ import annotations

import re

import pytest

NEW = {"full_name": "Ada Lovelace", "email": "ada@example.org"}


def _pattern(spec: dict, schema: str, field: str) -> str:
    prop = spec["components"]["schemas"][schema]["properties"][field]
    return next(o["pattern"] for o in (prop, *prop.get("anyOf", ())) if "pattern" in o)


@pytest.mark.parametrize("name,ok", [("Seán O'Brien", True), ("María José de la Cruz", True), ("\ufeff", False),
                                      ("\u200b\u200b", False), ("Ada\u202e", False), ("\u0085", False),
                                      ("\x1c Ada", False), ("  ", False), ("Ada\nLovelace", False)])
def test_a_name_is_accepted_exactly_when_the_schema_pattern_allows_it(client, key_for, name, ok) -> None:
    spec = client.get("/openapi.json").json()
    allowed = re.fullmatch(_pattern(spec, "RequestCreate", "full_name"), name) is not None
    response = client.post("/api/v1/requests", json={**NEW, "full_name": name}, headers=key_for("requests:write"))
    assert allowed == ok and (response.status_code == 201) == ok, response.text


@pytest.mark.parametrize("reason,ok", [("First line.\nSecond line.\twith a tab", True), ("\u0085", False),
                                        ("\u200b", False), ("Fine\u202e", False)])
def test_a_reason_may_span_lines_but_holds_no_control_character(client, key_for, reason, ok) -> None:
    spec = client.get("/openapi.json").json()
    assert (re.fullmatch(_pattern(spec, "DenyBody", "reason"), reason) is not None) == ok
    headers = key_for("requests:write", "requests:review")
    created = client.post("/api/v1/requests", json=NEW, headers=headers)
    assert created.status_code == 201, created.text
    response = client.post(f"/api/v1/requests/{created.json()['id']}/deny",
                           json={"reason": reason, "ground": "manifestly_unfounded"}, headers=headers)
    assert (response.status_code != 422) == ok, response.text


def test_officer_reasons_reach_only_keys_that_may_read_identifiers(client, key_for, session) -> None:
    """A deny reason may quote the subject: a review-only key sees that there is one, not its text."""
    from app.requests import service
    from app.requests.statuses import RequestStatus

    writer = key_for("requests:write", "requests:review", "requests:read")
    created = client.post("/api/v1/requests", json=NEW, headers=writer).json()
    request = service.get_request(session=session, request_id=created["id"])
    assert request.status == RequestStatus.pending_review
    reason = "Ada Lovelace (ada@example.org) asked about journalism we must keep."
    denied = client.post(f"/api/v1/requests/{created['id']}/deny", headers=writer,
                         json={"reason": reason, "ground": "freedom_of_expression"})
    assert denied.status_code == 200, denied.text
    assert denied.json()["decision_reason"] == reason and denied.json()["officer_text_redacted"] is False
    reviewer = client.get(f"/api/v1/requests/{created['id']}", headers=key_for("requests:review"))
    assert reviewer.status_code == 200
    body = reviewer.json()
    assert body["decision_reason"] is None and body["officer_text_redacted"] is True
    assert "Lovelace" not in reviewer.text and "ada@example.org" not in reviewer.text
    reader = client.get("/api/v1/requests", headers=key_for("requests:read")).json()["items"]
    assert [i["decision_reason"] for i in reader if i["id"] == created["id"]] == [reason]
