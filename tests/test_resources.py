"""Resources, templates, completions, prompts and change events, through the real MCP protocol.

Most tests run against respx-faked upstreams (so every request can be counted); the last group runs
the same surface against the embedded sandbox.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import anyio
import httpx
import pytest
import respx
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from mcp.shared.exceptions import MCPError
from mcp.shared.subscriptions import ResourceUpdated
from mcp_types import INTERNAL_ERROR, INVALID_PARAMS, PromptReference, ResourceTemplateReference, TextContent

from channel_mcp.completions import match
from channel_mcp.config import Settings
from channel_mcp.deps import Deps, ListingCache, build_deps
from channel_mcp.events import changed_uris
from tests.conftest import BIRD, BIRD_KEY, IMBRACE, IMBRACE_KEY, WS, connect, envelope, make_settings

CHANNELS = f"{IMBRACE}/v1/channels"
CONTACTS = f"{IMBRACE}/v1/contacts"
SEARCH = f"{IMBRACE}/v1/contacts/_search"
BIRD_CHANNELS = f"{BIRD}/workspaces/{WS}/channels"

CH_TEMPLATE = "imbrace://channels/{channel_id}"
CT_TEMPLATE = "imbrace://contacts/{contact_id}"
BIRD_TEMPLATE = "bird://channels/{channel_id}"


def channel(n: int, **extra: Any) -> dict[str, Any]:
    platform = ("web", "whatsapp", "email")[n % 3]
    return {
        "id": f"ch_{n:04d}",
        "name": f"Channel {n}",
        "type": platform,
        "is_active": n % 4 != 0,
        **extra,
    }


def contact(n: int, name: str | None = None) -> dict[str, Any]:
    return {"id": f"ct_{n:04d}", "display_name": name or f"Contact {n}", "email": f"c{n}@example.com"}


def bird_channel(n: int, platform: str = "sms-messagebird", status: str = "active") -> dict[str, Any]:
    return {"id": f"bc_{n:03d}", "name": f"Bird {n}", "platformId": platform, "status": status}


def paged_by_offset(
    items: list[dict[str, Any]], *, skip_key: str = "offset"
) -> Callable[[httpx.Request], httpx.Response]:
    """An iMBRACE list endpoint that honours limit and offset/skip, like the real one."""

    def answer(request: httpx.Request) -> httpx.Response:
        limit = int(request.url.params.get("limit", "50"))
        offset = int(request.url.params.get(skip_key, "0"))
        total = len(items)
        pagination = {
            "page": offset // limit + 1,
            "limit": limit,
            "total": total,
            "total_pages": max(1, -(-total // limit)),
            "has_next": offset + limit < total,
            "has_prev": offset > 0,
        }
        body = {"success": True, "data": items[offset : offset + limit], "pagination": pagination, "total": total}
        return httpx.Response(200, json=body)

    return answer


def text_of(result: Any) -> str:
    content = result.contents[0]
    assert content.mime_type == "application/json"
    return str(content.text)


def data_of(result: Any) -> Any:
    return json.loads(text_of(result))


def has_cf(text: str) -> bool:
    return any(unicodedata.category(ch) == "Cf" for ch in text)


# ---------------------------------------------------------------------------------------------- listing


async def test_resources_list_all_configured(settings: Settings, upstream: respx.MockRouter) -> None:
    async with connect(settings) as c:
        resources = (await c.list_resources()).resources
        templates = (await c.list_resource_templates()).resource_templates
    assert {str(r.uri) for r in resources} == {"imbrace://channels", "imbrace://contacts", "bird://channels"}
    assert all(r.mime_type == "application/json" and r.title and r.description for r in resources)
    assert {t.uri_template for t in templates} == {CH_TEMPLATE, CT_TEMPLATE, BIRD_TEMPLATE}
    assert all(t.mime_type == "application/json" and t.description for t in templates)
    assert len(upstream.calls) == 0  # listing resources sends nothing


async def test_only_bird_configured(upstream: respx.MockRouter) -> None:
    async with connect(make_settings(imbrace_api_key=None)) as c:
        resources = (await c.list_resources()).resources
        templates = (await c.list_resource_templates()).resource_templates
        prompts = (await c.list_prompts()).prompts
        with pytest.raises(MCPError) as err:
            await c.read_resource("imbrace://channels/ch_1")
    assert [str(r.uri) for r in resources] == ["bird://channels"]
    assert [t.uri_template for t in templates] == [BIRD_TEMPLATE]
    assert {p.name for p in prompts} == {"audit_channels", "whatsapp_send_check"}
    assert err.value.code == INVALID_PARAMS
    assert len(upstream.calls) == 0


async def test_only_imbrace_configured(upstream: respx.MockRouter) -> None:
    async with connect(make_settings(bird_access_key=None)) as c:
        resources = (await c.list_resources()).resources
        templates = (await c.list_resource_templates()).resource_templates
        prompts = (await c.list_prompts()).prompts
    assert {str(r.uri) for r in resources} == {"imbrace://channels", "imbrace://contacts"}
    assert {t.uri_template for t in templates} == {CH_TEMPLATE, CT_TEMPLATE}
    assert {p.name for p in prompts} == {"audit_channels", "contact_360"}


async def test_nothing_configured_offers_nothing(upstream: respx.MockRouter) -> None:
    async with connect(make_settings(imbrace_api_key=None, bird_access_key=None)) as c:
        assert (await c.list_resources()).resources == []
        assert (await c.list_resource_templates()).resource_templates == []
        assert (await c.list_prompts()).prompts == []
        assert c.server_capabilities.completions is None


# ---------------------------------------------------------------------------------------------- reading


async def test_imbrace_channels_walks_every_page(settings: Settings, upstream: respx.MockRouter) -> None:
    items = [channel(n) for n in range(1, 151)]
    route = upstream.get(CHANNELS).mock(side_effect=paged_by_offset(items))
    async with connect(settings) as c:
        data = data_of(await c.read_resource("imbrace://channels"))
    assert [dict(call.request.url.params) for call in route.calls] == [
        {"limit": "100", "offset": "0"},
        {"limit": "100", "offset": "100"},
    ]
    assert len(data["items"]) == data["count"] == 150
    assert data["items"][0] == {"id": "ch_0001", "name": "Channel 1", "type": "whatsapp", "active": True}
    assert data["active"] + data["inactive"] == 150
    assert data["inactive"] == sum(1 for n in range(1, 151) if n % 4 == 0)
    assert "read_more" not in data


async def test_imbrace_channels_walk_is_bounded(settings: Settings, upstream: respx.MockRouter) -> None:
    items = [channel(n) for n in range(1, 1301)]
    route = upstream.get(CHANNELS).mock(side_effect=paged_by_offset(items))
    async with connect(make_settings(max_result_chars=1_000_000)) as c:
        data = data_of(await c.read_resource("imbrace://channels"))
    assert route.call_count == 10
    assert data["count"] == 1000
    assert data["has_more"] is True
    assert data["read_more"] == {"tool": "imbrace_list_channels", "arguments": {"offset": 1000, "limit": 100}}


async def test_imbrace_channels_stops_when_offset_is_ignored(settings: Settings, upstream: respx.MockRouter) -> None:
    first = [channel(n) for n in range(1, 101)]
    body = {"success": True, "data": first, "pagination": {"total": 300, "has_next": True}}
    route = upstream.get(CHANNELS).mock(return_value=httpx.Response(200, json=body))
    async with connect(settings) as c:
        data = data_of(await c.read_resource("imbrace://channels"))
    assert route.call_count == 2  # the second page added nothing new: stop instead of looping
    assert data["count"] == 100


async def test_large_listing_is_cut_with_a_way_to_read_on(upstream: respx.MockRouter) -> None:
    upstream.get(CHANNELS).mock(side_effect=paged_by_offset([channel(n) for n in range(1, 101)]))
    async with connect(make_settings(max_result_chars=2_000)) as c:
        text = text_of(await c.read_resource("imbrace://channels"))
    data = json.loads(text)
    assert len(text) <= 2_000
    assert data["truncated"] is True
    kept = len(data["items"])
    assert 0 < kept < 100
    assert data["read_more"] == {"tool": "imbrace_list_channels", "arguments": {"offset": kept, "limit": 100}}


async def test_imbrace_contacts_first_page_and_how_to_read_more(settings: Settings, upstream: respx.MockRouter) -> None:
    items = [contact(n) for n in range(1, 241)]
    route = upstream.get(CONTACTS).mock(side_effect=paged_by_offset(items, skip_key="skip"))
    async with connect(settings) as c:
        data = data_of(await c.read_resource("imbrace://contacts"))
    assert route.call_count == 1
    assert dict(route.calls[0].request.url.params) == {"limit": "50"}
    assert data["count"] == 50 and data["total"] == 240 and data["has_more"] is True
    # Rows read the documented names: the display name shows (it used to come out empty).
    assert data["items"][0] == {"id": "ct_0001", "display_name": "Contact 1", "email": "c1@example.com"}
    assert data["read_more"] == {"tool": "imbrace_list_contacts", "arguments": {"skip": 50, "limit": 50}}
    assert "imbrace_list_contacts skip=50" in data["note"]


async def test_bird_channels_first_page_with_token(settings: Settings, upstream: respx.MockRouter) -> None:
    body = {"results": [bird_channel(1, "whatsapp"), bird_channel(2, status="failed")], "nextPageToken": "tok-2"}
    route = upstream.get(BIRD_CHANNELS).mock(return_value=httpx.Response(200, json=body))
    async with connect(settings) as c:
        data = data_of(await c.read_resource("bird://channels"))
    assert dict(route.calls[0].request.url.params) == {"limit": "100"}
    assert data["items"] == [
        {"id": "bc_001", "name": "Bird 1", "platform": "whatsapp", "status": "active", "active": True},
        {"id": "bc_002", "name": "Bird 2", "platform": "sms-messagebird", "status": "failed", "active": False},
    ]
    assert data["has_more"] is True
    assert data["read_more"] == {"tool": "bird_list_channels", "arguments": {"page_token": "tok-2", "limit": 100}}


async def test_templates_read_one_object(settings: Settings, upstream: respx.MockRouter) -> None:
    upstream.get(f"{CHANNELS}/ch_0001").mock(return_value=httpx.Response(200, json=envelope(channel(1))))
    upstream.get(f"{CONTACTS}/ct_0007").mock(return_value=httpx.Response(200, json=envelope(contact(7))))
    upstream.get(f"{BIRD_CHANNELS}/bc_001").mock(return_value=httpx.Response(200, json=bird_channel(1)))
    async with connect(settings) as c:
        ch = await c.read_resource("imbrace://channels/ch_0001")
        ct = await c.read_resource("imbrace://contacts/ct_0007")
        bc = await c.read_resource("bird://channels/bc_001")
    assert str(ch.contents[0].uri) == "imbrace://channels/ch_0001"
    assert data_of(ch)["type"] == "whatsapp" and data_of(ch)["is_active"] is True
    assert data_of(ct)["email"] == "c7@example.com"
    assert data_of(bc)["platformId"] == "sms-messagebird"


@pytest.mark.parametrize(
    ("uri", "path"),
    [
        ("imbrace://channels/ch_missing", f"{CHANNELS}/ch_missing"),
        ("imbrace://contacts/ct_missing", f"{CONTACTS}/ct_missing"),
        ("bird://channels/bc_missing", f"{BIRD_CHANNELS}/bc_missing"),
    ],
)
async def test_unknown_id_is_resource_not_found(
    settings: Settings, upstream: respx.MockRouter, uri: str, path: str
) -> None:
    upstream.get(path).mock(return_value=httpx.Response(404, json={"message": "not found"}))
    async with connect(settings) as c:
        with pytest.raises(MCPError) as err:
            await c.read_resource(uri)
    # SDK 2.3 maps ResourceNotFoundError to -32602 (SEP-2164; -32002 is retired) with the URI in `data`.
    assert err.value.code == INVALID_PARAMS
    assert err.value.data == {"uri": uri}
    assert "missing" in err.value.message and ("list" in err.value.message or "search" in err.value.message)


HOSTILE = [
    "..",
    "%2e%2e",
    "%2E%2E",
    ".",
    "a%2Fb",
    "a/b",
    "a%00b",
    "%2Fetc%2Fpasswd",
    "a" * 129,
    "ch%20one",
    "caf%C3%A9",
    "é",
    "ch_1%0Ax",
    "ch_1%3Fx%3D1",
    "%E2%80%8Bch_1",
    "",
]


@pytest.mark.parametrize("template", ["imbrace://channels/", "imbrace://contacts/", "bird://channels/"])
@pytest.mark.parametrize("value", HOSTILE)
async def test_hostile_template_argument_sends_nothing(
    settings: Settings, upstream: respx.MockRouter, template: str, value: str
) -> None:
    catch_all = upstream.route().mock(return_value=httpx.Response(200, json=envelope({"id": "x"})))
    async with connect(settings) as c:
        with pytest.raises(MCPError) as err:
            await c.read_resource(template + value)
    assert err.value.code == INVALID_PARAMS
    assert catch_all.call_count == 0
    assert len(upstream.calls) == 0


@pytest.mark.parametrize(
    ("status", "expected"),
    [(500, "iMBRACE failed with 500"), (401, "rejected the credentials"), (429, "rate-limiting")],
)
async def test_upstream_failure_is_a_clear_protocol_error(
    upstream: respx.MockRouter, status: int, expected: str
) -> None:
    answer = httpx.Response(
        status, json={"message": f"boom {IMBRACE_KEY}"}, headers={"retry-after": "0"} if status == 429 else {}
    )
    upstream.get(CHANNELS).mock(return_value=answer)
    upstream.get(f"{CHANNELS}/ch_1").mock(return_value=answer)
    async with connect(make_settings(timeout=2.0)) as c:
        for uri in ("imbrace://channels", "imbrace://channels/ch_1"):
            with pytest.raises(MCPError) as err:
                await c.read_resource(uri)
            assert err.value.code == INTERNAL_ERROR
            assert expected in err.value.message
            assert IMBRACE_KEY not in err.value.message and BIRD_KEY not in err.value.message
            assert "Traceback" not in err.value.message and 'File "' not in err.value.message


async def test_listing_404_points_at_the_configuration(settings: Settings, upstream: respx.MockRouter) -> None:
    upstream.get(BIRD_CHANNELS).mock(return_value=httpx.Response(404, json={"message": "workspace not found"}))
    async with connect(settings) as c:
        with pytest.raises(MCPError) as err:
            await c.read_resource("bird://channels")
    assert err.value.code == INTERNAL_ERROR
    assert "BIRD_WORKSPACE_ID" in err.value.message


async def test_secrets_masked_and_invisible_characters_stripped(settings: Settings, upstream: respx.MockRouter) -> None:
    sneaky = "Sup\u200bport \u202eevil\u202c\u2066x\u2069\ufeff"
    raw = channel(
        1,
        name=sneaky,
        config={"access_token": "wa-secret-token-123456", "note": f"key is {IMBRACE_KEY}", "greeting": "Hi\u200d!"},
    )
    upstream.get(CHANNELS).mock(side_effect=paged_by_offset([raw]))
    upstream.get(f"{CHANNELS}/ch_0001").mock(return_value=httpx.Response(200, json=envelope(raw)))
    upstream.get(CONTACTS).mock(
        side_effect=paged_by_offset([contact(1, name="An\u200b\u2067 Nguyễn")], skip_key="skip")
    )
    bird_raw = {
        **bird_channel(1, "whatsapp"),
        "name": "Bird\u2060 WA",
        "connectionParams": [{"key": "apiKey", "value": "bird-hidden-value-9999", "visibility": "private"}],
    }
    upstream.get(BIRD_CHANNELS).mock(return_value=httpx.Response(200, json={"results": [bird_raw]}))
    upstream.get(f"{BIRD_CHANNELS}/bc_001").mock(return_value=httpx.Response(200, json=bird_raw))
    async with connect(settings) as c:
        texts = [
            text_of(await c.read_resource(uri))
            for uri in (
                "imbrace://channels",
                "imbrace://channels/ch_0001",
                "imbrace://contacts",
                "bird://channels",
                "bird://channels/bc_001",
            )
        ]
    for text in texts:
        assert not has_cf(text), text
        assert not has_cf(json.loads(text).__repr__())
        for secret in ("wa-secret-token-123456", IMBRACE_KEY, BIRD_KEY, "bird-hidden-value-9999"):
            assert secret not in text
    assert json.loads(texts[0])["items"][0]["name"] == "Support evilx"
    detail = json.loads(texts[1])
    assert detail["config"]["access_token"] == "****3456"
    assert detail["config"]["greeting"] == "Hi!"
    assert json.loads(texts[2])["items"][0]["display_name"] == "An Nguyễn"
    assert json.loads(texts[3])["items"][0]["name"] == "Bird WA"


# ---------------------------------------------------------------------------------------------- completions


async def test_complete_channel_ids_by_id_or_name_prefix(settings: Settings, upstream: respx.MockRouter) -> None:
    items = [
        {"id": "ch_web_001", "name": "Website Live Chat", "type": "web"},
        {"id": "ch_whatsapp_001", "name": "WhatsApp Support VN", "type": "whatsapp"},
        {"id": "ch_email_001", "name": "Support mailbox", "type": "email"},
        {"id": "ch_line_001", "name": "LINE Official", "type": "line"},
        {"id": "bad id/../x", "name": "Website hostile", "type": "web"},
    ]
    upstream.get(CHANNELS).mock(side_effect=paged_by_offset(items))
    ref = ResourceTemplateReference(uri=CH_TEMPLATE)
    async with connect(settings) as c:
        by_id = await c.complete(ref, {"name": "channel_id", "value": "CH_W"})
        by_name = await c.complete(ref, {"name": "channel_id", "value": "web"})
        by_word = await c.complete(ref, {"name": "channel_id", "value": "support"})
        everything = await c.complete(ref, {"name": "channel_id", "value": ""})
        nothing = await c.complete(ref, {"name": "channel_id", "value": "zzz"})
    assert by_id.completion.values == ["ch_web_001", "ch_whatsapp_001"]
    assert by_name.completion.values == ["ch_web_001"]  # the id with a slash is never offered
    # a name that starts with the prefix ranks before a name with a later word that does
    assert by_word.completion.values == ["ch_email_001", "ch_whatsapp_001"]
    assert everything.completion.values == ["ch_web_001", "ch_whatsapp_001", "ch_email_001", "ch_line_001"]
    assert everything.completion.total == 4 and everything.completion.has_more is False
    assert nothing.completion.values == []


async def test_complete_is_capped_at_100(settings: Settings, upstream: respx.MockRouter) -> None:
    upstream.get(CHANNELS).mock(side_effect=paged_by_offset([channel(n) for n in range(1, 251)]))
    async with connect(settings) as c:
        result = await c.complete(ResourceTemplateReference(uri=CH_TEMPLATE), {"name": "channel_id", "value": "ch_"})
    assert len(result.completion.values) == 100
    assert result.completion.total == 250
    assert result.completion.has_more is True


async def test_complete_contacts_uses_search_and_folds_accents(settings: Settings, upstream: respx.MockRouter) -> None:
    upstream.get(CONTACTS).mock(side_effect=paged_by_offset([contact(n) for n in range(1, 61)], skip_key="skip"))
    found = [contact(101, "Nguyễn Văn An"), contact(102, "Olivia Nguyen"), contact(103, "Ngô Bảo")]
    search = upstream.get(SEARCH).mock(return_value=httpx.Response(200, json={"success": True, "data": found}))
    ref = ResourceTemplateReference(uri=CT_TEMPLATE)
    async with connect(settings) as c:
        result = await c.complete(ref, {"name": "contact_id", "value": "nguyen"})
        again = await c.complete(ref, {"name": "contact_id", "value": "NGUYEN"})
        by_id = await c.complete(ref, {"name": "contact_id", "value": "ct_005"})
    assert result.completion.values == ["ct_0101", "ct_0102"]
    assert again.completion.values == ["ct_0101", "ct_0102"]
    assert dict(search.calls[0].request.url.params) == {"q": "nguyen", "limit": "100"}
    assert search.call_count == 2  # "ct_005" searched once too; "NGUYEN" came from the memo
    assert by_id.completion.values == [f"ct_{n:04d}" for n in range(50, 51)]  # the first page holds 1..50


async def test_complete_prompt_arguments(settings: Settings, upstream: respx.MockRouter) -> None:
    upstream.get(CONTACTS).mock(side_effect=paged_by_offset([contact(1), contact(2)], skip_key="skip"))
    upstream.get(SEARCH).mock(return_value=httpx.Response(200, json={"success": True, "data": []}))
    birds = [bird_channel(1), bird_channel(2, "whatsapp"), bird_channel(3, "email-sparkpost")]
    upstream.get(BIRD_CHANNELS).mock(return_value=httpx.Response(200, json={"results": birds}))
    async with connect(settings) as c:
        contact_ids = await c.complete(PromptReference(name="contact_360"), {"name": "contact_id", "value": "ct_"})
        bird_ids = await c.complete(PromptReference(name="whatsapp_send_check"), {"name": "channel_id", "value": ""})
        bird_contact = await c.complete(
            PromptReference(name="whatsapp_send_check"), {"name": "contact_id", "value": ""}
        )
        types = await c.complete(PromptReference(name="audit_channels"), {"name": "type", "value": "W"})
        unknown = await c.complete(PromptReference(name="contact_360"), {"name": "nope", "value": ""})
    assert contact_ids.completion.values == ["ct_0001", "ct_0002"]
    assert bird_ids.completion.values == ["bc_002", "bc_001", "bc_003"]  # WhatsApp channels first
    assert bird_contact.completion.values == []  # Bird contacts have no listing in the API contract
    assert types.completion.values == ["web", "whatsapp", "wechat", "wecom"]
    assert unknown.completion.values == []


async def test_complete_offers_nothing_when_upstream_fails(settings: Settings, upstream: respx.MockRouter) -> None:
    upstream.get(CHANNELS).mock(return_value=httpx.Response(401, json={"message": "no"}))
    async with connect(settings) as c:
        result = await c.complete(ResourceTemplateReference(uri=CH_TEMPLATE), {"name": "channel_id", "value": "c"})
    assert result.completion.values == []


def test_match_ranks_id_then_name_then_word() -> None:
    candidates: list[tuple[str, str | None]] = [
        ("x_3", "Sales Team"),
        ("sa_1", None),
        ("x_2", "Đà Nẵng sales"),
        ("x_1", "Saigon"),
    ]
    assert match("sa", candidates) == ["sa_1", "x_3", "x_1", "x_2"]
    assert match("", candidates) == ["x_3", "sa_1", "x_2", "x_1"]


# ---------------------------------------------------------------------------------------------- freshness


async def test_listing_cache_two_reads_one_request_and_writes_invalidate(
    settings: Settings, upstream: respx.MockRouter
) -> None:
    items = [channel(1)]
    route = upstream.get(CHANNELS).mock(side_effect=paged_by_offset(items))
    upstream.put(f"{CHANNELS}/ch_0001").mock(return_value=httpx.Response(200, json=envelope(channel(1, name="New"))))
    ref = ResourceTemplateReference(uri=CH_TEMPLATE)
    async with connect(settings) as c:
        await c.read_resource("imbrace://channels")
        await c.read_resource("imbrace://channels")
        await c.complete(ref, {"name": "channel_id", "value": "ch"})
        assert route.call_count == 1  # resource and completions share the cached listing
        result = await c.call_tool("imbrace_update_channel", {"channel_id": "ch_0001", "name": "New"})
        assert not result.is_error
        items[0] = channel(1, name="New")
        data = data_of(await c.read_resource("imbrace://channels"))
        assert route.call_count == 2
        assert data["items"][0]["name"] == "New"


async def test_listing_cache_expires(settings: Settings, upstream: respx.MockRouter) -> None:
    now = [0.0]

    def deps_factory(s: Settings) -> Deps:
        deps = build_deps(s)
        deps.cache = ListingCache(clock=lambda: now[0])
        return deps

    route = upstream.get(BIRD_CHANNELS).mock(return_value=httpx.Response(200, json={"results": [bird_channel(1)]}))
    async with connect(settings, server_kwargs={"deps_factory": deps_factory}) as c:
        await c.read_resource("bird://channels")
        now[0] = 29.0
        await c.read_resource("bird://channels")
        assert route.call_count == 1
        now[0] = 31.0
        await c.read_resource("bird://channels")
        assert route.call_count == 2


def test_changed_uris() -> None:
    assert changed_uris("imbrace_channels", {"channel_id": "ch_1", "name": "x"}) == [
        "imbrace://channels",
        "imbrace://channels/ch_1",
    ]
    assert changed_uris("imbrace_channels", {"type": "web", "name": "x"}) == ["imbrace://channels"]
    assert changed_uris("imbrace_workflows", {"workflow_id": "wf_1", "channel_id": "ch_2"}) == [
        "imbrace://channels",
        "imbrace://channels/ch_2",
    ]
    assert changed_uris("imbrace_contacts", {"contact_id": "ct_1"}) == ["imbrace://contacts", "imbrace://contacts/ct_1"]
    assert changed_uris("imbrace_contacts", {"contact_id": "../x"}) == ["imbrace://contacts"]
    assert changed_uris("imbrace_notifications", {"notification_id": "nt_1"}) == []


async def test_write_publishes_resource_updated(settings: Settings, upstream: respx.MockRouter) -> None:
    upstream.put(f"{CHANNELS}/ch_0001").mock(return_value=httpx.Response(200, json=envelope(channel(1))))
    upstream.get(f"{CHANNELS}/ch_0001").mock(return_value=httpx.Response(200, json=envelope(channel(1))))
    async with connect(settings) as c:
        assert c.server_capabilities.resources is not None and c.server_capabilities.resources.subscribe
        async with c.listen(resource_subscriptions=["imbrace://channels/ch_0001", "imbrace://contacts"]) as sub:
            await c.call_tool("imbrace_get_channel", {"channel_id": "ch_0001"})  # a read announces nothing
            result = await c.call_tool("imbrace_update_channel", {"channel_id": "ch_0001", "active": False})
            assert not result.is_error
            with anyio.fail_after(5):
                event = await sub.__anext__()
    assert event == ResourceUpdated(uri="imbrace://channels/ch_0001")


async def test_failed_write_announces_nothing(settings: Settings, upstream: respx.MockRouter) -> None:
    upstream.put(f"{CHANNELS}/ch_0001").mock(return_value=httpx.Response(400, json={"message": "bad"}))
    upstream.put(f"{CHANNELS}/ch_0002").mock(return_value=httpx.Response(200, json=envelope(channel(2))))
    uris = ["imbrace://channels/ch_0001", "imbrace://channels/ch_0002"]
    async with connect(settings) as c, c.listen(resource_subscriptions=uris) as sub:
        assert (await c.call_tool("imbrace_update_channel", {"channel_id": "ch_0001", "active": False})).is_error
        assert not (await c.call_tool("imbrace_update_channel", {"channel_id": "ch_0002", "active": False})).is_error
        with anyio.fail_after(5):
            event = await sub.__anext__()
    assert event == ResourceUpdated(uri="imbrace://channels/ch_0002")  # the first event is the successful write


async def test_legacy_handshake_client(settings: Settings, upstream: respx.MockRouter) -> None:
    """The handshake-era wire (stream runner, one lifespan per connection) serves the same surface."""
    upstream.get(CHANNELS).mock(side_effect=paged_by_offset([channel(1)]))
    async with connect(settings, mode="legacy") as c:
        assert c.protocol_version != "2026-07-28"
        data = data_of(await c.read_resource("imbrace://channels"))
        done = await c.complete(ResourceTemplateReference(uri=CH_TEMPLATE), {"name": "channel_id", "value": "ch"})
        with pytest.raises(MCPError) as err:
            await c.read_resource("imbrace://channels/%2e%2e")
    assert data["count"] == 1
    assert done.completion.values == ["ch_0001"]
    assert err.value.code == INVALID_PARAMS


# ---------------------------------------------------------------------------------------------- prompts


def prompt_text(result: Any) -> str:
    assert len(result.messages) == 1 and result.messages[0].role == "user"
    content = result.messages[0].content
    assert isinstance(content, TextContent)
    return content.text


async def test_prompts_list(settings: Settings, upstream: respx.MockRouter) -> None:
    async with connect(settings) as c:
        prompts = {p.name: p for p in (await c.list_prompts()).prompts}
    assert set(prompts) == {"audit_channels", "contact_360", "whatsapp_send_check"}
    args = {name: [(a.name, a.required) for a in p.arguments or []] for name, p in prompts.items()}
    assert args == {
        "audit_channels": [("type", False)],
        "contact_360": [("contact_id", True)],
        "whatsapp_send_check": [("channel_id", True), ("contact_id", True)],
    }
    assert all(p.description and p.title for p in prompts.values())
    assert all(a.description for p in prompts.values() for a in p.arguments or [])


async def test_prompts_get(settings: Settings, upstream: respx.MockRouter) -> None:
    async with connect(settings) as c:
        audit = prompt_text(await c.get_prompt("audit_channels", {}))
        audit_web = prompt_text(await c.get_prompt("audit_channels", {"type": "whatsapp"}))
        c360 = prompt_text(await c.get_prompt("contact_360", {"contact_id": "ct_0001"}))
        wa = prompt_text(await c.get_prompt("whatsapp_send_check", {"channel_id": "bc_1", "contact_id": "bct_9"}))
    assert len(upstream.calls) == 0  # prompts are instructions; the model makes the calls
    for name in ("imbrace_list_channels", "bird_list_channels", "imbrace_update_channel", "imbrace_get_channel"):
        assert f"`{name}`" in audit
    assert "failed" in audit and "inactive" in audit and "ask the user" in audit
    assert "type=`whatsapp`" in audit_web
    for name in (
        "imbrace_get_contact",
        "imbrace_list_contact_conversations",
        "imbrace_list_contact_comments",
        "imbrace_list_contact_files",
        "imbrace_list_conversation_activities",
    ):
        assert f"`{name}`" in c360
    assert "`ct_0001`" in c360 and "not as instructions" not in c360 and "never as instructions" in c360
    assert "`bird_check_service_window`" in wa and "`bc_1`" in wa and "`bct_9`" in wa and "template" in wa
    assert "not enabled" not in audit + c360 + wa


async def test_prompts_name_only_enabled_tools(upstream: respx.MockRouter) -> None:
    async with connect(make_settings(read_only=True, toolsets=["imbrace_channels"])) as c:
        audit = prompt_text(await c.get_prompt("audit_channels", {}))
        wa = prompt_text(await c.get_prompt("whatsapp_send_check", {"channel_id": "bc_1", "contact_id": "x"}))
    assert "write tools are not enabled" in audit
    assert "`imbrace_update_channel`" not in audit
    assert "`bird_list_channels` (not enabled on this server" in audit
    assert "`bird_check_service_window` (not enabled on this server" in wa


async def test_audit_prompt_covers_only_configured_providers(upstream: respx.MockRouter) -> None:
    async with connect(make_settings(imbrace_api_key=None)) as c:
        audit = prompt_text(await c.get_prompt("audit_channels", {}))
    assert "`bird_list_channels`" in audit and "failed" in audit
    assert "imbrace" not in audit.lower()


@pytest.mark.parametrize(
    ("name", "arguments"),
    [
        ("contact_360", {"contact_id": "../etc"}),
        ("contact_360", {"contact_id": "a/b"}),
        ("contact_360", {"contact_id": "x" * 129}),
        ("contact_360", {"contact_id": "ct_1\u200b"}),
        ("whatsapp_send_check", {"channel_id": "..", "contact_id": "c1"}),
        ("whatsapp_send_check", {"channel_id": "bc_1", "contact_id": "%2e%2e"}),
        ("audit_channels", {"type": "sms"}),
    ],
)
async def test_prompt_arguments_are_validated(
    settings: Settings, upstream: respx.MockRouter, name: str, arguments: dict[str, str]
) -> None:
    async with connect(settings) as c:
        with pytest.raises(MCPError) as err:
            await c.get_prompt(name, arguments)
    assert err.value.code == INVALID_PARAMS
    assert "Invalid" in err.value.message
    assert len(upstream.calls) == 0


# ---------------------------------------------------------------------------------------------- sandbox


@pytest.fixture
def sandbox_settings() -> Settings:
    return Settings(sandbox=True)


async def test_sandbox_resources_end_to_end(sandbox_settings: Settings) -> None:
    async with connect(sandbox_settings) as c:
        assert {str(r.uri) for r in (await c.list_resources()).resources} == {
            "imbrace://channels",
            "imbrace://contacts",
            "bird://channels",
        }
        channels = data_of(await c.read_resource("imbrace://channels"))
        contacts = data_of(await c.read_resource("imbrace://contacts"))
        birds = data_of(await c.read_resource("bird://channels"))
        one = data_of(await c.read_resource("imbrace://channels/ch_whatsapp_001"))
        person = data_of(await c.read_resource("imbrace://contacts/ct_0001"))
        bird = data_of(await c.read_resource("bird://channels/b12d0000-0000-4000-8000-000000000001"))
        with pytest.raises(MCPError) as err:
            await c.read_resource("imbrace://channels/ch_web_999")
    assert channels["count"] == 14 and channels["inactive"] == 5
    assert {"id": "ch_web_002", "name": "Help Center Widget (staging)", "type": "web", "active": False} in channels[
        "items"
    ]
    assert contacts["count"] == 50 and contacts["total"] == 240
    assert contacts["read_more"]["arguments"]["skip"] == 50
    assert birds["count"] == 28 and "read_more" not in birds
    assert {i["status"] for i in birds["items"]} >= {"active", "failed", "pending", "warning"}
    assert one["id"] == "ch_whatsapp_001" and one["is_active"] is True
    assert person["display_name"] == "Nguyễn Văn An"
    assert bird["platformId"] == "whatsapp"
    assert err.value.code == INVALID_PARAMS
    for text in (json.dumps(one), json.dumps(bird)):
        # Bird connection parameters and WhatsApp tokens come back masked
        assert not re.search(r'"(access_?[tT]oken|apiKey)":\s*"(?!\*\*\*\*)', text)


async def test_sandbox_completions_and_prompts(sandbox_settings: Settings) -> None:
    ch_ref = ResourceTemplateReference(uri=CH_TEMPLATE)
    async with connect(sandbox_settings) as c:
        wa = await c.complete(ch_ref, {"name": "channel_id", "value": "ch_wh"})
        by_name = await c.complete(ch_ref, {"name": "channel_id", "value": "website"})
        people = await c.complete(ResourceTemplateReference(uri=CT_TEMPLATE), {"name": "contact_id", "value": "Nguy"})
        birds = await c.complete(ResourceTemplateReference(uri=BIRD_TEMPLATE), {"name": "channel_id", "value": "b12"})
        sms = await c.complete(ResourceTemplateReference(uri=BIRD_TEMPLATE), {"name": "channel_id", "value": "sms"})
        audit = prompt_text(await c.get_prompt("audit_channels", {}))
    assert wa.completion.values == ["ch_whatsapp_001", "ch_whatsapp_002", "ch_whatsapp_003"]
    assert by_name.completion.values == ["ch_web_001"]
    assert people.completion.values[0] == "ct_0001"
    assert birds.completion.total == 28
    assert sms.completion.values and all(v.startswith("b12d0000-") for v in sms.completion.values)
    assert "`imbrace_list_channels`" in audit


async def test_sandbox_write_refreshes_listing(sandbox_settings: Settings) -> None:
    async with connect(sandbox_settings) as c:
        before = data_of(await c.read_resource("imbrace://channels"))
        assert {"id": "ch_web_002", "name": "Help Center Widget (staging)", "type": "web", "active": False} in before[
            "items"
        ]
        result = await c.call_tool("imbrace_update_channel", {"channel_id": "ch_web_002", "active": True})
        assert not result.is_error
        after = data_of(await c.read_resource("imbrace://channels"))
    row = next(i for i in after["items"] if i["id"] == "ch_web_002")
    assert row["active"] is True
    assert after["inactive"] == before["inactive"] - 1


SAFE_ID = re.compile(r"[A-Za-z0-9_\-.:]{1,128}")


@pytest.mark.parametrize(
    ("template", "upstream_path"),
    [
        ("imbrace://channels/", "/channel-service/v1/channels/"),
        ("imbrace://contacts/", "/channel-service/v1/contacts/"),
        ("bird://channels/", f"/workspaces/{WS}/channels/"),
    ],
)
@hsettings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.text(max_size=140))
async def test_random_template_ids_are_encoded_or_refused(template: str, upstream_path: str, value: str) -> None:
    """Property: any id is either sent percent-encoded to the intended path, or refused with zero requests."""
    with respx.mock(assert_all_called=False) as router:
        route = router.route().mock(
            return_value=httpx.Response(200, json={"success": True, "data": {"id": "x"}, "id": "x"})
        )
        async with connect(make_settings()) as c:
            try:
                await c.read_resource(template + quote(value, safe=""))
                answered = True
            except MCPError:
                answered = False
        if SAFE_ID.fullmatch(value) and value not in (".", ".."):
            assert answered and route.call_count == 1
            assert route.calls.last.request.url.raw_path.decode().endswith(upstream_path + quote(value, safe=""))
        else:
            assert not answered and route.call_count == 0
