"""The fault matrix: every upstream fault crossed with the four request classes, through the tool layer.

Request classes: an idempotent read (`imbrace_get_channel`, GET), two idempotent writes
(`imbrace_update_channel`, PUT; `imbrace_delete_channel` with confirm, DELETE) and a create
(`imbrace_create_channel`, POST). Each cell states how many attempts reach the upstream and how the
call ends, for a fault that persists on every attempt; the same fault seen only once must then cost
exactly one extra attempt and succeed wherever the policy retries it. The policy under test is the one
documented at the top of `channel_mcp.upstream`.

Time is fake (the transport's sleep and clock are injected), so a 30 s budget costs no wall time.
The full cross product runs through `execute()`; the persistent half also runs through the real MCP
protocol (in-memory client); a subset runs against the sandbox's own fault injection.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import anyio
import httpx
import pytest
import respx
from mcp_types import CallToolResult, TextContent

from channel_mcp.config import Settings
from channel_mcp.deps import Deps, build_deps
from channel_mcp.sandbox import SANDBOX_API_KEY
from channel_mcp.sandbox.app import create_app
from channel_mcp.sandbox.faults import FaultConfig
from channel_mcp.tools import ALL_TOOLS
from channel_mcp.tools.runner import execute
from channel_mcp.upstream import Upstream
from tests.conftest import IMBRACE, assert_no_secrets, connect, envelope, finished, make_settings
from tests.test_http import FakeTime

BUDGET = 30.0
TOOLS = {spec.name: spec for spec in ALL_TOOLS}
CH = {"id": "ch_1", "name": "Support", "type": "web", "is_active": True}
MB = 1024 * 1024


# ---------------------------------------------------------------------------------------------- fake time


def transports(deps: Deps) -> list[Upstream]:
    return [client.upstream for client in (deps.imbrace_client, deps.bird_client) if client is not None]


def fake_time_deps(
    fake: FakeTime, *, transport: httpx.AsyncBaseTransport | None = None, jitter: float = 1.0
) -> Callable[[Settings], Deps]:
    """A `deps_factory`: the real deps, with the fake clock and sleep in every transport and its breaker."""

    def factory(settings: Settings) -> Deps:
        deps = build_deps(settings)
        for http in transports(deps):
            http.sleep = fake.sleep
            http.clock = fake.clock
            http.jitter = lambda: jitter
            http.breaker.clock = fake.clock
            if transport is not None:
                http.transport = transport
        return deps

    return factory


# ---------------------------------------------------------------------------------------------- request classes


@dataclass(frozen=True)
class RequestClass:
    tool: str
    args: dict[str, Any]
    method: str
    path: str
    answer: dict[str, Any]


CLASSES = {
    "GET": RequestClass("imbrace_get_channel", {"channel_id": "ch_1"}, "GET", "/v1/channels/ch_1", envelope(CH)),
    "PUT": RequestClass(
        "imbrace_update_channel", {"channel_id": "ch_1", "name": "Renamed"}, "PUT", "/v1/channels/ch_1", envelope(CH)
    ),
    "DELETE": RequestClass(
        "imbrace_delete_channel",
        {"channel_id": "ch_1", "confirm": True},
        "DELETE",
        "/v1/channels/ch_1",
        envelope({"id": "ch_1", "deleted": True}),
    ),
    "POST": RequestClass(
        "imbrace_create_channel", {"type": "web", "name": "Support"}, "POST", "/v1/channels", envelope(CH)
    ),
}
COLUMNS = tuple(CLASSES)


# ---------------------------------------------------------------------------------------------- faults


class ResetMidBody(httpx.AsyncByteStream):
    """A body that starts, then dies the way a reset connection does."""

    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b'{"success": true, "data": {"id": "ch_1", "na'
        raise self.exc


class Chunked(httpx.AsyncByteStream):
    """A large body without content-length, so only counting the bytes can stop it."""

    def __init__(self, total: int, chunk: int = MB) -> None:
        self.total = total
        self.chunk = chunk

    async def __aiter__(self) -> AsyncIterator[bytes]:
        sent = 0
        while sent < self.total:
            size = min(self.chunk, self.total - sent)
            sent += size
            yield b" " * size


def http_date(seconds: float) -> str:
    return format_datetime(datetime.now(UTC) + timedelta(seconds=seconds), usegmt=True)


JSON_HEADERS = {"content-type": "application/json"}


@dataclass(frozen=True)
class Fault:
    """One upstream misbehaviour. `make` answers one attempt (or raises the httpx error the transport would see).

    `reached_server` says whether the request may have reached the server: a POST must never be repeated then.
    """

    make: Callable[[], httpx.Response]
    reached_server: bool


def _raise(exc: Exception) -> Callable[[], httpx.Response]:
    def make() -> httpx.Response:
        raise exc

    return make


FAULTS: dict[str, Fault] = {
    "429 Retry-After seconds": Fault(lambda: httpx.Response(429, headers={"Retry-After": "1"}), False),
    "429 Retry-After HTTP date": Fault(lambda: httpx.Response(429, headers={"Retry-After": http_date(2)}), False),
    "429 no Retry-After": Fault(lambda: httpx.Response(429, json={"message": "slow down"}), False),
    "500": Fault(lambda: httpx.Response(500, json={"success": False, "message": "internal error"}), True),
    "502": Fault(lambda: httpx.Response(502), True),
    "502 HTML page": Fault(
        lambda: httpx.Response(
            502, text="<html><body>Bad Gateway</body></html>", headers={"content-type": "text/html"}
        ),
        True,
    ),
    "503": Fault(lambda: httpx.Response(503, json={"message": "unavailable"}), True),
    "504": Fault(lambda: httpx.Response(504), True),
    "connection refused": Fault(_raise(httpx.ConnectError("[Errno 111] Connection refused")), False),
    "connect timeout": Fault(_raise(httpx.ConnectTimeout("connect timed out")), False),
    "reset before answer": Fault(
        _raise(httpx.RemoteProtocolError("Server disconnected without sending a response.")), True
    ),
    "reset mid-body (ReadError)": Fault(
        lambda: httpx.Response(200, headers=JSON_HEADERS, stream=ResetMidBody(httpx.ReadError("reset by peer"))), True
    ),
    "reset mid-body (RemoteProtocolError)": Fault(
        lambda: httpx.Response(
            200, headers=JSON_HEADERS, stream=ResetMidBody(httpx.RemoteProtocolError("peer closed connection"))
        ),
        True,
    ),
    "read timeout": Fault(_raise(httpx.ReadTimeout("timed out")), True),
    "200 HTML body": Fault(
        lambda: httpx.Response(
            200, text="<!doctype html><html>Maintenance</html>", headers={"content-type": "text/html"}
        ),
        True,
    ),
    "200 truncated JSON": Fault(
        lambda: httpx.Response(200, content=b'{"success": true, "data": {"id": "ch_1", '), True
    ),
    "200 empty body": Fault(lambda: httpx.Response(200, content=b""), True),
    "200 success false": Fault(lambda: httpx.Response(200, json={"success": False, "message": "quota exceeded"}), True),
    "200 body over 10 MB": Fault(lambda: httpx.Response(200, content=b" " * (10 * MB + 1)), True),
    "200 body over 10 MB, chunked": Fault(lambda: httpx.Response(200, stream=Chunked(10 * MB + 1)), True),
}


# ---------------------------------------------------------------------------------------------- outcomes


@dataclass(frozen=True)
class Outcome:
    name: str
    error: bool
    must_say: tuple[str, ...] = ()
    must_not_say: tuple[str, ...] = ()

    def check(self, result: CallToolResult) -> None:
        text = result_text(result)
        assert result.is_error is self.error, text
        for phrase in self.must_say:
            assert phrase in text, f"{self.name}: {phrase!r} missing from {text!r}"
        for phrase in self.must_not_say:
            assert phrase not in text, f"{self.name}: {phrase!r} present in {text!r}"
        assert "Traceback" not in text


MAYBE_APPLIED = "may have been applied"
OK = Outcome("ok", False)
RATE = Outcome("rate limited", True, ("rate-limiting", "Retry after"), (MAYBE_APPLIED,))
RATE_WAIT = Outcome("rate limited", True, ("rate-limiting", "Wait a few seconds, then retry"), (MAYBE_APPLIED,))
TRANSIENT = Outcome("transient", True, ("try again",), (MAYBE_APPLIED,))
GATEWAY = Outcome("gateway page", True, ("instead of JSON", "try again in a minute"), (MAYBE_APPLIED,))
SHAPE = Outcome("unexpected shape", True, ("unexpected shape", "try again"), (MAYBE_APPLIED,))
REFUSED = Outcome("refused", True, ("refused the request: quota exceeded", "Fix the arguments"), (MAYBE_APPLIED,))
BIG_READ = Outcome("too large", True, ("over 10 MB", "smaller page"), (MAYBE_APPLIED,))
BIG_WRITE = Outcome("too large", True, ("over 10 MB", "check the result"), (MAYBE_APPLIED, "smaller page"))
# The duplicate-create guarantee: sent once, and told to look before trying again.
MAYBE = Outcome(
    "may have been applied",
    True,
    (MAYBE_APPLIED, "do not simply repeat it", "Call imbrace_list_channels first"),
    ("try again shortly", "try again in a minute", "smaller page"),
)

Cell = tuple[int, Outcome]

# Persistent fault (every attempt fails): attempts that reach the upstream, and how the call ends.
# fault                                      GET             PUT             DELETE          POST
MATRIX: dict[str, tuple[Cell, Cell, Cell, Cell]] = {
    "429 Retry-After seconds":              ((4, RATE),      (4, RATE),      (4, RATE),      (4, RATE)),
    "429 Retry-After HTTP date":            ((4, RATE),      (4, RATE),      (4, RATE),      (4, RATE)),
    "429 no Retry-After":                   ((4, RATE_WAIT), (4, RATE_WAIT), (4, RATE_WAIT), (4, RATE_WAIT)),
    "500":                                  ((1, TRANSIENT), (1, TRANSIENT), (1, TRANSIENT), (1, MAYBE)),
    "502":                                  ((4, TRANSIENT), (4, TRANSIENT), (4, TRANSIENT), (1, MAYBE)),
    "502 HTML page":                        ((4, TRANSIENT), (4, TRANSIENT), (4, TRANSIENT), (1, MAYBE)),
    "503":                                  ((4, TRANSIENT), (4, TRANSIENT), (4, TRANSIENT), (1, MAYBE)),
    "504":                                  ((4, TRANSIENT), (4, TRANSIENT), (4, TRANSIENT), (1, MAYBE)),
    "connection refused":                   ((4, TRANSIENT), (4, TRANSIENT), (4, TRANSIENT), (4, TRANSIENT)),
    "connect timeout":                      ((4, TRANSIENT), (4, TRANSIENT), (4, TRANSIENT), (4, TRANSIENT)),
    "reset before answer":                  ((4, TRANSIENT), (4, TRANSIENT), (4, TRANSIENT), (1, MAYBE)),
    "reset mid-body (ReadError)":           ((4, TRANSIENT), (4, TRANSIENT), (4, TRANSIENT), (1, MAYBE)),
    "reset mid-body (RemoteProtocolError)": ((4, TRANSIENT), (4, TRANSIENT), (4, TRANSIENT), (1, MAYBE)),
    "read timeout":                         ((4, TRANSIENT), (4, TRANSIENT), (4, TRANSIENT), (1, MAYBE)),
    "200 HTML body":                        ((1, GATEWAY),   (1, GATEWAY),   (1, GATEWAY),   (1, MAYBE)),
    "200 truncated JSON":                   ((1, GATEWAY),   (1, GATEWAY),   (1, GATEWAY),   (1, MAYBE)),
    "200 empty body":                       ((1, SHAPE),     (1, SHAPE),     (1, OK),        (1, MAYBE)),
    "200 success false":                    ((1, REFUSED),   (1, REFUSED),   (1, REFUSED),   (1, REFUSED)),
    "200 body over 10 MB":                  ((1, BIG_READ),  (1, BIG_WRITE), (1, BIG_WRITE), (1, MAYBE)),
    "200 body over 10 MB, chunked":         ((1, BIG_READ),  (1, BIG_WRITE), (1, BIG_WRITE), (1, MAYBE)),
}  # fmt: skip


def persistent_cells() -> Iterator[Any]:
    for fault, row in MATRIX.items():
        for column, (attempts, outcome) in zip(COLUMNS, row, strict=True):
            yield pytest.param(fault, column, attempts, outcome, id=f"{fault} x {column} -> {attempts} {outcome.name}")


def transient_cells() -> Iterator[Any]:
    """The same fault on the first attempt only: where the policy retries, one extra attempt and success."""
    for fault, row in MATRIX.items():
        for column, (attempts, outcome) in zip(COLUMNS, row, strict=True):
            if attempts > 1:
                attempts, outcome = 2, OK
            yield pytest.param(
                fault, column, attempts, outcome, id=f"{fault} once x {column} -> {attempts} {outcome.name}"
            )


def result_text(result: CallToolResult) -> str:
    assert len(result.content) == 1 and isinstance(result.content[0], TextContent)
    return result.content[0].text


# ---------------------------------------------------------------------------------------------- the rig


@dataclass
class Rig:
    """One fault on one route: counts attempts and records whether each could have reached the server."""

    fault: Fault
    answer: dict[str, Any]
    failing: int | None  # attempts that fail before the upstream recovers; None = never recovers
    attempts: list[str] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.failing is None or len(self.attempts) < self.failing:
            self.attempts.append("reached" if self.fault.reached_server else "not sent")
            return self.fault.make()
        self.attempts.append("ok")
        return httpx.Response(200, json=self.answer)


def check_cell(rig: Rig, route: respx.Route, fake: FakeTime, column: str, attempts: int) -> None:
    assert route.call_count == attempts == len(rig.attempts), rig.attempts
    assert fake.now <= BUDGET, f"{fake.now} s is past the {BUDGET} s budget"
    if column == "POST":
        # A create may only be re-sent when the previous attempt certainly did not reach the server.
        assert "reached" not in rig.attempts[:-1], rig.attempts


def budget_settings(**overrides: Any) -> Settings:
    return make_settings(timeout=BUDGET, **overrides)


async def run_direct(fault: str, column: str, failing: int | None) -> tuple[CallToolResult, Rig, respx.Route, FakeTime]:
    kind = CLASSES[column]
    fake = FakeTime()
    deps = fake_time_deps(fake)(budget_settings())
    rig = Rig(FAULTS[fault], kind.answer, failing)
    try:
        with respx.mock(assert_all_mocked=True) as router:
            route = router.route(method=kind.method, url=IMBRACE + kind.path).mock(side_effect=rig)
            result = await execute(TOOLS[kind.tool], dict(kind.args), deps, None)
    finally:
        await deps.aclose()
    assert isinstance(result, CallToolResult)
    assert_no_secrets(result.model_dump_json(), "a fault-matrix result")
    return result, rig, route, fake


@pytest.mark.parametrize(("fault", "column", "attempts", "outcome"), list(persistent_cells()))
async def test_persistent_fault(fault: str, column: str, attempts: int, outcome: Outcome) -> None:
    result, rig, route, fake = await run_direct(fault, column, failing=None)
    check_cell(rig, route, fake, column, attempts)
    outcome.check(result)


@pytest.mark.parametrize(("fault", "column", "attempts", "outcome"), list(transient_cells()))
async def test_transient_fault(fault: str, column: str, attempts: int, outcome: Outcome) -> None:
    result, rig, route, fake = await run_direct(fault, column, failing=1)
    check_cell(rig, route, fake, column, attempts)
    outcome.check(result)


# The persistent matrix again, end to end through the MCP protocol (in-memory client, real server).
@pytest.mark.parametrize(("fault", "column", "attempts", "outcome"), list(persistent_cells()))
async def test_persistent_fault_through_protocol(
    upstream: respx.MockRouter, fault: str, column: str, attempts: int, outcome: Outcome
) -> None:
    kind = CLASSES[column]
    fake = FakeTime()
    rig = Rig(FAULTS[fault], kind.answer, None)
    route = upstream.route(method=kind.method, url=IMBRACE + kind.path).mock(side_effect=rig)
    async with connect(budget_settings(), server_kwargs={"deps_factory": fake_time_deps(fake)}) as client:
        result = await client.call_tool(kind.tool, dict(kind.args))
    check_cell(rig, route, fake, column, attempts)
    outcome.check(result)


# ---------------------------------------------------------------------------------------------- waits and budget


@pytest.mark.parametrize(
    ("fault", "lowest", "highest"),
    [
        ("429 Retry-After seconds", [1.0] * 3, [1.0] * 3),
        ("429 Retry-After HTTP date", [0.0] * 3, [2.0] * 3),  # a date has whole seconds: between 1 and 2 s
        ("429 no Retry-After", [0.25, 0.5, 1.0], [0.25, 0.5, 1.0]),  # exponential backoff (jitter pinned to 1)
        ("503", [0.25, 0.5, 1.0], [0.25, 0.5, 1.0]),
    ],
)
async def test_waits_between_attempts(fault: str, lowest: list[float], highest: list[float]) -> None:
    _, _, _, fake = await run_direct(fault, "GET", failing=None)
    assert len(fake.sleeps) == len(lowest)
    assert all(lo <= s <= hi for lo, s, hi in zip(lowest, fake.sleeps, highest, strict=True)), fake.sleeps


async def test_full_jitter_stays_under_the_exponential_ceiling() -> None:
    fake = FakeTime()
    deps = fake_time_deps(fake, jitter=0.37)(budget_settings())
    with respx.mock() as router:
        router.get(f"{IMBRACE}/v1/channels/ch_1").respond(503)
        await execute(TOOLS["imbrace_get_channel"], {"channel_id": "ch_1"}, deps, None)
    await deps.aclose()
    assert fake.sleeps == pytest.approx([0.25 * 0.37, 0.5 * 0.37, 1.0 * 0.37])


@pytest.mark.parametrize("column", COLUMNS)
async def test_retry_after_longer_than_the_budget_gives_up_at_once_and_says_when(column: str) -> None:
    kind = CLASSES[column]
    fake = FakeTime()
    deps = fake_time_deps(fake)(make_settings(timeout=5.0))
    with respx.mock() as router:
        route = router.route(method=kind.method, url=IMBRACE + kind.path).respond(429, headers={"Retry-After": "25"})
        result = finished(await execute(TOOLS[kind.tool], dict(kind.args), deps, None))
    await deps.aclose()
    assert route.call_count == 1 and fake.now == 0
    assert result.is_error and "Retry after 25 s" in result_text(result)


async def test_retries_stop_inside_a_short_budget() -> None:
    """5 s budget, Retry-After 2 s: attempts at 0, 2 and 4 s; a fourth would end past the budget."""
    fake = FakeTime()
    deps = fake_time_deps(fake)(make_settings(timeout=5.0))
    with respx.mock() as router:
        route = router.get(f"{IMBRACE}/v1/channels/ch_1").respond(429, headers={"Retry-After": "2"})
        result = finished(await execute(TOOLS["imbrace_get_channel"], {"channel_id": "ch_1"}, deps, None))
    await deps.aclose()
    assert route.call_count == 3 and fake.sleeps == [2.0, 2.0] and fake.now <= 5.0
    assert result.is_error and "Retry after 2 s" in result_text(result)


@pytest.mark.parametrize(("column", "attempts", "outcome"), [("GET", 1, TRANSIENT), ("POST", 1, MAYBE)])
async def test_hung_upstream_ends_within_the_budget_in_real_time(column: str, attempts: int, outcome: Outcome) -> None:
    """No fake clock here: an upstream that never answers is cut off by the call's own budget."""
    import time

    import anyio

    kind = CLASSES[column]
    seen = 0

    async def hang(request: httpx.Request) -> httpx.Response:
        nonlocal seen
        seen += 1
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    deps = build_deps(make_settings(timeout=0.4))
    started = time.monotonic()
    with respx.mock(assert_all_called=False) as router:  # respx does not count a call it saw cancelled
        router.route(method=kind.method, url=IMBRACE + kind.path).mock(side_effect=hang)
        result = finished(await execute(TOOLS[kind.tool], dict(kind.args), deps, None))
    elapsed = time.monotonic() - started
    await deps.aclose()
    assert seen == attempts
    assert elapsed < 2.0, elapsed
    outcome.check(result)
    assert "0.4 s budget" in result_text(result)


