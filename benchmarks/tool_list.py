"""Tool-list cost: the model-visible size of `tools/list`, read over the real protocol (stdio).

Model-visible means what a client puts in the model's context for each tool: name, description and
inputSchema, as compact JSON; tokens are estimated as bytes / 4 (the same rule as `channel-mcp tools`).
The reference is the ~83 tokens a tool of an OpenAPI-generated server over the iMBRACE spec (a stated
figure from the design notes, not measured here). Also checked: every argument has a description.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from _common import Row, StdioServer, channel_mcp_cmd, clean_env, finish, parse_args, verdict

# Issue 17: strict-friendly schemas (closed objects, nullable optionals) cost ~10 tokens a tool; 90 at most.
GOAL = 90
OPENAPI_REFERENCE = 83


def visible_tokens(tool: dict[str, Any]) -> int:
    visible = {"name": tool["name"], "description": tool.get("description", ""), "inputSchema": tool["inputSchema"]}
    return len(json.dumps(visible, separators=(",", ":")).encode()) // 4


def undescribed(schema: dict[str, Any], where: str = "") -> Iterator[str]:
    """Argument paths (nested objects and `$defs` included) that have no description."""
    for name, prop in (schema.get("properties") or {}).items():
        path = f"{where}{name}"
        if not isinstance(prop, dict):
            continue
        if not prop.get("description") and "$ref" not in prop:
            yield path
        yield from undescribed(prop, path + ".")
        items = prop.get("items")
        if isinstance(items, dict):
            yield from undescribed(items, path + "[].")
    for def_name, sub in (schema.get("$defs") or {}).items():
        if isinstance(sub, dict):
            yield from undescribed(sub, f"$defs.{def_name}.")


def list_tools(cmd: Sequence[str], env: dict[str, str]) -> list[dict[str, Any]]:
    server = StdioServer(cmd, env)
    try:
        tools: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            result = server.request("tools/list", {"cursor": cursor} if cursor else None)
            tools.extend(result["tools"])
            cursor = result.get("nextCursor")
            if not cursor:
                return tools
    finally:
        server.close()


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(__doc__.splitlines()[0], argv)
    tools = list_tools(channel_mcp_cmd("serve", "--sandbox"), clean_env())
    costs = {t["name"]: visible_tokens(t) for t in tools}
    missing = [f"{t['name']}.{path}" for t in tools for path in undescribed(t["inputSchema"])]
    full_bytes = len(json.dumps({"tools": tools}, separators=(",", ":")).encode())
    average = sum(costs.values()) / len(costs)
    heaviest = sorted(costs.items(), key=lambda kv: -kv[1])[:3]
    rows = [
        Row(
            "tool-list",
            "tokens per tool (name+description+inputSchema, bytes/4)",
            f"{average:.1f} avg",
            f"<= {GOAL}",
            verdict(average <= GOAL),
            f"{len(costs)} tools, {sum(costs.values())} tokens in all; "
            f"OpenAPI-generated reference ~{OPENAPI_REFERENCE}",
        ),
        Row(
            "tool-list",
            "heaviest tools",
            ", ".join(str(c) for _, c in heaviest),
            note=", ".join(name for name, _ in heaviest),
        ),
        Row(
            "tool-list",
            "arguments without a description",
            str(len(missing)),
            "0",
            verdict(not missing),
            ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else ""),
        ),
        Row(
            "tool-list",
            "whole tools/list result (with outputSchema, annotations)",
            f"{full_bytes // 4} tokens",
            note="what goes over the wire; clients usually show the model less",
        ),
    ]
    finish(rows, args, "Tool-list cost")


if __name__ == "__main__":
    main()
