"""Sandbox at scale: contact search and list pages with 100,000 contacts (goals: search p50 < 20 ms, page < 10 ms).

Measured two ways. In-process: `create_app(contacts=100_000)` through `httpx.ASGITransport`, interleaved
with the same requests against the default 240-contact app, so the ratio shows what the size costs.
Over HTTP: a sandbox process seeded with 100,000 contacts on loopback (`serve(contacts=...)`), reached
with `httpx.AsyncClient`; this adds uvicorn and the loopback round trip. Searches cover many hits, one
hit and no hit (a full scan every time); pages are read at the start, the middle and the end.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Sequence

import httpx

from _common import Row, finish, median, parser, percentile, sandbox_process, verdict

SEARCH_GOAL = 0.020
PAGE_GOAL = 0.010
KEY = "sandbox-key"
BASE = "/channel-service/v1/contacts"


def requests(contacts: int) -> dict[str, tuple[str, dict[str, str | int]]]:
    last = max(0, contacts - 50)
    return {
        "search, many hits (nguyen)": (f"{BASE}/_search", {"q": "nguyen", "limit": 10}),
        "search, one hit (email)": (f"{BASE}/_search", {"q": ".12345@", "limit": 10}),
        "search, no hit (full scan)": (f"{BASE}/_search", {"q": "zzz-nobody", "limit": 10}),
        "page of 50, start": (BASE, {"limit": 50, "skip": 0}),
        "page of 50, middle": (BASE, {"limit": 50, "skip": contacts // 2}),
        "page of 50, end": (BASE, {"limit": 50, "skip": last}),
    }


async def timed(client: httpx.AsyncClient, path: str, params: dict[str, str | int]) -> float:
    started = time.perf_counter()
    response = await client.get(path, params=params)
    response.raise_for_status()
    response.json()
    return time.perf_counter() - started


async def in_process(contacts: int, reps: int) -> tuple[dict[str, dict[str, list[float]]], float]:
    from channel_mcp.sandbox.app import create_app

    started = time.perf_counter()
    big = create_app(api_key=KEY, contacts=contacts)
    seeded = time.perf_counter() - started
    small = create_app(api_key=KEY)
    cases = requests(contacts)
    small_cases = requests(240)
    samples: dict[str, dict[str, list[float]]] = {name: {"big": [], "small": []} for name in cases}
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=big), base_url="http://s", headers={"x-api-key": KEY}) as b,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=small), base_url="http://s", headers={"x-api-key": KEY}
        ) as s,
    ):
        for name in cases:  # warm-up
            await timed(b, *cases[name])
            await timed(s, *small_cases[name])
        for _ in range(reps):
            for name in random.sample(list(cases), len(cases)):
                for which in random.sample(["big", "small"], 2):
                    client, case = (b, cases[name]) if which == "big" else (s, small_cases[name])
                    samples[name][which].append(await timed(client, *case))
    return samples, seeded


async def over_http(url: str, contacts: int, reps: int) -> dict[str, list[float]]:
    cases = requests(contacts)
    samples: dict[str, list[float]] = {name: [] for name in cases}
    async with httpx.AsyncClient(base_url=url, headers={"x-api-key": KEY}) as client:
        for name in cases:
            await timed(client, *cases[name])
        for _ in range(reps):
            for name in random.sample(list(cases), len(cases)):
                samples[name].append(await timed(client, *cases[name]))
    return samples


def main(argv: Sequence[str] | None = None) -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--contacts", type=int, help="contacts to seed (default 100000, quick 10000)")
    args = p.parse_args(argv)
    contacts = args.contacts or (10_000 if args.quick else 100_000)
    reps = 5 if args.quick else 60
    samples, seeded = asyncio.run(in_process(contacts, reps))
    with sandbox_process(contacts=contacts) as upstream:
        http_samples = asyncio.run(over_http(upstream.url, contacts, reps))
    rows = [Row("sandbox", f"seed {contacts:,} contacts (create_app)", f"{seeded:.2f} s", note="once, at start")]
    for name, kinds in samples.items():
        goal = SEARCH_GOAL if name.startswith("search") else PAGE_GOAL
        big, small = median(kinds["big"]), median(kinds["small"])
        over = median(http_samples[name])
        rows.append(
            Row(
                "sandbox",
                f"{name}, p50 in-process (ASGI)",
                f"{big * 1000:.2f} ms",
                f"< {goal * 1000:.0f} ms",
                verdict(big < goal),
                f"{big / small:.1f}x the 240-contact sandbox ({small * 1000:.2f} ms); "
                f"p99 {percentile(kinds['big'], 99) * 1000:.2f} ms; over HTTP p50 {over * 1000:.2f} ms",
            )
        )
    finish(rows, args, f"Sandbox with {contacts:,} contacts")


if __name__ == "__main__":
    main()