# ---------------------------------------------------------------------------------------------- duplicate creates


CREATES = [spec for spec in ALL_TOOLS if not spec.annotations.read_only and not spec.annotations.idempotent]
CREATE_ARGS: dict[str, dict[str, Any]] = {
    "imbrace_create_channel": {"type": "web", "name": "Support"},
    "imbrace_create_web_channel": {"name": "Site"},
    "imbrace_create_facebook_channel": {"page_id": "p1", "credential_id": "cr_1"},
    "imbrace_create_instagram_channel": {"name": "IG"},
    "imbrace_create_email_channel": {"email": "help@example.com"},
    "imbrace_create_wechat_channel": {"name": "WeChat"},
    "imbrace_create_line_channel": {"name": "LINE"},
    "imbrace_create_whatsapp_channel": {"phone_number_id": "1234567", "access_token": "wa-secret-token-123456"},
    "imbrace_upload_contact_file": {"filename": "a.csv", "content_base64": "YSxiCjEsMgo="},
}
SENT_FAULTS = ["500", "502", "503", "504", "read timeout", "reset before answer", "reset mid-body (ReadError)"]


def test_every_create_tool_is_covered() -> None:
    assert sorted(spec.name for spec in CREATES) == sorted(CREATE_ARGS)


@pytest.mark.parametrize("fault", SENT_FAULTS)
@pytest.mark.parametrize("tool", sorted(CREATE_ARGS))
async def test_a_create_that_may_have_reached_the_server_is_sent_once(fault: str, tool: str) -> None:
    fake = FakeTime()
    deps = fake_time_deps(fake)(budget_settings())
    rig = Rig(FAULTS[fault], envelope(CH), None)
    with respx.mock() as router:
        route = router.post(url__startswith=IMBRACE).mock(side_effect=rig)
        result = finished(await execute(TOOLS[tool], dict(CREATE_ARGS[tool]), deps, None))
    await deps.aclose()
    assert route.call_count == 1
    text = result_text(result)
    assert result.is_error and MAYBE_APPLIED in text and "do not simply repeat it" in text, text
    assert f"Call {TOOLS[tool].verify_with} first" in text, text
    assert "try again shortly" not in text
    assert_no_secrets(text, "a create's error")


