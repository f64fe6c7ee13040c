"""iMBRACE channel, credential, workflow and team routes of the sandbox."""

from __future__ import annotations

import httpx
import pytest

V1 = "/channel-service/v1"
V2 = "/channel-service/v2"
V3 = "/channel-service/v3"
PLATFORMS = {"web", "facebook", "whatsapp", "instagram", "wechat", "line", "email", "wecom"}


async def test_list_channels_shape_and_seed(client: httpx.AsyncClient) -> None:
    r = await client.get(f"{V1}/channels")
    assert r.status_code == 200
    body = r.json()
    assert body["success"] is True
    assert body["total"] == len(body["data"]) >= 12
    assert body["pagination"] == {
        "page": 1,
        "limit": body["total"],
        "total": body["total"],
        "total_pages": 1,
        "has_next": False,
        "has_prev": False,
    }
    # The documented `type` is the platform (seeds/000); no undocumented channel_type beside it.
    assert {c["type"] for c in body["data"]} == PLATFORMS
    assert any(not c["is_active"] for c in body["data"])
    for channel in body["data"]:
        assert "channel_type" not in channel
        assert {"id", "name", "type", "is_active", "config", "organization_id", "created_at", "updated_at"} <= set(
            channel
        )
    by_id = {c["id"]: c for c in body["data"]}
    assert by_id["ch_facebook_001"]["page_id"] == "pg_1001"
    assert by_id["ch_facebook_001"]["credential_id"] == "cred_fb_001"
    assert by_id["ch_whatsapp_001"]["phone_number_id"] == "100000000000001"
    assert by_id["ch_email_001"]["email"] == "support@sandbox-shop.example.com"


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
async def test_filter_by_platform(client: httpx.AsyncClient, platform: str) -> None:
    r = await client.get(f"{V1}/channels", params={"type": platform})
    data = r.json()["data"]
    assert data
    assert {c["type"] for c in data} == {platform}


async def test_filter_rejects_unknown_type(client: httpx.AsyncClient) -> None:
    r = await client.get(f"{V1}/channels", params={"type": "telegram"})
    assert r.status_code == 400
    assert r.json()["success"] is False
    assert r.json()["error"] == "bad_request"
    # The SDK's kinds are not platforms: the documents name only the eight platforms.
    assert (await client.get(f"{V1}/channels", params={"type": "support"})).status_code == 400


async def test_list_paging_limit_offset_page(client: httpx.AsyncClient) -> None:
    all_ids = [c["id"] for c in (await client.get(f"{V1}/channels")).json()["data"]]
    r = (await client.get(f"{V1}/channels", params={"limit": 5, "offset": 5})).json()
    assert [c["id"] for c in r["data"]] == all_ids[5:10]
    assert r["pagination"]["page"] == 2
    assert r["pagination"]["has_prev"] and r["pagination"]["has_next"]
    r = (await client.get(f"{V1}/channels", params={"limit": 5, "page": 3})).json()
    assert [c["id"] for c in r["data"]] == all_ids[10:15]
    assert r["pagination"]["total_pages"] == 3
    assert r["pagination"]["has_next"] is False
    # skip/offset win over page
    r = (await client.get(f"{V1}/channels", params={"limit": 2, "page": 3, "skip": 1})).json()
    assert [c["id"] for c in r["data"]] == all_ids[1:3]


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": "abc"}, {"skip": -1}, {"page": 0}, {"limit": 5000}])
async def test_bad_paging_is_400(client: httpx.AsyncClient, params: dict[str, object]) -> None:
    r = await client.get(f"{V1}/channels", params=params)  # type: ignore[arg-type]
    assert r.status_code == 400
    assert r.json()["message"]


async def test_special_routes_are_not_captured_by_id(client: httpx.AsyncClient) -> None:
    r = await client.get(f"{V1}/channels/_count")
    assert r.json() == {"success": True, "data": {"count": 14}}
    r = await client.post(f"{V1}/channels/_web", json={"name": "Landing page chat"})
    assert r.status_code == 201
    assert r.json()["data"]["id"] == "ch_web_003"


