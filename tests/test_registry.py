"""One loop over every tool: names, toolsets and annotations as in the contract, described arguments,
no unions, strict-friendly input schemas, capped descriptions, a request test per tool, and committed
schema snapshots."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

import channel_mcp
from channel_mcp.tools import ALL_TOOLS, TOOLSETS
from channel_mcp.tools.declare import SCHEMAS_FILE, ToolSpec, generate_schemas

ROOT = Path(__file__).resolve().parent.parent
SNAPS = Path(__file__).parent / "toolsnaps"
CONTRACT_FILE = ROOT.parent / "shared" / "api-contract.md"
MAX_DESCRIPTION = 120

# name -> (toolset, annotation code) transcribed from shared/api-contract.md; checked against it when present.
CONTRACT: dict[str, tuple[str, str]] = {
    **{
        n: ("imbrace_channels", a)
        for n, a in {
            "imbrace_list_channels": "RO",
            "imbrace_get_channel": "RO",
            "imbrace_count_channels": "RO",
            "imbrace_create_channel": "W",
            "imbrace_update_channel": "W idem",
            "imbrace_delete_channel": "D idem",
            "imbrace_create_web_channel": "W",
            "imbrace_create_facebook_channel": "W",
            "imbrace_update_facebook_channel": "W idem",
            "imbrace_create_instagram_channel": "W",
            "imbrace_create_email_channel": "W",
            "imbrace_create_wechat_channel": "W",
            "imbrace_create_line_channel": "W",
            "imbrace_create_whatsapp_channel": "W",
            "imbrace_update_whatsapp_channel": "W idem",
        }.items()
    },
    **{
        n: ("imbrace_credentials", a)
        for n, a in {
            "imbrace_list_facebook_pages": "RO",
            "imbrace_get_credential": "RO",
            "imbrace_update_credential": "W idem",
            "imbrace_delete_credential": "D idem",
        }.items()
    },
    **{
        n: ("imbrace_workflows", a)
        for n, a in {
            "imbrace_update_channel_workflow": "W idem",
            "imbrace_delete_channel_workflow": "D idem",
            "imbrace_list_assignable_teams": "RO",
            "imbrace_list_team_observers": "RO",
        }.items()
    },
    **{
        n: ("imbrace_contacts", a)
        for n, a in {
            "imbrace_list_contacts": "RO",
            "imbrace_get_contact": "RO",
            "imbrace_update_contact": "W idem",
            "imbrace_search_contacts": "RO",
            "imbrace_export_contacts_csv": "RO",
            "imbrace_list_contact_conversations": "RO",
            "imbrace_list_contact_comments": "RO",
            "imbrace_list_contact_files": "RO",
            "imbrace_list_conversation_activities": "RO",
            "imbrace_upload_contact_file": "W",
        }.items()
    },
    **{
        n: ("imbrace_notifications", a)
        for n, a in {
            "imbrace_list_notifications": "RO",
            "imbrace_mark_notifications_read": "W idem",
            "imbrace_dismiss_notification": "D idem",
            "imbrace_dismiss_all_notifications": "D idem",
        }.items()
    },
    **{n: ("bird_channels", "RO") for n in ("bird_list_channels", "bird_get_channel", "bird_check_service_window")},
}
# Argument names per tool, as in the contract (confirm is the safety layer's, on destructive tools only).
ARGS: dict[str, set[str]] = {
    "imbrace_list_channels": {"type", "limit", "offset"},
    "imbrace_get_channel": {"channel_id"},
    "imbrace_count_channels": set(),
    "imbrace_create_channel": {"type", "name", "config"},
    "imbrace_update_channel": {"channel_id", "name", "active", "config"},
    "imbrace_delete_channel": {"channel_id", "api_version"},
    "imbrace_create_web_channel": {"name"},
    "imbrace_create_facebook_channel": {"page_id", "credential_id", "name"},
    "imbrace_update_facebook_channel": {"channel_id", "page_id", "credential_id", "name", "config"},
    "imbrace_create_instagram_channel": {"name", "config"},
    "imbrace_create_email_channel": {"email", "name", "config"},
    "imbrace_create_wechat_channel": {"name", "config"},
    "imbrace_create_line_channel": {"name", "config"},
    "imbrace_create_whatsapp_channel": {"phone_number_id", "access_token", "name", "config"},
    "imbrace_update_whatsapp_channel": {"channel_id", "phone_number_id", "access_token", "name", "config"},
    "imbrace_list_facebook_pages": {"credential_id"},
    "imbrace_get_credential": {"credential_id"},
    "imbrace_update_credential": {"credential_id", "name", "credentials"},
    "imbrace_delete_credential": {"credential_id"},
    "imbrace_update_channel_workflow": {"workflow_id", "channel_id", "config"},
    "imbrace_delete_channel_workflow": {"workflow_id"},
    "imbrace_list_assignable_teams": set(),
    "imbrace_list_team_observers": {"team_id"},
    "imbrace_list_contacts": {"limit", "skip"},
    "imbrace_get_contact": {"contact_id"},
    "imbrace_update_contact": {"contact_id", "name", "email", "phone"},
    "imbrace_search_contacts": {"q", "limit", "skip"},
    "imbrace_export_contacts_csv": {"sort"},
    "imbrace_list_contact_conversations": {"contact_id", "channel_types"},
    "imbrace_list_contact_comments": {"contact_id", "limit", "skip"},
    "imbrace_list_contact_files": {"contact_id"},
    "imbrace_list_conversation_activities": {"conversation_id"},
    "imbrace_upload_contact_file": {"filename", "content_base64", "content_type"},
    "imbrace_list_notifications": {"limit", "skip"},
    "imbrace_mark_notifications_read": {"notification_ids"},
    "imbrace_dismiss_notification": {"notification_id"},
    "imbrace_dismiss_all_notifications": set(),
    "bird_list_channels": {"limit", "page_token", "workspace_id"},
    "bird_get_channel": {"channel_id", "workspace_id"},
    "bird_check_service_window": {"channel_id", "contact_id", "workspace_id"},
}


def code(spec: ToolSpec[Any, Any]) -> str:
    ann = spec.annotations
    if ann.read_only:
        return "RO"
    return ("D" if ann.destructive else "W") + (" idem" if ann.idempotent else "")


@pytest.mark.skipif(not CONTRACT_FILE.exists(), reason="shared/api-contract.md is not beside the repo")
def test_transcription_matches_shared_contract() -> None:
    text = CONTRACT_FILE.read_text()
    toolset = ""
    parsed: dict[str, tuple[str, str]] = {}
    for line in text.splitlines():
        if m := re.match(r"^### `(\w+)`", line):
            toolset = m.group(1)
        elif m := re.match(r"^\| ((?:imbrace|bird)_\w+) \|.*\| ([A-Z]+(?: idem)?) \|$", line):
            parsed[m.group(1)] = (toolset, m.group(2))
    assert parsed == CONTRACT


def test_names_toolsets_and_annotations_match_contract() -> None:
    names = [t.name for t in ALL_TOOLS]
    assert len(names) == len(set(names)) == 40
    assert {t.name: (t.toolset, code(t)) for t in ALL_TOOLS} == CONTRACT
    assert set(TOOLSETS) == {v[0] for v in CONTRACT.values()}


@pytest.mark.parametrize("spec", ALL_TOOLS, ids=lambda s: s.name)
def test_tool_declaration(spec: ToolSpec[Any, Any]) -> None:
    schema = spec.input_schema()
    props = schema.get("properties", {})
    expected = ARGS[spec.name] | ({"confirm"} if spec.annotations.destructive else set())
    assert set(props) == expected
    for name, prop in props.items():
        assert prop.get("description"), f"{spec.name}.{name} has no description"
    # No unions: an optional is nullable through a type array (["integer", "null"]), never an anyOf.
    assert "anyOf" not in json.dumps(schema) and "oneOf" not in json.dumps(schema), "no unions in inputs"
    assert 0 < len(spec.description) <= MAX_DESCRIPTION
    assert spec.title and spec.lists_with in CONTRACT
    if spec.annotations.destructive:
        assert "explicitly confirmed" in props["confirm"]["description"]
        assert spec.describe_target is not None
    else:
        assert "confirm" not in props
    assert spec.output_schema().get("type") == "object"


def _objects(schema: Any) -> list[dict[str, Any]]:
    """Every sub-schema that is an object with declared properties (the ones strict mode must close)."""
    found: list[dict[str, Any]] = []
    if isinstance(schema, dict):
        if "properties" in schema:
            found.append(schema)
        for value in schema.values():
            found.extend(_objects(value))
    elif isinstance(schema, list):
        for value in schema:
            found.extend(_objects(value))
    return found


@pytest.mark.parametrize("spec", ALL_TOOLS, ids=lambda s: s.name)
def test_input_schema_is_strict_friendly(spec: ToolSpec[Any, Any]) -> None:
    """What OpenAI's strict mode (compat/openai_strict.py runs the real converter) needs, checked on the
    published schema without the SDK: closed objects, and optionals that stay optional when strict mode
    makes every property required, because they accept null."""
    schema, _ = spec.published_schemas()
    assert schema["type"] == "object" and isinstance(schema["properties"], dict)
    for obj in _objects(schema):
        assert obj.get("additionalProperties") is False, f"{spec.name}: an object does not refuse unknown keys"
    required = set(schema.get("required", ()))
    for name, prop in schema["properties"].items():
        typ = prop.get("type")
        if name in required:
            assert isinstance(typ, str) and typ != "null", f"{spec.name}.{name}: required arguments are not nullable"
            continue
        assert isinstance(typ, list) and len(typ) == 2 and typ[1] == "null", f"{spec.name}.{name}: not nullable"
        if "enum" in prop:
            assert None in prop["enum"], f"{spec.name}.{name}: a nullable enum must list null"
    free_form = [n for n, p in schema["properties"].items() if "object" in p["type"] and "properties" not in p]
    assert set(free_form) <= {"config", "credentials"}, "only provider settings and secrets are free-form"


def test_every_tool_is_exercised_by_a_test() -> None:
    corpus = "".join(p.read_text() for p in Path(__file__).parent.glob("test_*.py") if p.name != Path(__file__).name)
    missing = [t.name for t in ALL_TOOLS if f'"{t.name}"' not in corpus]
    assert not missing


def test_public_surface_is_sorted() -> None:
    assert channel_mcp.__all__ == sorted(channel_mcp.__all__)
    for name in channel_mcp.__all__:
        assert hasattr(channel_mcp, name)


def snapshot(spec: ToolSpec[Any, Any]) -> dict[str, Any]:
    return {
        "name": spec.name,
        "title": spec.title,
        "description": spec.description,
        "toolset": spec.toolset,
        "annotations": spec.annotations.to_mcp(spec.title).model_dump(by_alias=True, exclude_none=True),
        "inputSchema": spec.input_schema(),
        "outputSchema": spec.output_schema(),
    }


@pytest.mark.parametrize("spec", ALL_TOOLS, ids=lambda s: s.name)
def test_schema_snapshot(spec: ToolSpec[Any, Any]) -> None:
    """The tool list is the API agents depend on: any change must show up in review.
    Regenerate with UPDATE_TOOLSNAPS=1 after an intended change."""
    current = json.dumps(snapshot(spec), indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    file = SNAPS / f"{spec.name}.json"
    if os.environ.get("UPDATE_TOOLSNAPS") == "1":
        SNAPS.mkdir(exist_ok=True)
        file.write_text(current, encoding="utf-8")
    assert file.exists(), f"missing snapshot {file.name}: run UPDATE_TOOLSNAPS=1 pytest tests/test_registry.py"
    assert file.read_text(encoding="utf-8") == current, f"{spec.name} schema drifted from {file.name}"


def test_shipped_schemas_match_the_models() -> None:
    """The server serves schemas from src/channel_mcp/tools/schemas.json (no generation at start-up);
    it must equal what the models generate. UPDATE_TOOLSNAPS=1 rewrites it with the snapshots."""
    current = generate_schemas(ALL_TOOLS)
    if os.environ.get("UPDATE_TOOLSNAPS") == "1":
        SCHEMAS_FILE.write_text(current, encoding="utf-8")
    assert SCHEMAS_FILE.read_text(encoding="utf-8") == current, "schemas.json drifted: run UPDATE_TOOLSNAPS=1"
    for spec in ALL_TOOLS:
        assert spec.published_schemas() == (spec.input_schema(), spec.output_schema())


def test_no_stale_snapshots() -> None:
    assert {p.stem for p in SNAPS.glob("*.json")} == {t.name for t in ALL_TOOLS}
