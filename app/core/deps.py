"""``Annotated`` dependency aliases shared by every router."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
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


def require_scope(*scopes: str) -> Callable[..., ApiKey]:
    """Dependency: a valid, unrevoked API key holding at least one of ``scopes``."""

    def dependency(
        session: SessionDep,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> ApiKey:
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

    return dependency
