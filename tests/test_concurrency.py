"""Many calls at once, and calls abandoned half-way.

* 100 concurrent tool calls through one MCP session, with 30% of first attempts failing transiently
  (seeded), all succeed, each with its own answer, and each costs exactly the attempts its faults predict.
* The same against the sandbox's own seeded fault injection.
* A client that cancels a call (`notifications/cancelled` on the wire; a cancelled scope in-process)
  stops the upstream request, leaves the session usable, and never trips the circuit breaker.
"""

from __future__ import annotations

import json
import os
import random
import re
import select
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx
import pytest
import respx
from mcp_types import CallToolResult

from channel_mcp.config import Settings
from channel_mcp.deps import Deps
from channel_mcp.sandbox import SANDBOX_API_KEY
from channel_mcp.sandbox.app import create_app
from channel_mcp.sandbox.faults import FaultConfig
from tests.conftest import IMBRACE, IMBRACE_KEY, connect, envelope, make_settings
from tests.test_faults import fake_time_deps, result_text
from tests.test_http import FakeTime

CALLS = 100
FAULT_RATE = 0.3
SEED = 20240611


# ---------------------------------------------------------------------------------------------- 100 at once


def _transient(kind: str) -> httpx.Response:
    if kind == "429":
        return httpx.Response(429, headers={"Retry-After": "0"})
    if kind == "refused":
        raise httpx.ConnectError("[Errno 111] Connection refused")
    if kind == "read timeout":
        raise httpx.ReadTimeout("timed out")
    if kind == "reset":
        raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
    return httpx.Response(int(kind), json={"message": "try later"})


# A create may only be retried after faults that prove it never arrived.
SAFE_FOR_ANY = ("429", "refused")
SAFE_FOR_IDEMPOTENT = ("429", "refused", "502", "503", "504", "read timeout", "reset")


@dataclass
class Plan:
    """Per call (keyed by its channel id, so scheduling order cannot change it): the faults before success."""

    faults: dict[str, list[str]] = field(default_factory=dict)
    seen: dict[str, int] = field(default_factory=dict)

    def add(self, key: str, rng: random.Random, kinds: tuple[str, ...]) -> None:
        faults: list[str] = []
        while len(faults) < 3 and rng.random() < FAULT_RATE:  # at most max_retries: transient by construction
            faults.append(rng.choice(kinds))
        self.faults[key] = faults

    def answer(self, key: str, ok: Callable[[], httpx.Response]) -> httpx.Response:
        attempt = self.seen.get(key, 0)
        self.seen[key] = attempt + 1
        if attempt < len(self.faults[key]):
            return _transient(self.faults[key][attempt])
        return ok()


def _calls(rng: random.Random, plan: Plan) -> list[tuple[str, dict[str, Any], str]]:
    """(tool, arguments, key) for 50 reads, 30 updates and 20 creates, shuffled."""
    calls = []
    for i in range(CALLS):
        key = f"ch_{i:03d}"
        if i < 50:
            calls.append(("imbrace_get_channel", {"channel_id": key}, key))
            plan.add(key, rng, SAFE_FOR_IDEMPOTENT)
        elif i < 80:
            calls.append(("imbrace_update_channel", {"channel_id": key, "name": f"Name {key}"}, key))
            plan.add(key, rng, SAFE_FOR_IDEMPOTENT)
        else:
            calls.append(("imbrace_create_channel", {"type": "web", "name": key}, key))
            plan.add(key, rng, SAFE_FOR_ANY)
    rng.shuffle(calls)
    return calls


async def test_100_concurrent_calls_with_30_percent_transient_faults_all_succeed(upstream: respx.MockRouter) -> None:
    rng = random.Random(SEED)
    plan = Plan()
    calls = _calls(rng, plan)
    first_attempt_failures = sum(1 for faults in plan.faults.values() if faults)
    assert 0.2 * CALLS <= first_attempt_failures <= 0.4 * CALLS

    def by_id(request: httpx.Request) -> httpx.Response:
        key = request.url.path.rsplit("/", 1)[-1]
        return plan.answer(key, lambda: httpx.Response(200, json=envelope({"id": key, "name": f"Name {key}"})))

    def create(request: httpx.Request) -> httpx.Response:
        key = json.loads(request.content)["name"]
        return plan.answer(key, lambda: httpx.Response(201, json=envelope({"id": key, "name": key})))

    upstream.route(method__in=["GET", "PUT"], url__regex=rf"^{re.escape(IMBRACE)}/v1/channels/ch_\d+$").mock(
        side_effect=by_id
    )
    upstream.post(f"{IMBRACE}/v1/channels").mock(side_effect=create)

    fake = FakeTime()
    built: list[Deps] = []
    factory = fake_time_deps(fake)

    def keep(settings: Settings) -> Deps:
        built.append(factory(settings))
        return built[-1]

    results: dict[str, CallToolResult] = {}
    async with connect(make_settings(timeout=30.0), server_kwargs={"deps_factory": keep}) as client:

        async def one(tool: str, args: dict[str, Any], key: str) -> None:
            results[key] = await client.call_tool(tool, args)

        with anyio.fail_after(30):
            async with anyio.create_task_group() as tg:
                for tool, args, key in calls:
                    tg.start_soon(one, tool, args, key)
        breaker = built[0].imbrace.upstream.breaker

    assert len(results) == CALLS
    failed = {key: result_text(r) for key, r in results.items() if r.is_error}
    assert not failed, failed
    for key, result in results.items():  # every answer belongs to its own call
        assert (result.structured_content or {})["id"] == key
        assert plan.seen[key] == len(plan.faults[key]) + 1, key
    assert sum(plan.seen.values()) == CALLS + sum(len(f) for f in plan.faults.values())
    assert breaker.failures == 0 and breaker.opened_at is None