async def test_create_get_update_delete_lifecycle(client: httpx.AsyncClient) -> None:
    r = await client.post(f"{V1}/channels", json={"type": "line", "name": "LINE JP", "config": {"channel_id": "42"}})
    assert r.status_code == 201
    created = r.json()["data"]
    assert created["id"] == "ch_line_002"
    assert created["type"] == "line"
    assert created["is_active"] is True
    cid = created["id"]

    assert (await client.get(f"{V1}/channels/{cid}")).json()["data"]["name"] == "LINE JP"
    assert (await client.get(f"{V1}/channels/_count")).json()["data"]["count"] == 15
    assert cid in [c["id"] for c in (await client.get(f"{V1}/channels", params={"type": "line"})).json()["data"]]

    r = await client.put(f"{V1}/channels/{cid}", json={"active": False, "config": {"region": "jp"}})
    assert r.status_code == 200
    assert r.json()["data"]["is_active"] is False
    fetched = (await client.get(f"{V1}/channels/{cid}")).json()["data"]
    assert fetched["is_active"] is False
    assert fetched["config"] == {"channel_id": "42", "region": "jp"}

    r = await client.delete(f"{V1}/channels/{cid}")
    assert r.json() == {"success": True, "data": {"id": cid, "deleted": True}}
    r = await client.get(f"{V1}/channels/{cid}")
    assert r.status_code == 404
    assert r.json() == {"success": False, "message": f"channel {cid} not found", "error": "not_found"}
    assert (await client.get(f"{V1}/channels/_count")).json()["data"]["count"] == 14
    assert (await client.delete(f"{V1}/channels/{cid}")).status_code == 404

    # ids are not reused after a delete
    again = await client.post(f"{V1}/channels", json={"type": "line", "name": "LINE JP 2"})
    assert again.json()["data"]["id"] == "ch_line_003"


async def test_delete_v3(client: httpx.AsyncClient) -> None:
    r = await client.delete(f"{V3}/channels/ch_web_002")
    assert r.json()["data"] == {"id": "ch_web_002", "deleted": True}
    assert (await client.get(f"{V1}/channels/ch_web_002")).status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x"},
        {"type": "web"},
        {"type": "web", "name": ""},
        {"type": "fax", "name": "x"},
        {"type": "web", "name": "x", "config": "nope"},
        [1, 2],
    ],
)
async def test_create_validation(client: httpx.AsyncClient, body: object) -> None:
    r = await client.post(f"{V1}/channels", json=body)
    assert r.status_code == 400
    assert r.json()["success"] is False


