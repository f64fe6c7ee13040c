"""Every tool against the embedded sandbox, through the real MCP protocol, with zero environment variables."""

from __future__ import annotations

import base64
from typing import Any

from mcp import Client

from channel_mcp.config import Settings
from tests.conftest import connect

BIRD_CH = "b12d0000-0000-4000-8000-000000000001"
SMS_CH = "b12d0000-0000-4000-8000-000000000002"
OPEN, CLOSED, EXPIRED, PERMANENT = (f"bc000000-0000-4000-8000-00000000000{i}" for i in range(1, 5))


async def ok(c: Client, tool: str, args: dict[str, Any] | None = None) -> dict[str, Any]:
    result = await c.call_tool(tool, args or {})
    assert not result.is_error, (tool, result.content)
    assert result.structured_content is not None and result.structured_content.get("sandbox") is True
    structured: dict[str, Any] = result.structured_content
    return structured


async def test_channel_lifecycle_on_the_sandbox() -> None:
    async with connect(Settings(sandbox=True)) as c:
        before = (await ok(c, "imbrace_count_channels"))["count"]
        assert before >= 12
        listed = await ok(c, "imbrace_list_channels")
        assert {ch["type"] for ch in listed["items"]} >= {
            "web",
            "facebook",
            "whatsapp",
            "instagram",
            "wechat",
            "line",
            "email",
            "wecom",
        }
        web = await ok(c, "imbrace_list_channels", {"type": "web"})
        assert web["items"] and all(ch["type"] == "web" for ch in web["items"])
        created = await ok(c, "imbrace_create_channel", {"type": "line", "name": "LINE Sandbox Test"})
        made = [created]
        for tool, args in [
            ("imbrace_create_web_channel", {"name": "Docs chat"}),
            ("imbrace_create_facebook_channel", {"page_id": "pg_1003", "credential_id": "cred_fb_001"}),
            ("imbrace_create_instagram_channel", {"name": "@new.shop"}),
            ("imbrace_create_email_channel", {"email": "sales@sandbox-shop.example.com"}),
            ("imbrace_create_wechat_channel", {"name": "微信测试"}),
            ("imbrace_create_line_channel", {"name": "LINE JP"}),
            (
                "imbrace_create_whatsapp_channel",
                {"phone_number_id": "100000000000099", "access_token": "wa-secret-token-123456"},
            ),
        ]:
            made.append(await ok(c, tool, args))
        assert (await ok(c, "imbrace_count_channels"))["count"] == before + len(made)
        wa = made[-1]["id"]
        await ok(c, "imbrace_update_whatsapp_channel", {"channel_id": wa, "access_token": "wa-secret-token-654321"})
        fb = made[2]["id"]
        assert (await ok(c, "imbrace_update_facebook_channel", {"channel_id": fb, "name": "FB renamed"}))["name"] == (
            "FB renamed"
        )
        updated = await ok(c, "imbrace_update_channel", {"channel_id": created["id"], "active": False})
        assert updated["is_active"] is False
        assert (await ok(c, "imbrace_get_channel", {"channel_id": created["id"]}))["is_active"] is False
        await ok(c, "imbrace_delete_channel", {"channel_id": created["id"], "confirm": True})
        await ok(c, "imbrace_delete_channel", {"channel_id": made[1]["id"], "api_version": "v3", "confirm": True})
        gone = await c.call_tool("imbrace_get_channel", {"channel_id": created["id"]})
        assert gone.is_error and "imbrace_list_channels" in gone.content[0].text  # type: ignore[union-attr]


async def test_credentials_workflows_and_teams_on_the_sandbox() -> None:
    async with connect(Settings(sandbox=True)) as c:
        pages = await ok(c, "imbrace_list_facebook_pages", {"credential_id": "cred_fb_001"})
        assert {p["_id"] for p in pages["items"]} >= {"pg_1001", "pg_1002"}
        cred = await ok(c, "imbrace_get_credential", {"credential_id": "cred_fb_001"})
        for value in cred.get("credentials", {}).values():
            assert not isinstance(value, str) or len(value) < 12 or value.startswith("****") or value.isdigit()
        await ok(c, "imbrace_update_credential", {"credential_id": "cred_fb_002", "name": "Agency app (renamed)"})
        await ok(c, "imbrace_delete_credential", {"credential_id": "cred_fb_002", "confirm": True})
        await ok(c, "imbrace_update_channel_workflow", {"workflow_id": "wf_004", "channel_id": "ch_line_001"})
        await ok(c, "imbrace_delete_channel_workflow", {"workflow_id": "wf_004", "confirm": True})
        teams = await ok(c, "imbrace_list_assignable_teams")
        assert len(teams["items"]) >= 4
        observers = await ok(c, "imbrace_list_team_observers", {"team_id": "tm_001"})
        assert len(observers["items"]) == 3


