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
