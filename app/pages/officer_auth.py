"""Officer sign-in and sign-out: the officers service throttles, checks the argon2 password and opens a
server-side session whose token the signed cookie carries; sign-out ends that session, not just the cookie."""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import APIRouter, Request, Response

from app.officers import service as officer_service
from app.pages.dependencies import BrowserSession, CsrfForm, PageDb
from app.pages.routing import PageRoute
from app.pages.templating import redirect, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)

# How much of a submitted email the page shows back (the form's maxlength).
MAX_EMAIL = 320


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
    try:
        signed_in = officer_service.sign_in(
            session=db, email=email, password=password,
            client_ip=request.client.host if request.client else None, settings=request.app.state.settings,
        )
    except officer_service.SignInThrottled as exc:
        response = _login_page(request, next_url=next_url, email=email[:MAX_EMAIL], error=exc.message,
                               status_code=429)
        response.headers["Retry-After"] = str(exc.retry_after_s)
        return response
    except officer_service.SignInRefused as exc:
        # Returned, not raised: the counted failure is committed with the page.
        return _login_page(request, next_url=next_url, email=email[:MAX_EMAIL], error=exc.message, status_code=401)
    browser.sign_in(signed_in.officer.id, signed_in.session_token)
    return redirect(next_url)


@router.post("/officer/logout", name="officer_logout")
def logout(request: Request, form: CsrfForm, db: PageDb, browser: BrowserSession) -> Response:
    officer_id, token = browser.officer_id, browser.officer_session_token
    if officer_id and token:
        officer_service.sign_out(session=db, officer_id=officer_id, session_token=token)
    browser.sign_out()
    browser.flash("You have signed out.")
    return redirect("/officer/login")
