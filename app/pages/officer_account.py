"""The signed-in officer's own password change: the current password, the new one twice.

The service checks the current password (throttled like a sign-in), ends every session of the officer and
opens a new one, which this browser is signed in with: a copy of the old cookie, anywhere, stops working.
Passwords are never shown back in the form.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from app.core.errors import InvalidInput
from app.officers import service as officer_service
from app.pages.dependencies import BrowserSession, CsrfForm, CurrentOfficer, PageDb
from app.pages.routing import PageRoute
from app.pages.templating import redirect, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)

_FIELDS = ("current_password", "new_password", "repeat_password")


def _page(request: Request, *, errors: dict[str, str] | None = None, error: str | None = None,
          status_code: int = 200) -> Response:
    return render(request, "officer/password.html", {"errors": errors or {}, "error": error}, status_code=status_code)


@router.get("/officer/password", name="officer_password_form")
def password_form(request: Request, officer: CurrentOfficer) -> Response:
    return _page(request)


@router.post("/officer/password", name="officer_password")
def change_password(request: Request, form: CsrfForm, officer: CurrentOfficer, db: PageDb,
                    browser: BrowserSession) -> Response:
    current, new, repeat = (str(form.get(name) or "") for name in _FIELDS)
    errors = {}
    if not current:
        errors["current_password"] = "Enter your current password."
    if new != repeat:
        errors["repeat_password"] = "The two new passwords are not the same."
    if errors:
        return _page(request, errors=errors, status_code=422)
    try:
        token = officer_service.change_password(
            session=db, officer_id=officer.id, current_password=current, new_password=new,
            client_ip=request.client.host if request.client else None, settings=request.app.state.settings,
        )
    except officer_service.SignInThrottled as exc:
        response = _page(request, error=exc.message, status_code=429)
        response.headers["Retry-After"] = str(exc.retry_after_s)
        return response
    except InvalidInput as exc:
        # Returned, not raised: a wrong current password was counted, and the count is committed with the page.
        field = "current_password" if isinstance(exc, officer_service.WrongCurrentPassword) else "new_password"
        return _page(request, errors={field: exc.message}, status_code=exc.status_code)
    browser.sign_in(officer.id, token)
    browser.flash("Your password has been changed. Every other session of yours has been signed out.")
    return redirect("/officer/password")
