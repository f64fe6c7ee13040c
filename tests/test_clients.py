"""The SDK layer on its own: every ImbraceClient and BirdClient method against respx routes, at the method
and path the contract gives (tests/contract.py, shared with the tool-request tests)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import respx
from pydantic import SecretStr

from channel_mcp.bird.client import BirdClient
from channel_mcp.errors import ConfigError, InputError, NotFoundError
from channel_mcp.imbrace.client import ImbraceClient
from channel_mcp.imbrace.models import Channel, Contact
from channel_mcp.models import ActionResult, Page
from tests.conftest import BIRD, IMBRACE, envelope, paged
from tests.contract import CONTRACT

CH = {"id": "ch_1", "name": "Support", "type": "web", "brand_new_field": {"x": 1}}
C = ImbraceClient
Call = Callable[[ImbraceClient], Awaitable[Any]]

# method call, the tool whose contract request it sends, the arguments that fill that request's path (and
# pick its variant), the call, query, JSON body (None = no body, "multipart" = an upload), answer. The method
# and path come from the contract (tests/contract.py), as for the tool-request tests.
IMBRACE_CASES: list[tuple[str, str, dict[str, str], Call, dict[str, str], Any, Any]] = [
    (
        "channel.list",
        "imbrace_list_channels",
        {},
        lambda c: c.channel.list(type="web", limit=5),
        {"type": "web", "limit": "5"},
        None,
        paged([CH], limit=5, total=7),
    ),
    (
        "channel.get",
        "imbrace_get_channel",
        {"channel_id": "ch_1"},
        lambda c: c.channel.get("ch_1"),
        {},
        None,
        envelope(CH),
    ),
    (
        "channel.get_count",
        "imbrace_count_channels",
        {},
        lambda c: c.channel.get_count(),
        {},
        None,
        envelope({"count": 3}),
    ),
    (
        "channel.create",
        "imbrace_create_channel",
        {},
        lambda c: c.channel.create(type="web", name="A", config={"k": 1}),
        {},
        {"type": "web", "name": "A", "config": {"k": 1}},
        envelope(CH),
    ),
    (
        "channel.update",
        "imbrace_update_channel",
        {"channel_id": "ch_1"},
        lambda c: c.channel.update("ch_1", name="B"),
        {},
        {"name": "B"},
        envelope(CH),
    ),
    (
        "channel.delete",
        "imbrace_delete_channel",
        {"channel_id": "ch_1"},
        lambda c: c.channel.delete("ch_1"),
        {},
        None,
        envelope({}),
    ),
    (
        "channel.delete_v3",
        "imbrace_delete_channel",
        {"channel_id": "ch_1", "api_version": "v3"},
        lambda c: c.channel.delete_v3("ch_1"),
        {},
        None,
        None,
    ),
    (
        "channel.create_web",
        "imbrace_create_web_channel",
        {},
        lambda c: c.channel.create_web("W"),
        {},
        {"name": "W"},
        envelope(CH),
    ),
    (
        "channel.create_facebook",
        "imbrace_create_facebook_channel",
        {},
        lambda c: c.channel.create_facebook(page_id="p", credential_id="cr", name="F"),
        {},
        {"page_id": "p", "credential_id": "cr", "name": "F"},
        envelope(CH),
    ),
    (
        "channel.update_facebook",
        "imbrace_update_facebook_channel",
        {},
        lambda c: c.channel.update_facebook("ch_1", page_id="p2"),
        {},
        {"channel_id": "ch_1", "page_id": "p2"},
        envelope(CH),
    ),
    (
        "channel.create_instagram",
        "imbrace_create_instagram_channel",
        {},
        lambda c: c.channel.create_instagram("I"),
        {},
        {"name": "I"},
        envelope(CH),
    ),
    (
        "channel.create_email",
        "imbrace_create_email_channel",
        {},
        lambda c: c.channel.create_email("a@b.co", name="E"),
        {},
        {"email": "a@b.co", "name": "E"},
        envelope(CH),
    ),
    (
        "channel.create_wechat",
        "imbrace_create_wechat_channel",
        {},
        lambda c: c.channel.create_wechat("W", config={}),
        {},
        {"name": "W", "config": {}},
        envelope(CH),
    ),
    (
        "channel.create_line",
        "imbrace_create_line_channel",
        {},
        lambda c: c.channel.create_line("L"),
        {},
        {"name": "L"},
        envelope(CH),
    ),
    (
        "channel.create_whatsapp",
        "imbrace_create_whatsapp_channel",
        {},
        lambda c: c.channel.create_whatsapp(phone_number_id="1", access_token=SecretStr("tok-abc-123456")),
        {},
        {"phone_number_id": "1", "access_token": "tok-abc-123456"},
        envelope(CH),
    ),
    (
        "channel.update_whatsapp",
        "imbrace_update_whatsapp_channel",
        {},
        lambda c: c.channel.update_whatsapp("ch_1", name="N"),
        {},
        {"channel_id": "ch_1", "name": "N"},
        envelope(CH),
    ),
    (
        "channel.get_facebook_pages",
        "imbrace_list_facebook_pages",
        {"credential_id": "cr"},
        lambda c: c.channel.get_facebook_pages("cr"),
        {},
        None,
        envelope([{"id": "p"}]),
    ),
    (
        "channel.get_credential",
        "imbrace_get_credential",
        {"credential_id": "cr"},
        lambda c: c.channel.get_credential("cr"),
        {},
        None,
        envelope({"id": "cr"}),
    ),
    (
        "channel.update_credential",
        "imbrace_update_credential",
        {"credential_id": "cr"},
        lambda c: c.channel.update_credential("cr", name="n"),
        {},
        {"name": "n"},
        envelope({"id": "cr"}),
    ),
    (
        "channel.delete_credential",
        "imbrace_delete_credential",
        {"credential_id": "cr"},
        lambda c: c.channel.delete_credential("cr"),
        {},
        None,
        envelope({}),
    ),
    (
        "channel.update_channel_workflow",
        "imbrace_update_channel_workflow",
        {"workflow_id": "wf"},
        lambda c: c.channel.update_channel_workflow("wf", channel_id="ch_1"),
        {},
        {"channel_id": "ch_1"},
        envelope({}),
    ),
    (
        "channel.delete_channel_workflow",
        "imbrace_delete_channel_workflow",
        {"workflow_id": "wf"},
        lambda c: c.channel.delete_channel_workflow("wf"),
        {},
        None,
        envelope({}),
    ),
    (
        "channel.list_assignable_teams",
        "imbrace_list_assignable_teams",
        {},
        lambda c: c.channel.list_assignable_teams(),
        {},
        None,
        envelope([{"id": "t"}]),
    ),
    (
        "channel.list_team_observers",
        "imbrace_list_team_observers",
        {"team_id": "t"},
        lambda c: c.channel.list_team_observers("t"),
        {},
        None,
        envelope([{"id": "u"}]),
    ),
    (
        "contacts.list",
        "imbrace_list_contacts",
        {},
        lambda c: c.contacts.list(limit=2, skip=4),
        {"limit": "2", "skip": "4"},
        None,
        paged([{"id": "a"}, {"id": "b"}], limit=2, total=9),
    ),
    (
        "contacts.get",
        "imbrace_get_contact",
        {"contact_id": "a"},
        lambda c: c.contacts.get("a"),
        {},
        None,
        envelope({"id": "a"}),
    ),
    (
        "contacts.update",
        "imbrace_update_contact",
        {"contact_id": "a"},
        lambda c: c.contacts.update("a", phone="+15550001"),
        {},
        {"phone": "+15550001"},
        envelope({"id": "a"}),
    ),
    (
        "contacts.search",
        "imbrace_search_contacts",
        {},
        lambda c: c.contacts.search("lin", limit=3),
        {"q": "lin", "limit": "3"},
        None,
        paged([{"id": "a"}]),
    ),
    (
        "contacts.export_csv",
        "imbrace_export_contacts_csv",
        {},
        lambda c: c.contacts.export_csv(sort="name"),
        {"sort": "name"},
        None,
        "id\n1\n",
    ),
    (
        "contacts.get_conversations",
        "imbrace_list_contact_conversations",
        {"contact_id": "a"},
        lambda c: c.contacts.get_conversations("a", channel_types=["line"]),
        {"channel_types": "line"},
        None,
        envelope([{"id": "cv"}]),
    ),
    (
        "contacts.get_comments",
        "imbrace_list_contact_comments",
        {"contact_id": "a"},
        lambda c: c.contacts.get_comments("a", skip=1),
        {"skip": "1"},
        None,
        paged([]),
    ),
    (
        "contacts.get_files",
        "imbrace_list_contact_files",
        {"contact_id": "a"},
        lambda c: c.contacts.get_files("a"),
        {},
        None,
        envelope([]),
    ),
    (
        "contacts.get_activities",
        "imbrace_list_conversation_activities",
        {"conversation_id": "cv"},
        lambda c: c.contacts.get_activities("cv"),
        {},
        None,
        envelope([]),
    ),
    (
        "contacts.upload_contacts",
        "imbrace_upload_contact_file",
        {},
        lambda c: c.contacts.upload_contacts("a.png", b"\x89PNG", content_type="image/png"),
        {},
        "multipart",
        envelope({"url": "https://x.test/a.png"}),
    ),
    # No tool of its own: the SDK's avatar upload is the same request as imbrace_upload_contact_file's.
    (
        "contacts.upload_avatar",
        "imbrace_upload_contact_file",
        {},
        lambda c: c.contacts.upload_avatar("b.png", b"\x89PNG"),
        {},
        "multipart",
        envelope("https://x.test/b.png"),
    ),
    (
        "contacts.list_notifications",
        "imbrace_list_notifications",
        {},
        lambda c: c.contacts.list_notifications(limit=1),
        {"limit": "1"},
        None,
        {"data": [{"id": "n"}], "total": 5, "has_more": True},
    ),
    (
        "contacts.mark_notifications_read",
        "imbrace_mark_notifications_read",
        {},
        lambda c: c.contacts.mark_notifications_read(["n"]),
        {},
        {"notification_id": ["n"]},
        envelope({}),
    ),
    (
        "contacts.mark_notifications_read(all)",
        "imbrace_mark_notifications_read",
        {},
        lambda c: c.contacts.mark_notifications_read(),
        {},
        None,
        envelope({}),
    ),
    (
        "contacts.dismiss_notification",
        "imbrace_dismiss_notification",
        {},
        lambda c: c.contacts.dismiss_notification("n"),
        {},
        {"notification_id": "n"},
        envelope({}),
    ),
    (
        "contacts.dismiss_all_notifications",
        "imbrace_dismiss_all_notifications",
        {},
        lambda c: c.contacts.dismiss_all_notifications(),
        {},
        None,
        envelope({}),
    ),
]


@pytest.mark.parametrize(
    ("label", "tool", "params", "invoke", "query", "body", "answer"),
    IMBRACE_CASES,
    ids=[c[0] for c in IMBRACE_CASES],
)
@respx.mock
async def test_imbrace_method(
    label: str, tool: str, params: dict[str, str], invoke: Call, query: dict[str, str], body: Any, answer: Any
) -> None:
    assert CONTRACT[tool].provider == "imbrace"
    expected = CONTRACT[tool].request(params)
    kwargs: dict[str, Any] = (
        {"text": answer, "headers": {"content-type": "text/csv"}} if isinstance(answer, str) else {"json": answer}
    )
    route = respx.route(method=expected.method, url=IMBRACE + expected.url_path(params)).respond(200, **kwargs)
    async with ImbraceClient(api_key="k-123", organization_id="org-9", gateway_url="https://imbrace.test") as c:
        result = await invoke(c)
    request = route.calls.last.request
    assert route.call_count == 1
    assert dict(request.url.params) == query
    assert set(query) <= set(expected.query), f"{label} sends query parameters the contract does not name"
    assert request.headers["x-api-key"] == "k-123"
    assert request.headers["x-organization-id"] == "org-9"
    assert (body == "multipart") == (expected.form is not None)
    if expected.form is not None:
        assert f'name="{expected.form}"'.encode() in request.content
    elif body is None:
        assert request.content == b""
        assert not expected.required_body, f"{label} sent no body; the contract requires {expected.required_body}"
    else:
        sent = json.loads(request.content)
        assert sent == body
        assert expected.required_body <= set(sent) <= expected.body_fields, f"{label} body is not the contract's"
    assert result is not None


@respx.mock
async def test_models_are_typed_and_tolerate_drift() -> None:
    respx.get(f"{IMBRACE}/v1/channels").respond(200, json=paged([CH, {"_id": "ch_2"}], limit=2, total=5))
    async with ImbraceClient(api_key="k", gateway_url="https://imbrace.test") as c:
        page = await c.channel.list(limit=2)
    assert isinstance(page, Page) and all(isinstance(x, Channel) for x in page.items)
    assert page.items[0].model_extra == {"brand_new_field": {"x": 1}}
    assert page.items[1].id == "ch_2" and page.items[1].name is None
    assert page.total == 5 and page.has_more and page.next == {"offset": 2}


@respx.mock
async def test_contacts_can_be_walked_to_the_end() -> None:
    people = [{"id": f"ct_{i}", "name": f"P{i}"} for i in range(7)]

    def answer(request: Any) -> Any:
        import httpx

        skip, limit = int(request.url.params.get("skip", 0)), int(request.url.params["limit"])
        return httpx.Response(
            200, json=paged(people[skip : skip + limit], limit=limit, total=7, page=skip // limit + 1)
        )

    respx.get(f"{IMBRACE}/v1/contacts").mock(side_effect=answer)
    seen: list[Contact] = []
    async with ImbraceClient(api_key="k", gateway_url="https://imbrace.test") as c:
        skip = 0
        while True:
            page = await c.contacts.list(limit=3, skip=skip)
            seen.extend(page.items)
            if not page.next:
                break
            skip = int(page.next["skip"])
    assert [p.id for p in seen] == [p["id"] for p in people]


@respx.mock
async def test_access_token_auth_and_env_gateways() -> None:
    route = respx.get("https://app-gateway.sandbox.imbrace.co/channel-service/v1/channels/_count").respond(
        200, json={"count": 1}
    )
    async with ImbraceClient(access_token="tok", organization_id="o", env="sandbox") as c:
        assert (await c.channel.get_count()).count == 1
    assert route.calls.last.request.headers["x-access-token"] == "tok"
    with pytest.raises(ConfigError):
        ImbraceClient()
    with pytest.raises(ConfigError):
        ImbraceClient(api_key="k", env="moon")


async def test_invalid_arguments_never_reach_the_network() -> None:
    with respx.mock(assert_all_mocked=True) as router:
        async with ImbraceClient(api_key="k", gateway_url="https://imbrace.test") as c:
            for bad in ("..", "a/b", ""):
                with pytest.raises(InputError):
                    await c.channel.get(bad)
            with pytest.raises(InputError):
                await c.channel.update("ch_1")
            with pytest.raises(InputError):
                await c.contacts.mark_notifications_read(["ok", "../x"])
        assert router.calls.call_count == 0


BIRD_CH = {
    "id": "bc_1",
    "name": "WA",
    "status": "active",
    "settings": [
        {"key": "apiSecret", "value": "very-secret-value-0042", "visibility": "private"},
        {"key": "region", "value": "eu", "visibility": "public"},
    ],
    "connectionParams": [{"key": "token", "value": "abc-secret-9999", "visibility": "hidden"}],
}
BirdCall = Callable[[BirdClient], Awaitable[Any]]

# method call, tool, the arguments that fill the contract path ({ws} defaults to the client's "ws1"), the
# call, query, answer. Bird requests carry no body.
BIRD_CASES: list[tuple[str, str, dict[str, str], BirdCall, dict[str, str], Any]] = [
    (
        "channels.list",
        "bird_list_channels",
        {},
        lambda b: b.channels.list(limit=5, page_token="t2"),
        {"limit": "5", "pageToken": "t2"},
        {"results": [BIRD_CH], "nextPageToken": None},
    ),
    (
        "channels.list(workspace_id)",
        "bird_list_channels",
        {"workspace_id": "ws-2"},
        lambda b: b.channels.list(workspace_id="ws-2"),
        {},
        {"results": []},
    ),
    ("channels.get", "bird_get_channel", {"channel_id": "bc_1"}, lambda b: b.channels.get("bc_1"), {}, BIRD_CH),
    (
        "channels.get_contact",
        "bird_check_service_window",
        {"channel_id": "bc_1", "contact_id": "x"},
        lambda b: b.channels.get_contact("bc_1", "x"),
        {},
        {"serviceWindowExpireAt": None, "isPermanentSession": True},
    ),
]


@pytest.mark.parametrize(
    ("label", "tool", "params", "invoke", "query", "answer"), BIRD_CASES, ids=[c[0] for c in BIRD_CASES]
)
@respx.mock
async def test_bird_method(
    label: str, tool: str, params: dict[str, str], invoke: BirdCall, query: dict[str, str], answer: Any
) -> None:
    assert CONTRACT[tool].provider == "bird"
    expected = CONTRACT[tool].request(params)
    route = respx.route(method=expected.method, url=BIRD + expected.url_path(params, workspace="ws1"))
    route.respond(200, json=answer)
    async with BirdClient(access_key="ak-1", workspace_id="ws1", api_url=BIRD) as bird:
        result = await invoke(bird)
    assert route.call_count == 1
    request = route.calls.last.request
    assert dict(request.url.params) == query
    assert set(query) <= set(expected.query), f"{label} sends query parameters the contract does not name"
    assert request.headers["authorization"] == "AccessKey ak-1" and "x-api-key" not in request.headers
    assert request.content == b"" and not expected.body
    assert result is not None


def test_every_contract_request_has_a_client_case() -> None:
    """Each request the contract names is sent by some client method (the SDK layer under every tool)."""
    sent = {(tool, CONTRACT[tool].request(params)) for _, tool, params, *_ in IMBRACE_CASES}
    sent |= {(tool, CONTRACT[tool].request(params)) for _, tool, params, *_ in BIRD_CASES}
    assert sent == {(t.name, req) for t in CONTRACT.values() for req in t.requests}


@respx.mock
async def test_bird_channels_paging_masking_and_auth() -> None:
    route = respx.get(f"{BIRD}/workspaces/ws1/channels")
    route.side_effect = [
        __import__("httpx").Response(200, json={"results": [BIRD_CH], "nextPageToken": "t2"}),
        __import__("httpx").Response(200, json={"results": [{"id": "bc_2"}], "nextPageToken": None}),
    ]
    async with BirdClient(access_key="ak-1", workspace_id="ws1", api_url=BIRD) as bird:
        first = await bird.channels.list(limit=1)
        second = await bird.channels.list(limit=1, page_token=str(first.next["page_token"]))  # type: ignore[index]
    assert first.next == {"page_token": "t2"} and second.next is None and not second.has_more
    assert route.calls[0].request.headers["authorization"] == "AccessKey ak-1"
    assert dict(route.calls[1].request.url.params) == {"limit": "1", "pageToken": "t2"}
    dumped = json.dumps(first.model_dump())
    assert "very-secret-value-0042" not in dumped and "abc-secret-9999" not in dumped
    assert "****0042" in dumped and '"eu"' in dumped
    assert first.items[0].status == "active"


@respx.mock
async def test_bird_new_status_leaves_the_item_out_with_its_id() -> None:
    """A status outside the documented enum does not fit the model: the page keeps the others and says
    which one could not be read (bird_get_channel then shows it as sent)."""
    odd = {**BIRD_CH, "id": "bc_odd", "status": "brand-new-status"}
    respx.get(f"{BIRD}/workspaces/ws1/channels").respond(200, json={"results": [BIRD_CH, odd]})
    respx.get(f"{BIRD}/workspaces/ws1/channels/bc_odd").respond(200, json=odd)
    async with BirdClient(access_key="ak-1", workspace_id="ws1", api_url=BIRD) as bird:
        page = await bird.channels.list()
        one = await bird.channels.get("bc_odd")
    assert [c.id for c in page.items] == ["bc_1"]
    assert page.unreadable is not None and page.unreadable.ids == ["bc_odd"]
    assert one.shape_note and one.unexpected == {"status": "brand-new-status"}
    dumped = json.dumps(one.model_dump(mode="json", exclude_none=True))
    assert "abc-secret-9999" not in dumped


@respx.mock
async def test_bird_get_contact_and_errors() -> None:
    respx.get(f"{BIRD}/workspaces/ws1/channels/bc_1/contacts/x").respond(
        200, json={"serviceWindowExpireAt": "2026-01-01T00:00:00Z", "isPermanentSession": False}
    )
    respx.get(f"{BIRD}/workspaces/ws1/channels/nope").respond(404, json={"code": "NotFound", "message": "no"})
    async with BirdClient(access_key="ak", workspace_id="ws1", api_url=BIRD) as bird:
        contact = await bird.channels.get_contact("bc_1", "x")
        assert contact.serviceWindowExpireAt == "2026-01-01T00:00:00Z"
        with pytest.raises(NotFoundError):
            await bird.channels.get("nope")
        with pytest.raises(InputError, match="limit"):
            await bird.channels.list(limit=101)
    async with BirdClient(access_key="ak", api_url=BIRD) as bird:
        with pytest.raises(InputError, match="BIRD_WORKSPACE_ID"):
            await bird.channels.list()


def test_action_result_shape() -> None:
    assert ActionResult(ok=True, message="m").model_dump(exclude_none=True) == {"ok": True, "message": "m"}