async def test_a_create_that_never_left_is_resent_and_succeeds_once() -> None:
    fake = FakeTime()
    deps = fake_time_deps(fake)(budget_settings())
    with respx.mock() as router:
        route = router.post(f"{IMBRACE}/v1/channels").mock(
            side_effect=[
                httpx.ConnectError("refused"),
                httpx.Response(429, headers={"Retry-After": "1"}),
                httpx.Response(201, json=envelope(CH)),
            ]
        )
        result = finished(
            await execute(TOOLS["imbrace_create_channel"], {"type": "web", "name": "Support"}, deps, None)
        )
    await deps.aclose()
    assert route.call_count == 3 and not result.is_error


async def test_maybe_applied_create_invalidates_the_listing_cache() -> None:
    fake = FakeTime()
    deps = fake_time_deps(fake)(budget_settings())
    deps.cache._entries["imbrace:channels"] = (fake.now, ["stale"])
    with respx.mock() as router:
        router.post(f"{IMBRACE}/v1/channels").mock(side_effect=httpx.ReadTimeout("slow"))
        await execute(TOOLS["imbrace_create_channel"], {"type": "web", "name": "Support"}, deps, None)
    await deps.aclose()
    assert "imbrace:channels" not in deps.cache._entries


# ---------------------------------------------------------------------------------------------- circuit breaker


