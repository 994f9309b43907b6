"""An app served by uvicorn in a thread on a free port, for the tests that need a real server (browsers, bursts)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

STARTUP_TIMEOUT_S = 20.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(app: Any, port: int, *, name: str = "rtbf-live-server") -> Iterator[uvicorn.Server]:
    """Until the block ends; then the server stops and the app's database engine is disposed."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off",
                                           timeout_graceful_shutdown=2))
    thread = threading.Thread(target=server.run, name=name, daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the live server did not start")
        time.sleep(0.05)
    try:
        yield server
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        app.state.engine.dispose()


def bearer_headers(database_url: str, *, name: str, scopes: list[str]) -> dict[str, str]:
    """The Authorization header of a new API key, committed in that database for a live server to find."""
    from app.apikeys import service as apikey_service
    from app.core.db import make_engine, make_session_factory

    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as db:
            _, token = apikey_service.create_key(session=db, name=name, scopes=scopes)
            db.commit()
    finally:
        engine.dispose()
    return {"Authorization": f"Bearer {token}"}
