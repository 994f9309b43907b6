"""The Jinja2 environment of the pages, and the helpers that render a page or redirect with the session kept."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from app.pages import session
from app.pages.wording import ground_label

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "frontend" / "templates"


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def date_long(value: datetime | None) -> str:
    """'23 December 2026' - dates are UTC calendar dates, as the deadline arithmetic uses."""
    value = _utc(value)
    return "" if value is None else f"{value.day} {value:%B %Y}"


def date_short(value: datetime | None) -> str:
    value = _utc(value)
    return "" if value is None else f"{value:%Y-%m-%d}"


def datetime_long(value: datetime | None) -> str:
    value = _utc(value)
    return "" if value is None else f"{value.day} {value:%B %Y, %H:%M} UTC"


def percent(value: float | None) -> str:
    """'42%' for a share in [0, 1]; '—' when not measured (None or NaN)."""
    if value is None or value != value:
        return "—"
    return f"{value * 100:.0f}%"


def short_hash(value: str | None) -> str:
    """The first 12 hex digits: enough to tell weights apart on screen; the full value is in a title."""
    return (value or "")[:12]


templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
templates.env.filters["date_long"] = date_long
templates.env.filters["date_short"] = date_short
templates.env.filters["datetime_long"] = datetime_long
templates.env.filters["ground_label"] = ground_label
templates.env.filters["percent"] = percent
templates.env.filters["short_hash"] = short_hash


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, *, status_code: int = 200
) -> HTMLResponse:
    """Render ``name`` with the common context (CSRF token, flashes, signed-in officer) filled in."""
    page_session = session.current(request)
    full = {
        "csrf_token": page_session.csrf_token,
        "flashes": page_session.pop_flashes(),
        "officer": getattr(request.state, "officer", None),
    }
    full.update(context or {})
    return _secure(templates.TemplateResponse(request, name, full, status_code=status_code))


def render_partial(request: Request, name: str, context: dict[str, Any]) -> HTMLResponse:
    """A fragment for htmx to swap in: no flashes are consumed (they belong to the next full page)."""
    full = {"csrf_token": session.current(request).csrf_token, "officer": getattr(request.state, "officer", None)}
    full.update(context)
    return _secure(templates.TemplateResponse(request, name, full))


def _secure(response: HTMLResponse) -> HTMLResponse:
    # Pages show tokens and decrypted identifiers: keep them out of shared caches and the back/forward cache.
    response.headers["Cache-Control"] = "no-store"
    # Scripts only from this site (the vendored htmx, which only improves pages that work without it);
    # no inline script, no eval, no frame and no foreign form target.
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    )
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def redirect(url: str) -> RedirectResponse:
    """A 303 so that the browser follows a form POST with a GET."""
    return RedirectResponse(url, status_code=303)
