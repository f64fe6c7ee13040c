"""Call overhead: a tool call over stdio against a naive one-tool wrapper and the direct httpx call it wraps.

The sandbox runs as its own process on a free loopback port; channel-mcp (stdio) is pointed at it with
IMBRACE_GATEWAY_URL and a key, exactly as it would be at a real gateway. The direct call is the same
GET with the same headers from an `httpx.AsyncClient` in this process, decoded as JSON. The two run
in alternating batches in one event loop, so that noise hits both alike; the ratio is of the p50s.

The naive wrapper (`_peers.py wrapper`) is what a developer writes in five minutes with the SDK: a bare
`MCPServer`, one tool doing the same GET with an `httpx.AsyncClient`, `server.run()` over stdio. It is
the reference for `imbrace_get_channel` (goal: channel-mcp's p50 at most 0.7x the wrapper's).

`--profile` also runs the server under cProfile for the same calls and prints where its time goes.
"""

from __future__ import annotations

import asyncio
import json
import os
import pstats
import random
import tempfile
import time
from collections.abc import Sequence
from typing import Any

import httpx

from _common import (
    BENCH_DIR,
    PYTHON,
    SANDBOX_KEY,
    SEED_CHANNEL_ID,
    Row,
    call_tool,
    clean_env,
    cpu_seconds,
    finish,
    handshake,
    median,
    parser,
    percentile,
    print_table,
    sandbox_env,
    sandbox_process,
    verdict,
)

GOAL = 1.6
NAIVE_GOAL = 0.7
NAIVE_CASE = "imbrace_get_channel"  # the one tool the naive wrapper has
CASES = {
    "imbrace_count_channels": ({}, "/channel-service/v1/channels/_count"),
    "imbrace_get_channel": ({"channel_id": SEED_CHANNEL_ID}, f"/channel-service/v1/channels/{SEED_CHANNEL_ID}"),
}
LINE_LIMIT = 64 * 1024 * 1024