async def test_circuit_breaker_fails_fast_then_recovers(upstream: respx.MockRouter) -> None:
    fake = FakeTime()
    route = upstream.get(f"{IMBRACE}/v1/channels/ch_1").respond(503)
    bird = upstream.get(url__startswith="https://bird.test/").respond(200, json={"results": []})
    args = {"channel_id": "ch_1"}
    async with connect(budget_settings(), server_kwargs={"deps_factory": fake_time_deps(fake)}) as client:
        for _ in range(5):  # five calls, each retried to exhaustion
            assert (await client.call_tool("imbrace_get_channel", args)).is_error
        assert route.call_count == 20
        opened_at = fake.now
        fail_fast = await client.call_tool("imbrace_get_channel", args)
        text = result_text(fail_fast)
        assert fail_fast.is_error and "5 times in a row" in text and "Retry after 15 s" in text
        assert text.count("Retry after") == 1
        assert route.call_count == 20, "an open circuit must not touch the network"
        # Another provider is not affected.
        assert not (await client.call_tool("bird_list_channels", {})).is_error and bird.call_count == 1
        # Still open just before the cool-down ends, and never says "0 s".
        fake.now = opened_at + 14.7
        assert "Retry after 1 s" in result_text(await client.call_tool("imbrace_get_channel", args))
        assert route.call_count == 20
        # After the cool-down one call goes through; it succeeds and the circuit closes.
        fake.now = opened_at + 15.0
        route.respond(200, json=envelope(CH))
        assert not (await client.call_tool("imbrace_get_channel", args)).is_error
        assert route.call_count == 21
        for _ in range(3):
            assert not (await client.call_tool("imbrace_get_channel", args)).is_error
        assert route.call_count == 24