async def test_contacts_on_the_sandbox() -> None:
    async with connect(Settings(sandbox=True)) as c:
        seen: list[str] = []
        args: dict[str, Any] = {"limit": 100}
        while True:
            page = await ok(c, "imbrace_list_contacts", args)
            seen += [p["id"] for p in page["items"]]
            if not page.get("next"):
                break
            args = {"limit": 100, **page["next"]}
        assert len(seen) == len(set(seen)) >= 200
        hits = await ok(c, "imbrace_search_contacts", {"q": "NGUYỄN"})
        assert hits["items"] and all(
            "nguy" in (h["display_name"] + h.get("email", "")).lower() for h in hits["items"][:3]
        )
        await ok(c, "imbrace_update_contact", {"contact_id": "ct_0005", "email": "emily.carter@example.org"})
        assert (await ok(c, "imbrace_get_contact", {"contact_id": "ct_0005"}))["email"] == "emily.carter@example.org"
        found = await ok(c, "imbrace_search_contacts", {"q": "emily.carter@example.org"})
        assert [h["id"] for h in found["items"]] == ["ct_0005"]
        export = await ok(c, "imbrace_export_contacts_csv", {"sort": "name"})
        assert export["rows"] >= 200 and "display_name" in export["columns"]
        convs = await ok(c, "imbrace_list_contact_conversations", {"contact_id": "ct_0001"})
        assert len(convs["items"]) == 3
        only_wa = await ok(
            c, "imbrace_list_contact_conversations", {"contact_id": "ct_0001", "channel_types": ["whatsapp"]}
        )
        assert all(cv.get("channel_type") == "whatsapp" for cv in only_wa["items"])
        comments = await ok(c, "imbrace_list_contact_comments", {"contact_id": "ct_0001", "limit": 10})
        assert len(comments["items"]) == 10 and comments["next"] == {"skip": 10}
        files = await ok(c, "imbrace_list_contact_files", {"contact_id": "ct_0001"})
        assert len(files["items"]) == 3
        acts = await ok(c, "imbrace_list_conversation_activities", {"conversation_id": "cv_0001_1"})
        assert acts["items"]
        upload = await ok(
            c,
            "imbrace_upload_contact_file",
            {"filename": "notes.txt", "content_base64": base64.b64encode(b"hello").decode()},
        )
        assert upload["url"].endswith("notes.txt")


async def test_notifications_on_the_sandbox() -> None:
    async with connect(Settings(sandbox=True)) as c:
        first = await ok(c, "imbrace_list_notifications", {"limit": 5})
        assert first["items"][0]["id"] == "nt_0001" and first["items"][0]["is_read"] is False
        await ok(c, "imbrace_mark_notifications_read", {"notification_ids": ["nt_0001", "nt_0002"]})
        after = await ok(c, "imbrace_list_notifications", {"limit": 5})
        assert [n["is_read"] for n in after["items"][:2]] == [True, True] and after["items"][2]["is_read"] is False
        await ok(c, "imbrace_mark_notifications_read")
        everything = await ok(c, "imbrace_list_notifications", {"limit": 100})
        assert all(n["is_read"] for n in everything["items"])
        await ok(c, "imbrace_dismiss_notification", {"notification_id": "nt_0003", "confirm": True})
        await ok(c, "imbrace_dismiss_all_notifications", {"confirm": True})
        assert (await ok(c, "imbrace_list_notifications"))["items"] == []


async def test_bird_on_the_sandbox() -> None:
    async with connect(Settings(sandbox=True)) as c:
        ids: list[str] = []
        args: dict[str, Any] = {"limit": 10}
        for _ in range(10):
            page = await ok(c, "bird_list_channels", args)
            ids += [ch["id"] for ch in page["items"]]
            if not page.get("next"):
                break
            args = {"limit": 10, **page["next"]}
        assert len(ids) == len(set(ids)) >= 25
        channel = await ok(c, "bird_get_channel", {"channel_id": BIRD_CH})
        assert channel["status"] == "active"
        states = {}
        for contact in (OPEN, CLOSED, EXPIRED, PERMANENT):
            w = await ok(c, "bird_check_service_window", {"channel_id": BIRD_CH, "contact_id": contact})
            states[contact] = (w["is_open"], w["expires_in_seconds"] is not None)
        assert states == {OPEN: (True, True), CLOSED: (False, False), EXPIRED: (False, False), PERMANENT: (True, False)}
        # An SMS channel has no customer-service window: whatever the contact's state, nothing is closed.
        sms = await ok(c, "bird_check_service_window", {"channel_id": SMS_CH, "contact_id": EXPIRED})
        assert sms["window_applies"] is False and sms["is_open"] is True and "no service window" in sms["summary"]
        missing = await c.call_tool("bird_get_channel", {"channel_id": "nope"})
        assert missing.is_error and "bird_list_channels" in missing.content[0].text  # type: ignore[union-attr]
