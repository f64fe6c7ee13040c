"""The HTTP layer on its own: path encoding, status mapping, retry policy, time budget, circuit breaker."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
import respx

from channel_mcp.errors import (
    AuthError,
    BadRequestError,
    CircuitOpenError,
    InputError,
    NotFoundError,
    RateLimitError,
    ResponseError,
    ServerError,
    TransportError,
)
from channel_mcp.upstream import CircuitBreaker, Upstream, check_id, parse_retry_after, path

BASE = "https://api.test"


class FakeTime:
    """A clock that only moves when the transport sleeps, so retries cost no wall time."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def make(fake: FakeTime, **kw: object) -> Upstream:
    return Upstream(
        provider="test",
        label="TestAPI",
        base_url=BASE,
        headers={"x-api-key": "k"},
        timeout=30.0,
        auth_hint="Check TEST_KEY.",
        envelope=True,
        sleep=fake.sleep,
        clock=fake.clock,
        jitter=lambda: 1.0,
        breaker=CircuitBreaker(clock=fake.clock),
        **kw,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("bad", ["", ".", "..", "a/b", "a b", "é", "x" * 129, "a?b", "a#b", "%2e", None, 5])
def test_check_id_refuses(bad: object) -> None:
    with pytest.raises(InputError):
        check_id("channel_id", bad)


def test_path_percent_encodes_colons() -> None:
    assert path("/v1/channels/{channel_id}", channel_id="ch:1.a_b-c") == "/v1/channels/ch%3A1.a_b-c"


def test_retry_after_forms() -> None:
    assert parse_retry_after("7") == 7.0
    future = format_datetime(datetime.now(UTC) + timedelta(seconds=20), usegmt=True)
    value = parse_retry_after(future)
    assert value is not None and 17 <= value <= 21
    assert parse_retry_after("garbage") is None
    assert parse_retry_after(None) is None


@respx.mock
async def test_get_retries_503_then_succeeds() -> None:
    fake = FakeTime()
    route = respx.get(f"{BASE}/x").mock(
        side_effect=[httpx.Response(503), httpx.Response(502), httpx.Response(200, json={"success": True, "data": 1})]
    )
    assert await make(fake).request("GET", "/x") == {"success": True, "data": 1}
    assert route.call_count == 3
    assert fake.sleeps == [0.25, 0.5]


@respx.mock
async def test_get_gives_up_after_three_retries() -> None:
    fake = FakeTime()
    route = respx.get(f"{BASE}/x").respond(504)
    with pytest.raises(ServerError):
        await make(fake).request("GET", "/x")
    assert route.call_count == 4


@respx.mock
async def test_500_is_not_retried() -> None:
    fake = FakeTime()
    route = respx.put(f"{BASE}/x").respond(500, json={"message": "boom"})
    with pytest.raises(ServerError, match="boom"):
        await make(fake).request("PUT", "/x", json_body={"a": 1})
    assert route.call_count == 1


@respx.mock
async def test_post_5xx_is_never_resent_and_may_have_happened() -> None:
    fake = FakeTime()
    route = respx.post(f"{BASE}/x").respond(503)
    with pytest.raises(ServerError) as info:
        await make(fake).request("POST", "/x", json_body={})
    assert route.call_count == 1
    assert info.value.maybe_applied


@respx.mock
async def test_post_read_timeout_is_never_resent() -> None:
    fake = FakeTime()
    route = respx.post(f"{BASE}/x").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(TransportError) as info:
        await make(fake).request("POST", "/x", json_body={})
    assert route.call_count == 1
    assert info.value.maybe_applied


@respx.mock
async def test_post_connect_error_is_retried() -> None:
    fake = FakeTime()
    route = respx.post(f"{BASE}/x").mock(
        side_effect=[httpx.ConnectError("refused"), httpx.Response(201, json={"success": True, "data": {"id": "1"}})]
    )
    assert await make(fake).request("POST", "/x", json_body={}) == {"success": True, "data": {"id": "1"}}
    assert route.call_count == 2


@respx.mock
async def test_post_429_honours_retry_after_capped() -> None:
    fake = FakeTime()
    route = respx.post(f"{BASE}/x").mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "3"}),
            httpx.Response(429, headers={"Retry-After": "100"}),
            httpx.Response(200, json={"ok": True}),
        ]
    )
    transport = make(fake)
    transport.timeout = 120.0
    assert await transport.request("POST", "/x", json_body={}) == {"ok": True}
    assert route.call_count == 3
    assert fake.sleeps == [3.0, 30.0]