async def test_half_open_circuit_reopens_on_the_first_failure() -> None:
    fake = FakeTime()
    deps = fake_time_deps(fake)(budget_settings())
    spec = TOOLS["imbrace_get_channel"]
    with respx.mock() as router:
        route = router.get(f"{IMBRACE}/v1/channels/ch_1").respond(500)
        for _ in range(5):
            await execute(spec, {"channel_id": "ch_1"}, deps, None)
        assert route.call_count == 5
        fake.now += 15.0
        assert "failed with 500" in result_text(finished(await execute(spec, {"channel_id": "ch_1"}, deps, None)))
        assert route.call_count == 6
        again = finished(await execute(spec, {"channel_id": "ch_1"}, deps, None))
        assert "in a row" in result_text(again) and route.call_count == 6
    await deps.aclose()


async def test_half_open_circuit_lets_exactly_one_probe_through() -> None:
    """After the cool-down, ten calls arrive at once: one probes the upstream, the rest still fail fast."""
    fake = FakeTime()
    deps = fake_time_deps(fake)(budget_settings())
    spec = TOOLS["imbrace_get_channel"]
    release = anyio.Event()
    probes = 0

    async def slow_recovery(request: httpx.Request) -> httpx.Response:
        nonlocal probes
        probes += 1
        await release.wait()
        return httpx.Response(200, json=envelope(CH))

    results: list[CallToolResult] = []

    async def one() -> None:
        result = await execute(spec, {"channel_id": "ch_1"}, deps, None)
        assert isinstance(result, CallToolResult)
        results.append(result)

    with respx.mock() as router:
        route = router.get(f"{IMBRACE}/v1/channels/ch_1").respond(500)
        for _ in range(5):
            await one()
        fake.now += 15.0
        route.mock(side_effect=slow_recovery)
        async with anyio.create_task_group() as tg:
            for _ in range(10):
                tg.start_soon(one)
            await anyio.wait_all_tasks_blocked()
            release.set()
        assert probes == 1
        assert sum(1 for r in results[5:] if not r.is_error) == 1
        assert sum(1 for r in results[5:] if "in a row" in result_text(r)) == 9
        await one()  # the probe succeeded: closed again
        assert not results[-1].is_error and probes == 2
    await deps.aclose()


