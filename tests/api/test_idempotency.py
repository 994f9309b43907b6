"""Idempotency keys on the creating POSTs: a retry gets the first answer and creates nothing; another body under
the same key is a 409; keys are per caller and expire after 24 hours; a client retrying after random timeouts on
a live server leaves exactly one request per key."""

from __future__ import annotations

import random
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
from sqlalchemy import create_engine, func, select
from sqlalchemy.pool import NullPool

from app.idempotency.models import IdempotencyRecord
from app.main import create_app
from app.requests.models import ErasureRequest
from tests.live_server import bearer_headers, free_port, serving

NEW = {"full_name": "Ada Lovelace", "email": "ada@example.org"}


def _count(session) -> int:
    return session.scalar(select(func.count()).select_from(ErasureRequest))


def test_a_retry_with_the_same_key_returns_the_first_answer_and_creates_nothing(client, key_for, session) -> None:
    headers = {**key_for("requests:write"), "Idempotency-Key": "order-1"}
    first = client.post("/api/v1/requests", json=NEW, headers=headers)
    assert first.status_code == 201, first.text
    before = _count(session)
    again = client.post("/api/v1/requests", json=NEW, headers=headers)
    assert again.status_code == 201 and again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true" and "idempotent-replayed" not in first.headers
    assert _count(session) == before
    stored = session.scalars(select(IdempotencyRecord)).one()
    assert b"ada@example.org" not in stored.response_enc and stored.key_hash != "order-1"  # encrypted, hashed


def test_the_same_key_with_another_body_is_a_409_and_creates_nothing(client, key_for, session) -> None:
    headers = {**key_for("requests:write"), "Idempotency-Key": "order-2"}
    assert client.post("/api/v1/requests", json=NEW, headers=headers).status_code == 201
    before = _count(session)
    other = client.post("/api/v1/requests", json={**NEW, "full_name": "Someone Else"}, headers=headers)
    assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency_key_reused"
    assert _count(session) == before


def test_keys_are_per_caller_and_expire_after_a_day(client, key_for, session) -> None:
    one, two = key_for("requests:write"), key_for("requests:write")
    a = client.post("/api/v1/requests", json=NEW, headers={**one, "Idempotency-Key": "k"})
    b = client.post("/api/v1/requests", json=NEW, headers={**two, "Idempotency-Key": "k"})
    assert a.status_code == b.status_code == 201 and a.json()["id"] != b.json()["id"]
    for record in session.scalars(select(IdempotencyRecord)):
        record.created_at = record.created_at - timedelta(hours=25)
    session.flush()
    later = client.post("/api/v1/requests", json=NEW, headers={**one, "Idempotency-Key": "k"})
    assert later.status_code == 201 and later.json()["id"] != a.json()["id"] and "idempotent-replayed" not in later.headers


def test_a_bad_key_is_a_422(client, key_for) -> None:
    for bad in ("", "x" * 256, "with space"):
        response = client.post("/api/v1/requests", json=NEW, headers={**key_for("requests:write"),
                                                                       "Idempotency-Key": bad})
        assert response.status_code == 422, bad


def test_a_client_retrying_after_random_timeouts_leaves_one_request_per_key(make_database: Callable[[], str],
                                                                             settings) -> None:
    url = make_database()
    live = settings.model_copy(update={"database_url": url})
    headers = bearer_headers(url, name="retrying client", scopes=["requests:write"])
    port = free_port()
    keys = [f"retry-{n}" for n in range(60)]
    rng = random.Random(3)

    def file(key: str) -> int:
        """Retry until an answer arrives: each try gives up after a random short timeout, as a real client does."""
        body = {"full_name": f"Retry Caller {key}", "email": f"{key}@example.org"}
        for attempt in range(200):
            timeout = rng.uniform(0.005, 0.3) if attempt < 199 else 30
            try:
                response = httpx.post(f"http://127.0.0.1:{port}/api/v1/requests", json=body, timeout=timeout,
                                      headers={**headers, "Idempotency-Key": key})
            except httpx.TimeoutException:
                continue
            if response.status_code == 201:
                return attempt + 1
            assert response.status_code in (409, 503), response.text  # a key still in flight, or a busy server
        raise AssertionError(f"{key} got no answer")

    with serving(create_app(live), port, name="rtbf-idempotency-server"):
        with ThreadPoolExecutor(max_workers=8) as pool:
            tries = list(pool.map(file, keys))
    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as connection:
        created = connection.scalar(select(func.count()).select_from(ErasureRequest))
    engine.dispose()
    assert sum(tries) > len(keys)  # some calls timed out and were sent again
    assert created == len(keys)
