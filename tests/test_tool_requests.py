"""Every tool, through the real MCP protocol (in-memory client), sends exactly the contract's request.

One row per tool: the arguments, then the query and JSON body that must reach the fake upstream at the
method and path the contract gives (tests/contract.py, shared with the client tests), with the provider's
auth header, and an answer that must come back as structured content.
The fake upstream answers exactly as documented (seeds/), and the structured content must carry the
documented field names (`DOCUMENTED_FIELDS`), never the names we used to invent.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import respx
from mcp_types import CallToolResult

from channel_mcp.config import Settings
from channel_mcp.tools import ALL_TOOLS
from tests.conftest import BIRD, BIRD_KEY, IMBRACE, IMBRACE_KEY, WS, connect, envelope, paged
from tests.contract import CONTRACT

TS = "2025-03-03T08:00:00.000Z"
# Documented shapes (seeds/000, 001, 002), every field filled.
CH = {
    "object_name": "channel",
    "id": "ch_1",
    "name": "Support",
    "type": "web",
    "organization_id": "org_1",
    "business_unit_id": "bu_1",
    "is_active": True,
    "config": {"greeting": "Hi"},
    "created_at": TS,
    "updated_at": TS,
}
CONTACT = {
    "object_name": "contact",
    "id": "ct_1",
    "organization_id": "org_1",
    "display_name": "Nguyễn Văn An",
    "email": "an@example.com",
    "phone_number": "+84901234567",
    "avatar_url": "https://cdn.test/a.png",
    "created_at": TS,
    "updated_at": TS,
}
SETTING = {
    "key": "region",
    "value": "eu",
    "displayName": "Region",
    "description": "Data region",
    "visibility": "public",
}
BIRD_CH = {
    "id": "123e4567-e89b-12d3-a456-426614174000",
    "platformId": "whatsapp",
    "name": "WhatsApp Main",
    "connectorId": "123e4567-e89b-12d3-a456-426614174001",
    "identifier": "+15550100001",
    "status": "active",
    "contactIdentifierKeyOverride": "phonenumber",
    "contactIdentifierFormatOverride": {"type": "none", "pattern": "text"},
    "platformServiceUrlOverride": "https://wa.example.test",
    "platformServiceVersionOverride": "1.0",
    "platformServiceProtocolOverride": "https",
    "platformMessageJsonSchemaOverride": None,
    "platformTemplateEngineOverride": "liquid",
    "capabilities": {"messaging": {"messaging": {"status": "active"}}},
    "settings": [SETTING],
    "connectionParams": [{**SETTING, "key": "accessToken", "value": "bird-private-0077", "visibility": "private"}],
    "preferences": {"disableProfileFetching": False, "isPrivate": False},
    "useCaseId": "uc_1",
    "useCaseType": "conversation",
    "channelMessageType": "conversational",
    "suites": ["marketing"],
    "createdAt": TS,
    "updatedAt": TS,
}
BIRD_FIELDS = set(BIRD_CH)
CHANNEL_FIELDS = set(CH)
CONTACT_FIELDS = set(CONTACT)
# Where the documented names must show in structuredContent: the object itself, or items[0].
DOCUMENTED_FIELDS: dict[str, set[str]] = {
    **{
        name: CHANNEL_FIELDS
        for name in (
            "imbrace_list_channels",
            "imbrace_get_channel",
            "imbrace_create_channel",
            "imbrace_update_channel",
            "imbrace_create_web_channel",
            "imbrace_create_facebook_channel",
            "imbrace_update_facebook_channel",
            "imbrace_create_instagram_channel",
            "imbrace_create_email_channel",
            "imbrace_create_wechat_channel",
            "imbrace_create_line_channel",
            "imbrace_create_whatsapp_channel",
            "imbrace_update_whatsapp_channel",
        )
    },
    **{
        name: CONTACT_FIELDS
        for name in (
            "imbrace_list_contacts",
            "imbrace_get_contact",
            "imbrace_update_contact",
            "imbrace_search_contacts",
        )
    },
    "imbrace_list_facebook_pages": {"_id", "name"},
    "imbrace_get_credential": {"_id", "type", "name"},
    "imbrace_update_credential": {"_id", "type", "name"},
    "imbrace_list_contact_comments": {"_id", "text", "created_at"},
    "imbrace_list_contact_files": {"_id", "name", "url", "size"},
    "imbrace_count_channels": {"count"},
    "bird_list_channels": BIRD_FIELDS - {"platformMessageJsonSchemaOverride"},
    "bird_get_channel": BIRD_FIELDS - {"platformMessageJsonSchemaOverride"},
    "bird_check_service_window": {"serviceWindowExpireAt", "isPermanentSession", "metadata", "is_open"},
}
# Names we used to invent for documented fields: they must never come back.
INVENTED = {"channel_type", "phone", "content", "filename", "id_"}
CREDENTIAL = {"_id": "cr_1", "type": "facebook", "name": "FB app"}
OK = envelope({"id": "x", "deleted": True})

# tool, arguments, query, JSON body (None = no body, "multipart" = an upload), upstream answer; the method
# and path come from the contract (tests/contract.py).
CASES: list[tuple[str, dict[str, Any], dict[str, str], Any, Any]] = [
    (
        "imbrace_list_channels",
        {"type": "whatsapp", "limit": 10, "offset": 20},
        {"type": "whatsapp", "limit": "10", "offset": "20"},
        None,
        paged([CH]),
    ),
    ("imbrace_get_channel", {"channel_id": "ch_1"}, {}, None, envelope(CH)),
    ("imbrace_count_channels", {}, {}, None, envelope({"count": 12})),
    (
        "imbrace_create_channel",
        {"type": "line", "name": "LINE JP"},
        {},
        {"type": "line", "name": "LINE JP"},
        envelope(CH),
    ),
    ("imbrace_update_channel", {"channel_id": "ch_1", "active": False}, {}, {"active": False}, envelope(CH)),
    ("imbrace_delete_channel", {"channel_id": "ch_1", "confirm": True}, {}, None, OK),
    ("imbrace_delete_channel", {"channel_id": "ch_1", "api_version": "v3", "confirm": True}, {}, None, OK),
    ("imbrace_create_web_channel", {"name": "Site"}, {}, {"name": "Site"}, envelope(CH)),
    (
        "imbrace_create_facebook_channel",
        {"page_id": "p1", "credential_id": "cr_1"},
        {},
        {"page_id": "p1", "credential_id": "cr_1"},
        envelope(CH),
    ),
    (
        "imbrace_update_facebook_channel",
        {"channel_id": "ch_1", "name": "FB"},
        {},
        {"channel_id": "ch_1", "name": "FB"},
        envelope(CH),
    ),
    (
        "imbrace_create_instagram_channel",
        {"name": "IG", "config": {"a": 1}},
        {},
        {"name": "IG", "config": {"a": 1}},
        envelope(CH),
    ),
    ("imbrace_create_email_channel", {"email": "help@example.com"}, {}, {"email": "help@example.com"}, envelope(CH)),
    ("imbrace_create_wechat_channel", {"name": "WeChat"}, {}, {"name": "WeChat"}, envelope(CH)),
    ("imbrace_create_line_channel", {"name": "LINE"}, {}, {"name": "LINE"}, envelope(CH)),
    (
        "imbrace_create_whatsapp_channel",
        {"phone_number_id": "1555", "access_token": "wa-secret-token-123456"},
        {},
        {"phone_number_id": "1555", "access_token": "wa-secret-token-123456"},
        envelope(CH),
    ),
    (
        "imbrace_update_whatsapp_channel",
        {"channel_id": "ch_1", "access_token": "wa-secret-token-654321"},
        {},
        {"channel_id": "ch_1", "access_token": "wa-secret-token-654321"},
        envelope(CH),
    ),
    ("imbrace_list_facebook_pages", {"credential_id": "cr_1"}, {}, None, envelope([{"_id": "p1", "name": "Shop"}])),
    (
        "imbrace_get_credential",
        {"credential_id": "cr_1"},
        {},
        None,
        envelope({**CREDENTIAL, "credentials": {"app_secret": "abcdef0123456789"}}),
    ),
    (
        "imbrace_update_credential",
        {"credential_id": "cr_1", "credentials": {"app_secret": "new-secret-99887766"}},
        {},
        {"credentials": {"app_secret": "new-secret-99887766"}},
        envelope(CREDENTIAL),
    ),
    ("imbrace_delete_credential", {"credential_id": "cr_1", "confirm": True}, {}, None, OK),
    (
        "imbrace_update_channel_workflow",
        {"workflow_id": "wf_1", "channel_id": "ch_1"},
        {},
        {"channel_id": "ch_1"},
        envelope({"id": "wf_1", "channel_id": "ch_1"}),
    ),
    ("imbrace_delete_channel_workflow", {"workflow_id": "wf_1", "confirm": True}, {}, None, OK),
    ("imbrace_list_assignable_teams", {}, {}, None, envelope([{"id": "tm_1", "name": "Sales"}])),
    ("imbrace_list_team_observers", {"team_id": "tm_1"}, {}, None, envelope([{"id": "u1", "name": "Mai"}])),
    (
        "imbrace_list_contacts",
        {"limit": 25, "skip": 50},
        {"limit": "25", "skip": "50"},
        None,
        paged([CONTACT], total=240),
    ),
    ("imbrace_get_contact", {"contact_id": "ct_1"}, {}, None, envelope(CONTACT)),
    (
        "imbrace_update_contact",
        {"contact_id": "ct_1", "email": "an@example.org"},
        {},
        {"email": "an@example.org"},
        envelope(CONTACT),
    ),
    ("imbrace_search_contacts", {"q": "nguyễn"}, {"q": "nguyễn", "limit": "10"}, None, paged([CONTACT])),
    ("imbrace_export_contacts_csv", {"sort": "-name"}, {"sort": "-name"}, None, "id,name\nct_1,An\n"),
    (
        "imbrace_list_contact_conversations",
        {"contact_id": "ct_1", "channel_types": ["whatsapp", "web"]},
        {"channel_types": "whatsapp,web"},
        None,
        envelope([{"id": "cv_1"}]),
    ),
    (
        "imbrace_list_contact_comments",
        {"contact_id": "ct_1"},
        {"limit": "20"},
        None,
        paged([{"_id": "cm_1", "text": "VIP", "created_at": TS}]),
    ),
    (
        "imbrace_list_contact_files",
        {"contact_id": "ct_1"},
        {},
        None,
        envelope([{"_id": "f1", "name": "id.pdf", "url": "https://files.test/id.pdf", "size": 10.5}]),
    ),
    (
        "imbrace_list_conversation_activities",
        {"conversation_id": "cv_1"},
        {},
        None,
        envelope([{"id": "a1", "type": "assigned"}]),
    ),
    (
        "imbrace_upload_contact_file",
        {"filename": "list.csv", "content_base64": base64.b64encode(b"id\n1\n").decode()},
        {},
        "multipart",
        envelope({"url": "https://files.test/list.csv"}),
    ),
    (
        "imbrace_list_notifications",
        {"skip": 5},
        {"limit": "20", "skip": "5"},
        None,
        paged([{"id": "n1", "title": "New chat", "is_read": False}]),
    ),
    (
        "imbrace_mark_notifications_read",
        {"notification_ids": ["n1", "n2"]},
        {},
        {"notification_id": ["n1", "n2"]},
        envelope({"updated": 2}),
    ),
    ("imbrace_mark_notifications_read", {}, {}, None, envelope({"updated": 9})),
    ("imbrace_dismiss_notification", {"notification_id": "n1", "confirm": True}, {}, {"notification_id": "n1"}, OK),
    ("imbrace_dismiss_all_notifications", {"confirm": True}, {}, None, OK),
    (
        "bird_list_channels",
        {"limit": 5, "page_token": "tok2"},
        {"limit": "5", "pageToken": "tok2"},
        None,
        {"results": [BIRD_CH], "nextPageToken": "tok3"},
    ),
    ("bird_get_channel", {"channel_id": "bc_1"}, {}, None, BIRD_CH),
    # One GET of the channel (its platformId decides whether a window applies), then the contract's.
    (
        "bird_check_service_window",
        {"channel_id": "bc_1", "contact_id": "bct_1", "workspace_id": "ws-2"},
        {},
        None,
        {"serviceWindowExpireAt": None, "isPermanentSession": False, "metadata": {}},
    ),
]


def test_every_tool_has_a_request_case() -> None:
    assert {t.name for t in ALL_TOOLS} == {case[0] for case in CASES}
    # Every request the contract names is sent by some case (imbrace_delete_channel has two).
    sent = {(tool, CONTRACT[tool].request(args)) for tool, args, *_ in CASES}
    assert sent == {(t.name, req) for t in CONTRACT.values() for req in t.requests}


def with_nulls(tool: str, args: dict[str, Any]) -> dict[str, Any]:
    """`args` plus an explicit null for every optional argument left out, as strict clients send them."""
    (spec,) = [t for t in ALL_TOOLS if t.name == tool]
    schema = spec.input_schema()
    optional = set(schema["properties"]) - set(schema.get("required", ()))
    return {**{name: None for name in optional}, **args}


@pytest.mark.parametrize("nulls", [False, True], ids=["omitted", "null"])
@pytest.mark.parametrize(
    ("tool", "args", "query", "body", "answer"),
    CASES,
    ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)],
)
async def test_tool_sends_contract_request(
    call: Callable[..., Awaitable[CallToolResult]],
    upstream: respx.MockRouter,
    nulls: bool,
    tool: str,
    args: dict[str, Any],
    query: dict[str, str],
    body: Any,
    answer: Any,
) -> None:
    entry = CONTRACT[tool]
    expected = entry.request(args)
    bird = entry.provider == "bird"
    base = BIRD if bird else IMBRACE
    url = base + expected.url_path(args, workspace=WS)
    if isinstance(answer, str):
        route = upstream.route(method=expected.method, url=url).respond(
            200, text=answer, headers={"content-type": "text/csv"}
        )
    else:
        route = upstream.route(method=expected.method, url=url).respond(200, json=answer)
    if tool == "bird_check_service_window":
        channel = CONTRACT["bird_get_channel"].request(args)
        upstream.route(method=channel.method, url=base + channel.url_path(args, workspace=WS)).respond(
            200, json=BIRD_CH
        )

    # An optional given as null must behave exactly as if it were omitted: same request, defaults applied.
    result = await call(tool, with_nulls(tool, args) if nulls else args)

    assert not result.is_error, result.content
    assert route.call_count == 1
    request = route.calls.last.request
    assert dict(request.url.params) == query
    assert set(query) <= set(expected.query), f"{tool} sends query parameters the contract does not name"
    if bird:
        assert request.headers["authorization"] == f"AccessKey {BIRD_KEY}"
        assert "x-api-key" not in request.headers
    else:
        assert request.headers["x-api-key"] == IMBRACE_KEY
        assert "authorization" not in request.headers
    assert (body == "multipart") == (expected.form is not None)
    if expected.form is not None:
        assert request.headers["content-type"].startswith("multipart/form-data")
        assert f'name="{expected.form}"; filename="{args["filename"]}"'.encode() in request.content
        assert b"Content-Type: text/csv" in request.content
    elif body is None:
        assert request.content == b""
        assert not expected.required_body, f"{tool} sent no body; the contract requires {expected.required_body}"
    else:
        sent = json.loads(request.content)
        assert sent == body
        assert expected.required_body <= set(sent) <= expected.body_fields, f"{tool} body is not the contract's"
    assert isinstance(result.structured_content, dict)
    text = result.content[0].text  # type: ignore[union-attr]
    assert json.loads(text) == result.structured_content
    for secret in ("wa-secret-token-123456", "wa-secret-token-654321", "new-secret-99887766", IMBRACE_KEY, BIRD_KEY):
        assert secret not in text
    assert "bird-private-0077" not in text
    data = result.structured_content
    shown = data["items"][0] if isinstance(data.get("items"), list) and data["items"] else data
    missing = DOCUMENTED_FIELDS.get(tool, set()) - set(shown)
    assert not missing, f"{tool} lost documented fields {missing}: {sorted(shown)}"
    assert not INVENTED & set(shown), f"{tool} shows invented names {INVENTED & set(shown)}"
    assert "shape_note" not in shown and "unreadable" not in data, f"{tool}: a documented answer was read as drift"


async def test_tools_list_has_schemas_and_annotations(settings: Settings) -> None:
    async with connect(settings) as client:
        listed = (await client.list_tools()).tools
    assert [tool.name for tool in listed] == [spec.name for spec in ALL_TOOLS]
    for tool in listed:
        assert tool.output_schema and tool.output_schema.get("type") == "object"
        assert tool.annotations is not None and tool.annotations.open_world_hint is True