async def test_invalid_json_and_empty_update(client: httpx.AsyncClient) -> None:
    r = await client.post(f"{V1}/channels", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400
    r = await client.put(f"{V1}/channels/ch_web_001", json={})
    assert r.status_code == 400
    r = await client.put(f"{V1}/channels/ch_nope_001", json={"name": "x"})
    assert r.status_code == 404
    r = await client.put(f"{V1}/channels/ch_web_001", json={"active": "no"})
    assert r.status_code == 400


async def test_typed_creates(client: httpx.AsyncClient) -> None:
    cases = [
        ("_instagram", {"name": "@new.shop"}, "instagram"),
        ("_wechat", {"name": "公众号", "config": {"app_id": "wx1"}}, "wechat"),
        ("_line", {"name": "LINE SG"}, "line"),
        ("_email", {"email": "hello@example.com"}, "email"),
    ]
    for route, body, platform in cases:
        r = await client.post(f"{V1}/channels/{route}", json=body)
        assert r.status_code == 201, r.text
        assert r.json()["data"]["type"] == platform
    email = (await client.get(f"{V1}/channels", params={"type": "email"})).json()["data"][-1]
    assert email["email"] == "hello@example.com"
    assert email["name"] == "hello@example.com"
    assert (await client.post(f"{V1}/channels/_email", json={"email": "not-an-email"})).status_code == 400
    assert (await client.post(f"{V1}/channels/_instagram", json={})).status_code == 400
    r = await client.post(f"{V3}/channels/_web", json={"name": "v3 widget"})
    assert r.json()["data"]["type"] == "web"


async def test_whatsapp_create_and_v2_update(client: httpx.AsyncClient) -> None:
    r = await client.post(
        f"{V1}/channels/_whatsapp", json={"phone_number_id": "100000000000099", "access_token": "EAAGsandboxNEW"}
    )
    assert r.status_code == 201
    channel = r.json()["data"]
    assert channel["phone_number_id"] == "100000000000099"
    assert channel["name"] == "WhatsApp 100000000000099"
    assert channel["config"]["access_token"] == "EAAGsandboxNEW"
    missing = await client.post(f"{V1}/channels/_whatsapp", json={"phone_number_id": "1"})
    assert missing.status_code == 400
    assert "access_token" in missing.json()["message"]

    r = await client.put(
        f"{V2}/channels/_whatsapp", json={"channel_id": channel["id"], "access_token": "EAAGrotated", "name": "WA"}
    )
    assert r.status_code == 200
    updated = (await client.get(f"{V1}/channels/{channel['id']}")).json()["data"]
    assert updated["config"]["access_token"] == "EAAGrotated"
    assert updated["name"] == "WA"
    assert (await client.put(f"{V2}/channels/_whatsapp", json={"name": "x"})).status_code == 400
    assert (
        await client.put(f"{V2}/channels/_whatsapp", json={"channel_id": "ch_whatsapp_404", "name": "x"})
    ).status_code == 404
    wrong = await client.put(f"{V2}/channels/_whatsapp", json={"channel_id": "ch_web_001", "name": "x"})
    assert wrong.status_code == 400


async def test_facebook_create_update_and_pages(client: httpx.AsyncClient) -> None:
    pages = (await client.get(f"{V1}/channels/_facebook/credential/cred_fb_001")).json()["data"]
    assert {p["_id"]: p["connected"] for p in pages} == {
        "pg_1001": True,
        "pg_1002": True,
        "pg_1003": False,
        "pg_1004": False,
    }
    assert set(pages[0]) == {"_id", "name", "category", "connected"}

    r = await client.post(f"{V3}/channels/_facebook", json={"page_id": "pg_1003", "credential_id": "cred_fb_001"})
    assert r.status_code == 201
    channel = r.json()["data"]
    assert channel["name"] == "Hanoi Noodle House"
    assert channel["page_id"] == "pg_1003"
    pages = (await client.get(f"{V1}/channels/_facebook/credential/cred_fb_001")).json()["data"]
    assert {p["_id"]: p["connected"] for p in pages}["pg_1003"] is True

    dup = await client.post(f"{V3}/channels/_facebook", json={"page_id": "pg_1003", "credential_id": "cred_fb_001"})
    assert dup.status_code == 409
    foreign = await client.post(f"{V3}/channels/_facebook", json={"page_id": "pg_2001", "credential_id": "cred_fb_001"})
    assert foreign.status_code == 400
    unknown = await client.post(f"{V3}/channels/_facebook", json={"page_id": "pg_1", "credential_id": "cred_fb_404"})
    assert unknown.status_code == 404

    r = await client.put(
        f"{V2}/channels/_facebook",
        json={"channel_id": channel["id"], "page_id": "pg_1004", "name": "Careers inbox"},
    )
    assert r.status_code == 200
    assert r.json()["data"]["page_id"] == "pg_1004"
    assert r.json()["data"]["name"] == "Careers inbox"
    assert (await client.put(f"{V2}/channels/_facebook", json={"channel_id": channel["id"]})).status_code == 400
    assert (await client.get(f"{V1}/channels/_facebook/credential/cred_nope")).status_code == 404


async def test_credentials(client: httpx.AsyncClient) -> None:
    r = await client.get(f"{V1}/channels/credentials/cred_fb_001")
    cred = r.json()["data"]
    assert set(cred) == {"_id", "name", "type", "credentials", "created_at", "updated_at"}
    assert cred["type"] == "facebook"
    assert set(cred["credentials"]) == {"app_id", "app_secret", "access_token"}
    assert "sandbox" in cred["credentials"]["access_token"]

    r = await client.put(
        f"{V1}/channels/credentials/cred_fb_001", json={"name": "Renamed", "credentials": {"access_token": "EAAGnew"}}
    )
    assert r.json()["data"]["name"] == "Renamed"
    assert r.json()["data"]["credentials"]["access_token"] == "EAAGnew"
    assert r.json()["data"]["credentials"]["app_id"] == "900000000000001"
    assert (await client.put(f"{V1}/channels/credentials/cred_fb_001", json={})).status_code == 400

    r = await client.delete(f"{V1}/channels/credentials/cred_fb_002")
    assert r.json()["data"] == {"id": "cred_fb_002", "deleted": True}
    assert (await client.get(f"{V1}/channels/credentials/cred_fb_002")).status_code == 404
    assert (await client.delete(f"{V1}/channels/credentials/cred_fb_002")).status_code == 404


async def test_workflows(client: httpx.AsyncClient) -> None:
    r = await client.put(f"{V1}/channels/workflows/wf_004", json={"channel_id": "ch_email_001", "config": {"x": 1}})
    assert r.status_code == 200
    assert r.json()["data"]["channel_id"] == "ch_email_001"
    assert r.json()["data"]["config"] == {"x": 1}
    assert (await client.get(f"{V1}/channels/ch_email_001")).json()["data"]["workflow_id"] == "wf_004"

    assert (await client.put(f"{V1}/channels/workflows/wf_404", json={"channel_id": "ch_web_001"})).status_code == 404
    assert (await client.put(f"{V1}/channels/workflows/wf_001", json={"channel_id": "ch_none"})).status_code == 404
    assert (await client.put(f"{V1}/channels/workflows/wf_001", json={})).status_code == 400

    r = await client.delete(f"{V1}/channels/workflows/wf_001")
    assert r.json()["data"] == {"id": "wf_001", "deleted": True}
    assert (await client.get(f"{V1}/channels/ch_web_001")).json()["data"]["workflow_id"] is None
    assert (await client.delete(f"{V1}/channels/workflows/wf_001")).status_code == 404
    assert (await client.put(f"{V1}/channels/workflows/wf_001", json={"channel_id": "ch_web_001"})).status_code == 404


async def test_teams_and_observers(client: httpx.AsyncClient) -> None:
    teams = (await client.get(f"{V1}/assign/teams/all")).json()["data"]
    assert [t["id"] for t in teams] == ["tm_001", "tm_002", "tm_003", "tm_004"]
    assert set(teams[0]) == {"id", "name", "description", "member_count"}
    observers = (await client.get(f"{V1}/assign/team/tm_001/observers")).json()["data"]
    assert len(observers) == 3
    assert set(observers[0]) == {"id", "name", "email", "role"}
    assert (await client.get(f"{V1}/assign/team/tm_004/observers")).json()["data"] == []
    assert (await client.get(f"{V1}/assign/team/tm_999/observers")).status_code == 404


async def test_unknown_route_and_method(client: httpx.AsyncClient) -> None:
    r = await client.get(f"{V1}/does-not-exist")
    assert r.status_code == 404
    assert r.json()["error"] == "not_found"
    r = await client.patch(f"{V1}/channels")
    assert r.status_code == 405
    assert r.json()["error"] == "method_not_allowed"
    r = await client.get("/elsewhere")
    assert r.status_code == 404
