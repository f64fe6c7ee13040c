"""Soak: many tool calls to `channel-mcp serve --transport http`, with faults injected upstream.

    python benchmarks/soak.py            # 10,000 calls
    python benchmarks/soak.py --quick    # 300 calls, for CI (tests/test_soak.py)

Two real HTTP hops, loopback only. This process serves the sandbox (fake iMBRACE + Bird) from a thread
with seeded fault injection (default 2% 429 with Retry-After 0, 3% 5xx from 500/502/503/504), starts
the MCP server as a subprocess in HTTP mode pointed at it, and drives it with the MCP SDK client from
`--concurrency` workers. (Not `serve --sandbox`: there the simulator lives inside the server process,
where faults cannot be injected.)

The mix: reads of every kind (85%), creates (6%), updates (5%) and deletes (4%) of channels the run
created itself. Every successful answer is checked against the sandbox's own state; every error must
be explained by an injected fault (the sandbox's "fault injection" text, a rate limit, or the circuit
breaker opened by them). At the end no create may exist twice. Reported: calls, errors by kind,
crashes (exceptions, internal errors, a dead server), the server's RSS at start, after warm-up and at
the end (/proc/<pid>/status VmRSS), latency percentiles and throughput. Exit status 0 only when there
were no crashes, no incorrect answers and no duplicates.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
from mcp import Client

from channel_mcp.sandbox import sandbox_env
from channel_mcp.sandbox.faults import FaultConfig, FaultKind
from channel_mcp.sandbox.run import serve_in_thread

ROOT = Path(__file__).resolve().parent.parent
BIRD_CHANNEL = "b12d0000-0000-4000-8000-000000000001"
BIRD_CONTACT = "bc000000-0000-4000-8000-000000000001"
INJECTED = ("fault injection", "rate-limiting", "in a row")  # the last: the breaker, opened by injected faults


class CountingFaults(FaultConfig):
    """The sandbox's fault injection, counting what it injected (rolls happen on the sandbox thread)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.counts: Counter[str] = Counter()
        self.lock = threading.Lock()

    def roll(self) -> tuple[FaultKind, int]:
        kind, status = super().roll()
        with self.lock:
            self.counts[kind if kind == "ok" else str(status)] += 1
        return kind, status


@dataclass
class Stats:
    calls: int = 0
    ok: int = 0
    injected_errors: Counter[str] = field(default_factory=Counter)
    incorrect: list[str] = field(default_factory=list)
    crashes: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    by_tool: Counter[str] = field(default_factory=Counter)


@dataclass
class Truth:
    """What the sandbox holds, read before the run, for reads whose answer cannot change during it."""

    contacts: dict[str, str]
    channel_name: str
    channel_count_floor: int


@dataclass
class Worker:
    index: int
    rng: random.Random
    owned: dict[str, str] = field(default_factory=dict)  # channel id -> current name
    created: dict[str, str] = field(default_factory=dict)  # name -> outcome: "ok", "maybe" or "deleted"
    serial: int = 0


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode} before it was ready")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - a loopback URL we built
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("the server did not become ready in time")


def structured(result: Any) -> dict[str, Any]:
    data = result.structured_content
    return data if isinstance(data, dict) else {}


def text_of(result: Any) -> str:
    return "".join(getattr(block, "text", "") for block in result.content)


async def one_call(client: Client, worker: Worker, truth: Truth, stats: Stats) -> None:
    """Pick an operation, call it, and judge the answer."""
    rng = worker.rng
    roll = rng.random()
    check: Any
    args: dict[str, Any]
    if roll < 0.06 or (roll >= 0.85 and not worker.owned):
        worker.serial += 1
        name = f"soak-{worker.index}-{worker.serial}"
        tool, args = "imbrace_create_web_channel", {"name": name}

        def check(data: dict[str, Any], failed: bool, text: str) -> str | None:
            if failed:
                worker.created[name] = "maybe" if "may have been applied" in text else "failed"
                return None
            worker.created[name] = "ok"
            worker.owned[data["id"]] = name
            return None if data.get("name") == name else f"create answered name {data.get('name')!r}"

    elif roll >= 0.91:
        channel_id = rng.choice(sorted(worker.owned))
        tool, args = "imbrace_delete_channel", {"channel_id": channel_id, "confirm": True}

        def check(data: dict[str, Any], failed: bool, text: str) -> str | None:
            if failed:
                return None
            name = worker.owned.pop(channel_id)
            worker.created[name] = "deleted"
            return None if data.get("ok") is True else f"delete answered {data}"

    elif roll >= 0.85:
        channel_id = rng.choice(sorted(worker.owned))
        new_name = f"{worker.owned[channel_id]}-r{rng.randrange(1000)}"
        tool, args = "imbrace_update_channel", {"channel_id": channel_id, "name": new_name}

        def check(data: dict[str, Any], failed: bool, text: str) -> str | None:
            if failed:
                return None
            old = worker.owned[channel_id]
            worker.owned[channel_id] = new_name
            worker.created[new_name] = worker.created.pop(old, "ok")
            return None if data.get("name") == new_name else f"update answered name {data.get('name')!r}"

    else:
        tool, args, check = read_operation(rng, truth)

    started = time.perf_counter()
    try:
        result = await client.call_tool(tool, args)
    except Exception as exc:  # anything that escapes the protocol is a crash
        stats.crashes.append(f"{tool}: {type(exc).__name__}: {exc}"[:300])
        return
    finally:
        stats.latencies.append(time.perf_counter() - started)
        stats.calls += 1
        stats.by_tool[tool] += 1
    text = text_of(result)
    if "internal error" in text:
        stats.crashes.append(f"{tool}: {text[:200]}")
        return
    if result.is_error:
        kind = next((k for k in INJECTED if k in text), None)
        if kind is None:
            stats.incorrect.append(f"{tool} {args}: unexplained error: {text[:200]}")
        else:
            stats.injected_errors[kind] += 1
        problem = check({}, True, text)
    else:
        stats.ok += 1
        problem = check(structured(result), False, text)
    if problem is not None:
        stats.incorrect.append(f"{tool} {args}: {problem}")


