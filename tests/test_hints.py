"""Not-found hints lead somewhere: every tool with an id argument, through the protocol, against a 404.

For each id a call was given, the answer carries that id's hint, and every tool the hint names exists,
is not the tool that just failed, and does not itself need that id (a dead end otherwise: the issue's
example was imbrace_get_credential's 404 telling the model to use imbrace_get_credential).
"""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest
import respx

from channel_mcp.config import Settings
from channel_mcp.tools import ALL_TOOLS
from channel_mcp.tools._hints import ID_HINTS
from channel_mcp.tools.declare import ToolSpec
from tests.conftest import connect

TOOLS = {t.name: t for t in ALL_TOOLS}
TOOL_NAME = re.compile(r"\b(?:imbrace|bird)_[a-z_]+\b")
# Ids no tool of this server lists: the hint says where they come from instead.
NO_LISTING = {("bird", "contact_id"), ("bird", "workspace_id")}


def is_id(name: str) -> bool:
    return name.endswith(("_id", "_ids"))


def required(spec: ToolSpec[Any, Any]) -> set[str]:
    return set(spec.input_schema().get("required", ()))


def arguments(spec: ToolSpec[Any, Any]) -> dict[str, Any]:
    """Every id argument (optional ones too, so each hint is exercised), plus what validation needs."""
    schema = spec.input_schema()
    args: dict[str, Any] = {}
    for name, prop in schema["properties"].items():
        if is_id(name):
            args[name] = ["nt_missing"] if name.endswith("_ids") else f"{name.removesuffix('_id')}_missing"
        elif name == "name":  # updates need at least one change
            args[name] = "Renamed"
        elif name in required(spec):
            args[name] = {"email": "desk@example.com", "content_base64": base64.b64encode(b"x").decode()}.get(
                name, prop.get("enum", ["x"])[0]
            )
    if spec.annotations.destructive:
        args["confirm"] = True
    return args


WITH_IDS = [t for t in ALL_TOOLS if any(is_id(n) for n in t.input_schema()["properties"])]


def test_every_id_argument_has_a_hint() -> None:
    missing = {(t.provider, n) for t in ALL_TOOLS for n in t.input_schema()["properties"] if is_id(n)} - ID_HINTS.keys()
    assert not missing


@pytest.mark.parametrize("spec", WITH_IDS, ids=lambda s: s.name)
async def test_not_found_names_a_tool_that_leads_somewhere(
    settings: Settings, upstream: respx.MockRouter, spec: ToolSpec[Any, Any]
) -> None:
    upstream.route().respond(404, json={"message": "not found"})
    args = arguments(spec)
    async with connect(settings) as client:
        result = await client.call_tool(spec.name, args)
    text = result.content[0].text  # type: ignore[union-attr]
    assert result.is_error and text.startswith("Not found: "), text
    for name in (n for n in args if is_id(n)):
        assert repr(args[name]) in text
        hint = ID_HINTS[(spec.provider, name)]
        assert hint in text, f"{spec.name}: no hint for {name}"
        named = TOOL_NAME.findall(hint)
        if (spec.provider, name) in NO_LISTING:
            assert not named and ("Bird" in hint or "BIRD_" in hint)
            continue
        assert named, f"the {name} hint names no tool"
        for tool in named:
            assert tool in TOOLS, f"{name} hint names {tool}, which does not exist"
            assert tool != spec.name, f"{spec.name}'s {name} hint names itself"
            assert name not in required(TOOLS[tool]), f"{name} hint names {tool}, which needs a {name}"


async def test_credential_hint_points_at_the_channels(settings: Settings, upstream: respx.MockRouter) -> None:
    upstream.get(url__regex=r".*/credentials/cred_9$").respond(404, json={"message": "no such credential"})
    async with connect(settings) as client:
        result = await client.call_tool("imbrace_get_credential", {"credential_id": "cred_9"})
    text = result.content[0].text  # type: ignore[union-attr]
    assert text == (
        "Not found: credential_id='cred_9' does not exist. Credential ids come with the Facebook channels that "
        "use them (credential_id): imbrace_list_channels with type=facebook, or imbrace_get_channel."
    )