@pytest.mark.parametrize("status", [400, 401, 404, 422])
async def test_client_errors_never_open_the_circuit(status: int) -> None:
    fake = FakeTime()
    deps = fake_time_deps(fake)(budget_settings())
    spec = TOOLS["imbrace_get_channel"]
    with respx.mock() as router:
        route = router.get(f"{IMBRACE}/v1/channels/ch_1").respond(status, json={"message": "no"})
        for _ in range(8):
            result = finished(await execute(spec, {"channel_id": "ch_1"}, deps, None))
            assert "in a row" not in result_text(result)
    await deps.aclose()
    assert route.call_count == 8


async def test_a_success_resets_the_failure_count() -> None:
    fake = FakeTime()
    deps = fake_time_deps(fake)(budget_settings())
    spec = TOOLS["imbrace_get_channel"]
    with respx.mock() as router:
        route = router.get(f"{IMBRACE}/v1/channels/ch_1")
        for _ in range(3):
            route.respond(500)
            for _ in range(4):
                await execute(spec, {"channel_id": "ch_1"}, deps, None)
            route.respond(200, json=envelope(CH))
            assert not finished(await execute(spec, {"channel_id": "ch_1"}, deps, None)).is_error
    await deps.aclose()
    assert route.call_count == 15


# ---------------------------------------------------------------------------------------------- against the sandbox


