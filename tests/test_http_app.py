"""HTTP mode: stateless Streamable HTTP, its security checks, operations endpoints, and shutdown.

Three levels: the ASGI app in-process (httpx / the SDK client over an ASGI transport, with the lifespan
entered by hand), a real uvicorn server on 127.0.0.1 in a thread, and `channel-mcp serve --transport http`
subprocesses (scale-out across two processes, SIGTERM with a request in flight).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import httpx
import httpx2
import pytest
import respx
import uvicorn
from mcp import Client
from mcp.client import ClientRequestContext
from mcp.client.streamable_http import streamable_http_client
from mcp.server.mcpserver import Context, MCPServer
from mcp_types import ElicitRequestParams, ElicitResult, ErrorData
from starlette.applications import Starlette

from channel_mcp.cli import main
from channel_mcp.config import Settings
from channel_mcp.deps import Deps, build_deps
from channel_mcp.sandbox import seed
from channel_mcp.sandbox.faults import FaultConfig
from channel_mcp.sandbox.run import serve_in_thread
from channel_mcp.server import build_server
from channel_mcp.serving.http_app import (
    AccessPolicy,
    ChannelMCPApp,
    bind_problem,
    create_http_app,
    is_loopback,
    run_http,
)
from channel_mcp.serving.http_limits import ConnectionLimits, limited_protocol
from tests.conftest import BIRD, BIRD_KEY, IMBRACE, IMBRACE_KEY, WS, envelope, make_settings

TOKEN = "mcp-client-token-3b9f1d77"
LEGACY = "2025-11-25"
MODERN = "2026-07-28"
BASE = "http://127.0.0.1:8000"
SANDBOX_CHANNELS = len(seed.channels())  # what imbrace_count_channels answers on a fresh sandbox


# ---------------------------------------------------------------- helpers


def rpc(method: str, params: dict[str, Any] | None = None, id: int = 1) -> dict[str, Any]:
    body: dict[str, Any] = {"jsonrpc": "2.0", "id": id, "method": method}
    if params is not None:
        body["params"] = params
    return body


def legacy_headers(**extra: str) -> dict[str, str]:
    """What a 2025-11-25 client sends after its (stateless) handshake. No session id: there is none."""
    return {
        "content-type": "application/json",
        "accept": "application/json, text/event-stream",
        "mcp-protocol-version": LEGACY,
        **extra,
    }


def modern(method: str, params: dict[str, Any] | None = None, id: int = 1) -> tuple[dict[str, str], dict[str, Any]]:
    """A self-contained 2026-07-28 request: version and capabilities in `_meta`, routing headers to match."""
    meta = {
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "test", "version": "1"},
    }
    headers = {
        "content-type": "application/json",
        "accept": "application/json, text/event-stream",
        "mcp-protocol-version": MODERN,
        "mcp-method": method,
    }
    if method == "tools/call" and params is not None:
        headers["mcp-name"] = params["name"]
    return headers, rpc(method, {**(params or {}), "_meta": meta}, id)


INITIALIZE = rpc(
    "initialize", {"protocolVersion": LEGACY, "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}}
)
COUNT_CALL = {"name": "imbrace_count_channels", "arguments": {}}


@asynccontextmanager
async def asgi_client(app: Starlette, **kwargs: Any) -> AsyncIterator[httpx.AsyncClient]:
    """httpx on the app in-process, with the ASGI lifespan entered as uvicorn would (ASGITransport does not)."""
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE, **kwargs) as client,
    ):
        yield client


def free_socket() -> socket.socket:
    # Bound here, handed to uvicorn: no race for the port. IPPROTO_TCP so that asyncio sets TCP_NODELAY.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    return sock


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def uvicorn_thread(app: Starlette) -> Iterator[str]:
    """A real uvicorn server on 127.0.0.1 in a daemon thread; yields its base URL."""
    sock = free_socket()
    # channel-mcp's own HTTP protocol (httptools with its limits), as `channel-mcp serve --transport http` runs.
    http = limited_protocol(ConnectionLimits(header_timeout=30, body_timeout=60, max_connections=10_000))
    config = uvicorn.Config(app, lifespan="on", log_config=None, access_log=False, ws="none", http=http)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
    assert not thread.is_alive()


def add_probe(server: MCPServer[Deps]) -> None:
    """A test-only tool that reports what a handler sees: the lifespan object and the request's headers."""

    async def http_probe(ctx: Context) -> dict[str, Any]:
        deps = ctx.request_context.lifespan_context
        headers = dict(ctx.headers or {})
        return {"deps": id(deps), "is_deps": isinstance(deps, Deps), "headers": headers}

    server.add_tool(http_probe, name="http_probe", description="test probe")


