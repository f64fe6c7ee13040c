"""One loop over every tool: names, order, toolsets, annotations and arguments as in the contract (its
transcription, tests/contract.py, checked here against shared/api-contract.md), described arguments,
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
from tests import contract

ROOT = Path(__file__).resolve().parent.parent
SNAPS = Path(__file__).parent / "toolsnaps"
CONTRACT_FILE = ROOT.parent / "shared" / "api-contract.md"
MAX_DESCRIPTION = 120

# (toolset, annotation code, required, optional, secret arguments, requests as (method, path with its
# placeholders blanked, query names, body fields, multipart field)): what the markdown and the transcription
# are compared on.
RequestShape = tuple[str, str, tuple[str, ...], tuple[str, ...], str | None]
Shape = tuple[str, str, tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[RequestShape, ...]]


def _blank(path: str) -> str:
    """The contract names some placeholders differently from the arguments (`{id}`); compare the shape."""
    return re.sub(r"\{\w+\}", "{}", path)


def shape(tool: contract.Tool) -> Shape:
    requests = tuple((r.method, _blank(r.path), r.query, r.body, r.form) for r in tool.requests)
    return (tool.toolset, tool.annotations, tool.required, tool.optional, tool.secret, requests)


def _items(cell: str) -> list[str]:
    """The comma-separated items of a cell, not splitting inside brackets."""
    items, depth, current = [], 0, ""
    for char in cell:
        depth += (char in "([{") - (char in ")]}")
        if char == "," and depth == 0:
            items.append(current.strip())
            current = ""
        else:
            current += char
    return [item for item in (*items, current.strip()) if item]


def parse_contract(text: str) -> dict[str, Shape]:
    """Every tool row of shared/api-contract.md, read as the transcription is written."""
    toolset = ""
    parsed: dict[str, Shape] = {}
    for line in text.splitlines():
        if m := re.match(r"^### `(\w+)`", line):
            toolset = m.group(1)
        if not re.match(r"^\| (?:imbrace|bird)_\w+ \|", line):
            continue
        name, args_cell, request_cell, code_cell = (cell.strip() for cell in line.strip()[1:-1].split(" | "))
        assert re.fullmatch(r"RO|W|W idem|D idem", code_cell), line
        required: list[str] = []
        optional: list[str] = []
        secret: list[str] = []
        for item in [] if args_cell == "—" else _items(args_cell):
            arg = re.fullmatch(r"(\w+)(\?)?(?: \((.*)\))?", item)
            assert arg, f"{name}: cannot read argument {item!r}"
            (optional if arg.group(2) else required).append(arg.group(1))
            if "secret" in (arg.group(3) or ""):
                secret.append(arg.group(1))
        method, rest = request_cell.split(" ", 1)
        paths = re.findall(r"(?:^| or )(/[^\s?,]+)", rest)
        query = re.match(r"/[^\s?,]+\?(\S+)", rest)
        body_cell = re.search(r" \{(.*?)\}(?: |$)", rest)
        body: list[str] = []
        for item in _items(body_cell.group(1)) if body_cell else []:
            if item == "...given fields":
                body += [f"{arg}?" for arg in optional]
            else:
                field = re.match(r"\w+\??", item)
                assert field, f"{name}: cannot read body field {item!r}"
                body.append(field.group(0))
        if "no body when omitted" in rest:
            body = [field if field.endswith("?") else f"{field}?" for field in body]
        form = re.search(r"multipart field `(\w+)`", rest)
        assert paths, f"{name}: no path in {request_cell!r}"
        parsed[name] = (
            toolset,
            code_cell,
            tuple(required),
            tuple(optional),
            tuple(secret),
            tuple(
                (
                    method,
                    _blank(path),
                    tuple(p.split("=")[0] for p in query.group(1).split("&")) if query else (),
                    tuple(body),
                    form.group(1) if form else None,
                )
                for path in paths
            ),
        )
    return parsed


def code(spec: ToolSpec[Any, Any]) -> str:
    ann = spec.annotations
    if ann.read_only:
        return "RO"
    return ("D" if ann.destructive else "W") + (" idem" if ann.idempotent else "")


@pytest.mark.skipif(not CONTRACT_FILE.exists(), reason="shared/api-contract.md is not beside the repo")
def test_transcription_matches_shared_contract() -> None:
    parsed = parse_contract(CONTRACT_FILE.read_text())
    assert list(parsed) == contract.names()
    for name, tool in contract.CONTRACT.items():
        assert parsed[name] == shape(tool), name


def test_transcription_requests_name_their_arguments() -> None:
    """Placeholders are required arguments (`{ws}` is the workspace, from `workspace_id` or the default);
    a request picked by an argument value comes after the tool's default one."""
    for tool in contract.CONTRACT.values():
        assert tool.requests and not tool.requests[0].when, tool.name
        assert set(tool.secret) <= tool.args, tool.name
        for req in tool.requests:
            assert set(req.placeholders) - {"ws"} <= set(tool.required), (tool.name, req.path)
            assert ("ws" in req.placeholders) == (tool.provider == "bird" and "workspace_id" in tool.args)
            assert {key for key, _ in req.when} <= tool.args, tool.name
            assert not (req.body and req.form), tool.name
        assert len({tool.request(dict(req.when)) for req in tool.requests}) == len(tool.requests), tool.name


def test_names_toolsets_and_annotations_match_contract() -> None:
    names = [t.name for t in ALL_TOOLS]
    assert len(names) == len(set(names))
    assert names == contract.names()
    assert {t.name: (t.toolset, t.provider, code(t)) for t in ALL_TOOLS} == {
        c.name: (c.toolset, c.provider, c.annotations) for c in contract.CONTRACT.values()
    }
    assert {toolset: [t.name for t in tools] for toolset, tools in TOOLSETS.items()} == contract.TOOLSETS
    assert list(TOOLSETS) == list(contract.TOOLSETS)


@pytest.mark.parametrize("spec", ALL_TOOLS, ids=lambda s: s.name)
def test_tool_declaration(spec: ToolSpec[Any, Any]) -> None:
    schema = spec.input_schema()
    props = schema.get("properties", {})
    entry = contract.CONTRACT[spec.name]
    expected = entry.args | ({"confirm"} if spec.annotations.destructive else set())
    assert set(props) == expected
    assert set(schema.get("required", ())) == set(entry.required)
    assert set(spec.secret_args) == set(entry.secret)
    for name, prop in props.items():
        assert prop.get("description"), f"{spec.name}.{name} has no description"
    # No unions: an optional is nullable through a type array (["integer", "null"]), never an anyOf.
    assert "anyOf" not in json.dumps(schema) and "oneOf" not in json.dumps(schema), "no unions in inputs"
    assert 0 < len(spec.description) <= MAX_DESCRIPTION
    assert spec.title and spec.lists_with in contract.CONTRACT
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
