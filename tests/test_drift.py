"""Every drift case of issue 13, against the tool that meets it, through the real MCP protocol.

Each row: the tool and its arguments, the upstream route and its drifted answer, and a check on the
result. A drift is either read (the answer is useful, and says what was odd) or refused clearly as an
unexpected shape; it is never reported as "transient: try again", which would send an agent round a
loop against a permanent mismatch. The MCP client validates structuredContent against the published
outputSchema on every call here, so a drifted answer that is read still matches the schema.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import respx
from mcp_types import CallToolResult

from tests.conftest import BIRD, IMBRACE, WS, envelope

Check = Callable[[CallToolResult], None]
NOW = datetime.now(UTC)


def data(result: CallToolResult) -> dict[str, Any]:
    assert not result.is_error, result.content
    assert result.structured_content is not None
    structured: dict[str, Any] = result.structured_content
    return structured


def error_text(result: CallToolResult) -> str:
    assert result.is_error
    text: str = result.content[0].text  # type: ignore[union-attr]
    assert "transient" not in text.lower() and "try again shortly" not in text.lower()
    return text


def count_is(total: int, by_type: dict[str, int] | None = None) -> Check:
    def check(result: CallToolResult) -> None:
        out = data(result)
        assert out["count"] == total
        assert out.get("by_type") == by_type

    return check


def refused_as_shape(*keys: str) -> Check:
    def check(result: CallToolResult) -> None:
        text = error_text(result)
        assert "unexpected shape" in text
        for key in keys:
            assert key in text

    return check


def page_keeps(ids: list[str], unreadable: list[str] | None = None, count: int | None = None) -> Check:
    def check(result: CallToolResult) -> None:
        out = data(result)
        assert [item.get("id", item.get("_id")) for item in out["items"]] == ids
        if unreadable is None:
            assert "unreadable" not in out
        else:
            assert out["unreadable"]["ids"] == unreadable
            assert out["unreadable"]["count"] == (count if count is not None else len(unreadable))
            assert "left out" in out["unreadable"]["note"]

    return check


def window(is_open: bool, note: str | None = None) -> Check:
    def check(result: CallToolResult) -> None:
        out = data(result)
        assert out["is_open"] is is_open
        assert "serviceWindowExpireAt" in out
        if note is not None:
            assert note in out["note"]

    return check


def as_sent(**unexpected: Any) -> Check:
    def check(result: CallToolResult) -> None:
        out = data(result)
        assert "documented shape" in out["shape_note"]
        assert out["unexpected"] == unexpected

    return check


def paged_with(next_args: dict[str, int] | None, total: int | None) -> Check:
    def check(result: CallToolResult) -> None:
        out = data(result)
        assert out["items"] and out.get("next") == next_args and out.get("total") == total

    return check


CONTACT = {"id": "ct_1", "organization_id": "o", "display_name": "An", "phone_number": "+84901234567"}
CH = {"id": "ch_1", "name": "Web", "type": "web", "organization_id": "o", "is_active": True}
BIRD_CH = {
    "id": "bc_1",
    "platformId": "whatsapp",
    "name": "WA",
    "status": "active",
    "createdAt": "2025-01-01T00:00:00Z",
}
SOON = (NOW + timedelta(minutes=30)).isoformat().replace("+00:00", "Z")
SOON_NAIVE = (NOW + timedelta(minutes=30)).replace(tzinfo=None).isoformat()
COUNT = f"{IMBRACE}/v1/channels/_count"
CONTACTS = f"{IMBRACE}/v1/contacts"
FILES = f"{IMBRACE}/v1/contact/ct_1/files"
WINDOW = f"{BIRD}/workspaces/{WS}/channels/bc_1/contacts/bct_1"
W_ARGS = {"channel_id": "bc_1", "contact_id": "bct_1"}

# name, tool, arguments, url, answer, check
CASES: list[tuple[str, str, dict[str, Any], str, Any, Check]] = [
    ("count {count}", "imbrace_count_channels", {}, COUNT, envelope({"count": 7}), count_is(7)),
    ("count {total}", "imbrace_count_channels", {}, COUNT, {"total": 7}, count_is(7)),
    ("count bare number", "imbrace_count_channels", {}, COUNT, 7, count_is(7)),
    ("count enveloped number", "imbrace_count_channels", {}, COUNT, envelope(7), count_is(7)),
    (
        "count grouped by type (OpenAPI)",
        "imbrace_count_channels",
        {},
        COUNT,
        envelope([{"type": "web", "count": 2}, {"type": "whatsapp", "count": 3}]),
        count_is(5, {"web": 2, "whatsapp": 3}),
    ),
    (
        "count grouped as an object",
        "imbrace_count_channels",
        {},
        COUNT,
        envelope({"web": 2, "email": 1}),
        count_is(3, {"web": 2, "email": 1}),
    ),
    (
        "count unreadable",
        "imbrace_count_channels",
        {},
        COUNT,
        envelope({"status": "ok", "by": "type"}),
        refused_as_shape("status (string)"),
    ),
    (
        "tags as objects in one item",
        "imbrace_list_contacts",
        {},
        CONTACTS,
        envelope([CONTACT, {**CONTACT, "id": "ct_2", "tags": [{"name": "vip"}]}]),
        page_keeps(["ct_1", "ct_2"]),
    ),
    (
        "one item that does not fit",
        "imbrace_list_contacts",
        {},
        CONTACTS,
        envelope([CONTACT, {**CONTACT, "id": "ct_2", "display_name": {"first": "An"}}, "junk"]),
        page_keeps(["ct_1"], ["ct_2"], count=2),
    ),
    (
        "file size 10.5",
        "imbrace_list_contact_files",
        {"contact_id": "ct_1"},
        FILES,
        envelope([{"_id": "f1", "name": "a.pdf", "size": 10.5}, {"_id": "f2", "name": "b.pdf", "size": 2048}]),
        page_keeps(["f1", "f2"]),
    ),
    (
        "file size not a number",
        "imbrace_list_contact_files",
        {"contact_id": "ct_1"},
        FILES,
        envelope([{"_id": "f1", "size": "big"}, {"_id": "f2", "size": 1}]),
        page_keeps(["f2"], ["f1"]),
    ),
    (
        "results envelope",
        "imbrace_list_contacts",
        {},
        CONTACTS,
        {"results": [CONTACT]},
        page_keeps(["ct_1"]),
    ),
    (
        "nested data.data with pagination inside data",
        "imbrace_list_contacts",
        {"limit": 1},
        CONTACTS,
        {"success": True, "data": {"data": [CONTACT], "pagination": {"total": 3, "has_next": True}}},
        paged_with({"skip": 1}, 3),
    ),
    (
        "totalDocs / hasNextPage",
        "imbrace_list_contacts",
        {"limit": 1},
        CONTACTS,
        {"docs": [CONTACT], "totalDocs": 2, "hasNextPage": True, "page": 1},
        paged_with({"skip": 1}, 2),
    ),
    (
        "empty list as data: null",
        "imbrace_list_contacts",
        {},
        CONTACTS,
        {"success": True, "data": None},
        page_keeps([]),
    ),
    (
        "list answered with an object",
        "imbrace_list_contacts",
        {},
        CONTACTS,
        envelope({"id": "ct_1"}),
        refused_as_shape("expected a list", "id (string)"),
    ),
    (
        "single object that does not fit",
        "imbrace_get_channel",
        {"channel_id": "ch_1"},
        f"{IMBRACE}/v1/channels/ch_1",
        envelope({**CH, "type": "support", "is_active": "sometimes"}),
        as_sent(type="support", is_active="sometimes"),
    ),
    (
        "single object answered with a list",
        "imbrace_get_contact",
        {"contact_id": "ct_1"},
        f"{CONTACTS}/ct_1",
        envelope([CONTACT]),
        refused_as_shape("expected an object", "a list of 1"),
    ),
    (
        "single object answered with a string",
        "imbrace_get_contact",
        {"contact_id": "ct_1"},
        f"{CONTACTS}/ct_1",
        "ok",  # valid JSON, a string
        refused_as_shape("a string"),
    ),
    (
        "Bird window wrapped in data",
        "bird_check_service_window",
        W_ARGS,
        WINDOW,
        {"data": {"serviceWindowExpireAt": SOON, "isPermanentSession": False}},
        window(True),
    ),
    (
        "Bird window without a time zone",
        "bird_check_service_window",
        W_ARGS,
        WINDOW,
        {"serviceWindowExpireAt": SOON_NAIVE, "isPermanentSession": False},
        window(True, "read as UTC"),
    ),
    (
        "Bird window without serviceWindowExpireAt",
        "bird_check_service_window",
        W_ARGS,
        WINDOW,
        {"isPermanentSession": False},
        window(False),
    ),
    (
        "Bird channel settings as an object (the old sandbox shape)",
        "bird_get_channel",
        {"channel_id": "bc_1"},
        f"{BIRD}/workspaces/{WS}/channels/bc_1",
        {**BIRD_CH, "settings": {"region": {"value": "eu", "visibility": "public"}}},
        as_sent(settings={"region": {"value": "eu", "visibility": "public"}}),
    ),
    (
        "Bird list with one undocumented enum value",
        "bird_list_channels",
        {},
        f"{BIRD}/workspaces/{WS}/channels",
        {"results": [BIRD_CH, {**BIRD_CH, "id": "bc_2", "useCaseType": "default"}]},
        page_keeps(["bc_1"], ["bc_2"]),
    ),
    (
        "Bird list without results",
        "bird_list_channels",
        {},
        f"{BIRD}/workspaces/{WS}/channels",
        {"channels": []},
        refused_as_shape("channels (list)"),
    ),
]


@pytest.mark.parametrize(("tool", "args", "url", "answer", "check"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
async def test_drift_is_read_or_refused_clearly(
    call: Callable[..., Awaitable[CallToolResult]],
    upstream: respx.MockRouter,
    tool: str,
    args: dict[str, Any],
    url: str,
    answer: Any,
    check: Check,
) -> None:
    upstream.get(url).respond(200, json=answer)
    if tool == "bird_check_service_window":
        upstream.get(f"{BIRD}/workspaces/{WS}/channels/bc_1").respond(200, json=BIRD_CH)
    check(await call(tool, args))