def read_operation(rng: random.Random, truth: Truth) -> tuple[str, dict[str, Any], Any]:
    kind = rng.randrange(7)
    if kind == 0:
        contact_id = rng.choice(sorted(truth.contacts))

        def check(data: dict[str, Any], failed: bool, text: str) -> str | None:
            if failed or (data.get("id") == contact_id and data.get("display_name") == truth.contacts[contact_id]):
                return None
            return f"wrong contact {data.get('id')!r} {data.get('display_name')!r}"

        return "imbrace_get_contact", {"contact_id": contact_id}, check
    if kind == 1:

        def check(data: dict[str, Any], failed: bool, text: str) -> str | None:
            ok = failed or (data.get("id") == "ch_web_001" and data.get("name") == truth.channel_name)
            return None if ok else f"wrong channel {data}"

        return "imbrace_get_channel", {"channel_id": "ch_web_001"}, check
    if kind == 2:
        limit = rng.randint(1, 10)

        def check(data: dict[str, Any], failed: bool, text: str) -> str | None:
            items = data.get("items")
            ok = failed or (isinstance(items, list) and 1 <= len(items) <= limit and all("id" in i for i in items))
            return None if ok else f"bad channel page of {limit}: {str(data)[:120]}"

        return "imbrace_list_channels", {"limit": limit}, check
    if kind == 3:

        def check(data: dict[str, Any], failed: bool, text: str) -> str | None:
            items = data.get("items")
            ok = failed or (isinstance(items, list) and any("Nguyễn" in str(i.get("display_name")) for i in items))
            return None if ok else "search for 'nguyen' found no Nguyễn"

        return "imbrace_search_contacts", {"q": "nguyen", "limit": 5}, check
    if kind == 4:

        def check(data: dict[str, Any], failed: bool, text: str) -> str | None:
            return None if failed or data.get("id") == BIRD_CHANNEL else f"wrong Bird channel {data.get('id')!r}"

        return "bird_get_channel", {"channel_id": BIRD_CHANNEL}, check
    if kind == 5:

        def check(data: dict[str, Any], failed: bool, text: str) -> str | None:
            return None if failed or "open" in json.dumps(data) else f"no window state in {str(data)[:120]}"

        return "bird_check_service_window", {"channel_id": BIRD_CHANNEL, "contact_id": BIRD_CONTACT}, check

    def check_count(data: dict[str, Any], failed: bool, text: str) -> str | None:
        count = data.get("count")
        return None if failed or (isinstance(count, int) and count >= truth.channel_count_floor) else f"count {count}"

    return "imbrace_count_channels", {}, check_count


async def drive(
    url: str, calls: int, concurrency: int, seed: int, phase: int, truth: Truth, stats: Stats
) -> list[Worker]:
    workers = [Worker(phase * 1000 + i, random.Random(f"{seed}-{phase}-{i}")) for i in range(concurrency)]
    remaining = calls

    async def run(worker: Worker, client: Client) -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await one_call(client, worker, truth, stats)

    async with Client(url) as client, anyio.create_task_group() as tg:
        for worker in workers:
            tg.start_soon(run, worker, client)
    return workers


