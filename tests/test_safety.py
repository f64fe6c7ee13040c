"""Safety layer: confirmation, write-only secrets, invisible characters, bounded results, audit log,
log redaction, tool selection, and hostile identifiers."""

from __future__ import annotations

import json
import logging
import unicodedata
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import respx
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from mcp_types import CallToolResult, ElicitRequestParams, ElicitResult

from channel_mcp.config import Settings
from channel_mcp.deps import build_deps
from channel_mcp.errors import ConfigError
from channel_mcp.logs import RedactingFilter
from channel_mcp.masking import _CF, clean
from channel_mcp.server import select_tools
from channel_mcp.tools import ALL_TOOLS
from channel_mcp.tools.runner import execute
from tests.conftest import BIRD_KEY, IMBRACE, IMBRACE_KEY, connect, envelope, finished, make_settings, paged
from tests.contract import TOOLSETS

Call = Callable[..., Awaitable[CallToolResult]]
CHANNEL = envelope({"id": "ch_1", "name": "Hotline Zalo", "channel_type": "web"})


def answering(action: str, confirm: bool = True) -> tuple[Callable[..., Awaitable[ElicitResult]], list[str]]:
    asked: list[str] = []

    async def callback(context: Any, params: ElicitRequestParams) -> ElicitResult:
        asked.append(params.message)
        return ElicitResult(action=action, content={"confirm": confirm} if action == "accept" else None)

    return callback, asked


async def test_accepted_elicitation_deletes_and_names_the_channel(upstream: respx.MockRouter) -> None:
    upstream.get(f"{IMBRACE}/v1/channels/ch_1").respond(200, json=CHANNEL)
    delete = upstream.delete(f"{IMBRACE}/v1/channels/ch_1").respond(200, json=envelope({}))
    callback, asked = answering("accept")
    async with connect(make_settings(), elicitation_callback=callback) as c:
        result = await c.call_tool("imbrace_delete_channel", {"channel_id": "ch_1"})
    assert not result.is_error and delete.call_count == 1
    assert asked and "Hotline Zalo" in asked[0] and "ch_1" in asked[0]


@pytest.mark.parametrize(
    ("action", "confirm", "word"),
    [("decline", True, "declined"), ("cancel", True, "cancelled"), ("accept", False, "declined")],
)
async def test_declined_or_cancelled_elicitation_sends_nothing(
    upstream: respx.MockRouter, action: str, confirm: bool, word: str
) -> None:
    upstream.get(f"{IMBRACE}/v1/channels/credentials/cr_1").respond(200, json=envelope({"id": "cr_1", "name": "FB"}))
    delete = upstream.delete(f"{IMBRACE}/v1/channels/credentials/cr_1").respond(200, json=envelope({}))
    callback, _ = answering(action, confirm)
    async with connect(make_settings(), elicitation_callback=callback) as c:
        result = await c.call_tool("imbrace_delete_credential", {"credential_id": "cr_1", "confirm": True})
    assert result.is_error and word in result.content[0].text  # type: ignore[union-attr]
    assert delete.call_count == 0


@pytest.mark.parametrize(
    "tool,args,path",
    [
        ("imbrace_delete_channel", {"channel_id": "ch_1"}, "/v1/channels/ch_1"),
        ("imbrace_delete_channel_workflow", {"workflow_id": "wf_1"}, "/v1/channels/workflows/wf_1"),
        ("imbrace_dismiss_notification", {"notification_id": "n1"}, "/v1/notifications/dismiss"),
        ("imbrace_dismiss_all_notifications", {}, "/v1/notifications/dismiss/all"),
    ],
)
async def test_without_elicitation_confirm_is_required(
    call: Call, upstream: respx.MockRouter, tool: str, args: dict[str, Any], path: str
) -> None:
    upstream.get(f"{IMBRACE}/v1/channels/ch_1").respond(200, json=CHANNEL)
    delete = upstream.delete(IMBRACE + path).respond(200, json=envelope({}))
    refused = await call(tool, args)
    text = refused.content[0].text  # type: ignore[union-attr]
    assert refused.is_error and "confirm: true" in text and delete.call_count == 0
    confirmed = await call(tool, {**args, "confirm": True})
    assert not confirmed.is_error and delete.call_count == 1


async def test_confirm_never_turns_confirmation_off(upstream: respx.MockRouter) -> None:
    delete = upstream.delete(f"{IMBRACE}/v1/notifications/dismiss/all").respond(200, json=envelope({}))
    async with connect(make_settings(confirm="never")) as c:
        result = await c.call_tool("imbrace_dismiss_all_notifications", {})
    assert not result.is_error and delete.call_count == 1


