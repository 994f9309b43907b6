"""A client that retries creates after timeouts, as legal tooling does: does the server file each request once?

``python -m bench.retry_creates --key rtbf_... [--url http://127.0.0.1:8000] [--keys 1000] [--concurrency 16]
[--min-timeout 0.005] [--max-timeout 0.5] [--seed 0] [--no-key]``

Each of ``--keys`` distinct Idempotency-Keys files one made-up person (example.org); every try gives up after a
random timeout between the two bounds and is sent again with the same key and body until an answer arrives (a
last try waits 60 s). The key needs requests:write and requests:read (the run counts the requests the server holds
before and after, through listRequests: point it at a deployment nothing else files to). Prints JSON: keys, tries,
answers by status, requests created, and whether that equals the number of keys.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
from collections import Counter

import httpx


async def _total(client: httpx.AsyncClient) -> int:
    response = await client.get("/api/v1/requests", params={"limit": 1}, timeout=60)
    response.raise_for_status()
    return int(response.json()["total"])


async def run(*, url: str, key: str, keys: int, concurrency: int, low: float, high: float,
              seed: int, idempotent: bool = True) -> dict[str, object]:
    rng = random.Random(seed)
    batch = secrets.token_hex(4)
    statuses: Counter[str] = Counter()
    tries = 0
    gate = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {key}"}) as client:
        before = await _total(client)

        async def file(n: int) -> None:
            nonlocal tries
            body = {"full_name": f"Retry Caller {n}", "email": f"retry-{batch}-{n}@example.org"}
            headers = {"Idempotency-Key": f"{batch}-{n}"} if idempotent else {}
            async with gate:
                for attempt in range(1000):
                    tries += 1
                    timeout = rng.uniform(low, high) if attempt < 999 else 60.0
                    try:
                        async with asyncio.timeout(timeout):
                            response = await client.post("/api/v1/requests", json=body, headers=headers,
                                                         timeout=60)
                    except (httpx.HTTPError, TimeoutError) as exc:
                        statuses[type(exc).__name__] += 1
                        continue
                    statuses[str(response.status_code)] += 1
                    if response.status_code == 201:
                        return

        await asyncio.gather(*(file(n) for n in range(keys)))
        created = await _total(client) - before
    return {"url": url, "idempotency_keys": idempotent, "keys": keys, "tries": tries, "answers": dict(sorted(statuses.items())),
            "requests_created": created, "one_per_key": created == keys}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--key", default=os.environ.get("RTBF_API_KEY"),
                        help="an API key with requests:write and requests:read (default: $RTBF_API_KEY)")
    parser.add_argument("--keys", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--min-timeout", type=float, default=0.005)
    parser.add_argument("--max-timeout", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-key", action="store_true", help="retry without Idempotency-Key, to see what it prevents")
    args = parser.parse_args(argv)
    if not args.key:
        parser.error("give --key or set RTBF_API_KEY")
    if args.keys < 1 or args.concurrency < 1 or not 0 < args.min_timeout <= args.max_timeout:
        parser.error("--keys and --concurrency at least 1, 0 < --min-timeout <= --max-timeout")
    print(json.dumps(asyncio.run(run(url=args.url.rstrip("/"), key=args.key, keys=args.keys,
                                     concurrency=args.concurrency, low=args.min_timeout, high=args.max_timeout,
                                     seed=args.seed, idempotent=not args.no_key)), indent=2))


if __name__ == "__main__":
    main()
