"""Domain errors on page routes become HTML pages with the API's code and message; failed work is rolled back."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit import service as audit_service
from app.audit.models import AuditEntry
from app.core.config import Settings
from app.core.errors import IllegalTransition
from app.pages.dependencies import PageDb
from app.pages.routing import PageRoute


def _entries(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(AuditEntry)) or 0


def test_domain_error_is_an_html_page_and_its_changes_are_rolled_back(session: Session, settings: Settings) -> None:
    router = APIRouter(route_class=PageRoute)

    @router.post("/officer/explode")
    def explode(db: PageDb) -> None:
        audit_service.append(session=db, event="test.half_done", actor="system")
        raise IllegalTransition(
            "A request that is denied cannot become approved.",
            details={"from": "denied", "to": "approved", "allowed": []},
        )

    app = FastAPI()
    app.state.settings = settings
    app.state.session_factory = lambda: session
    app.include_router(router)
    before = _entries(session)
    with TestClient(app) as client:
        response = client.post("/officer/explode")
    assert response.status_code == 409
    assert "text/html" in response.headers["content-type"]
    for shown in ("illegal_transition", "A request that is denied cannot become approved.", "from: denied"):
        assert shown in response.text
    assert 'href="/officer"' in response.text
    assert _entries(session) == before


def test_unknown_page_is_an_html_404_but_the_api_keeps_json(client: TestClient) -> None:
    page = client.get("/no-such-page")
    assert page.status_code == 404
    assert "text/html" in page.headers["content-type"] and "not_found" in page.text
    api = client.get("/api/v1/no-such-thing")
    assert api.status_code == 404
    assert api.json()["error"]["code"] == "not_found"


def test_pages_are_not_cached_and_cannot_be_framed(client: TestClient) -> None:
    response = client.get("/")
    assert response.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"


def test_stylesheet_is_served_locally(client: TestClient) -> None:
    page = client.get("/").text
    assert 'href="/static/css/app.css"' in page and "https://" not in page.split("</head>")[0]
    css = client.get("/static/css/app.css")
    assert css.status_code == 200 and ":focus-visible" in css.text
