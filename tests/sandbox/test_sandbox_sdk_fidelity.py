"""The official iMBRACE SDK (imbrace 1.3.1) against a live sandbox over HTTP.

Every request is the SDK's own. One adapter: the SDK types `Channel.type` as
direct|group|broadcast|support, contradicting its own documentation, where `type` is the platform
(web, facebook, whatsapp, ...; seeds/000). The sandbox answers as documented, so the `sdk_channel`
fixture loosens that one field of the SDK's model (and nothing else) for these tests.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import imbrace.resources.channel
import pytest
from imbrace import ApiError, AsyncImbraceClient, AuthError
from imbrace.types.channel import Channel as SdkChannel

from channel_mcp.sandbox import SANDBOX_API_KEY
from channel_mcp.sandbox.run import serve_in_thread


@pytest.fixture(scope="module")
def live_url() -> Iterator[str]:
    with serve_in_thread() as running:
        yield running.url


class DocumentedChannel(SdkChannel):
    """The SDK's Channel with `type` as documented: the platform, a string."""

    type: str = "web"  # type: ignore[assignment]


@pytest.fixture
def sdk_channel(monkeypatch: pytest.MonkeyPatch) -> None:
    # The SDK's channel resource parses every answer with the module-level name `Channel`.
    monkeypatch.setattr(imbrace.resources.channel, "Channel", DocumentedChannel)


def test_the_unloosened_sdk_model_rejects_the_documented_type() -> None:
    """Why the adapter exists: the documented shape does not parse into the SDK's own model."""
    with pytest.raises(ValueError, match="support"):
        SdkChannel(id="ch_web_001", type="web")


@pytest.mark.usefixtures("sdk_channel")
async def test_sdk_channels(live_url: str) -> None:
    async with AsyncImbraceClient(gateway=live_url, api_key=SANDBOX_API_KEY) as client:
        listed = await client.channel.list()
        assert listed.success is True
        assert listed.pagination is not None
        assert listed.pagination.total == len(listed.data) >= 12
        platforms = {"web", "facebook", "whatsapp", "instagram", "wechat", "line", "email", "wecom"}
        assert {c.type for c in listed.data} == platforms

        web = await client.channel.list(type="web")
        assert web.data
        assert {c.type for c in web.data} == {"web"}

        everything = [c async for c in client.channel.list_all()]
        assert len(everything) == listed.pagination.total

        created = await client.channel.create({"type": "web", "name": "SDK widget", "config": {"color": "#000"}})
        assert created.id.startswith("ch_web_")
        assert created.is_active is True
        quick = await client.channel.create_web("SDK quick widget")
        assert quick.id != created.id
        whatsapp = await client.channel.create_whatsapp(
            {"phone_number_id": "100000000000777", "access_token": "EAAGsandboxSDK", "name": "SDK WhatsApp"}
        )
        assert whatsapp.id.startswith("ch_whatsapp_")
        assert whatsapp.type == "whatsapp"

        fetched = await client.channel.get(created.id)
        assert fetched.name == "SDK widget"

        updated = await client.channel.update(created.id, {"active": False})
        assert updated.is_active is False
        assert (await client.channel.get(created.id)).is_active is False

        count = await client.channel.get_count()
        assert count == {"success": True, "data": {"count": listed.pagination.total + 3}}
        whatsapp_again = await client.channel.update_whatsapp({"channel_id": whatsapp.id, "name": "SDK WA 2"})
        assert whatsapp_again.name == "SDK WA 2"

        deleted = await client.channel.delete(created.id)
        assert deleted["data"] == {"id": created.id, "deleted": True}
        with pytest.raises(ApiError) as missing:
            await client.channel.get(created.id)
        assert missing.value.status_code == 404
        assert (await client.channel.delete_v3(quick.id))["data"]["deleted"] is True

        pages = await client.channel.get_facebook_pages("cred_fb_001")
        assert {p["_id"] for p in pages["data"]} >= {"pg_1001", "pg_1003"}
        # The documents' own example: create_facebook({"page_id": pages[0]["_id"], ...}).
        unconnected = next(p for p in pages["data"] if not p["connected"])
        fb = await client.channel.create_facebook({"page_id": unconnected["_id"], "credential_id": "cred_fb_001"})
        assert fb.type == "facebook"
        cred = await client.channel.get_credential("cred_fb_001")
        assert cred["data"]["type"] == "facebook"
        assert cred["data"]["_id"] == "cred_fb_001"
        teams = await client.channel.list_assignable_teams()
        assert teams["data"][0]["id"] == "tm_001"
        observers = await client.channel.list_team_observers("tm_001")
        assert len(observers["data"]) == 3
        workflow = await client.channel.update_channel_workflow("wf_004", {"channel_id": whatsapp.id})
        assert workflow["data"]["channel_id"] == whatsapp.id
        await client.channel.delete_channel_workflow("wf_004")

        typed = [
            await client.channel.create_web_v3("SDK v3 widget"),
            await client.channel.create_instagram({"name": "@sdk.insta"}),
            await client.channel.create_email({"email": "sdk@example.com"}),
            await client.channel.create_wechat({"name": "SDK WeChat"}),
            await client.channel.create_line({"name": "SDK LINE"}),
        ]
        assert [c.type for c in typed] == ["web", "instagram", "email", "wechat", "line"]
        renamed = await client.channel.update_facebook({"channel_id": fb.id, "name": "SDK FB renamed"})
        assert (renamed.type, renamed.name) == ("facebook", "SDK FB renamed")

        cred2 = await client.channel.update_credential("cred_fb_002", {"name": "Renamed by SDK"})
        assert (cred2["data"]["_id"], cred2["data"]["name"]) == ("cred_fb_002", "Renamed by SDK")
        await client.channel.delete_credential("cred_fb_002")
        with pytest.raises(ApiError):
            await client.channel.get_credential("cred_fb_002")


