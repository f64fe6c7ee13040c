"""Bird tools: the service-window answer in all four states (fixed clock), paging, and actionable errors."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import respx
from mcp_types import CallToolResult

from channel_mcp.bird.models import BirdChannelContact
from channel_mcp.config import Settings
from channel_mcp.deps import build_deps
from channel_mcp.server import build_server
from channel_mcp.tools.bird import service_window
from tests.conftest import BIRD, WS, make_settings

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
Call = Callable[..., Awaitable[CallToolResult]]


def window(expires: str | None, permanent: bool | None = False) -> dict[str, object]:
    contact = BirdChannelContact(serviceWindowExpireAt=expires, isPermanentSession=permanent, metadata={"a": 1})
    return service_window(contact, "bc", "ct", NOW).model_dump()


def test_open_window() -> None:
    w = window((NOW + timedelta(hours=1, minutes=59, seconds=30)).isoformat().replace("+00:00", "Z"))
    assert w["is_open"] is True and w["expires_in_seconds"] == 7170
    assert w["summary"] == "open for 1 h 59 min: free-form messages allowed"
    assert w["metadata"] == {"a": 1}


def test_expired_window() -> None:
    w = window((NOW - timedelta(minutes=5)).isoformat())
    assert w["is_open"] is False and w["expires_in_seconds"] is None
    assert "template" in str(w["summary"]) and str(w["summary"]).startswith("closed (expired 5 min ago)")


def test_closed_window_null_expiry() -> None:
    w = window(None, False)
    assert w["is_open"] is False and w["expires_in_seconds"] is None
    assert w["summary"] == "closed: only approved template messages can be sent"


def test_permanent_session() -> None:
    w = window(None, True)
    assert w["is_open"] is True and w["expires_in_seconds"] is None and "permanent" in str(w["summary"])


def test_unreadable_expiry_is_closed() -> None:
    assert window("tomorrow-ish")["is_open"] is False


async def test_service_window_tool_uses_the_clock(upstream: respx.MockRouter) -> None:
    from mcp import Client

    upstream.get(f"{BIRD}/workspaces/{WS}/channels/bc_1/contacts/ct_9").respond(
        200, json={"serviceWindowExpireAt": (NOW + timedelta(minutes=30)).isoformat(), "isPermanentSession": False}
    )
    upstream.get(f"{BIRD}/workspaces/{WS}/channels/bc_1").respond(200, json={"id": "bc_1", "platformId": "whatsapp"})

    def deps_at_fixed_time(s: Settings):  # type: ignore[no-untyped-def]
        deps = build_deps(s)
        deps.now = lambda: NOW
        return deps

    async with Client(build_server(make_settings(), deps_factory=deps_at_fixed_time)) as c:
        result = await c.call_tool("bird_check_service_window", {"channel_id": "bc_1", "contact_id": "ct_9"})
    assert result.structured_content is not None
    assert result.structured_content["is_open"] is True
    assert result.structured_content["expires_in_seconds"] == 1800


async def test_bird_paging_through_the_tool(call: Call, upstream: respx.MockRouter) -> None:
    pages = {None: ({"id": "a"}, "t1"), "t1": ({"id": "b"}, "t2"), "t2": ({"id": "c"}, None)}

    def answer(request: httpx.Request) -> httpx.Response:
        item, token = pages[request.url.params.get("pageToken")]
        return httpx.Response(200, json={"results": [item], "nextPageToken": token})

    upstream.get(f"{BIRD}/workspaces/{WS}/channels").mock(side_effect=answer)
    seen, token = [], None
    for _ in range(5):
        args = {"limit": 1} | ({"page_token": token} if token else {})
        result = await call("bird_list_channels", args)
        data = result.structured_content
        assert data is not None
        seen += [i["id"] for i in data["items"]]
        token = (data.get("next") or {}).get("page_token")
        if not token:
            break
    assert seen == ["a", "b", "c"]


async def test_bird_errors_are_actionable(call: Call, upstream: respx.MockRouter) -> None:
    upstream.get(f"{BIRD}/workspaces/{WS}/channels/missing").respond(404, json={"code": "NotFound"})
    result = await call("bird_get_channel", {"channel_id": "missing"})
    assert result.is_error and "bird_list_channels" in result.content[0].text  # type: ignore[union-attr]
    result = await call("bird_list_channels", {"limit": 101})
    assert result.is_error and "limit" in result.content[0].text  # type: ignore[union-attr]


async def test_missing_workspace_names_the_env_var(upstream: respx.MockRouter) -> None:
    from mcp import Client

    async with Client(build_server(make_settings(bird_workspace_id=None))) as c:
        result = await c.call_tool("bird_list_channels", {})
    assert result.is_error and "BIRD_WORKSPACE_ID" in result.content[0].text  # type: ignore[union-attr]
    assert upstream.calls.call_count == 0


@pytest.mark.parametrize("status", [401, 403])
async def test_auth_errors_name_the_variable_not_the_value(call: Call, upstream: respx.MockRouter, status: int) -> None:
    upstream.get(f"{BIRD}/workspaces/{WS}/channels").respond(status, json={"message": "denied"})
    result = await call("bird_list_channels", {})
    text = result.content[0].text  # type: ignore[union-attr]
    assert result.is_error and "BIRD_ACCESS_KEY" in text and "test-bird-key" not in text


# ------------------------------------------------------------------ where a window applies (issue 17)


def test_window_platforms() -> None:
    from channel_mcp.tools.bird import window_applies

    for platform in ("whatsapp", "facebook", "instagram", "whatsapp-cloud"):
        assert window_applies(platform) is True, platform
    for platform in ("sms-messagebird", "email-sparkpost", "rcs-google", "line", "telegram"):
        assert window_applies(platform) is False, platform
    assert window_applies("carrier-pigeon") is None and window_applies(None) is None


def test_no_window_on_sms_even_when_bird_sends_an_expiry() -> None:
    contact = BirdChannelContact(serviceWindowExpireAt=(NOW - timedelta(hours=3)).isoformat(), isPermanentSession=False)
    w = service_window(contact, "bc", "ct", NOW, "sms-messagebird")
    assert w.window_applies is False and w.is_open is True and w.expires_in_seconds is None
    assert w.summary.startswith("no service window on sms-messagebird") and "no template needed" in w.summary


def test_unknown_platform_gets_the_rule_and_says_so() -> None:
    w = service_window(BirdChannelContact(serviceWindowExpireAt=None), "bc", "ct", NOW, "carrier-pigeon")
    assert w.window_applies is None and w.is_open is False
    assert w.note is not None and "carrier-pigeon" in w.note


def test_timestamp_without_zone_is_read_as_utc_and_said() -> None:
    naive = (NOW + timedelta(minutes=10)).replace(tzinfo=None).isoformat()
    w = service_window(BirdChannelContact(serviceWindowExpireAt=naive), "bc", "ct", NOW, "whatsapp")
    assert w.is_open is True and w.expires_in_seconds == 600
    assert w.note is not None and "read as UTC" in w.note
    assert w.serviceWindowExpireAt == naive  # the raw field stays as Bird sent it


async def test_window_tool_reads_the_platform_once_per_cache_period(upstream: respx.MockRouter) -> None:
    channel = upstream.get(f"{BIRD}/workspaces/{WS}/channels/bc_sms").respond(
        200, json={"id": "bc_sms", "platformId": "sms-messagebird"}
    )
    upstream.get(url__regex=rf"{BIRD}/workspaces/{WS}/channels/bc_sms/contacts/.*").respond(
        200, json={"serviceWindowExpireAt": None, "isPermanentSession": False}
    )
    from mcp import Client

    async with Client(build_server(make_settings())) as c:
        first = await c.call_tool("bird_check_service_window", {"channel_id": "bc_sms", "contact_id": "ct_1"})
        second = await c.call_tool("bird_check_service_window", {"channel_id": "bc_sms", "contact_id": "ct_2"})
    assert channel.call_count == 1
    for result in (first, second):
        data = result.structured_content
        assert data is not None and not result.is_error
        assert data["window_applies"] is False and data["is_open"] is True
        assert data["serviceWindowExpireAt"] is None  # required and nullable: kept as null