@pytest.fixture
def sandbox() -> Iterator[Any]:
    app = create_app(api_key=SANDBOX_API_KEY)
    yield app
    app.state.store.close()


def sandbox_deps(app: Any, fake: FakeTime) -> Callable[[Settings], Deps]:
    return fake_time_deps(fake, transport=httpx.ASGITransport(app=app))


SANDBOX_CLASSES: dict[str, tuple[str, dict[str, Any]]] = {
    "GET": ("imbrace_get_channel", {"channel_id": "ch_web_001"}),
    "PUT": ("imbrace_update_channel", {"channel_id": "ch_web_001", "name": "Renamed"}),
    "DELETE": ("imbrace_delete_channel", {"channel_id": "ch_web_001", "confirm": True}),
    "POST": ("imbrace_create_channel", {"type": "web", "name": "Fault test"}),
}


def _sandbox_cells() -> Iterator[Any]:
    rows = {
        "sandbox 429": (FaultConfig(rate_429=1.0, retry_after=1), (4, 4, 4, 4), (RATE,) * 4),
        "sandbox 500": (FaultConfig(rate_5xx=1.0, statuses_5xx=(500,)), (1, 1, 1, 1), (TRANSIENT,) * 3 + (MAYBE,)),
        "sandbox 503": (FaultConfig(rate_5xx=1.0, statuses_5xx=(503,)), (4, 4, 4, 1), (TRANSIENT,) * 3 + (MAYBE,)),
    }
    for name, (faults, attempts, outcomes) in rows.items():
        for column, n, outcome in zip(COLUMNS, attempts, outcomes, strict=True):
            yield pytest.param(faults, column, n, outcome, id=f"{name} x {column} -> {n} {outcome.name}")


