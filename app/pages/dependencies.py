"""Dependencies of the HTML pages: the database session, the browser session, CSRF and the signed-in officer."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from app.core.deps import SessionDep
from app.core.errors import DomainError, Forbidden
from app.officers import service as officer_service
from app.officers.models import Officer
from app.pages import session as page_sessions
from app.pages.session import CSRF_FIELD, PageSession

# Forms are small; a bigger body is refused before it is parsed.
MAX_FORM_FIELDS = 40


class CsrfFailed(Forbidden):
    code = "csrf_failed"


class LoginRequired(DomainError):
    """Raised for /officer pages without a signed-in, active officer; the page router redirects to sign-in."""

    status_code = 401
    code = "unauthorized"


def page_db(request: Request, session: SessionDep) -> Session:
    # Remembered so that the page router can roll back when it turns a domain error into a page.
    request.state.page_db = session
    return session


PageDb = Annotated[Session, Depends(page_db)]


def browser_session(request: Request) -> PageSession:
    return page_sessions.current(request)


BrowserSession = Annotated[PageSession, Depends(browser_session)]


async def csrf_form(request: Request, browser: BrowserSession) -> FormData:
    """The submitted form, once its CSRF token matches the one bound to the browser session."""
    form = await request.form(max_fields=MAX_FORM_FIELDS, max_files=0)
    if not browser.csrf_matches(form.get(CSRF_FIELD)):
        raise CsrfFailed(
            "This form has expired or did not come from this site. Go back, reload the page and try again."
        )
    return form


CsrfForm = Annotated[FormData, Depends(csrf_form)]


def current_officer(request: Request, db: PageDb, browser: BrowserSession) -> Officer:
    officer_id, token = browser.officer_id, browser.officer_session_token
    officer = None
    if officer_id and token:
        officer = officer_service.current_session_officer(session=db, officer_id=officer_id, session_token=token)
    if officer is None:
        if "officer_id" in browser.data:
            browser.sign_out()
        raise LoginRequired("Please sign in to continue.")
    request.state.officer = officer
    return officer


CurrentOfficer = Annotated[Officer, Depends(current_officer)]

