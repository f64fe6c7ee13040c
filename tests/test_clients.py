"""The SDK layer on its own: every ImbraceClient and BirdClient method against respx routes."""

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

CH = {"id": "ch_1", "name": "Support", "type": "web", "brand_new_field": {"x": 1}}
C = ImbraceClient
Call = Callable[[ImbraceClient], Awaitable[Any]]

# method call, HTTP method, path, query, JSON body (None = no body), answer
IMBRACE_CASES: list[tuple[str, Call, str, str, dict[str, str], Any, Any]] = [
    (
        "channel.list",
        lambda c: c.channel.list(type="web", limit=5),
        "GET",
        "/v1/channels",
        {"type": "web", "limit": "5"},
        None,
        paged([CH], limit=5, total=7),
    ),
    ("channel.get", lambda c: c.channel.get("ch_1"), "GET", "/v1/channels/ch_1", {}, None, envelope(CH)),
    (
        "channel.get_count",
        lambda c: c.channel.get_count(),
        "GET",
        "/v1/channels/_count",
        {},
        None,
        envelope({"count": 3}),
    ),
    (
        "channel.create",
        lambda c: c.channel.create(type="web", name="A", config={"k": 1}),
        "POST",
        "/v1/channels",
        {},
        {"type": "web", "name": "A", "config": {"k": 1}},
        envelope(CH),
    ),
    (
        "channel.update",
        lambda c: c.channel.update("ch_1", name="B"),
        "PUT",
        "/v1/channels/ch_1",
        {},
        {"name": "B"},
        envelope(CH),
    ),
    ("channel.delete", lambda c: c.channel.delete("ch_1"), "DELETE", "/v1/channels/ch_1", {}, None, envelope({})),
    ("channel.delete_v3", lambda c: c.channel.delete_v3("ch_1"), "DELETE", "/v3/channels/ch_1", {}, None, None),
    (
        "channel.create_web",
        lambda c: c.channel.create_web("W"),
        "POST",
        "/v1/channels/_web",
        {},
        {"name": "W"},
        envelope(CH),
    ),
    (
        "channel.create_facebook",
        lambda c: c.channel.create_facebook(page_id="p", credential_id="cr", name="F"),
        "POST",
        "/v3/channels/_facebook",
        {},
        {"page_id": "p", "credential_id": "cr", "name": "F"},
        envelope(CH),
    ),
    (
        "channel.update_facebook",
        lambda c: c.channel.update_facebook("ch_1", page_id="p2"),
        "PUT",
        "/v2/channels/_facebook",
        {},
        {"channel_id": "ch_1", "page_id": "p2"},
        envelope(CH),
    ),
    (
        "channel.create_instagram",
        lambda c: c.channel.create_instagram("I"),
        "POST",
        "/v1/channels/_instagram",
        {},
        {"name": "I"},
        envelope(CH),
    ),
    (
        "channel.create_email",
        lambda c: c.channel.create_email("a@b.co", name="E"),
        "POST",
        "/v1/channels/_email",
        {},
        {"email": "a@b.co", "name": "E"},
        envelope(CH),
    ),
    (
        "channel.create_wechat",
        lambda c: c.channel.create_wechat("W", config={}),
        "POST",
        "/v1/channels/_wechat",
        {},
        {"name": "W", "config": {}},
        envelope(CH),
    ),
    (
        "channel.create_line",
        lambda c: c.channel.create_line("L"),
        "POST",
        "/v1/channels/_line",
        {},
        {"name": "L"},
        envelope(CH),
    ),
    (
        "channel.create_whatsapp",
        lambda c: c.channel.create_whatsapp(phone_number_id="1", access_token=SecretStr("tok-abc-123456")),
        "POST",
        "/v1/channels/_whatsapp",
        {},
        {"phone_number_id": "1", "access_token": "tok-abc-123456"},
        envelope(CH),
    ),
    (
        "channel.update_whatsapp",
        lambda c: c.channel.update_whatsapp("ch_1", name="N"),
        "PUT",
        "/v2/channels/_whatsapp",
        {},
        {"channel_id": "ch_1", "name": "N"},
        envelope(CH),
    ),
    (
        "channel.get_facebook_pages",
        lambda c: c.channel.get_facebook_pages("cr"),
        "GET",
        "/v1/channels/_facebook/credential/cr",
        {},
        None,
        envelope([{"id": "p"}]),
    ),
    (
        "channel.get_credential",
        lambda c: c.channel.get_credential("cr"),
        "GET",
        "/v1/channels/credentials/cr",
        {},
        None,
        envelope({"id": "cr"}),
    ),
    (
        "channel.update_credential",
        lambda c: c.channel.update_credential("cr", name="n"),
        "PUT",
        "/v1/channels/credentials/cr",
        {},
        {"name": "n"},
        envelope({"id": "cr"}),
    ),
    (
        "channel.delete_credential",
        lambda c: c.channel.delete_credential("cr"),
        "DELETE",
        "/v1/channels/credentials/cr",
        {},
        None,
        envelope({}),
    ),
    (
        "channel.update_channel_workflow",
        lambda c: c.channel.update_channel_workflow("wf", channel_id="ch_1"),
        "PUT",
        "/v1/channels/workflows/wf",
        {},
        {"channel_id": "ch_1"},
        envelope({}),
    ),
    (
        "channel.delete_channel_workflow",
        lambda c: c.channel.delete_channel_workflow("wf"),
        "DELETE",
        "/v1/channels/workflows/wf",
        {},
        None,
        envelope({}),
    ),
    (
        "channel.list_assignable_teams",
        lambda c: c.channel.list_assignable_teams(),
        "GET",
        "/v1/assign/teams/all",
        {},
        None,
        envelope([{"id": "t"}]),
    ),
    (
        "channel.list_team_observers",
        lambda c: c.channel.list_team_observers("t"),
        "GET",
        "/v1/assign/team/t/observers",
        {},
        None,
        envelope([{"id": "u"}]),
    ),
    (
        "contacts.list",
        lambda c: c.contacts.list(limit=2, skip=4),
        "GET",
        "/v1/contacts",
        {"limit": "2", "skip": "4"},
        None,
        paged([{"id": "a"}, {"id": "b"}], limit=2, total=9),
    ),
    ("contacts.get", lambda c: c.contacts.get("a"), "GET", "/v1/contacts/a", {}, None, envelope({"id": "a"})),
    (
        "contacts.update",
        lambda c: c.contacts.update("a", phone="+15550001"),
        "PUT",
        "/v1/contacts/a",
        {},
        {"phone": "+15550001"},
        envelope({"id": "a"}),
    ),
    (
        "contacts.search",
        lambda c: c.contacts.search("lin", limit=3),
        "GET",
        "/v1/contacts/_search",
        {"q": "lin", "limit": "3"},
        None,
        paged([{"id": "a"}]),
    ),
    (
        "contacts.export_csv",
        lambda c: c.contacts.export_csv(sort="name"),
        "GET",
        "/v1/contacts/_export_csv",
        {"sort": "name"},
        None,
        "id\n1\n",
    ),
    (
        "contacts.get_conversations",
        lambda c: c.contacts.get_conversations("a", channel_types=["line"]),
        "GET",
        "/v1/contacts/a/conversations",
        {"channel_types": "line"},
        None,
        envelope([{"id": "cv"}]),
    ),
    (
        "contacts.get_comments",
        lambda c: c.contacts.get_comments("a", skip=1),
        "GET",
        "/v1/contacts/a/comments",
        {"skip": "1"},
        None,
        paged([]),
    ),
    ("contacts.get_files", lambda c: c.contacts.get_files("a"), "GET", "/v1/contact/a/files", {}, None, envelope([])),
    (
        "contacts.get_activities",
        lambda c: c.contacts.get_activities("cv"),
        "GET",
        "/v1/conversations_activities/cv",
        {},
        None,
        envelope([]),
    ),
    (
        "contacts.upload_contacts",
        lambda c: c.contacts.upload_contacts("a.png", b"\x89PNG", content_type="image/png"),
        "POST",
        "/v1/contacts/_fileupload",
        {},
        "multipart",
        envelope({"url": "https://x.test/a.png"}),
    ),
    (
        "contacts.upload_avatar",
        lambda c: c.contacts.upload_avatar("b.png", b"\x89PNG"),
        "POST",
        "/v1/contacts/_fileupload",
        {},
        "multipart",
        envelope("https://x.test/b.png"),
    ),
    (
        "contacts.list_notifications",
        lambda c: c.contacts.list_notifications(limit=1),
        "GET",
        "/v1/notifications",
        {"limit": "1"},
        None,
        {"data": [{"id": "n"}], "total": 5, "has_more": True},
    ),
    (
        "contacts.mark_notifications_read",
        lambda c: c.contacts.mark_notifications_read(["n"]),
        "PUT",
        "/v1/notifications/read",
        {},
        {"notification_id": ["n"]},
        envelope({}),
    ),
    (
        "contacts.mark_notifications_read(all)",
        lambda c: c.contacts.mark_notifications_read(),
        "PUT",
        "/v1/notifications/read",
        {},
        None,
        envelope({}),
    ),
    (
        "contacts.dismiss_notification",
        lambda c: c.contacts.dismiss_notification("n"),
        "DELETE",
        "/v1/notifications/dismiss",
        {},
        {"notification_id": "n"},
        envelope({}),
    ),
    (
        "contacts.dismiss_all_notifications",
        lambda c: c.contacts.dismiss_all_notifications(),
        "DELETE",
        "/v1/notifications/dismiss/all",
        {},
        None,
        envelope({}),
    ),
]


@pytest.mark.parametrize(
    ("label", "invoke", "method", "path", "query", "body", "answer"), IMBRACE_CASES, ids=[c[0] for c in IMBRACE_CASES]
)
@respx.mock
async def test_imbrace_method(
    label: str, invoke: Call, method: str, path: str, query: dict[str, str], body: Any, answer: Any
) -> None:
    kwargs: dict[str, Any] = (
        {"text": answer, "headers": {"content-type": "text/csv"}} if isinstance(answer, str) else {"json": answer}
    )
    route = respx.route(method=method, url=IMBRACE + path).respond(200, **kwargs)
    async with ImbraceClient(api_key="k-123", organization_id="org-9", gateway_url="https://imbrace.test") as c:
        result = await invoke(c)
    request = route.calls.last.request
    assert route.call_count == 1
    assert dict(request.url.params) == query
    assert request.headers["x-api-key"] == "k-123"
    assert request.headers["x-organization-id"] == "org-9"
    if body == "multipart":
        assert b'name="file"' in request.content
    elif body is None:
        assert request.content == b""
    else:
        assert json.loads(request.content) == body
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