@pytest.mark.parametrize(("faults", "column", "attempts", "outcome"), list(_sandbox_cells()))
async def test_sandbox_fault_injection(
    sandbox: Any, faults: FaultConfig, column: str, attempts: int, outcome: Outcome
) -> None:
    tool, args = SANDBOX_CLASSES[column]
    sandbox.state.faults = faults
    fake = FakeTime()
    async with connect(
        Settings(sandbox=True, timeout=BUDGET), server_kwargs={"deps_factory": sandbox_deps(sandbox, fake)}
    ) as c:
        sandbox.state.requests.clear()
        result = await c.call_tool(tool, args)
        assert len(sandbox.state.requests) == attempts, sandbox.state.requests
        outcome.check(result)
        assert fake.now <= BUDGET
        # The fault was injected in front of the API: nothing changed, and once it clears, all is well.
        sandbox.state.faults = FaultConfig()
        channels = await c.call_tool("imbrace_list_channels", {})
    names = [item["name"] for item in (channels.structured_content or {})["items"]]
    assert "Fault test" not in names and "Renamed" not in names


async def test_sandbox_seeded_faults_match_a_replay_of_the_dice(sandbox: Any) -> None:
    """Sequential reads under 40% seeded 502/503/504: each call costs exactly the attempts its rolls predict."""
    config: dict[str, Any] = {"rate_5xx": 0.4, "statuses_5xx": (502, 503, 504), "seed": 1234}
    sandbox.state.faults = FaultConfig(**config)
    dice = FaultConfig(**config)
    fake = FakeTime()
    async with connect(
        Settings(sandbox=True, timeout=BUDGET), server_kwargs={"deps_factory": sandbox_deps(sandbox, fake)}
    ) as c:
        for _ in range(30):
            rolls: list[str] = []
            while len(rolls) < 4 and (not rolls or rolls[-1] != "ok"):
                rolls.append(dice.roll()[0])
            sandbox.state.requests.clear()
            fake.now = 0.0
            result = await c.call_tool("imbrace_get_channel", {"channel_id": "ch_web_001"})
            assert len(sandbox.state.requests) == len(rolls)
            assert result.is_error is (rolls[-1] != "ok")
