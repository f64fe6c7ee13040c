"""Bird Channels routes of the sandbox."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from channel_mcp.sandbox import seed

WS = "/workspaces/sandbox-workspace/channels"
STATUSES = {"active", "pending", "setting-up", "failed", "inactive", "deleted", "warning"}
FIELDS = {
    "id",
    "platformId",
    "name",
    "connectorId",
    "identifier",
    "status",
    "capabilities",
    "settings",
    "connectionParams",
    "preferences",
    "useCaseType",
    "channelMessageType",
    "suites",
    "createdAt",
    "updatedAt",
}


async def test_list_pages_with_token(bird: httpx.AsyncClient) -> None:
    first = (await bird.get(WS)).json()
    assert len(first["results"]) == 20
    assert first["nextPageToken"]
    second = (await bird.get(WS, params={"pageToken": first["nextPageToken"]})).json()
    assert "nextPageToken" not in second
    everything = first["results"] + second["results"]
    assert len(everything) == 28
    assert len({c["id"] for c in everything}) == 28
    assert everything[0]["id"] == seed.BIRD_CHANNEL_ACTIVE
    assert {c["status"] for c in everything} == STATUSES

    pages, token = [], None
    while True:
        params: dict[str, str | int] = {"limit": 10}
        if token:
            params["pageToken"] = token
        body = (await bird.get(WS, params=params)).json()
        pages.append(body["results"])
        token = body.get("nextPageToken")
        if not token:
            break
    assert [len(p) for p in pages] == [10, 10, 8]
    assert [c["id"] for p in pages for c in p] == [c["id"] for c in everything]


async def test_channel_shape_and_private_settings(bird: httpx.AsyncClient) -> None:
    channel = (await bird.get(f"{WS}/{seed.BIRD_CHANNEL_ACTIVE}")).json()
    assert set(channel) >= FIELDS
    assert channel["platformId"] == "whatsapp"
    assert channel["status"] == "active"
    # Documented: arrays of {key, value, displayName?, description?, visibility}.
    assert isinstance(channel["settings"], list) and isinstance(channel["connectionParams"], list)
    visibilities = {p["visibility"] for p in (*channel["settings"], *channel["connectionParams"])}
    assert visibilities == {"public", "private"}
    secret = next(p for p in channel["connectionParams"] if p["key"] == "accessToken")
    assert secret["visibility"] == "private"
    assert "FAKE" in secret["value"]
    assert datetime.fromisoformat(channel["createdAt"].replace("Z", "+00:00"))
    pending = (await bird.get(f"{WS}/{seed.BIRD_CHANNEL_PENDING}")).json()
    assert pending["status"] == "pending"


async def test_filters(bird: httpx.AsyncClient) -> None:
    wa = (await bird.get(WS, params={"platform": "whatsapp", "limit": 100})).json()["results"]
    assert wa
    assert {c["platformId"] for c in wa} == {"whatsapp"}
    failed = (await bird.get(WS, params={"status": "failed"})).json()["results"]
    assert [c["status"] for c in failed] == ["failed"]


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 101}, {"limit": "x"}, {"pageToken": "@@@"}])
async def test_bad_list_params(bird: httpx.AsyncClient, params: dict[str, object]) -> None:
    r = await bird.get(WS, params=params)  # type: ignore[arg-type]
    assert r.status_code == 400
    body = r.json()
    assert body["code"] == "InvalidArgument"
    assert body["message"]


async def test_limit_bounds_ok(bird: httpx.AsyncClient) -> None:
    assert len((await bird.get(WS, params={"limit": 1})).json()["results"]) == 1
    assert len((await bird.get(WS, params={"limit": 100})).json()["results"]) == 28


async def test_not_found(bird: httpx.AsyncClient) -> None:
    r = await bird.get("/workspaces/other-workspace/channels")
    assert r.status_code == 404
    assert r.json()["code"] == "NotFound"
    r = await bird.get(f"{WS}/00000000-0000-0000-0000-000000000000")
    assert r.status_code == 404
    assert r.json() == {"code": "NotFound", "message": "channel 00000000-0000-0000-0000-000000000000 not found"}
    r = await bird.get(f"{WS}/{seed.BIRD_CHANNEL_ACTIVE}/contacts/nobody")
    assert r.status_code == 404
    r = await bird.get(f"{WS}/nope/contacts/{seed.BIRD_CONTACT_WINDOW_OPEN}")
    assert r.status_code == 404
    r = await bird.get("/workspaces/sandbox-workspace/nothing-here")
    assert r.status_code == 404
    assert r.json()["code"] == "NotFound"


def _parse(ts: str | None) -> datetime | None:
    return None if ts is None else datetime.fromisoformat(ts.replace("Z", "+00:00"))


async def _window(bird: httpx.AsyncClient, contact: str) -> dict[str, object]:
    r = await bird.get(f"{WS}/{seed.BIRD_CHANNEL_ACTIVE}/contacts/{contact}")
    assert r.status_code == 200
    body: dict[str, object] = r.json()
    assert body["channelId"] == seed.BIRD_CHANNEL_ACTIVE
    assert body["contactId"] == contact
    assert isinstance(body["metadata"], dict)
    return body


async def test_service_windows_relative_to_now(bird: httpx.AsyncClient) -> None:
    now = datetime.now(UTC)

    opened = await _window(bird, seed.BIRD_CONTACT_WINDOW_OPEN)
    expire = _parse(opened["serviceWindowExpireAt"])  # type: ignore[arg-type]
    assert expire is not None
    assert 7_000 < (expire - now).total_seconds() <= 7_210
    assert opened["isPermanentSession"] is False

    closed = await _window(bird, seed.BIRD_CONTACT_WINDOW_CLOSED)
    assert closed["serviceWindowExpireAt"] is None
    assert closed["isPermanentSession"] is False

    expired = await _window(bird, seed.BIRD_CONTACT_WINDOW_EXPIRED)
    past = _parse(expired["serviceWindowExpireAt"])  # type: ignore[arg-type]
    assert past is not None
    assert past < now
    assert expired["isPermanentSession"] is False

    permanent = await _window(bird, seed.BIRD_CONTACT_WINDOW_PERMANENT)
    assert permanent["isPermanentSession"] is True

    soon = await _window(bird, seed.BIRD_CONTACT_WINDOW_CLOSING_SOON)
    soon_at = _parse(soon["serviceWindowExpireAt"])  # type: ignore[arg-type]
    assert soon_at is not None
    assert 0 < (soon_at - now).total_seconds() <= 310


async def test_service_window_identifier_follows_platform(bird: httpx.AsyncClient) -> None:
    email_channel = seed.bird_channel_id(3)
    r = (await bird.get(f"{WS}/{email_channel}/contacts/{seed.BIRD_CONTACT_WINDOW_OPEN}")).json()
    assert r["identifierKey"] == "emailaddress"
    assert r["identifierValue"] == "an.nguyen@example.com"