async def test_audit_log_records_writes_with_secrets_masked(tmp_path: Path, upstream: respx.MockRouter) -> None:
    audit = tmp_path / "audit" / "log.jsonl"
    upstream.post(f"{IMBRACE}/v1/channels/_whatsapp").respond(
        200, json=envelope({"id": "ch_9", "name": "WA"}), headers={"x-request-id": "req-42"}
    )
    upstream.delete(f"{IMBRACE}/v1/channels/ch_9").respond(404, json={"message": "gone"})
    upstream.get(f"{IMBRACE}/v1/channels/ch_9").respond(404)
    async with connect(make_settings(audit_log=audit)) as c:
        await c.call_tool(
            "imbrace_create_whatsapp_channel", {"phone_number_id": "1555", "access_token": "wa-secret-token-123456"}
        )
        lines = audit.read_text().splitlines()  # flushed while the server still runs
        assert len(lines) == 1
        await c.call_tool("imbrace_delete_channel", {"channel_id": "ch_9"})
        await c.call_tool("imbrace_delete_channel", {"channel_id": "ch_9", "confirm": True})
        await c.call_tool("imbrace_list_channels", {})  # reads are not audited (and this one is unmocked)
    records = [json.loads(line) for line in audit.read_text().splitlines()]
    assert [r["tool"] for r in records] == [
        "imbrace_create_whatsapp_channel",
        "imbrace_delete_channel",
        "imbrace_delete_channel",
    ]
    first, refused, failed = records
    assert first["status"] == 200 and first["request_id"] == "req-42" and first["ok"] is True
    assert first["arguments"]["access_token"] == "****" and first["arguments"]["phone_number_id"] == "1555"
    assert isinstance(first["duration_ms"], float) and first["time"].endswith("+00:00")
    assert refused["confirmation"] == "refused: no confirmation" and refused["status"] is None
    assert failed["confirmation"] == "confirmed via confirm argument" and failed["status"] == 404
    assert "wa-secret-token" not in audit.read_text()


def test_cf_table_covers_unicodedata() -> None:
    """Every Cf character is stripped; anything else stripped is a code point this Python's Unicode
    leaves unassigned (newer Unicode versions made those Cf too)."""
    for cp in range(0x110000):
        ch = chr(cp)
        category = unicodedata.category(ch)
        if category == "Cf":
            assert _CF.fullmatch(ch), hex(cp)
        elif _CF.fullmatch(ch):
            assert category == "Cn", hex(cp)


async def test_invisible_characters_never_reach_the_model(call: Call, upstream: respx.MockRouter) -> None:
    hostile = "Trần\u200b Thị\u202e Lan\u2066 陈\ufeff伟 \U000e0041"
    upstream.get(f"{IMBRACE}/v1/contacts/ct_1").respond(200, json=envelope({"id": "ct_1", "name": hostile}))
    result = await call("imbrace_get_contact", {"contact_id": "ct_1"})
    assert result.structured_content is not None
    assert result.structured_content["name"] == "Trần Thị Lan 陈伟 "
    assert not _CF.search(result.content[0].text)  # type: ignore[union-attr]


def test_secret_looking_fields_are_masked_to_last_four() -> None:
    data = {
        "config": {"access_token": "EAAGabcdefgh1234", "verify_token": "short", "page": "p1"},
        "credentials": {"app_secret": "s3cr3t-value-9876", "app_id": "1234567"},
        "settings": [{"key": "x", "value": "hidden-value-5555", "visibility": "private"}],
        "connectionParams": {"password": "pw-0000-1111", "api_key": "ak-2222-3333"},
        "next": {"page_token": "opaque-cursor-value"},
    }
    out = clean(data)
    assert out["config"] == {"access_token": "****1234", "verify_token": "****", "page": "p1"}
    # Credential values are secrets whatever their names: every one is masked (fail closed).
    assert out["credentials"] == {"app_secret": "****9876", "app_id": "****"}
    assert out["settings"][0]["value"] == "****5555"
    assert out["connectionParams"] == {"password": "****1111", "api_key": "****3333"}
    assert out["next"] == {"page_token": "opaque-cursor-value"}


async def test_flood_is_cut_to_the_budget(upstream: respx.MockRouter) -> None:
    rows = [{"id": f"ct_{i}", "name": f"Khách hàng {i}", "email": f"c{i}@example.com"} for i in range(5000)]
    upstream.get(f"{IMBRACE}/v1/contacts").respond(200, json=paged(rows, limit=50, total=5000))
    async with connect(make_settings(max_result_chars=20_000)) as c:
        result = await c.call_tool("imbrace_list_contacts", {"limit": 50, "skip": 100})
    text = result.content[0].text  # type: ignore[union-attr]
    data = result.structured_content
    assert data is not None and len(text) <= 20_000
    kept = len(data["items"])
    assert data["truncated"] is True and 0 < kept < 5000
    assert data["next"] == {"skip": 100 + kept} and str(kept) in data["note"]