@respx.mock
async def test_retry_never_waits_past_the_budget() -> None:
    fake = FakeTime()
    route = respx.get(f"{BASE}/x").respond(429, headers={"Retry-After": "25"})
    transport = make(fake)
    transport.timeout = 10.0
    with pytest.raises(RateLimitError) as info:
        await transport.request("GET", "/x")
    assert route.call_count == 1
    assert info.value.retry_after == 25.0
    assert fake.now < 10.0


@respx.mock
async def test_status_mapping() -> None:
    fake = FakeTime()
    t = make(fake)
    for status, exc in (
        (401, AuthError),
        (403, AuthError),
        (404, NotFoundError),
        (400, BadRequestError),
        (422, BadRequestError),
    ):
        respx.get(f"{BASE}/s{status}").respond(status, json={"message": f"m{status}"})
        with pytest.raises(exc) as info:
            await t.request("GET", f"/s{status}")
        assert info.value.status == status
    with pytest.raises(AuthError, match="Check TEST_KEY") as auth:
        await t.request("GET", "/s401")
    assert "k" not in auth.value.message.split()


@respx.mock
async def test_success_false_on_200_is_an_error() -> None:
    respx.get(f"{BASE}/x").respond(200, json={"success": False, "message": "quota exceeded"})
    with pytest.raises(BadRequestError, match="quota exceeded"):
        await make(FakeTime()).request("GET", "/x")


@respx.mock
@pytest.mark.parametrize(
    ("body", "ctype", "match"),
    [
        (b"<html><body>Bad gateway</body></html>", "text/html", "HTML"),
        (b'{"success": true, "data": [1, 2', "application/json", "truncated"),
    ],
)
async def test_unusable_bodies(body: bytes, ctype: str, match: str) -> None:
    respx.get(f"{BASE}/x").respond(200, content=body, headers={"content-type": ctype})
    with pytest.raises(ResponseError, match=match):
        await make(FakeTime()).request("GET", "/x")


@respx.mock
async def test_empty_body_is_none_and_too_large_is_refused() -> None:
    respx.delete(f"{BASE}/x").respond(200, content=b"")
    t = make(FakeTime(), max_response_bytes=1000)
    assert await t.request("DELETE", "/x") is None
    respx.get(f"{BASE}/big").respond(200, content=json.dumps({"d": "x" * 5000}).encode())
    with pytest.raises(ResponseError, match="smaller page"):
        await t.request("GET", "/big")


@respx.mock
async def test_headers_user_agent_and_omitted_query() -> None:
    route = respx.get(f"{BASE}/x").respond(200, json={})
    await make(FakeTime()).request("GET", "/x", params={"a": 1, "b": None})
    request = route.calls.last.request
    assert request.headers["x-api-key"] == "k"
    assert request.headers["user-agent"].startswith("channel-mcp/")
    assert str(request.url) == f"{BASE}/x?a=1"


@respx.mock
async def test_circuit_opens_then_recovers() -> None:
    fake = FakeTime()
    t = make(fake)
    t.policy.max_retries = 0
    route = respx.get(f"{BASE}/x").respond(503)
    for _ in range(5):
        with pytest.raises(ServerError):
            await t.request("GET", "/x")
    with pytest.raises(CircuitOpenError, match="Retry after"):
        await t.request("GET", "/x")
    assert route.call_count == 5
    fake.now += 16
    route.respond(200, json={"ok": 1})
    assert await t.request("GET", "/x") == {"ok": 1}


@respx.mock
async def test_delete_that_is_gone_on_retry_counts_as_deleted() -> None:
    fake = FakeTime()
    route = respx.delete(f"{BASE}/x").mock(side_effect=[httpx.Response(502), httpx.Response(404, json={})])
    assert await make(fake).request("DELETE", "/x") is None
    assert route.call_count == 2
    respx.delete(f"{BASE}/y").respond(404, json={"message": "no such channel"})
    with pytest.raises(NotFoundError):
        await make(fake).request("DELETE", "/y")
