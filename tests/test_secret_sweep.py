"""The sweep that would have caught the page-token leak: every secret the sandbox plants, looked for in
every tool answer, every resource and template read, every prompt, the DEBUG logs and the audit log.

The secrets come from the sandbox seed's own declaration (`seed.PLANTED_SECRETS`), not from our
configuration: the upstream's secrets are what a scanner of configured keys cannot see. A secret counts
as leaked when it appears whole, when all of it but the last 4 characters appears, or when its last 8
do (a mask may show the last 4, never more).
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from channel_mcp.config import Settings
from channel_mcp.sandbox import seed
from channel_mcp.tools import ALL_TOOLS
from tests.conftest import connect

BIRD_CH = seed.bird_channel_id(1)
BIRD_CONTACT = seed.bird_contact_id(1)
WRITTEN = "wr1tten-secret-value-7777"

# One call per tool, with the sandbox's own ids; reads first, then writes, then deletes.
CALLS: list[tuple[str, dict[str, Any]]] = [
    ("imbrace_list_channels", {}),
    ("imbrace_list_channels", {"type": "facebook"}),
    ("imbrace_get_channel", {"channel_id": "ch_facebook_001"}),
    ("imbrace_get_channel", {"channel_id": "ch_whatsapp_001"}),
    ("imbrace_get_channel", {"channel_id": "ch_wechat_001"}),
    ("imbrace_get_channel", {"channel_id": "ch_line_001"}),
    ("imbrace_get_channel", {"channel_id": "ch_wecom_001"}),
    ("imbrace_get_channel", {"channel_id": "ch_instagram_001"}),
    ("imbrace_count_channels", {}),
    ("imbrace_list_facebook_pages", {"credential_id": "cred_fb_001"}),
    ("imbrace_get_credential", {"credential_id": "cred_fb_001"}),
    ("imbrace_get_credential", {"credential_id": "cred_fb_002"}),
    ("imbrace_list_assignable_teams", {}),
    ("imbrace_list_team_observers", {"team_id": "tm_001"}),
    ("imbrace_list_contacts", {}),
    ("imbrace_get_contact", {"contact_id": "ct_0001"}),
    ("imbrace_search_contacts", {"q": "nguyen"}),
    ("imbrace_export_contacts_csv", {}),
    ("imbrace_list_contact_conversations", {"contact_id": "ct_0001"}),
    ("imbrace_list_contact_comments", {"contact_id": "ct_0001"}),
    ("imbrace_list_contact_files", {"contact_id": "ct_0001"}),
    ("imbrace_list_conversation_activities", {"conversation_id": "cv_0001_1"}),
    ("imbrace_list_notifications", {}),
    ("bird_list_channels", {"limit": 100}),
    ("bird_get_channel", {"channel_id": BIRD_CH}),
    ("bird_get_channel", {"channel_id": seed.bird_channel_id(2)}),
    ("bird_check_service_window", {"channel_id": BIRD_CH, "contact_id": BIRD_CONTACT}),
    ("imbrace_create_channel", {"type": "web", "name": "Sweep web"}),
    ("imbrace_update_channel", {"channel_id": "ch_facebook_001", "name": "Sweep coffee"}),
    ("imbrace_create_web_channel", {"name": "Sweep chat"}),
    ("imbrace_create_facebook_channel", {"page_id": "pg_1003", "credential_id": "cred_fb_001"}),
    ("imbrace_update_facebook_channel", {"channel_id": "ch_facebook_002", "name": "Sweep bakery"}),
    ("imbrace_create_instagram_channel", {"name": "@sweep"}),
    ("imbrace_create_email_channel", {"email": "sweep@sandbox-shop.example.com"}),
    ("imbrace_create_wechat_channel", {"name": "Sweep WeChat"}),
    ("imbrace_create_line_channel", {"name": "Sweep LINE"}),
    ("imbrace_create_whatsapp_channel", {"phone_number_id": "100000000000077", "access_token": WRITTEN}),
    ("imbrace_update_whatsapp_channel", {"channel_id": "ch_whatsapp_002", "name": "Sweep WA"}),
    ("imbrace_update_credential", {"credential_id": "cred_fb_002", "name": "Sweep credential"}),
    ("imbrace_update_channel_workflow", {"workflow_id": "wf_004", "channel_id": "ch_facebook_001"}),
    ("imbrace_update_contact", {"contact_id": "ct_0002", "email": "sweep@example.com"}),
    ("imbrace_upload_contact_file", {"filename": "s.csv", "content_base64": base64.b64encode(b"a,b\n").decode()}),
    ("imbrace_mark_notifications_read", {"notification_ids": ["nt_0001"]}),
    ("imbrace_dismiss_notification", {"notification_id": "nt_0002", "confirm": True}),
    ("imbrace_delete_channel_workflow", {"workflow_id": "wf_003", "confirm": True}),
    ("imbrace_delete_channel", {"channel_id": "ch_web_002", "confirm": True}),
    ("imbrace_delete_credential", {"credential_id": "cred_fb_002", "confirm": True}),
    ("imbrace_dismiss_all_notifications", {"confirm": True}),
]


def leaks(text: str, secrets: tuple[str, ...]) -> list[str]:
    """Secrets shown whole, shown but for their last 4 characters, or with more than their last 4 shown."""
    return [s for s in secrets if s in text or (len(s) > 8 and (s[:-4] in text or s[-8:] in text))]


def answer_leaks(answer: Any, secrets: tuple[str, ...]) -> list[str]:
    return leaks(json.dumps(answer, ensure_ascii=False), secrets)


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record) + (f"\n{record.exc_text}" if record.exc_text else ""))


@pytest.fixture
def debug_logs() -> Iterator[_Capture]:
    capture = _Capture()
    root = logging.getLogger()
    old = root.level
    root.addHandler(capture)
    root.setLevel(logging.DEBUG)
    try:
        yield capture
    finally:
        root.removeHandler(capture)
        root.setLevel(old)


def test_the_seed_declares_what_it_plants() -> None:
    planted = seed.PLANTED_SECRETS
    assert len(planted) >= 40 and all(isinstance(s, str) and len(s) >= 8 for s in planted)
    everything = json.dumps([seed.channels(), seed.credentials(), seed.bird_channels()], ensure_ascii=False)
    assert all(s in everything for s in planted)  # each one really is in the data the sandbox serves


def test_every_tool_is_swept() -> None:
    assert {t.name for t in ALL_TOOLS} == {name for name, _ in CALLS}


async def test_no_planted_secret_leaves_through_any_tool_resource_prompt_log_or_audit_line(
    tmp_path: Path, debug_logs: _Capture
) -> None:
    secrets = (*seed.PLANTED_SECRETS, WRITTEN)
    audit = tmp_path / "audit.jsonl"
    seen: list[str] = []
    async with connect(Settings(sandbox=True, audit_log=audit)) as c:
        for tool, args in CALLS:
            result = await c.call_tool(tool, args)
            assert not result.is_error, (tool, result.content)
            seen.append(result.model_dump_json())
            dumped = result.model_dump(mode="json")
            assert not answer_leaks(dumped, secrets), (tool, answer_leaks(dumped, secrets))
        uris = [r.uri for r in (await c.list_resources()).resources]
        uris += [f"imbrace://channels/{ch['id']}" for ch in seed.channels()]
        uris += ["imbrace://contacts/ct_0001", "imbrace://contacts/ct_0003"]
        uris += [f"bird://channels/{seed.bird_channel_id(n)}" for n in range(1, 29)]
        for uri in uris:
            try:
                read: Any = (await c.read_resource(str(uri))).model_dump(mode="json")
                read += [json.loads(part["text"]) for part in read["contents"]]
            except Exception as exc:  # a channel deleted above is a clean "not found"; the text is swept too
                read = str(exc)
            assert not answer_leaks(read, secrets), (uri, answer_leaks(read, secrets))
        for prompt in (await c.list_prompts()).prompts:
            args = {a.name: "ct_0001" for a in (prompt.arguments or []) if a.required}
            if prompt.name == "whatsapp_send_check":
                args = {"channel_id": BIRD_CH, "contact_id": BIRD_CONTACT}
            text = (await c.get_prompt(prompt.name, args)).model_dump_json()
            assert not leaks(text, secrets), prompt.name
    assert len(seen) == len(CALLS)
    assert not leaks("\n".join(debug_logs.lines), secrets), "a planted secret reached a DEBUG log line"
    audit_text = audit.read_text(encoding="utf-8")
    assert audit_text.count("\n") >= 20
    assert not leaks(audit_text, secrets), "a planted secret reached the audit log"