async def test_sdk_contacts_and_notifications(live_url: str) -> None:
    async with AsyncImbraceClient(gateway=live_url, api_key=SANDBOX_API_KEY) as client:
        page = await client.contacts.list(limit=5, skip=5)
        assert [c["id"] for c in page["data"]] == ["ct_0006", "ct_0007", "ct_0008", "ct_0009", "ct_0010"]
        assert page["pagination"]["total"] == 240
        # The documents' own example loop: contact["id"], contact.get("display_name"), contact.get("email").
        first = (await client.contacts.list(limit=50, skip=0)).get("data", [])[0]
        assert (first["id"], first.get("display_name"), first.get("email")) == (
            "ct_0001",
            "Nguyễn Văn An",
            "an.nguyen@example.com",
        )

        found = await client.contacts.search("nguyen")
        assert "ct_0001" in [c["id"] for c in found["data"]]

        await client.contacts.update(
            "ct_0009", {"name": "Sarah Kookaburra", "email": "sarah@kookaburra.example", "phone": "+61 491 570 009"}
        )
        contact = (await client.contacts.get("ct_0009"))["data"]
        assert contact.get("display_name") == "Sarah Kookaburra"
        assert contact.get("phone_number") == "+61491570009"
        assert [c["id"] for c in (await client.contacts.search("kookaburra"))["data"]] == ["ct_0009"]

        convs = await client.contacts.get_conversations("ct_0001", "whatsapp,web")
        assert [c["channel_type"] for c in convs["data"]] == ["whatsapp", "web"]
        comments = await client.contacts.get_comments("ct_0001", skip=20, limit=20)
        assert len(comments["data"]) == 5
        assert all(c["_id"] and c["text"] for c in comments["data"])
        files = await client.contacts.get_files("ct_0001")
        assert len(files["data"]) == 3
        assert all(f["_id"] and f["name"] and isinstance(f["size"], int | float) for f in files["data"])
        activities = await client.contacts.get_activities("cv_0001_1")
        assert activities["data"]

        uploaded = await client.contacts.upload_avatar(files={"file": ("avatar.png", b"\x89PNG fake", "image/png")})
        assert uploaded["data"]["url"].endswith("/avatar.png")

        notes = await client.contacts.list_notifications(limit=5)
        assert len(notes["data"]) == 5
        assert notes["pagination"]["total"] == 30
        marked = await client.contacts.mark_notifications_read()
        assert marked["data"]["updated"] > 0
        after = await client.contacts.list_notifications(limit=30)
        assert all(n["is_read"] for n in after["data"])
        await client.contacts.dismiss_notification("nt_0002")
        with pytest.raises(ApiError) as gone:
            await client.contacts.dismiss_notification("nt_0002")
        assert gone.value.status_code == 404
        await client.contacts.dismiss_all_notifications()
        assert (await client.contacts.list_notifications())["pagination"]["total"] == 0

        raw = await client.contacts.export_csv(sort="-name")
        assert isinstance(raw, bytes)
        rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8"))))
        assert len(rows) == 240
        assert [r["display_name"] for r in rows] == sorted((r["display_name"] for r in rows), reverse=True)


async def test_sdk_access_token_mode(live_url: str) -> None:
    async with AsyncImbraceClient(gateway=live_url, access_token=SANDBOX_API_KEY) as client:
        assert (await client.channel.get_count())["success"] is True


async def test_sdk_wrong_key_rejected(live_url: str) -> None:
    async with AsyncImbraceClient(gateway=live_url, api_key="not-the-key") as client:
        with pytest.raises(AuthError) as err:
            await client.channel.list()
    assert err.value.status_code == 401