def check_creates(workers: Sequence[Worker], names: Counter[str]) -> list[str]:
    """Each create that succeeded exists exactly once (unless the run deleted it); nothing exists twice."""
    problems = [f"{name!r} exists {n} times" for name, n in names.items() if name.startswith("soak-") and n > 1]
    for worker in workers:
        for name, outcome in worker.created.items():
            expected = {"ok": (1,), "deleted": (0,), "maybe": (0, 1), "failed": (0,)}[outcome]
            if names.get(name, 0) not in expected:
                problems.append(f"{name!r} ({outcome}) exists {names.get(name, 0)} times")
    return problems


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def soak(calls: int, concurrency: int, seed: int, rate_429: float, rate_5xx: float, timeout: float) -> dict[str, Any]:
    faults = CountingFaults(rate_429=rate_429, rate_5xx=rate_5xx, retry_after=0, seed=seed)
    with serve_in_thread(faults=faults) as sandbox:
        store = sandbox.app.state.store
        truth = Truth(
            contacts={f"ct_{n:04d}": store.get_contact(f"ct_{n:04d}")["display_name"] for n in range(1, 241)},
            channel_name=store.get_channel("ch_web_001")["name"],
            channel_count_floor=store.count_channels(),
        )
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("IMBRACE_", "BIRD_", "CHANNEL_MCP_"))}
        env.update(sandbox_env(sandbox.url))
        env.update(CHANNEL_MCP_LOG_LEVEL="WARNING", CHANNEL_MCP_TIMEOUT=str(timeout))
        command = [sys.executable, "-m", "channel_mcp", "serve", "--transport", "http", "--host", "127.0.0.1"]
        proc = subprocess.Popen(
            [*command, "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT
        )
        stats = Stats()
        try:
            wait_ready(f"http://127.0.0.1:{port}/readyz", proc)
            rss = {"start": rss_kb(proc.pid)}
            url = f"http://127.0.0.1:{port}/mcp"
            warmup = min(200, calls // 10)
            started = time.perf_counter()
            workers = anyio.run(drive, url, warmup, concurrency, seed, 0, truth, stats)
            rss["after_warmup"] = rss_kb(proc.pid)
            workers += anyio.run(drive, url, calls - warmup, concurrency, seed, 1, truth, stats)
            elapsed = time.perf_counter() - started
            rss["end"] = rss_kb(proc.pid)
            alive = proc.poll() is None
            if not alive:
                stats.crashes.append(f"the server died with exit status {proc.returncode}")
            names = Counter(ch["name"] for ch in store.list_channels())
            duplicates = check_creates(workers, names)
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)
            stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            if proc.stderr:
                proc.stderr.close()
    tracebacks = stderr.count("Traceback")
    if tracebacks:
        stats.crashes.append(f"{tracebacks} traceback(s) in the server's log")
    return {
        "calls": stats.calls,
        "ok": stats.ok,
        "injected_errors": dict(stats.injected_errors),
        "incorrect": len(stats.incorrect),
        "incorrect_examples": stats.incorrect[:10],
        "crashes": len(stats.crashes),
        "crash_examples": stats.crashes[:10],
        "duplicate_creates": len(duplicates),
        "duplicate_examples": duplicates[:10],
        "creates": sum(len(w.created) for w in workers),
        "upstream_requests": dict(faults.counts),
        "injected_rate": round(1 - faults.counts["ok"] / max(1, sum(faults.counts.values())), 4),
        "server_exit_status": proc.returncode,
        "rss_kb": rss,
        "seconds": round(elapsed, 2),
        "calls_per_second": round(stats.calls / elapsed, 1) if elapsed else None,
        "latency_ms": {
            "p50": round(1000 * percentile(stats.latencies, 0.5), 2),
            "p99": round(1000 * percentile(stats.latencies, 0.99), 2),
            "max": round(1000 * max(stats.latencies, default=0.0), 2),
            "mean": round(1000 * statistics.fmean(stats.latencies), 2) if stats.latencies else 0.0,
        },
        "by_tool": dict(stats.by_tool),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="300 calls (CI)")
    parser.add_argument("--calls", type=int, help="number of tool calls (default 10,000; 300 with --quick)")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--rate-429", type=float, default=0.02)
    parser.add_argument("--rate-5xx", type=float, default=0.03)
    parser.add_argument("--timeout", type=float, default=10.0, help="the server's per-call budget")
    parser.add_argument("--json", action="store_true", help="print the report as one JSON object")
    args = parser.parse_args(argv)
    calls = args.calls or (300 if args.quick else 10_000)
    report = soak(calls, args.concurrency, args.seed, args.rate_429, args.rate_5xx, args.timeout)
    passed = report["crashes"] == 0 and report["incorrect"] == 0 and report["duplicate_creates"] == 0
    report["passed"] = passed
    if args.json:
        print(json.dumps(report))
    else:
        for key, value in report.items():
            print(f"{key:>20}: {value}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
