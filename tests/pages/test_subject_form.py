"""The public request form: labels, server-side validation, CSRF, and filing a request."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.requests.models import ErasureRequest
from app.requests.schemas import MAX_NAME
from app.requests.statuses import RequestStatus
from page_helpers import counts, csrf_token


class _FormFields(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.controls: dict[str, str] = {}  # id -> name of every visible input/textarea/select
        self.labels: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in ("input", "textarea", "select") and a.get("type") != "hidden":
            self.controls[a.get("id") or f"<no id: {a.get('name')}>"] = a.get("name") or ""
        if tag == "label" and a.get("for"):
            self.labels.add(a["for"] or "")


def _valid_form(token: str, **overrides: str) -> dict[str, str]:
    return {
        "csrf_token": token,
        "full_name": "Ada Lovelace",
        "email": "ada@example.org",
        "phone": "+44 20 7946 0001",
        "postal_address": "12 St James's Square, London",
        "other_identifiers": "@ada on the forum",
        "details": "My address appears in answers about me.",
        "target_model": "demo-assistant",
        **overrides,
    }


def test_form_has_every_field_labelled_and_works_without_javascript(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert '<html lang="en">' in response.text
    assert "<script" not in response.text
    parser = _FormFields()
    parser.feed(response.text)
    names = set(parser.controls.values())
    assert {"full_name", "email", "phone", "postal_address", "other_identifiers", "details", "target_model"} <= names
    unlabelled = [control for control in parser.controls if control not in parser.labels]
    assert unlabelled == []
    assert f'maxlength="{MAX_NAME}"' in response.text


def test_invalid_input_re_renders_with_messages_keeps_values_and_changes_nothing(
    client: TestClient, session: Session
) -> None:
    token = csrf_token(client.get("/").text)
    before = counts(session)
    response = client.post("/requests", data=_valid_form(token, full_name="  ", email="not-an-email"))
    assert response.status_code == 422
    assert "Enter your full name." in response.text
    assert "Enter a valid email address, like name@example.com." in response.text
    # What was typed is kept (escaped), so the subject only fixes the wrong fields.
    assert 'value="not-an-email"' in response.text
    assert "12 St James&#39;s Square, London" in response.text
    assert 'aria-invalid="true"' in response.text
    assert counts(session) == before


def test_oversized_field_is_refused_and_nothing_is_stored(client: TestClient, session: Session) -> None:
    token = csrf_token(client.get("/").text)
    before = counts(session)
    response = client.post("/requests", data=_valid_form(token, full_name="A" * (MAX_NAME + 1)))
    assert response.status_code == 422
    assert f"Full name must be at most {MAX_NAME} characters." in response.text
    assert counts(session) == before


def test_every_optional_input_has_its_limit_and_an_over_long_one_names_it(client: TestClient,
                                                                         session: Session) -> None:
    from app.requests.schemas import MAX_ADDRESS, MAX_DETAILS, MAX_OTHER, MAX_PHONE, MAX_TARGET

    page = client.get("/").text
    for limit in (MAX_PHONE, MAX_ADDRESS, MAX_OTHER, MAX_DETAILS, MAX_TARGET):
        assert f'maxlength="{limit}"' in page
    token = csrf_token(page)
    response = client.post("/requests", data=_valid_form(token, phone="1" * (MAX_PHONE + 1)))
    assert response.status_code == 422 and f"Phone number must be at most {MAX_PHONE} characters." in response.text


@pytest.mark.parametrize("field,text,shown", [
    ("full_name", "\x01\x02\x03", "U+0001"), ("full_name", "\u200b\u200b", "U+200B"),
    ("full_name", "Ada\u202eecalevol", "U+202E"), ("full_name", "Ada\x1b[31m", "U+001B"),
    ("full_name", "Ada\x07", "U+0007"), ("full_name", "Ada\r\nLovelace", "line break"),
    ("full_name", "Ada\x85", "U+0085"), ("full_name", "\ufeff", "U+FEFF"), ("full_name", "Ada \ufffd", "U+FFFD"),
    ("details", "line one\u2066hidden", "U+2066"), ("phone", "+44\u200d20", "U+200D"),
])
def test_control_and_invisible_characters_are_refused_with_a_clear_message(client: TestClient, session: Session,
                                                                          field: str, text: str,
                                                                          shown: str) -> None:
    token = csrf_token(client.get("/").text)
    before = counts(session)
    response = client.post("/requests", data=_valid_form(token, **{field: text}))
    assert response.status_code == 422, response.text
    assert "must not hold a" in response.text and shown in response.text
    assert counts(session) == before


def test_a_multi_line_field_keeps_its_lines_and_text_is_stored_normalised(client: TestClient,
                                                                          session: Session) -> None:
    from app.requests.schemas import RequestCreate

    data = RequestCreate(full_name="Jose\u0301 Mari\u0301a", email="jm@example.org",
                         details="first line\r\nsecond\tline")
    assert data.full_name == "José María" and len(data.full_name) == 10  # NFC: one code point per letter
    assert data.details == "first line\r\nsecond\tline"


def test_a_form_sent_twice_files_one_request_and_both_posts_lead_to_the_same_page(client: TestClient,
                                                                                  session: Session) -> None:
    import re

    page = client.get("/").text
    submission = re.search(r'name="submission" value="([^"]+)"', page).group(1)
    assert submission != re.search(r'name="submission" value="([^"]+)"', client.get("/").text).group(1)
    form = {**_valid_form(csrf_token(page)), "submission": submission}
    before = counts(session)
    first = client.post("/requests", data=form, follow_redirects=False)
    second = client.post("/requests", data=form, follow_redirects=False)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert counts(session)[0] == before[0] + 1
    other = client.post("/requests", data={**form, "submission": "another-form"}, follow_redirects=False)
    assert other.status_code == 303 and counts(session)[0] == before[0] + 2  # a new form is a new request


def test_missing_or_wrong_csrf_token_is_refused_with_403_and_nothing_is_stored(
    client: TestClient, session: Session
) -> None:
    token = csrf_token(client.get("/").text)
    before = counts(session)
    missing = _valid_form(token)
    del missing["csrf_token"]
    for data in (missing, _valid_form("forged-token")):
        response = client.post("/requests", data=data)
        assert response.status_code == 403
        assert "csrf_failed" in response.text
        assert "text/html" in response.headers["content-type"]
    assert counts(session) == before


def test_csrf_token_from_another_browser_is_refused(client: TestClient, app, session: Session) -> None:  # noqa: ANN001
    token = csrf_token(client.get("/").text)
    with TestClient(app, follow_redirects=False) as other_browser:
        other_browser.get("/")
        response = other_browser.post("/requests", data=_valid_form(token))
    assert response.status_code == 403


def test_valid_request_is_stored_encrypted_and_redirects_to_code_entry(client: TestClient, session: Session) -> None:
    token = csrf_token(client.get("/").text)
    before = counts(session)
    response = client.post("/requests", data=_valid_form(token))
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith("/status/") and location.endswith("/verify")
    status_token = location.removeprefix("/status/").removesuffix("/verify")
    assert len(status_token) >= 32

    requests_after, outbox_after, _ = counts(session)
    assert (requests_after, outbox_after) == (before[0] + 1, before[1] + 1)
    stored = session.scalars(select(ErasureRequest).order_by(ErasureRequest.created_at.desc())).first()
    assert stored is not None and stored.status == RequestStatus.identity_unverified
    assert stored.channel == "web"
    assert b"Ada Lovelace" not in stored.name_enc  # encrypted at rest
    assert status_token not in stored.status_token_hash

    page = client.get(location)
    assert page.status_code == 200
    assert "6-digit code" in page.text
    assert stored.reference in page.text
    assert 'for="field-code"' in page.text