class AsyncStdio:
    """Raw JSON-RPC lines to a stdio server from asyncio."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdin is not None and proc.stdout is not None
        self.proc = proc
        self.stdin = proc.stdin
        self.stdout = proc.stdout
        self.next_id = 1

    @classmethod
    async def start(cls, cmd: Sequence[str], env: dict[str, str]) -> AsyncStdio:
        proc = await asyncio.create_subprocess_exec(
            *cmd,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            env=env,
            limit=LINE_LIMIT,
        )
        self = cls(proc)
        self.stdin.write(handshake())
        await self.read(0)
        return self

    async def read(self, msg_id: int) -> dict[str, Any]:
        while True:
            line = await self.stdout.readline()
            if not line:
                raise RuntimeError(f"server exited with {await self.proc.wait()}")
            msg = json.loads(line)
            if msg.get("id") == msg_id:
                if "error" in msg:
                    raise RuntimeError(str(msg["error"]))
                return dict(msg["result"])

    async def call(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        msg_id = self.next_id
        self.next_id += 1
        self.stdin.write(call_tool(msg_id, name, arguments))
        result = await self.read(msg_id)
        if result.get("isError"):
            raise RuntimeError(f"{name}: {result['content']}")
        return result

    async def close(self) -> None:
        self.stdin.close()
        try:
            await asyncio.wait_for(self.proc.wait(), 10)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()


async def measure(
    url: str, calls: int, batch: int, server_cmd: Sequence[str], *, floor: bool = True
) -> tuple[dict[str, dict[str, list[float]]], dict[str, float]]:
    """Latencies per case and variant: `mcp` (our tool over stdio), `direct` (httpx), `floor` (the SDK's
    bare server answering an echo tool over stdio: what any MCPServer costs per call, with no upstream) and
    `naive` (the naive one-tool wrapper doing the same GET, for NAIVE_CASE only)."""
    env = clean_env(sandbox_env(url))
    server = await AsyncStdio.start(server_cmd, env)
    floor_server = await AsyncStdio.start([PYTHON, str(BENCH_DIR / "floor_server.py")], clean_env()) if floor else None
    naive_cmd = [PYTHON, str(BENCH_DIR / "_peers.py"), "wrapper", "--upstream", url]
    naive = await AsyncStdio.start(naive_cmd, env) if floor else None
    headers = {"x-api-key": SANDBOX_KEY, "accept": "application/json"}
    samples: dict[str, dict[str, list[float]]] = {
        name: {"mcp": [], "direct": [], "floor": [], "naive": []} for name in CASES
    }
    cpu: dict[str, float] = {}
    async with httpx.AsyncClient(base_url=url, headers=headers) as client:

        async def one(kind: str, name: str, arguments: dict[str, Any], path: str) -> None:
            if kind == "mcp":
                await server.call(name, arguments)
            elif kind == "floor":
                assert floor_server is not None
                await floor_server.call("echo", {"text": name})
            elif kind == "naive":
                assert naive is not None
                await naive.call(name, arguments)
            else:
                response = await client.get(path)
                response.raise_for_status()
                response.json()

        base_kinds = ["mcp", "direct"] + (["floor"] if floor else [])

        def kinds_for(name: str) -> list[str]:
            return base_kinds + (["naive"] if naive is not None and name == NAIVE_CASE else [])

        try:
            for name, (arguments, path) in CASES.items():  # warm-up: connections, lazy imports, caches
                for _ in range(20):
                    for kind in kinds_for(name):
                        await one(kind, name, arguments, path)
            cpu_before = {"mcp": cpu_seconds(server.proc.pid)}
            if floor_server is not None:
                cpu_before["floor"] = cpu_seconds(floor_server.proc.pid)
            if naive is not None:
                cpu_before["naive"] = cpu_seconds(naive.proc.pid)
            done = 0
            while done < calls:
                n = min(batch, calls - done)
                for name, (arguments, path) in CASES.items():
                    kinds = kinds_for(name)
                    random.shuffle(kinds)
                    for kind in kinds:
                        out = samples[name][kind]
                        for _ in range(n):
                            started = time.perf_counter()
                            await one(kind, name, arguments, path)
                            out.append(time.perf_counter() - started)
                done += n
            # Server-side CPU per call (user + system), whatever the scheduling noise on the wall clock.
            cpu["mcp"] = (cpu_seconds(server.proc.pid) - cpu_before["mcp"]) / (calls * len(CASES))
            if floor_server is not None:
                cpu["floor"] = (cpu_seconds(floor_server.proc.pid) - cpu_before["floor"]) / (calls * len(CASES))
            if naive is not None:
                cpu["naive"] = (cpu_seconds(naive.proc.pid) - cpu_before["naive"]) / calls
        finally:
            await server.close()
            if floor_server is not None:
                await floor_server.close()
            if naive is not None:
                await naive.close()
    return samples, cpu


async def code_cost(url: str, calls: int) -> dict[str, tuple[float, float]]:
    """channel-mcp's own code per call, with no I/O and no MCP: `execute` (validation, client, retry policy,
    decoding, output model, masking, budget) against a bare `httpx.AsyncClient.get`, both on an
    `httpx.MockTransport` that answers with the sandbox's real bodies. Returns (ours, bare) p50 per tool."""
    from channel_mcp.config import Settings
    from channel_mcp.deps import Deps
    from channel_mcp.imbrace.client import ImbraceClient
    from channel_mcp.tools import ALL_TOOLS
    from channel_mcp.tools.runner import execute

    bodies: dict[str, bytes] = {}
    async with httpx.AsyncClient(base_url=url, headers={"x-api-key": SANDBOX_KEY}) as live:
        for _, path in CASES.values():
            bodies[path] = (await live.get(path)).content

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=bodies[request.url.path], headers={"content-type": "application/json"})

    mock = httpx.MockTransport(answer)
    settings = Settings(imbrace_api_key=SANDBOX_KEY, imbrace_gateway_url="http://upstream.test")
    client = ImbraceClient(api_key=SANDBOX_KEY, gateway_url="http://upstream.test", transport=mock)
    deps = Deps(settings=settings, imbrace_client=client, bird_client=None, secret_values=settings.secret_values())
    specs = {spec.name: spec for spec in ALL_TOOLS}
    results: dict[str, tuple[float, float]] = {}
    async with httpx.AsyncClient(transport=mock, base_url="http://upstream.test", headers={"x-api-key": "k"}) as bare:
        for name, (arguments, path) in CASES.items():
            ours: list[float] = []
            raw: list[float] = []
            for i in range(calls // 50 + 2):
                for kind in random.sample(["ours", "raw"], 2):
                    for _ in range(50):
                        started = time.perf_counter()
                        if kind == "ours":
                            result = await execute(specs[name], arguments, deps, None)
                            assert not getattr(result, "is_error", False), result
                        else:
                            (await bare.get(path)).json()
                        if i >= 2:  # the first rounds are warm-up
                            (ours if kind == "ours" else raw).append(time.perf_counter() - started)
            results[name] = (median(ours), median(raw))
    await client.aclose()
    return results


PROFILED_SERVER = r"""
import cProfile, sys
import anyio
from channel_mcp.cli import parser, settings_from
from channel_mcp.logs import configure_logging
from channel_mcp.server import build_server
from channel_mcp.serving.stdio import run_stdio
settings = settings_from(parser().parse_args(["serve"]))
configure_logging(settings.log_level, settings.secret_values())
server = build_server(settings)
profiler = cProfile.Profile()
profiler.enable()  # after start-up: only serving is profiled
try:
    anyio.run(run_stdio, server)
finally:
    profiler.disable()
    profiler.dump_stats(sys.argv[1])
"""


def _package(filename: str) -> str:
    if filename == "~":
        return "C builtins (json, pydantic-core, sockets, ...)"
    if "/channel_mcp/" in filename:
        return "channel_mcp"
    if "site-packages/" in filename:
        top = filename.split("site-packages/", 1)[1].split("/", 1)[0]
        return {"mcp_types": "mcp", "httpcore": "httpx", "h11": "httpx"}.get(top, top)
    if "asyncio" in filename or "selectors" in filename:
        return "asyncio"
    return "stdlib"


def profile(url: str, calls: int) -> list[Row]:
    """Server-side CPU time per call, by package, from cProfile (inflates Python code; read as shares)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "server.prof")
        asyncio.run(measure(url, calls, calls, [PYTHON, "-c", PROFILED_SERVER, out], floor=False))
        stats = pstats.Stats(out)
    total_calls = calls * len(CASES) + 20 * len(CASES)
    by_package: dict[str, float] = {}
    idle = 0.0
    for (filename, _, func), (_, _, tottime, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        if func == "<method 'poll' of 'select.epoll' objects>":
            idle += tottime
            continue
        key = _package(filename)
        by_package[key] = by_package.get(key, 0.0) + tottime
    busy = sum(by_package.values())
    rows = [
        Row(
            "profile",
            package,
            f"{seconds / total_calls * 1e6:.0f} us/call",
            note=f"{seconds / busy:.0%} of server CPU",
        )
        for package, seconds in sorted(by_package.items(), key=lambda kv: -kv[1])
        if seconds / busy >= 0.01
    ]
    rows.append(Row("profile", "waiting for I/O (epoll)", f"{idle / total_calls * 1e6:.0f} us/call"))
    stats.sort_stats("tottime").print_stats(20)
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--calls", type=int, help="calls per tool and variant (default 2000, quick 60)")
    p.add_argument("--profile", action="store_true", help="then profile the server with cProfile")
    args = p.parse_args(argv)
    calls = args.calls or (60 if args.quick else 2000)
    batch = 20 if args.quick else 100
    rows: list[Row] = []
    with sandbox_process() as upstream:
        url = upstream.url
        samples, cpu = asyncio.run(measure(url, calls, batch, [PYTHON, "-m", "channel_mcp", "serve"]))
        naive = samples[NAIVE_CASE]["naive"]
        mine = samples[NAIVE_CASE]["mcp"]
        to_naive = median(mine) / median(naive)
        rows.append(
            Row(
                "call",
                f"{NAIVE_CASE} over stdio, p50 / naive wrapper",
                f"{to_naive:.2f}x",
                f"<= {NAIVE_GOAL}x",
                verdict(to_naive <= NAIVE_GOAL),
                f"{median(mine) * 1000:.2f} ms vs {median(naive) * 1000:.2f} ms (bare MCPServer, one tool, the same "
                f"GET, server.run()); {len(mine)} calls each",
            )
        )
        rows.append(
            Row(
                "call",
                f"{NAIVE_CASE} over stdio, p99 / naive wrapper",
                f"{percentile(mine, 99) / percentile(naive, 99):.2f}x",
                note=f"{percentile(mine, 99) * 1000:.2f} ms vs {percentile(naive, 99) * 1000:.2f} ms",
                key=True,
            )
        )
        for name, kinds in samples.items():
            mcp, direct, floor = kinds["mcp"], kinds["direct"], kinds["floor"]
            ratio = median(mcp) / median(direct)
            ratio99 = percentile(mcp, 99) / percentile(direct, 99)
            ours = median(mcp) - median(direct) - median(floor)
            rows.append(
                Row(
                    "call",
                    f"{name} over stdio, p50",
                    f"{ratio:.2f}x direct",
                    f"<= {GOAL}x",
                    verdict(ratio <= GOAL),
                    f"{median(mcp) * 1000:.2f} ms vs {median(direct) * 1000:.2f} ms direct; {len(mcp)} calls each",
                )
            )
            rows.append(
                Row(
                    "call",
                    f"{name} over stdio, p99",
                    f"{ratio99:.2f}x direct",
                    note=f"{percentile(mcp, 99) * 1000:.2f} ms vs {percentile(direct, 99) * 1000:.2f} ms direct",
                    key=True,
                )
            )
            rows.append(
                Row(
                    "call",
                    f"{name}: overhead split",
                    f"+{(median(mcp) - median(direct)) * 1000:.2f} ms",
                    note=f"SDK floor (bare MCPServer echo over stdio) {median(floor) * 1000:.2f} ms "
                    f"= {median(floor) / median(direct):.2f}x direct; channel-mcp's own share {ours * 1000:+.2f} ms",
                    key=True,
                )
            )
        rows.append(
            Row(
                "call",
                "server CPU per call (user+system)",
                f"{cpu['mcp'] * 1000:.2f} ms",
                note=f"naive wrapper {cpu['naive'] * 1000:.2f} ms ({NAIVE_CASE}); SDK floor echo server "
                f"{cpu['floor'] * 1000:.2f} ms; both tools, from /proc/<pid>/stat",
                key=True,
            )
        )
        for name, (ours, bare) in asyncio.run(code_cost(url, calls)).items():
            rows.append(
                Row(
                    "call",
                    f"{name}: channel-mcp code per call, no I/O",
                    f"+{(ours - bare) * 1e6:.0f} us",
                    note=f"execute() {ours * 1e6:.0f} us vs bare httpx get {bare * 1e6:.0f} us, both on a mock "
                    "transport with the sandbox's bodies (in-process)",
                    key=True,
                )
            )
        finish(rows, args, "Call overhead (stdio vs direct httpx, sandbox over loopback)")
        if args.profile:
            print_table(profile(url, calls), "Server CPU per call under cProfile, by package (profiler inflates)")


if __name__ == "__main__":
    main()
