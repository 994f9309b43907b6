"""Officer sign-in and sign-out (argon2 passwords checked by the officers service; signed session cookie)."""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import APIRouter, Request, Response

from app.officers import service as officer_service
from app.pages.dependencies import BrowserSession, CsrfForm, PageDb
from app.pages.routing import PageRoute
from app.pages.templating import redirect, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)

MAX_EMAIL = 320
MAX_PASSWORD = 1024


def safe_next(target: str | None) -> str:
    """Only a path inside the officer console: never an absolute URL (no open redirect after sign-in)."""
    if not target:
        return "/officer"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/officer") or target.startswith("//"):
        return "/officer"
    if parts.path.startswith("/officer/login") or "\\" in target:
        return "/officer"
    return target


def _login_page(
    request: Request, *, next_url: str, email: str = "", error: str | None = None, status_code: int = 200
) -> Response:
    return render(
        request,
        "officer/login.html",
        {"next_url": next_url, "email": email, "login_error": error},
        status_code=status_code,
    )


@router.get("/officer/login", name="officer_login_form")
def login_form(request: Request, browser: BrowserSession, next: str | None = None) -> Response:  # noqa: A002
    if browser.officer_id:
        return redirect(safe_next(next))
    return _login_page(request, next_url=safe_next(next))


@router.post("/officer/login", name="officer_login")
def login(request: Request, form: CsrfForm, db: PageDb, browser: BrowserSession) -> Response:
    email = str(form.get("email") or "").strip()
    password = str(form.get("password") or "")
    next_url = safe_next(str(form.get("next") or ""))
    if not email or not password:
        return _login_page(
            request, next_url=next_url, email=email[:MAX_EMAIL],
            error="Enter your email address and your password.", status_code=422,
        )
    officer = None
    if len(email) <= MAX_EMAIL and len(password) <= MAX_PASSWORD:
        officer = officer_service.authenticate(session=db, email=email, password=password)
    if officer is None:
        # One message for unknown email, wrong password and disabled account: nothing to enumerate.
        return _login_page(
            request, next_url=next_url, email=email[:MAX_EMAIL],
            error="The email address or password is not correct.", status_code=401,
        )
    browser.sign_in(officer.id)
    return redirect(next_url)


@router.post("/officer/logout", name="officer_logout")
def logout(request: Request, form: CsrfForm, browser: BrowserSession) -> Response:
    browser.sign_out()
    browser.flash("You have signed out.")
    return redirect("/officer/login")
