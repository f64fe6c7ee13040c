"""OpenAI Agents SDK strict mode over channel-mcp's real tool list.

The Agents SDK converts every MCP tool's input schema to OpenAI's strict form when an agent is built
with `convert_schemas_to_strict=True` (`agents.mcp.util.MCPUtil.to_function_tool`, which calls
`agents.strict_schema.ensure_strict_json_schema`); a tool whose schema cannot be converted silently
falls back to non-strict. This script runs that exact conversion and checks that:

* every tool without a free-form object argument (`config`, `credentials`) converts strictly;
* each argument that is optional on the server stays optional after conversion: strict mode makes
  every property required, so an optional one must accept `null` (the server treats null as omitted).

How to run (openai-agents lives in its own venv; it coexists with mcp 2.x, but is no project dependency):

    python3.11 -m venv /tmp/agents-venv
    /tmp/agents-venv/bin/pip install openai-agents
    /tmp/agents-venv/bin/python compat/openai_strict.py                    # launches .venv/bin/channel-mcp
    /tmp/agents-venv/bin/python compat/openai_strict.py --command "uvx channel-mcp"
    /tmp/agents-venv/bin/python compat/openai_strict.py --schemas src/channel_mcp/tools/schemas.json

By default it starts `channel-mcp serve --sandbox` over stdio through the SDK's own `MCPServerStdio`
and converts the tools it lists, as an agent would. `--schemas` reads a schemas.json file instead (no
server). Prints one line per tool and a summary; exits 1 on any failure, 2 when the SDK is missing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import shlex
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_COMMAND = str(ROOT / ".venv" / "bin" / "channel-mcp")
# Arguments that are free-form objects by design (provider settings, secrets): strict mode cannot
# express "any object", so their tools are expected to fall back to non-strict.
FREE_FORM = {"config", "credentials"}
TIMEOUT = 60.0


def _nullable(schema: dict[str, Any]) -> bool:
    typ = schema.get("type")
    if typ == "null" or (isinstance(typ, list) and "null" in typ):
        return "enum" not in schema or None in schema["enum"]
    arms = schema.get("anyOf")
    return isinstance(arms, list) and any(isinstance(a, dict) and _nullable(a) for a in arms)


def _input_schema(tool: Any) -> dict[str, Any]:
    # mcp 2.x names the field input_schema (alias inputSchema); 1.x called the attribute inputSchema.
    schema = getattr(tool, "input_schema", None)
    return dict(schema if schema is not None else tool.inputSchema)


def check(tools: list[Any], function_tool: Any) -> tuple[list[str], list[str]]:
    """(report lines, failures). `function_tool(tool)` is the SDK conversion of one MCP tool."""
    lines: list[str] = []
    failures: list[str] = []
    for tool in tools:
        original = _input_schema(tool)
        props: dict[str, Any] = original.get("properties") or {}
        optional = [k for k in props if k not in set(original.get("required") or ())]
        free_form = sorted(FREE_FORM & set(props))
        converted = function_tool(tool)
        strict = bool(converted.strict_json_schema)
        problems: list[str] = []
        if strict:
            schema = converted.params_json_schema
            lost = [k for k in optional if not _nullable(schema["properties"][k])]
            if lost:
                problems.append("optional argument(s) became required: " + ", ".join(lost))
        elif not free_form:
            problems.append("fell back to non-strict")
        if original.get("additionalProperties") is not False:
            problems.append("input schema does not say additionalProperties: false")
        status = "strict" if strict else f"non-strict (free-form {', '.join(free_form)})" if free_form else "NON-STRICT"
        lines.append(f"{'FAIL' if problems else 'ok  '} {tool.name:38} {status}; {len(optional)} optional")
        failures.extend(f"{tool.name}: {p}" for p in problems)
    return lines, failures


def _load_sdk() -> tuple[Any, Any, Any]:
    try:
        from agents.mcp import MCPServerStdio, MCPUtil
        from mcp.types import Tool
    except ImportError as exc:
        print(f"openai-agents is not installed here ({exc}); see this script's docstring.", file=sys.stderr)
        sys.exit(2)
    return MCPServerStdio, MCPUtil, Tool


async def _from_server(command: str) -> tuple[list[Any], Any]:
    server_cls, util, _ = _load_sdk()
    argv = shlex.split(command)
    params = {"command": argv[0], "args": [*argv[1:], "serve", "--sandbox"]}
    server = server_cls(params=params, name="channel-mcp", client_session_timeout_seconds=TIMEOUT)
    async with server:
        tools = await asyncio.wait_for(server.list_tools(), TIMEOUT)
        return tools, lambda t: util.to_function_tool(t, server, convert_schemas_to_strict=True)


def _from_file(path: Path) -> tuple[list[Any], Any]:
    server_cls, util, tool_cls = _load_sdk()
    data = json.loads(path.read_text(encoding="utf-8"))
    tools = [tool_cls.model_validate({"name": n, "inputSchema": e["inputSchema"]}) for n, e in sorted(data.items())]
    # to_function_tool only asks the server for its approval and error policies: an unstarted one will do.
    server = server_cls(params={"command": "true"}, name="channel-mcp")
    return tools, lambda t: util.to_function_tool(t, server, convert_schemas_to_strict=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--command", default=DEFAULT_COMMAND, help="how to launch channel-mcp (default: .venv/bin)")
    p.add_argument("--schemas", type=Path, help="read this schemas.json instead of launching the server")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if args.schemas:
        tools, convert = _from_file(args.schemas)
    else:
        tools, convert = asyncio.run(_from_server(args.command))
    lines, failures = check(tools, convert)
    print("\n".join(lines))
    strict = sum(1 for line in lines if " strict;" in line)
    print(f"\nOpenAI Agents strict conversion: {strict}/{len(tools)} tools strict, {len(failures)} problem(s).")
    for failure in failures:
        print("  -", failure)
    if not tools:
        print("no tools listed", file=sys.stderr)
        return 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
