"""The direct entry for handshake-era stateless JSON requests answers byte for byte as the SDK's transport does.

Each request is sent twice to the same app, once through `StatelessJSONEntry` and once with the entry
switched off (every request then takes the SDK's per-request transport), and the two answers must have
the same status, content type and body bytes. Only read-only calls and refused writes are used, so the
sandbox state is the same for both.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import SimpleNamespace
from typing import Any, cast

import httpx
import pydantic_core
import pytest
from mcp_types import CallToolResult, TextContent
from mcp_types.methods import serialize_server_result
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from opentelemetry import trace
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.routing import Route

from channel_mcp.config import Settings
from channel_mcp.server import SpecTool, build_server
from channel_mcp.serving.http_app import create_http_app
from channel_mcp.serving.stateless_entry import StatelessJSONEntry, _tool_result_wire
from channel_mcp.tools import ALL_TOOLS
from tests.test_secret_sweep import CALLS

LEGACY = {
    "content-type": "application/json",
    "accept": "application/json, text/event-stream",
    "mcp-protocol-version": "2025-11-25",
}


def call(name: str, arguments: Any, id: Any = 1) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": name, "arguments": arguments}}


REQUESTS: list[tuple[str, dict[str, str], bytes]] = [
    ("get", LEGACY, json.dumps(call("imbrace_get_channel", {"channel_id": "ch_web_001"})).encode()),
    ("count, string id", LEGACY, json.dumps(call("imbrace_count_channels", {}, id="a-1")).encode()),
    ("list page", LEGACY, json.dumps(call("imbrace_list_channels", {"limit": 3})).encode()),
    ("unknown channel", LEGACY, json.dumps(call("imbrace_get_channel", {"channel_id": "nope"})).encode()),
    ("bad arguments", LEGACY, json.dumps(call("imbrace_get_channel", {"channel_id": 5, "x": 1})).encode()),
    ("unknown tool", LEGACY, json.dumps(call("no_such_tool", {})).encode()),
    ("arguments not an object", LEGACY, json.dumps(call("imbrace_get_channel", [1])).encode()),
    (
        "delete without a way to confirm",
        LEGACY,
        json.dumps(call("imbrace_delete_channel", {"channel_id": "ch_web_001"})).encode(),
    ),
    ("tools/list", LEGACY, b'{"jsonrpc":"2.0","id":7,"method":"tools/list"}'),
    ("resources/list", LEGACY, b'{"jsonrpc":"2.0","id":8,"method":"resources/list","params":{}}'),
    (
        "resource read",
        LEGACY,
        b'{"jsonrpc":"2.0","id":9,"method":"resources/read","params":{"uri":"imbrace://channels"}}',
    ),
    ("ping", LEGACY, b'{"jsonrpc":"2.0","id":10,"method":"ping"}'),
    ("unknown method", LEGACY, b'{"jsonrpc":"2.0","id":11,"method":"nope/nope","params":{}}'),
    (
        "no version header",
        {k: v for k, v in LEGACY.items() if k != "mcp-protocol-version"},
        b'{"jsonrpc":"2.0","id":12,"method":"ping"}',
    ),
    # What the entry hands to the SDK: the answers are the SDK's either way.
    (
        "initialize",
        LEGACY,
        json.dumps(
            {
                "jsonrpc": "2.0",
                "id": 0,
                "method": "initialize",
                "params": {
                    "protocolVersion": "2025-11-25",
                    "capabilities": {},
                    "clientInfo": {"name": "t", "version": "1"},
                },
            }
        ).encode(),
    ),
    ("notification", LEGACY, b'{"jsonrpc":"2.0","method":"notifications/initialized"}'),
    ("parse error", LEGACY, b'{"jsonrpc":'),
    ("batch", LEGACY, b'[{"jsonrpc":"2.0","id":1,"method":"ping"}]'),
    ("not json content", {**LEGACY, "content-type": "text/plain"}, b'{"jsonrpc":"2.0","id":1,"method":"ping"}'),
    ("no json accepted", {**LEGACY, "accept": "text/event-stream"}, b'{"jsonrpc":"2.0","id":1,"method":"ping"}'),
]


def entry_of(app: Starlette) -> StatelessJSONEntry:
    for route in app.routes:
        if isinstance(route, Route) and isinstance(route.endpoint, StatelessJSONEntry):
            return route.endpoint
    raise AssertionError("no StatelessJSONEntry on the MCP route")


@asynccontextmanager
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8000") as c,
    ):
        yield c


@pytest.mark.parametrize(("label", "headers", "body"), REQUESTS, ids=[r[0] for r in REQUESTS])
async def test_direct_entry_answers_as_the_sdk_transport_does(label: str, headers: dict[str, str], body: bytes) -> None:
    app = create_http_app(Settings(sandbox=True))
    entry = entry_of(app)
    async with client(app) as c:
        answers = []
        for enabled in (True, False, True):
            entry.enabled = enabled
            response = await c.post("/mcp", content=body, headers=headers)
            answers.append((response.status_code, response.headers.get("content-type"), response.content))
    assert answers[0] == answers[1] == answers[2], f"{label}: direct {answers[0]!r}\nSDK {answers[1]!r}"


async def test_the_entry_serves_the_common_case_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    app = create_http_app(Settings(sandbox=True))
    entry = entry_of(app)
    fallbacks = []
    inner = entry.fallback

    async def counting(scope: Any, receive: Any, send: Any) -> None:
        fallbacks.append(scope["path"])
        await inner(scope, receive, send)

    monkeypatch.setattr(entry, "fallback", counting)
    async with client(app) as c:
        answer = await c.post("/mcp", content=REQUESTS[0][2], headers=LEGACY)
        assert answer.status_code == 200 and not answer.json()["result"]["isError"]
        assert fallbacks == []
        modern = {**LEGACY, "mcp-protocol-version": "2026-07-28"}
        await c.post("/mcp", content=REQUESTS[0][2], headers=modern)  # the SDK's own 2026-07-28 entry
        assert fallbacks == ["/mcp"]


def test_an_sdk_without_the_private_state_turns_the_entry_off() -> None:
    # The entry reads two private attributes of the SDK's session manager; if a release renames them,
    # the entry must step aside rather than fail requests.
    shaped = SimpleNamespace(stateless=True, json_response=True, security_settings=None)
    fallback = entry_of(create_http_app(Settings(sandbox=True))).fallback
    assert StatelessJSONEntry(
        cast(Any, SimpleNamespace(**vars(shaped), _task_group=None, _lifespan_state=None)), fallback
    ).enabled
    assert not StatelessJSONEntry(cast(Any, SimpleNamespace(**vars(shaped), _task_group=None)), fallback).enabled


# ---------------------------------------------------------------------------------------------- direct calls

READS = [(name, args) for name, args in CALLS if next(t for t in ALL_TOOLS if t.name == name).annotations.read_only]
DIRECT_EDGES: list[tuple[str, dict[str, Any]]] = [
    ("unknown channel", {"name": "imbrace_get_channel", "arguments": {"channel_id": "nope"}}),
    ("wrong type", {"name": "imbrace_get_channel", "arguments": {"channel_id": 5}}),
    ("unknown argument", {"name": "imbrace_get_channel", "arguments": {"channel_id": "ch_web_001", "x": 1}}),
    ("missing argument", {"name": "imbrace_get_channel", "arguments": {}}),
    ("no arguments", {"name": "imbrace_count_channels"}),
    ("null arguments", {"name": "imbrace_count_channels", "arguments": None}),
    ("progress token", {"name": "imbrace_count_channels", "arguments": {}, "_meta": {"progressToken": "p1"}}),
    ("request state", {"name": "imbrace_count_channels", "arguments": {}, "requestState": "forged"}),
    ("a write", {"name": "imbrace_update_contact", "arguments": {"contact_id": "ct_0002", "email": 5}}),
    ("unknown tool", {"name": "no_such_tool", "arguments": {}}),
    ("name not a string", {"name": 7, "arguments": {}}),
    ("unicode", {"name": "imbrace_search_contacts", "arguments": {"q": "Nguyễn ☕ \u202e"}}),
]


def tool_call(params: dict[str, Any], id: Any = 3) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params}).encode()


async def three_ways(app: Starlette, body: bytes, headers: dict[str, str]) -> list[tuple[int, str | None, bytes]]:
    """The answer with the direct call path, with only the direct entry, and with neither (the SDK's way)."""
    entry = entry_of(app)
    direct = entry.direct_tool
    answers = []
    async with client(app) as c:
        for enabled, tool in ((True, direct), (True, None), (False, direct), (True, direct)):
            entry.enabled, entry.direct_tool = enabled, tool
            response = await c.post("/mcp", content=body, headers=headers)
            answers.append((response.status_code, response.headers.get("content-type"), response.content))
    return answers


def _clock_free(answer: tuple[int, str | None, bytes]) -> tuple[int, str | None, bytes]:
    """The answer without what the sandbox derives from the clock (the service window's times)."""
    body = re.sub(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z", b"<time>", answer[2])
    return answer[0], answer[1], re.sub(rb'(expires_in_seconds\\*":)\d+', rb"\1<n>", body)


@pytest.mark.parametrize(("name", "arguments"), READS, ids=[f"{n} {sorted(a)}" for n, a in READS])
async def test_a_direct_read_answers_as_the_sdk_does(name: str, arguments: dict[str, Any]) -> None:
    app = create_http_app(Settings(sandbox=True))
    answers = [_clock_free(a) for a in await three_ways(app, tool_call(call(name, arguments)["params"]), LEGACY)]
    assert answers[0][0] == 200 and b'"isError":false' in answers[0][2], answers[0]
    assert answers[0] == answers[1] == answers[2] == answers[3], f"direct {answers[0]!r}\nSDK {answers[2]!r}"


@pytest.mark.parametrize(("label", "params"), DIRECT_EDGES, ids=[e[0] for e in DIRECT_EDGES])
@pytest.mark.parametrize("version", [*HANDSHAKE_PROTOCOL_VERSIONS, None])
async def test_direct_edges_answer_as_the_sdk_does(label: str, params: dict[str, Any], version: str | None) -> None:
    headers = {k: v for k, v in LEGACY.items() if k != "mcp-protocol-version"}
    if version is not None:
        headers["mcp-protocol-version"] = version
    answers = await three_ways(create_http_app(Settings(sandbox=True)), tool_call(params, id="e-1"), headers)
    assert answers[0] == answers[1] == answers[2] == answers[3], f"{label}: direct {answers[0]!r}\nSDK {answers[2]!r}"


async def test_token_mode_reads_answer_as_the_sdk_does() -> None:
    settings = Settings(sandbox=True, auth="token", http_token=SecretStr("t0ken-for-the-direct-path-test"))
    headers = {**LEGACY, "authorization": "Bearer t0ken-for-the-direct-path-test"}
    answers = await three_ways(create_http_app(settings), tool_call(call(*READS[2])["params"]), headers)
    assert answers[0][0] == 200 and answers[0] == answers[2]


class _Counted:
    """Counts the calls that went the SDK's way (through `SpecTool.run`)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[str] = []
        original = SpecTool.run

        async def run(tool: SpecTool, *args: Any, **kwargs: Any) -> Any:
            self.calls.append(tool.name)
            return await original(tool, *args, **kwargs)

        monkeypatch.setattr(SpecTool, "run", run)


async def test_reads_take_the_direct_path_and_writes_the_sdk_way(monkeypatch: pytest.MonkeyPatch) -> None:
    counted = _Counted(monkeypatch)
    app = create_http_app(Settings(sandbox=True))
    async with client(app) as c:
        await c.post("/mcp", content=tool_call(call(*READS[2])["params"]), headers=LEGACY)
        assert counted.calls == []
        write = {"name": "imbrace_update_contact", "arguments": {"contact_id": "ct_0002", "email": "a@b.example"}}
        await c.post("/mcp", content=tool_call(write), headers=LEGACY)
        assert counted.calls == ["imbrace_update_contact"]


async def test_a_tracer_provider_sends_calls_the_sdk_way(monkeypatch: pytest.MonkeyPatch) -> None:
    # With a provider set, the SDK's span would be recorded: the direct path must not skip it.
    counted = _Counted(monkeypatch)
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: trace.NoOpTracerProvider())
    app = create_http_app(Settings(sandbox=True))
    async with client(app) as c:
        await c.post("/mcp", content=tool_call(call(*READS[2])["params"]), headers=LEGACY)
    assert counted.calls == [READS[2][0]]


async def test_unknown_server_middleware_sends_calls_the_sdk_way(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []

    async def watching(ctx: Any, call_next: Any) -> Any:
        seen.append(ctx.method)
        return await call_next(ctx)

    counted = _Counted(monkeypatch)
    server = build_server(Settings(sandbox=True))
    server.middleware.append(watching)
    app = create_http_app(Settings(sandbox=True), server=server)
    async with client(app) as c:
        await c.post("/mcp", content=tool_call(call(*READS[2])["params"]), headers=LEGACY)
    assert seen == ["tools/call"] and counted.calls == [READS[2][0]]


def test_the_direct_dump_is_the_sdks_for_every_handshake_revision() -> None:
    results = [
        CallToolResult(content=[TextContent(type="text", text="{}")], structured_content={"a": [1, 2.5, None]}),
        CallToolResult(content=[TextContent(type="text", text="Nguyễn ☕")], is_error=True),
        CallToolResult(content=[TextContent(type="text", text="")], structured_content={}, is_error=False),
    ]
    for version in HANDSHAKE_PROTOCOL_VERSIONS:
        for result in results:
            dumped = result.model_dump(by_alias=True, mode="json", exclude_none=True)
            sdk = serialize_server_result("tools/call", version, dumped)
            assert pydantic_core.to_json(_tool_result_wire(result)) == pydantic_core.to_json(sdk), version
    assert _tool_result_wire(CallToolResult(content=[], structured_content={})) is None
    assert _tool_result_wire(CallToolResult(content=[TextContent(type="text", text="x")], _meta={"k": 1})) is None
