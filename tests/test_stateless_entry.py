"""The direct entry for handshake-era stateless JSON requests answers byte for byte as the SDK's transport does.

Each request is sent twice to the same app, once through `StatelessJSONEntry` and once with the entry
switched off (every request then takes the SDK's per-request transport), and the two answers must have
the same status, content type and body bytes. Only read-only calls and refused writes are used, so the
sandbox state is the same for both.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import SimpleNamespace
from typing import Any, cast

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from channel_mcp.config import Settings
from channel_mcp.serving.http_app import create_http_app
from channel_mcp.serving.stateless_entry import StatelessJSONEntry

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