async def test_100_concurrent_reads_against_the_sandbox_with_30_percent_5xx() -> None:
    """The sandbox's one seeded die decides every attempt: each call succeeds, or fails only after all four."""
    app = create_app(api_key=SANDBOX_API_KEY, faults=FaultConfig(rate_5xx=0.3, statuses_5xx=(502, 503, 504), seed=7))
    fake = FakeTime()
    factory = fake_time_deps(fake, transport=httpx.ASGITransport(app=app))
    ids = [f"ct_{n:04d}" for n in range(1, CALLS + 1)]
    results: dict[str, CallToolResult] = {}
    try:
        async with connect(Settings(sandbox=True, timeout=30.0), server_kwargs={"deps_factory": factory}) as client:

            async def one(contact_id: str) -> None:
                results[contact_id] = await client.call_tool("imbrace_get_contact", {"contact_id": contact_id})

            with anyio.fail_after(30):
                async with anyio.create_task_group() as tg:
                    for contact_id in ids:
                        tg.start_soon(one, contact_id)
        attempts = {cid: sum(1 for _, p in app.state.requests if p.endswith(f"/contacts/{cid}")) for cid in ids}
    finally:
        app.state.store.close()
    faulted = sum(n - 1 for n in attempts.values()) + sum(1 for r in results.values() if r.is_error)
    assert 0.2 <= faulted / sum(attempts.values()) <= 0.4
    ok = [cid for cid, r in results.items() if not r.is_error]
    assert len(ok) >= CALLS - 3
    for cid in ok:
        assert (results[cid].structured_content or {})["id"] == cid
    for cid, result in results.items():
        if result.is_error:
            assert attempts[cid] == 4
            assert "fault injection" in result_text(result) and "try again" in result_text(result)


# ---------------------------------------------------------------------------------------------- cancellation


@dataclass
class Blocker:
    """An upstream that accepts the request and never answers, reporting when it was abandoned."""

    started: anyio.Event = field(default_factory=anyio.Event)
    cancelled: anyio.Event = field(default_factory=anyio.Event)
    calls: int = 0

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        self.started.set()
        try:
            await anyio.sleep_forever()
        except BaseException:
            self.cancelled.set()
            raise
        raise AssertionError("unreachable")


def keeping(factory: Callable[[Settings], Deps], built: list[Deps]) -> Callable[[Settings], Deps]:
    def make(settings: Settings) -> Deps:
        built.append(factory(settings))
        return built[-1]

    return make


@pytest.mark.parametrize("mode", ["legacy", "auto"], ids=["json-rpc notifications/cancelled", "in-process scope"])
async def test_cancelling_a_call_stops_its_upstream_request(mode: str) -> None:
    """`legacy` runs JSON-RPC over memory streams: the server only learns of the cancel from the
    `notifications/cancelled` the SDK client sends when the caller's scope is cancelled."""
    fake = FakeTime()
    built: list[Deps] = []
    settings = make_settings(timeout=30.0)
    with respx.mock(assert_all_called=False) as router:
        blocker = Blocker()
        router.get(f"{IMBRACE}/v1/channels/ch_slow").mock(side_effect=blocker)
        router.get(f"{IMBRACE}/v1/channels/ch_fast").respond(200, json=envelope({"id": "ch_fast", "name": "F"}))
        async with connect(
            settings, mode=mode, server_kwargs={"deps_factory": keeping(fake_time_deps(fake), built)}
        ) as c:
            for _ in range(6):  # more than the breaker's threshold
                blocker.started, blocker.cancelled = anyio.Event(), anyio.Event()
                with anyio.fail_after(5):
                    async with anyio.create_task_group() as tg:
                        tg.start_soon(c.call_tool, "imbrace_get_channel", {"channel_id": "ch_slow"})
                        await blocker.started.wait()
                        tg.cancel_scope.cancel()
                    await blocker.cancelled.wait()  # the server side gave up on the upstream request
            assert blocker.calls == 6, "a cancelled call must not be retried"
            breaker = built[0].imbrace.upstream.breaker
            assert breaker.failures == 0 and breaker.opened_at is None
            # The session and the provider are still fine.
            result = await c.call_tool("imbrace_get_channel", {"channel_id": "ch_fast"})
            assert not result.is_error and (result.structured_content or {})["id"] == "ch_fast"


