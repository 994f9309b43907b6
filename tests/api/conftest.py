from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.apikeys import service as apikey_service
from app.main import create_app


@pytest.fixture
def client(settings, session: Session) -> Iterator[TestClient]:
    """The real app with its real session dependency, whose sessions are this test's rolled-back session."""
    app = create_app(settings)
    app.state.session_factory = lambda: session
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def key_for(session: Session) -> Callable[..., dict[str, str]]:
    def factory(*scopes: str) -> dict[str, str]:
        _, token = apikey_service.create_key(session=session, name="test", scopes=list(scopes))
        session.commit()
        return {"Authorization": f"Bearer {token}"}

    return factory