# ---------------------------------------------------------------- unit: policy and start-up refusal


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),
        ("127.0.0.2", True),
        ("0.0.0.0", False),
        ("::", False),
        ("10.1.2.3", False),
        ("example.com", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        (None, True),
        ("http://localhost:6274", True),
        ("http://127.0.0.1:3000", True),
        ("https://localhost", True),
        ("http://[::1]:8080", True),
        ("https://app.example.com", True),
        ("https://app.example.com/", True),
        ("http://tools.example.org:8443", True),
        ("http://tools.example.org", True),
        ("http://evil.example.com", False),
        ("http://localhost.evil.example.com", False),
        ("https://app.example.com.evil.net", False),
        ("http://tools.example.org:8443x", False),
        ("null", False),
        ("file://", False),
        # Userinfo, paths and bad ports are not origins: refused, whatever they seem to name.
        ("http://evil.example@127.0.0.1", False),
        ("http://evil.example@localhost:3000", False),
        ("http://user:pw@app.example.com", False),
        ("https://app.example.com/path", False),
        ("http://127.0.0.1:evil", False),
        ("http://127.0.0.1:", False),
        ("http://127.0.0.1:99999", False),
        ("http://[::1", False),
    ],
)
def test_origin_policy_on_loopback(origin: str | None, allowed: bool) -> None:
    settings = make_settings(allowed_origins="https://app.example.com, http://tools.example.org:*")
    assert AccessPolicy.from_settings(settings, "127.0.0.1").origin_allowed(origin) is allowed


def test_origin_policy_off_loopback_allows_only_configured_origins() -> None:
    policy = AccessPolicy.from_settings(
        make_settings(allowed_origins="https://app.example.com", http_token=TOKEN), "0.0.0.0"
    )
    assert policy.origin_allowed("https://app.example.com")
    assert not policy.origin_allowed("http://localhost:3000")
    assert policy.host_allowed("mcp.example.com")  # behind a proxy the public name is the proxy's business
    assert AccessPolicy(loopback=False, allowed_origins=("*",)).origin_allowed("https://anything.example")
    assert not AccessPolicy(loopback=False, allowed_origins=("*",)).origin_allowed("http://evil.example@x.example")
    assert not AccessPolicy(loopback=False, allowed_origins=("*",)).origin_allowed("https://x.example/a?b")
    # Off loopback any public name goes, but it must still be a host with a numeric port.
    for bad in ("localhost:evil", "mcp.example.com:", "mcp.example.com:80:80", "a@mcp.example.com", "[::1", "::1"):
        assert not policy.host_allowed(bad), bad
    assert policy.host_allowed("mcp.example.com:443")
    assert policy.host_allowed(None)  # HTTP/1.0 without Host: nothing to check


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("127.0.0.1:8000", True),
        ("127.0.0.2:8000", True),
        ("localhost:8000", True),
        ("localhost", True),
        ("[::1]:8000", True),
        ("app.example.com", True),  # the host of a configured allowed origin
        ("evil.example.com", False),
        ("evil.example.com:8000", False),
        ("127.0.0.1.evil.example.com", False),
        (None, False),
        ("", False),
        # A valid host and a numeric port, nothing else.
        ("localhost:evil", False),
        ("127.0.0.1:8000x", False),
        ("127.0.0.1:", False),
        ("127.0.0.1:123456", False),
        ("localhost:80:80", False),
        ("evil.example@localhost", False),
        ("localhost/evil", False),
        ("::1", False),
        ("[::1", False),
        ("[127.0.0.1]:8000", False),
        ("[::1]8000", False),
        ("LOCALHOST:8000", True),
        ("[::1]", True),
    ],
)
def test_host_policy_on_loopback(host: str | None, allowed: bool) -> None:
    policy = AccessPolicy.from_settings(make_settings(allowed_origins="https://app.example.com"), "127.0.0.1")
    assert policy.host_allowed(host) is allowed


def test_token_check() -> None:
    policy = AccessPolicy.from_settings(make_settings(http_token=TOKEN), "127.0.0.1")
    assert policy.token_status(None) == "missing"
    assert policy.token_status(b"") == "missing"
    assert policy.token_status(b"Bearer wrong") == "invalid"
    assert policy.token_status(b"Basic " + TOKEN.encode()) == "invalid"
    assert policy.token_status(b"Bearer " + TOKEN.encode()) is None
    assert policy.token_status(b"bearer  " + TOKEN.encode()) is None
    assert AccessPolicy(loopback=True).token_status(None) is None
    assert TOKEN not in repr(policy)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.1.2.3"])