async def test_cancelled_calls_release_their_pooled_connections() -> None:
    """Over real loopback sockets: abandon more calls than the pool has connections (64), then a new
    call must still get a connection at once. A leaked connection would leave it waiting for the pool."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from channel_mcp.sandbox.run import serve_in_thread

    entered = gone = 0
    all_in, all_gone = threading.Event(), threading.Event()

    async def channel(request: Request) -> JSONResponse:
        nonlocal entered, gone
        if request.path_params["channel_id"] == "ch_slow":
            entered += 1
            if entered == 64:
                all_in.set()
            while (await request.receive())["type"] != "http.disconnect":
                pass
            gone += 1
            if gone == 64:
                all_gone.set()
            return JSONResponse({}, status_code=499)
        return JSONResponse(envelope({"id": request.path_params["channel_id"], "name": "F"}))

    app = Starlette(routes=[Route("/channel-service/v1/channels/{channel_id}", channel)])
    with serve_in_thread(app=app) as running:
        settings = make_settings(imbrace_gateway_url=running.url, timeout=30.0)
        async with connect(settings) as c:
            with anyio.fail_after(15):
                async with anyio.create_task_group() as tg:
                    for _ in range(80):  # 64 hold a connection, 16 wait for the pool
                        tg.start_soon(c.call_tool, "imbrace_get_channel", {"channel_id": "ch_slow"})
                    assert await anyio.to_thread.run_sync(all_in.wait, 10)
                    tg.cancel_scope.cancel()
            # Each abandoned request's connection was closed, so the upstream saw it go.
            assert await anyio.to_thread.run_sync(all_gone.wait, 10)
            assert entered == 64
            started = time.monotonic()
            with anyio.fail_after(5):
                result = await c.call_tool("imbrace_get_channel", {"channel_id": "ch_fast"})
            assert not result.is_error and time.monotonic() - started < 2.0


# ---------------------------------------------------------------------------------------------- across processes


@pytest.fixture
def hanging_upstream() -> Iterator[tuple[int, dict[str, threading.Event]]]:
    """A loopback TCP server that reads one request per connection and never answers."""
    seen = {"request": threading.Event(), "closed": threading.Event()}
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    stop = threading.Event()

    def handle(conn: socket.socket) -> None:
        data = b""
        with conn:
            while not stop.is_set():
                try:
                    chunk = conn.recv(65536)
                except TimeoutError:
                    continue
                except OSError:
                    break
                if not chunk:
                    break
                data += chunk
                if b"\r\n\r\n" in data:
                    seen["request"].set()
        seen["closed"].set()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(0.2)
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1], seen
    finally:
        stop.set()
        server.close()
        thread.join(timeout=2)


def _read_line(proc: subprocess.Popen[bytes], timeout: float) -> bytes | None:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    return proc.stdout.readline() if ready else None


def test_notifications_cancelled_over_stdio_abandons_the_upstream_request(
    hanging_upstream: tuple[int, dict[str, threading.Event]],
) -> None:
    port, seen = hanging_upstream
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IMBRACE_", "BIRD_", "CHANNEL_MCP_"))}
    env.update(IMBRACE_API_KEY=IMBRACE_KEY, IMBRACE_GATEWAY_URL=f"http://127.0.0.1:{port}", CHANNEL_MCP_TIMEOUT="60")
    proc = subprocess.Popen(
        [sys.executable, "-m", "channel_mcp", "serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert proc.stdin is not None

    def send(message: dict[str, Any]) -> None:
        assert proc.stdin is not None
        proc.stdin.write(json.dumps(message).encode() + b"\n")
        proc.stdin.flush()

    try:
        send(
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "initialize",
                "params": {
                    "protocolVersion": "2025-11-25",
                    "capabilities": {},
                    "clientInfo": {"name": "t", "version": "1"},
                },
            }
        )
        assert _read_line(proc, 20) is not None
        send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        send(
            {
                "jsonrpc": "2.0",
                "id": 7,
                "method": "tools/call",
                "params": {"name": "imbrace_get_channel", "arguments": {"channel_id": "ch_1"}},
            }
        )
        assert seen["request"].wait(10), "the upstream never saw the request"
        assert not seen["closed"].is_set()
        send({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 7, "reason": "user"}})
        assert seen["closed"].wait(5), "the upstream request was not abandoned"
        send({"jsonrpc": "2.0", "id": 8, "method": "ping"})
        line = _read_line(proc, 10)
        assert line is not None and json.loads(line) == {"jsonrpc": "2.0", "id": 8, "result": {}}
        assert _read_line(proc, 0.5) is None, "a cancelled request must not be answered"
        assert proc.poll() is None
    finally:
        proc.kill()
        proc.wait(timeout=10)
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
