"""Load the request submit (createRequest, POST /api/v1/requests) at a fixed rate against a running server.

``python -m bench.load_submit --key rtbf_... [--url http://127.0.0.1:8000] [--rate 200] [--duration 20]
[--timeout 10] [--max-in-flight 256]``

The key needs the ``requests:write`` scope (``rtbf apikey create --name load --scope requests:write``; or set
``RTBF_API_KEY``). Every call files a real, verified request (a made-up person at example.org, so its notice
email goes nowhere) with its audit entries: point it at a test deployment, never at production data.

Open loop: call ``n`` starts at ``n / rate`` seconds whether or not earlier calls have answered, and its latency is
counted from then, so a server that falls behind shows in the figures instead of slowing the load down. Prints
JSON: calls made, the rate reached (and how late the client itself started calls: the client shares the machine's
CPUs too), answers by status, errors (non-201 answers and calls that got no answer within the timeout), and the
p50/p95/p99/max latency in milliseconds over all calls and over the 201s alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import secrets
from collections import Counter

import httpx


def _percentile(ordered: list[float], share: float) -> float:
    """Nearest rank: the smallest value with at least ``share`` of the values at or below it."""
    return ordered[max(math.ceil(share * len(ordered)) - 1, 0)]


def _summary(ordered: list[float]) -> dict[str, float] | None:
    if not ordered:
        return None
    return {name: round(1000 * _percentile(ordered, share), 1)
            for name, share in (("p50", 0.50), ("p95", 0.95), ("p99", 0.99), ("max", 1.0))}


async def run(*, url: str, key: str, rate: float, duration: float, timeout: float,
              max_in_flight: int) -> dict[str, object]:
    total = max(int(rate * duration), 1)
    batch = secrets.token_hex(4)  # a fresh set of emails per run: no call is filed as another's duplicate
    latencies: list[tuple[float, bool]] = []  # (seconds from the call's due time, answered 201)
    statuses: Counter[str] = Counter()
    worst_lag = 0.0
    limits = httpx.Limits(max_connections=max_in_flight, max_keepalive_connections=max_in_flight)
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=timeout, limits=limits) as client:
        loop = asyncio.get_running_loop()
        start = loop.time()

        async def submit(n: int, due: float) -> None:
            body = {"full_name": f"Load Test {n}", "email": f"load-{batch}-{n}@example.org"}
            created = False
            try:
                # One deadline for the whole call: httpx's timeout applies to each phase (pool, connect, read) apart.
                async with asyncio.timeout(timeout):
                    response = await client.post("/api/v1/requests", json=body)
                statuses[str(response.status_code)] += 1
                created = response.status_code == 201
            except (httpx.HTTPError, TimeoutError) as exc:
                statuses[type(exc).__name__] += 1
            latencies.append((loop.time() - due, created))

        calls = []
        for n in range(total):
            due = start + n / rate
            if (wait := due - loop.time()) > 0:
                await asyncio.sleep(wait)
            worst_lag = max(worst_lag, loop.time() - due)
            calls.append(asyncio.create_task(submit(n, due)))
        sent_s = loop.time() - start
        await asyncio.gather(*calls)
    return {
        "url": url, "target_rate": rate, "duration_s": duration, "calls": total,
        "achieved_rate": round(total / sent_s, 1) if sent_s > 0 else None,
        # How late this client started a call at worst: past a few ms, the figures measure the client too.
        "client_lag_ms_max": round(1000 * worst_lag, 1),
        "statuses": dict(sorted(statuses.items())),
        "errors": total - statuses["201"],
        "latency_ms": _summary(sorted(seconds for seconds, _ in latencies)),
        "latency_ms_201": _summary(sorted(seconds for seconds, created in latencies if created)),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--key", default=os.environ.get("RTBF_API_KEY"),
                        help="an API key with requests:write (default: $RTBF_API_KEY)")
    parser.add_argument("--rate", type=float, default=200.0, help="calls started per second")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of calls")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds a call waits for its answer, in all")
    parser.add_argument("--max-in-flight", type=int, default=256, help="open connections at most")
    args = parser.parse_args(argv)
    if not args.key:
        parser.error("give --key or set RTBF_API_KEY (rtbf apikey create --name load --scope requests:write)")
    if args.rate <= 0 or args.duration <= 0 or args.max_in_flight < 1:
        parser.error("--rate and --duration must be positive, --max-in-flight at least 1")
    result = asyncio.run(run(url=args.url.rstrip("/"), key=args.key, rate=args.rate, duration=args.duration,
                             timeout=args.timeout, max_in_flight=args.max_in_flight))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
