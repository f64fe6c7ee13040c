"""`Upstream` on channel-mcp's own wire builds its requests itself and hands them to the wire directly.

The request must be the one `httpx.AsyncClient.build_request` builds (method, URL, headers in order,
body, timeout), for every shape of path and query the clients send; what the client's `send` would add
must still happen where it does anything (a cookie the upstream sets is sent back); and anything the
short way does not cover (files, cookies to merge, a path httpx would re-encode, a transport of the
caller's own) takes httpx's own way.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from channel_mcp.upstream import Upstream, path
from channel_mcp.wire import LeanTransport
from tests.test_wire import read_request, serving

CASES: list[tuple[str, str, dict[str, Any] | None, Any]] = [
    ("GET", path("/v1/channels/{channel_id}", channel_id="ch_web_001"), None, None),
    ("GET", "/v1/channels", {"limit": 3, "type": "facebook", "q": "a b&c=d/é"}, None),
    ("GET", "v1/relative/no-slash", {"flag": True, "n": 0}, None),
    ("GET", path("/v1/x/{a}", a="id.with:colon-and_"), {"list": ["a", "b"]}, None),
    ("GET", "/v1/raw/a%20b/~x", None, None),
    ("GET", "/v1/dots/./x/../y", None, None),
    ("GET", "v1/relative/no-slash", None, None),
    ("GET", "//elsewhere.example/v1", None, None),
    ("GET", "/v1/odd%zz/%", None, None),
    ("POST", "/v1/channels", None, {"name": "Nguyễn ☕", "n": [1, 2.5, None], "nested": {"k": "v"}}),
    ("PUT", "/v1/contacts/ct_1", None, {}),
    ("DELETE", "/v1/channels/ch_1", None, None),
]


def upstream(base: str, transport: httpx.AsyncBaseTransport | None = None) -> Upstream:
    return Upstream(
        provider="imbrace",
        label="iMBRACE",
        base_url=base,
        headers={"x-api-key": "test-key-123"},
        transport=transport,
    )


@pytest.mark.parametrize(
    "base",
    [
        "http://127.0.0.1:9/channel-service",
        "http://127.0.0.1:9/channel-service/",
        "http://127.0.0.1:9",
        "https://user:pw@gateway.example:8443/a%20b",
        "http://127.0.0.1:9/api?tenant=1",
    ],
)
@pytest.mark.parametrize(("method", "url", "query", "body"), CASES, ids=[f"{c[0]} {c[1]}" for c in CASES])
def test_the_short_build_is_httpx_build_request(
    base: str, method: str, url: str, query: dict[str, Any] | None, body: Any
) -> None:
    up = upstream(base)
    assert up.client is not None and up._wire is not None  # the wire is ours: the short way may apply
    timeout = httpx.Timeout(12.5)
    ours = up._build(method, url, query, body, None, timeout)
    theirs = up.client.build_request(method, url, params=query, json=body, timeout=timeout)
    assert (ours.method, str(ours.url), ours.url.raw_path) == (theirs.method, str(theirs.url), theirs.url.raw_path)
    assert ours.headers.raw == theirs.headers.raw
    assert ours.content == theirs.content
    assert ours.extensions == theirs.extensions


def test_what_the_short_build_leaves_to_httpx() -> None:
    up = upstream("http://127.0.0.1:9/api")
    built: list[str] = []
    original = up.client.build_request

    def counting(*args: Any, **kwargs: Any) -> httpx.Request:
        built.append(args[1])
        return original(*args, **kwargs)

    up.client.build_request = counting  # type: ignore[method-assign]
    timeout = httpx.Timeout(5)
    up._build("GET", "/v1/ok", None, None, None, timeout)
    assert built == []
    up._build("POST", "/v1/files", None, None, {"file": ("a.csv", b"a,b\n", "text/csv")}, timeout)
    up._build("GET", "/v1/with space", None, None, None, timeout)  # httpx quotes it
    up._build("GET", "http://elsewhere.example/v1", None, None, None, timeout)  # absolute: httpx's merge
    up.client.cookies.set("session", "s1", domain="127.0.0.1")
    up._build("GET", "/v1/ok", None, None, None, timeout)
    assert built == ["/v1/files", "/v1/with space", "http://elsewhere.example/v1", "/v1/ok"]


def test_a_transport_of_the_callers_own_gets_the_clients_send() -> None:
    mine = httpx.MockTransport(lambda request: httpx.Response(200, json={"ok": True}))
    assert upstream("http://127.0.0.1:9", mine).client is not None
    assert upstream("http://127.0.0.1:9", mine)._wire is None
    assert upstream("http://127.0.0.1:9", LeanTransport())._wire is None  # given, even if it is the wire


async def test_a_cookie_the_upstream_sets_is_sent_back() -> None:
    async def cookie_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, state: Any) -> None:
        while True:
            state.requests.append(await read_request(reader))
            cookie = b"set-cookie: lb=node-7; Path=/\r\n" if len(state.requests) == 1 else b""
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n" + cookie)
            writer.write(b'content-length: 11\r\n\r\n{"ok":true}')
            await writer.drain()

    async with serving(cookie_once) as server:
        up = upstream(server.url)
        try:
            assert await up.request("GET", "/v1/a") == {"ok": True}
            assert await up.request("GET", "/v1/b") == {"ok": True}
        finally:
            await up.aclose()
    first, second = server.requests
    assert b"cookie:" not in first.lower()
    assert b"cookie: lb=node-7" in second.lower()
    assert b"x-api-key: test-key-123" in second.lower()
