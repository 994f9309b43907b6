"""``Annotated`` dependency aliases shared by every router."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

import anyio
from fastapi import Depends, Request, Response
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from app.apikeys import service as apikey_service
from app.apikeys.models import ApiKey
from app.core.config import Settings
from app.core.db import get_session
from app.core.errors import Forbidden, Unauthorized

# scope="function": the session commits before the response is sent, so a commit failure is never
# reported as success and a redirect's next GET sees the data.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def get_app_settings(request: Request) -> Settings:
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(get_app_settings)]

_bearer = HTTPBearer(auto_error=False, description="API key created with `rtbf apikey create`")


def check_key(session: Session, credentials: HTTPAuthorizationCredentials | None, scopes: tuple[str, ...]) -> ApiKey:
    """A valid, unrevoked API key holding at least one of ``scopes``, else ``Unauthorized`` / ``Forbidden``."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("An API key is required: send 'Authorization: Bearer <key>'.")
    key = apikey_service.authenticate_key(session=session, token=credentials.credentials)
    if key is None:
        raise Unauthorized("The API key is invalid or revoked.")
    if not set(scopes) & set(key.scopes):
        raise Forbidden(
            f"This API key lacks the required scope ({' or '.join(scopes)}).",
            details={"required_any_of": list(scopes)},
        )
    return key


def require_scope(*scopes: str) -> Callable[..., ApiKey]:
    """Dependency: a valid, unrevoked API key holding at least one of ``scopes``."""

    def dependency(
        session: SessionDep,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> ApiKey:
        return check_key(session, credentials, scopes)

    dependency.scopes = scopes  # type: ignore[attr-defined]  # read by AuthFirstRoute
    return dependency


def _scopes_of(dependant: Any) -> tuple[str, ...] | None:
    for sub in dependant.dependencies:
        found = getattr(sub.call, "scopes", None) or _scopes_of(sub)
        if found:
            return found
    return None


class AuthFirstRoute(APIRoute):
    """An API route that authenticates before it parses a body. FastAPI decodes the JSON body before it resolves
    any dependency, so a malformed body from a caller with no key, a revoked key or the wrong scope was answered
    422 (``json_invalid``), telling an unauthenticated caller about the schema. Here a body that is not JSON is
    answered only once the key has passed (401/403 first); a well-formed one goes the usual way, where the scope
    dependency runs before the body is validated."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        scopes = _scopes_of(self.dependant)
        if scopes is None:
            return handler

        async def authenticated_first(request: Request) -> Response:
            body = await request.body()  # cached on the request: the handler reads the same bytes
            if body and not _is_json(body):
                credentials = await _bearer(request)
                sessions = get_session(request)  # the request's usual session: its pool gate, rolled back after
                session = await anext(sessions)
                try:
                    await anyio.to_thread.run_sync(check_key, session, credentials, scopes)
                finally:
                    await sessions.aclose()
            return await handler(request)

        return authenticated_first


def _is_json(body: bytes) -> bool:
    try:
        json.loads(body)
    except ValueError:
        return False
    return True