async def test_oversized_single_object_is_shortened(upstream: respx.MockRouter) -> None:
    upstream.get(f"{IMBRACE}/v1/channels/ch_1").respond(
        200, json=envelope({"id": "ch_1", "config": {"blob": "x" * 300_000}})
    )
    async with connect(make_settings(max_result_chars=10_000)) as c:
        result = await c.call_tool("imbrace_get_channel", {"channel_id": "ch_1"})
    assert len(result.content[0].text) <= 10_000  # type: ignore[union-attr]
    assert result.structured_content is not None and result.structured_content["truncated"] is True


def test_log_filter_redacts_keys_and_auth_headers_at_debug() -> None:
    record = logging.LogRecord(
        "x",
        logging.DEBUG,
        __file__,
        1,
        "headers %s key=%s",
        (
            {"x-api-key": "other-secret-aaaa", "Authorization": "AccessKey other-bbbb", "x-access-token": "tok-cccc"},
            IMBRACE_KEY,
        ),
        None,
    )
    RedactingFilter([IMBRACE_KEY, BIRD_KEY]).filter(record)
    message = record.getMessage()
    for secret in ("other-secret-aaaa", "other-bbbb", "tok-cccc", IMBRACE_KEY):
        assert secret not in message
    assert "x-api-key" in message


def names(**kw: Any) -> set[str]:
    return {t.name for t in select_tools(make_settings(**kw))}


def test_tool_selection() -> None:
    assert names() == {t.name for t in ALL_TOOLS}
    assert names(toolsets=["bird_channels"]) == set(TOOLSETS["bird_channels"])
    assert names(tools=["imbrace_get_channel", "imbrace_delete_channel"]) == {
        "imbrace_get_channel",
        "imbrace_delete_channel",
    }
    assert "imbrace_delete_channel" not in names(exclude_tools=["imbrace_delete_channel"])
    assert names(tools=["imbrace_get_channel", "imbrace_delete_channel"], read_only=True) == {"imbrace_get_channel"}
    assert all(t.annotations.read_only for t in select_tools(make_settings(read_only=True)))
    assert not {n for n in names(bird_access_key=None) if n.startswith("bird_")}
    assert not {n for n in names(imbrace_api_key=None) if n.startswith("imbrace_")}
    with pytest.raises(ConfigError, match="unknown tool"):
        names(tools=["imbrace_nuke"])


def test_tool_selection_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHANNEL_MCP_TOOLS", "imbrace_get_channel, imbrace_delete_channel,bird_get_channel")
    monkeypatch.setenv("CHANNEL_MCP_EXCLUDE_TOOLS", "bird_get_channel")
    monkeypatch.setenv("CHANNEL_MCP_READ_ONLY", "1")
    monkeypatch.setenv("IMBRACE_API_KEY", "k-env")
    assert {t.name for t in select_tools(Settings())} == {"imbrace_get_channel"}


ID_TOOLS = [
    (t.name, arg)
    for t in ALL_TOOLS
    for arg in t.input_schema().get("properties", {})
    if arg.endswith("_id") and arg != "phone_number_id" and arg != "page_id"
]


@pytest.mark.parametrize(("tool", "arg"), ID_TOOLS, ids=[f"{t}.{a}" for t, a in ID_TOOLS])
@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.text(min_size=0, max_size=140))
async def test_random_ids_are_encoded_or_refused(tool: str, arg: str, value: str) -> None:
    spec = next(t for t in ALL_TOOLS if t.name == tool)
    required = {k: "ok_1" for k in spec.input_schema().get("required", [])}
    args = {**required, "confirm": True, arg: value} if spec.annotations.destructive else {**required, arg: value}
    if "channel_id" in args and tool == "imbrace_update_channel":
        args["name"] = "n"
    if tool in (
        "imbrace_update_facebook_channel",
        "imbrace_update_whatsapp_channel",
        "imbrace_update_credential",
        "imbrace_update_contact",
    ):
        args["name"] = "n"
    if tool == "imbrace_update_channel":
        args["name"] = "n"
    with respx.mock(assert_all_mocked=False, assert_all_called=False) as router:
        router.route().mock(
            side_effect=lambda request: httpx.Response(
                200, json={"success": True, "data": {"id": "x"}, "id": "x", "results": []}
            )
        )
        deps = build_deps(make_settings(confirm="never"))
        try:
            result = finished(await execute(spec, args, deps, None))
        finally:
            await deps.aclose()
        safe = (
            bool(value)
            and len(value) <= 128
            and value not in (".", "..")
            and all(ch.isascii() and (ch.isalnum() or ch in "_-.:") for ch in value)
        )
        if not safe:
            assert result.is_error and router.calls.call_count == 0
            return
        assert not result.is_error, result.content
        sent = [call.request for call in router.calls]
        assert sent
        encoded = quote(value, safe="")
        in_path = any(encoded in r.url.raw_path.decode() for r in sent)
        in_body = any(value in r.content.decode() for r in sent)
        assert in_path or in_body
        for r in sent:
            assert "/../" not in r.url.raw_path.decode() and "//" not in r.url.raw_path.decode()[1:]