def test_non_loopback_without_token_is_refused(host: str, capsys: pytest.CaptureFixture[str]) -> None:
    # Refused before anything binds: run_http returns at once.
    assert run_http(Settings(sandbox=True), host=host, port=free_port()) == 2
    err = capsys.readouterr().err
    assert f"refusing to bind {host}" in err
    assert "CHANNEL_MCP_HTTP_TOKEN" in err
    assert bind_problem(Settings(sandbox=True, http_token=TOKEN), host) is None
    assert bind_problem(Settings(sandbox=True, http_token="  "), host) is not None  # blank is no token
    with pytest.raises(ValueError, match="refusing to bind"):
        create_http_app(Settings(sandbox=True), host=host)
    assert bind_problem(Settings(sandbox=True), "127.0.0.1") is None


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """The CLI configures the root logger for the process; put it back for the tests that follow."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.usefixtures("restore_logging")
def test_cli_refuses_public_bind_without_token(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["serve", "--transport", "http", "--sandbox", "--host", "0.0.0.0", "--port", str(free_port())])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "refusing to bind 0.0.0.0" in err
    assert "no bearer token is set" in err


def test_invalid_path_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ValueError, match="invalid MCP path"):
        create_http_app(Settings(sandbox=True), path="/healthz")
    assert run_http(Settings(sandbox=True), path="mcp", port=free_port()) == 2
    assert "invalid MCP path" in capsys.readouterr().err


# ---------------------------------------------------------------- in-process: the ASGI app


async def test_healthz_and_readyz() -> None:
    app = create_http_app(Settings(sandbox=True, http_token=TOKEN))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as client:
        # Before the lifespan has run, the providers are not initialised: live, but not ready.
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        assert (await client.get("/readyz")).status_code == 503
    async with asgi_client(app) as client:
        # No token, foreign Host and Origin: probes come from kubelets and load balancers.
        probe_headers = {"host": "10.0.0.7:8000", "origin": "http://evil.example.com"}
        health = await client.get("/healthz", headers=probe_headers)
        assert (health.status_code, health.json()) == (200, {"status": "ok"})
        ready = await client.get("/readyz", headers=probe_headers)
        assert (ready.status_code, ready.json()) == (200, {"status": "ready"})  # the verdict only
        wrong = await client.get("/readyz", headers={"authorization": "Bearer wrong"})
        assert (wrong.status_code, wrong.json()) == (200, {"status": "ready"})
        detailed = await client.get("/readyz", headers={"authorization": f"Bearer {TOKEN}"})
        assert detailed.json() == {"status": "ready", "providers": ["imbrace", "bird"], "sandbox": True}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as client:
        assert (await client.get("/readyz")).status_code == 503  # after shutdown


async def test_foreign_origin_and_host_are_refused() -> None:
    app = create_http_app(make_settings(http_token=TOKEN, allowed_origins="https://app.example.com"))
    auth = {"authorization": f"Bearer {TOKEN}"}
    async with asgi_client(app) as client:
        evil = await client.post(
            "/mcp", json=INITIALIZE, headers=legacy_headers(origin="http://evil.example.com", **auth)
        )
        assert evil.status_code == 403
        assert evil.json()["error"]["message"].startswith("Origin not allowed")
        # Checked before the token: a rebinding page learns nothing about the token.
        assert (
            await client.post("/mcp", json=INITIALIZE, headers=legacy_headers(origin="http://evil.example.com"))
        ).status_code == 403
        rebound = await client.post("/mcp", json=INITIALIZE, headers=legacy_headers(host="evil.example.com", **auth))
        assert rebound.status_code == 421
        for host in ("localhost:evil", "127.0.0.1:8000x"):
            bad = await client.post("/mcp", json=INITIALIZE, headers=legacy_headers(host=host, **auth))
            assert bad.status_code == 421, host
        userinfo = await client.post(
            "/mcp", json=INITIALIZE, headers=legacy_headers(origin="http://evil.example@127.0.0.1", **auth)
        )
        assert userinfo.status_code == 403
        for origin in ("http://localhost:6274", "https://app.example.com"):
            ok = await client.post("/mcp", json=INITIALIZE, headers=legacy_headers(origin=origin, **auth))
            assert ok.status_code == 200, origin


async def test_bearer_token() -> None:
    app = create_http_app(make_settings(http_token=TOKEN))
    async with asgi_client(app) as client:
        missing = await client.post("/mcp", json=INITIALIZE, headers=legacy_headers())
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"] == 'Bearer realm="channel-mcp"'
        for value in ("Bearer wrong-token", f"Basic {TOKEN}", f"Bearer {TOKEN}x", "Bearer"):
            wrong = await client.post("/mcp", json=INITIALIZE, headers=legacy_headers(authorization=value))
            assert wrong.status_code == 401, value
            assert wrong.headers["www-authenticate"].startswith("Bearer ")
            assert 'error="invalid_token"' in wrong.headers["www-authenticate"]
        right = await client.post("/mcp", json=INITIALIZE, headers=legacy_headers(authorization=f"Bearer {TOKEN}"))
        assert right.status_code == 200
        assert right.json()["result"]["serverInfo"]["name"] == "channel-mcp"
        assert "mcp-session-id" not in right.headers  # stateless: no session to stick to


async def test_oversized_body_is_413_and_the_server_keeps_serving() -> None:
    app = create_http_app(Settings(sandbox=True, max_body_bytes=2048))
    padding = "x" * 4096
    async with asgi_client(app) as client:
        declared = await client.post(
            "/mcp", content=json.dumps(rpc("tools/list", {"pad": padding})), headers=legacy_headers()
        )
        assert declared.status_code == 413

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted while it streams
            for _ in range(4):
                yield b" " * 1024

        streamed = await client.post("/mcp", content=chunks(), headers=legacy_headers())
        assert streamed.status_code == 413
        after = await client.post("/mcp", json=rpc("tools/list"), headers=legacy_headers())
        assert after.status_code == 200
        assert any(t["name"] == "imbrace_count_channels" for t in after.json()["result"]["tools"])


async def test_legacy_client_is_served_without_session_state(upstream: respx.MockRouter) -> None:
    """A 2025-11-25 request needs no prior initialize on this replica, and no session id."""
    upstream.get(f"{IMBRACE}/v1/channels/_count").respond(json=envelope({"count": 12}))
    app = create_http_app(make_settings())
    async with asgi_client(app) as client:
        response = await client.post("/mcp", json=rpc("tools/call", COUNT_CALL), headers=legacy_headers())
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/json")  # JSON, not SSE
        assert "mcp-session-id" not in response.headers
        assert response.json()["result"]["structuredContent"]["count"] == 12
        # A notification is accepted; nothing is remembered from it.
        note = {"jsonrpc": "2.0", "method": "notifications/initialized"}
        assert (await client.post("/mcp", json=note, headers=legacy_headers())).status_code == 202


async def test_no_sse_stream_and_no_session_to_delete() -> None:
    """GET would open a stream nothing can ever be sent on; DELETE has no session to end: both 405."""
    app = create_http_app(Settings(sandbox=True))
    async with asgi_client(app) as client:
        for method in ("GET", "DELETE"):
            response = await client.request(method, "/mcp", headers=legacy_headers())
            assert response.status_code == 405, method
            assert response.headers["allow"] == "POST"


async def test_modern_request_is_self_contained(upstream: respx.MockRouter) -> None:
    upstream.get(f"{IMBRACE}/v1/channels/_count").respond(json=envelope({"count": 12}))
    app = create_http_app(make_settings())
    async with asgi_client(app) as client:
        headers, body = modern("tools/call", COUNT_CALL)
        response = await client.post("/mcp", json=body, headers=headers)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/json")
        assert response.json()["result"]["structuredContent"]["count"] == 12
        headers, body = modern("server/discover")
        discover = (await client.post("/mcp", json=body, headers=headers)).json()["result"]
        assert MODERN in discover["supportedVersions"]
        # A mismatched routing header is refused by the SDK's validation ladder.
        headers, body = modern("tools/list")
        mismatch = await client.post("/mcp", json=body, headers={**headers, "mcp-method": "prompts/list"})
        assert mismatch.status_code == 400


async def test_deps_are_built_once_and_handlers_get_them() -> None:
    built: list[Deps] = []

    def factory(settings: Settings) -> Deps:
        deps = build_deps(settings)
        built.append(deps)
        return deps

    settings = Settings(sandbox=True, http_token=TOKEN)
    server = build_server(settings, deps_factory=factory)
    add_probe(server)
    app = create_http_app(settings, server=server)
    probe = {"name": "http_probe", "arguments": {}}
    auth = {"authorization": f"Bearer {TOKEN}"}
    assert built == []  # nothing is built until the lifespan runs
    async with asgi_client(app, headers=auth) as client:
        seen = []
        for i in range(3):
            legacy = await client.post("/mcp", json=rpc("tools/call", probe, id=i), headers=legacy_headers())
            seen.append(legacy.json()["result"]["structuredContent"])
            headers, body = modern("tools/call", probe, id=i)
            seen.append((await client.post("/mcp", json=body, headers=headers)).json()["result"]["structuredContent"])
        count = await client.post("/mcp", json=rpc("tools/call", COUNT_CALL), headers=legacy_headers())
        assert count.json()["result"]["structuredContent"]["count"] == SANDBOX_CHANNELS
    assert len(built) == 1
    assert {s["deps"] for s in seen} == {id(built[0])}
    assert all(s["is_deps"] for s in seen)
    for s in seen:  # the handler sees the request's headers, but never the client's credential
        assert "authorization" not in {name.lower() for name in s["headers"]}
        assert TOKEN not in json.dumps(s["headers"])


async def test_upstream_never_carries_the_client_token(upstream: respx.MockRouter) -> None:
    count = upstream.get(f"{IMBRACE}/v1/channels/_count").respond(json=envelope({"count": 3}))
    bird = upstream.get(f"{BIRD}/workspaces/{WS}/channels").respond(json={"results": [], "nextPageToken": None})
    app = create_http_app(make_settings(http_token=TOKEN))
    async with asgi_client(app, headers={"authorization": f"Bearer {TOKEN}"}) as client:
        for call in (COUNT_CALL, {"name": "bird_list_channels", "arguments": {}}):
            response = await client.post("/mcp", json=rpc("tools/call", call), headers=legacy_headers())
            assert response.json()["result"]["isError"] is False
            headers, body = modern("tools/call", call)
            assert (await client.post("/mcp", json=body, headers=headers)).json()["result"]["isError"] is False
    sent = [c.request for c in count.calls] + [c.request for c in bird.calls]
    assert len(sent) == 4
    for request in sent:
        assert TOKEN not in json.dumps(dict(request.headers)), request.url
        assert "bearer" not in request.headers.get("authorization", "").lower()
    assert all(r.headers["x-api-key"] == IMBRACE_KEY for r in sent[:2])
    assert all(r.headers["authorization"] == f"AccessKey {BIRD_KEY}" for r in sent[2:])


async def test_one_log_line_per_request_without_secrets(caplog: pytest.LogCaptureFixture) -> None:
    app = create_http_app(Settings(sandbox=True, http_token=TOKEN))
    caplog.set_level(logging.INFO, logger="channel_mcp.access")
    async with asgi_client(app) as client:
        await client.get("/healthz")
        await client.post("/mcp?token=query-secret", json=rpc("tools/list"), headers=legacy_headers())
        headers, body = modern("tools/list")
        await client.post("/mcp", json=body, headers={**headers, "authorization": f"Bearer {TOKEN}"})
    lines = [r.getMessage() for r in caplog.records if r.name == "channel_mcp.access"]
    assert len(lines) == 3
    assert lines[0].startswith("request method=GET path=/healthz status=200 duration_ms=")
    assert lines[1].startswith("request method=POST path=/mcp status=401 duration_ms=")
    assert lines[2].startswith("request method=POST path=/mcp status=200 duration_ms=")
    assert lines[2].endswith(" rpc=tools/list")
    everything = caplog.text
    assert TOKEN not in everything
    assert "query-secret" not in everything
    assert "authorization" not in everything.lower()


@pytest.mark.parametrize("mode", ["legacy", MODERN, "auto"])
async def test_sdk_client_in_process(mode: str) -> None:
    app = create_http_app(Settings(sandbox=True, http_token=TOKEN))
    # The SDK's own streamable HTTP client transport, over the app in-process. A client we pass in is ours to close.
    http = httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), headers={"authorization": f"Bearer {TOKEN}"})
    async with (
        app.router.lifespan_context(app),
        http,
        Client(streamable_http_client(f"{BASE}/mcp", http_client=http), mode=mode) as client,
    ):
        assert client.session.protocol_version == (LEGACY if mode == "legacy" else MODERN)
        tools = await client.list_tools()
        assert "imbrace_count_channels" in {t.name for t in tools.tools}
        result = await client.call_tool("imbrace_count_channels", {})
        assert result.structured_content is not None
        assert result.structured_content["count"] == SANDBOX_CHANNELS


class Alternating(httpx2.AsyncBaseTransport):
    """Sends each request to the next of several in-process apps, as a round-robin load balancer would."""

    def __init__(self, *apps: Starlette) -> None:
        self.transports = [httpx2.ASGITransport(app=app) for app in apps]
        self.sent = 0

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        transport = self.transports[self.sent % len(self.transports)]
        self.sent += 1
        return await transport.handle_async_request(request)


async def test_confirmation_round_trip_across_replicas() -> None:
    """2026-07-28 elicitation is two requests (InputRequiredResult, then the retry): they may hit different replicas."""

    async def confirm(context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult | ErrorData:
        return ElicitResult(action="accept", content={"confirm": True})

    # Replicas share CHANNEL_MCP_REQUEST_STATE_KEY, so either can unseal the state the other sealed.
    shared = Settings(sandbox=True, request_state_key="k" * 40)
    a, b = create_http_app(shared), create_http_app(shared)
    try:
        async with (
            a.router.lifespan_context(a),
            b.router.lifespan_context(b),
            httpx2.AsyncClient(transport=Alternating(a, b)) as http,
            Client(
                streamable_http_client(f"{BASE}/mcp", http_client=http), mode=MODERN, elicitation_callback=confirm
            ) as client,
        ):
            result = await client.call_tool("imbrace_delete_channel", {"channel_id": "ch_web_001"})
            assert not result.is_error
    except BaseExceptionGroup as group:  # the SDK's task groups wrap the error; surface the leaf for `raises=`
        leaf: BaseException = group
        while isinstance(leaf, BaseExceptionGroup):
            leaf = leaf.exceptions[0]
        raise leaf from group


# ---------------------------------------------------------------- real uvicorn on 127.0.0.1


@pytest.mark.parametrize("mode", ["legacy", MODERN, "auto"])
async def test_sdk_client_over_real_http(mode: str) -> None:
    with uvicorn_thread(create_http_app(Settings(sandbox=True))) as url:
        async with Client(f"{url}/mcp", mode=mode) as client:
            assert client.session.protocol_version == (LEGACY if mode == "legacy" else MODERN)
            tools = await client.list_tools()
            assert "bird_list_channels" in {t.name for t in tools.tools}
            result = await client.call_tool("imbrace_count_channels", {})
            assert not result.is_error
            assert result.structured_content is not None
            assert result.structured_content["count"] == SANDBOX_CHANNELS


async def test_real_http_with_token_and_413() -> None:
    app = create_http_app(Settings(sandbox=True, http_token=TOKEN, max_body_bytes=2048))
    with uvicorn_thread(app) as url:
        async with httpx.AsyncClient(base_url=url) as raw:
            assert (await raw.post("/mcp", json=rpc("tools/list"), headers=legacy_headers())).status_code == 401
            auth = legacy_headers(authorization=f"Bearer {TOKEN}")
            big = await raw.post("/mcp", content=json.dumps(rpc("tools/list", {"pad": "x" * 4096})), headers=auth)
            assert big.status_code == 413
        async with httpx.AsyncClient(base_url=url) as raw:  # a new connection: the server is still serving
            assert (await raw.post("/mcp", json=rpc("tools/list"), headers=auth)).status_code == 200
            assert (await raw.get("/readyz")).status_code == 200
        async with (
            httpx2.AsyncClient(headers={"authorization": f"Bearer {TOKEN}"}) as http,
            Client(streamable_http_client(f"{url}/mcp", http_client=http), mode=MODERN) as client,
        ):
            result = await client.call_tool("imbrace_count_channels", {})
            assert result.structured_content is not None
            assert result.structured_content["count"] == SANDBOX_CHANNELS


# ---------------------------------------------------------------- subprocesses: scale-out and SIGTERM


def start_server(port: int, *extra: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "channel_mcp", "serve", "--transport", "http", "--port", str(port), *extra]
    return subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})}
    )


def wait_ready(proc: subprocess.Popen[str], url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"server exited with {proc.returncode}"
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise AssertionError("server did not become ready")


def stop(proc: subprocess.Popen[str], timeout: float = 30.0) -> tuple[int, str]:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    return proc.returncode, err


@pytest.mark.slow
def test_scale_out_two_processes_answer_alternating_requests() -> None:
    """Requests alternate between two replicas; the handshake happens on one, the calls on the other."""
    ports = [free_port(), free_port()]
    procs = [start_server(port, "--sandbox") for port in ports]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        for proc, url in zip(procs, urls, strict=True):
            wait_ready(proc, url)
        with httpx.Client(timeout=30) as http:

            def post(i: int, body: dict[str, Any], headers: dict[str, str]) -> httpx.Response:
                response = http.post(f"{urls[i % 2]}/mcp", json=body, headers=headers)
                assert "mcp-session-id" not in response.headers
                return response

            init = post(0, INITIALIZE, legacy_headers())
            assert init.json()["result"]["protocolVersion"] == LEGACY
            note = {"jsonrpc": "2.0", "method": "notifications/initialized"}
            assert post(1, note, legacy_headers()).status_code == 202
            for i in range(2, 8):
                if i % 3 == 0:
                    listed = post(i, rpc("tools/list", id=i), legacy_headers()).json()
                    assert "imbrace_count_channels" in {t["name"] for t in listed["result"]["tools"]}
                else:
                    called = post(i, rpc("tools/call", COUNT_CALL, id=i), legacy_headers()).json()
                    assert called["id"] == i
                    assert called["result"]["structuredContent"]["count"] == SANDBOX_CHANNELS
            # The 2026-07-28 revision: every request self-contained, discovery on one, calls on the other.
            headers, body = modern("server/discover", id=10)
            assert MODERN in post(0, body, headers).json()["result"]["supportedVersions"]
            for i in range(11, 17):
                method, params = ("tools/list", None) if i % 3 == 0 else ("tools/call", COUNT_CALL)
                headers, body = modern(method, params, id=i)
                answer = post(i, body, headers).json()
                assert answer["id"] == i
                if method == "tools/call":
                    assert answer["result"]["structuredContent"]["count"] == SANDBOX_CHANNELS
                else:
                    assert len(answer["result"]["tools"]) > 10
    finally:
        results = [stop(proc) for proc in procs]
    for code, err in results:
        assert code == 0, err
        assert "Traceback" not in err
        assert "Application shutdown complete" in err
        assert "request method=POST path=/mcp status=200" in err


@pytest.mark.slow
def test_sigterm_lets_an_in_flight_request_finish() -> None:
    """The upstream takes 1.5 s; SIGTERM arrives while the call waits for it; the call still completes."""
    with serve_in_thread(faults=FaultConfig(latency_ms=1500)) as sandbox:
        port = free_port()
        proc = start_server(port, env=sandbox.env)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_ready(proc, url)
            outcome: dict[str, Any] = {}

            def call() -> None:
                try:
                    outcome["response"] = httpx.post(
                        f"{url}/mcp", json=rpc("tools/call", COUNT_CALL), headers=legacy_headers(), timeout=30
                    )
                except httpx.HTTPError as exc:  # pragma: no cover - reported by the assertions below
                    outcome["error"] = exc

            caller = threading.Thread(target=call)
            started = time.monotonic()
            caller.start()
            # The sandbox records a request before its latency: from then on the call is in flight.
            while not any(path.endswith("/channels/_count") for _, path in sandbox.app.state.requests):
                assert time.monotonic() - started < 20, "the call never reached the upstream"
                time.sleep(0.01)
            proc.send_signal(signal.SIGTERM)
            caller.join(timeout=30)
        finally:
            code, err = stop(proc)
    assert "error" not in outcome, outcome.get("error")
    response = outcome["response"]
    assert response.status_code == 200
    assert response.json()["result"]["structuredContent"]["count"] == SANDBOX_CHANNELS
    assert time.monotonic() - started >= 1.5
    assert code == 0, err
    assert err.index("Shutting down") < err.index("request method=POST path=/mcp status=200")
    assert "Traceback" not in err


# ---------------------------------------------------------------- the MCP path's one layer (ChannelMCPApp)


def _stack_only(app: Starlette) -> Starlette:
    """The same app with POST on the MCP path taken through the middleware stack, as every other request."""
    assert isinstance(app, ChannelMCPApp) and app._front is not None
    app._front = None
    return app


def _answer(response: httpx.Response) -> tuple[int, list[tuple[str, str]], bytes]:
    return response.status_code, sorted(response.headers.multi_items()), response.content


async def test_mcp_path_layer_answers_as_the_middleware_stack() -> None:
    """Every kind of POST on the MCP path gets the same status, headers and body through the one layer as
    through the stack it stands for: served calls, refusals by the guard, by the SDK, and the body limit."""
    modern_headers, modern_body = modern("tools/list")
    cases: list[tuple[str, dict[str, str], bytes]] = [
        ("call", legacy_headers(), json.dumps(rpc("tools/call", COUNT_CALL)).encode()),
        (
            "read",
            legacy_headers(),
            json.dumps(
                rpc("tools/call", {"name": "imbrace_get_channel", "arguments": {"channel_id": "ch_web_001"}})
            ).encode(),
        ),
        ("initialize", legacy_headers(), json.dumps(INITIALIZE).encode()),
        (
            "notification",
            legacy_headers(),
            json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}).encode(),
        ),
        ("modern", modern_headers, json.dumps(modern_body).encode()),
        ("no token", legacy_headers(), json.dumps(rpc("tools/list")).encode()),
        ("bad token", legacy_headers(authorization="Bearer nope"), json.dumps(rpc("tools/list")).encode()),
        ("host", legacy_headers(host="evil.example.com"), json.dumps(rpc("tools/list")).encode()),
        ("origin", legacy_headers(origin="http://evil.example.com"), json.dumps(rpc("tools/list")).encode()),
        ("content-type", {**legacy_headers(), "content-type": "text/plain"}, b"{}"),
        ("accept", {**legacy_headers(), "accept": "text/html"}, json.dumps(rpc("tools/list")).encode()),
        ("malformed", legacy_headers(), b'{"jsonrpc": "2.0", "id": 1,'),
        ("oversized", legacy_headers(), json.dumps(rpc("tools/list", {"pad": "x" * 4096})).encode()),
    ]
    answers: dict[str, list[tuple[int, list[tuple[str, str]], bytes]]] = {}
    for label, shape in (("layer", lambda a: a), ("stack", _stack_only)):
        app = shape(create_http_app(Settings(sandbox=True, http_token=TOKEN, max_body_bytes=2048)))
        got = answers.setdefault(label, [])
        async with asgi_client(app) as client:
            for name, headers, body in cases:
                auth = {} if name in ("no token", "bad token") else {"authorization": f"Bearer {TOKEN}"}
                got.append(_answer(await client.post("/mcp", content=body, headers={**auth, **headers})))
    statuses = [status for status, _, _ in answers["layer"]]
    assert statuses == [200, 200, 200, 202, 200, 401, 401, 421, 403, 400, 406, 400, 413], statuses
    for (name, _, _), layer, stack in zip(cases, answers["layer"], answers["stack"], strict=True):
        assert layer == stack, name


async def test_mcp_path_layer_crash_is_the_plain_500(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A crash before the answer started: Starlette's plain 500 through either way, and one access line."""
    from channel_mcp.serving.stateless_entry import StatelessJSONEntry

    async def crash(self: object, scope: object, receive: object, send: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(StatelessJSONEntry, "__call__", crash)
    caplog.set_level(logging.INFO, logger="channel_mcp.access")
    answers = []
    for shape in (lambda a: a, _stack_only):
        app = shape(create_http_app(Settings(sandbox=True)))
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url=BASE
            ) as client,
        ):
            answers.append(_answer(await client.post("/mcp", json=rpc("tools/list"), headers=legacy_headers())))
    assert answers[0] == answers[1]
    assert answers[0][0] == 500 and answers[0][2] == b"Internal Server Error"
    lines = [r.getMessage() for r in caplog.records if r.name == "channel_mcp.access"]
    assert len(lines) == 2 and all(" status=500 " in line for line in lines), lines


@pytest.mark.usefixtures("restore_logging")
async def test_access_lines_of_unknown_words_still_go_through_the_redacting_filter() -> None:
    """Only a line made of known words skips the filter: a secret-shaped or configured-secret method header
    is masked on the way out, like any other record."""
    import io

    from channel_mcp.logs import configure_logging

    configure_logging("INFO", [TOKEN])
    stream = io.StringIO()
    handler = next(h for h in logging.getLogger().handlers if getattr(h, "_channel_mcp", False))
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)
    shaped = "sk_live_" + "a1b2c3d4e5f6g7h8"
    app = create_http_app(Settings(sandbox=True))
    async with asgi_client(app) as client:
        for method in ("tools/list", shaped, TOKEN):
            await client.post("/mcp", json=rpc("tools/list"), headers=legacy_headers(**{"mcp-method": method}))
    lines = [line for line in stream.getvalue().splitlines() if "channel_mcp.access" in line]
    assert len(lines) == 3, lines
    assert lines[0].endswith("rpc=tools/list")
    text = stream.getvalue()
    assert shaped not in text and shaped[-4:] in text  # masked by shape, last 4 kept
    assert TOKEN not in text
