"""build_server(settings) -> MCPServer: the selected toolsets, resources and prompts, over one lifespan."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from mcp.server.mcpserver import Context, MCPServer, RequestStateSecurity
from mcp.server.mcpserver.tools.base import Tool
from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase, FuncMetadata
from mcp_types import CallToolResult
from pydantic import Field

from channel_mcp._version import __version__
from channel_mcp.config import Settings
from channel_mcp.deps import Deps, build_deps
from channel_mcp.errors import ConfigError
from channel_mcp.events import announce_write
from channel_mcp.registration import register
from channel_mcp.tools import ALL_TOOLS, TOOLSETS
from channel_mcp.tools.confirm import ContextConfirmer
from channel_mcp.tools.declare import ToolSpec
from channel_mcp.tools.runner import execute

INSTRUCTIONS = (
    "channel-mcp administers customer-messaging channels and contacts on iMBRACE and Bird. "
    "List tools return pages: pass the `next` arguments to read the following page. "
    "Deleting asks the user to confirm. Before a free-form WhatsApp message, check bird_check_service_window."
)
SANDBOX_NOTE = (
    " SANDBOX MODE: every answer comes from channel-mcp's built-in simulator, not a real account; "
    "the data is fictional and changes are not real."
)


class SpecTool(Tool):
    """An SDK `Tool` whose call runs through `execute` instead of signature introspection."""

    spec: Any = Field(exclude=True)

    async def run(self, arguments: dict[str, Any], context: Context[Any, Any], convert_result: bool = False) -> Any:
        deps: Deps = context.request_context.lifespan_context
        result = await execute(self.spec, arguments, deps, ContextConfirmer(context))
        if not self.spec.annotations.read_only and isinstance(result, CallToolResult) and not result.is_error:
            await announce_write(  # subscribers learn what the write changed
                context, self.spec.toolset, arguments
            )
        return result


def direct_tool(server: MCPServer[Any], name: str) -> ToolSpec[Any, Any] | None:
    """The spec of `name` when a call to it may skip the SDK's per-call machinery (see
    serving.stateless_entry): a registered channel-mcp tool that is read-only, so its call never asks
    the user anything and announces nothing. None for anything else, which then takes the SDK's way."""
    manager = getattr(server, "_tool_manager", None)  # an SDK without it: every call takes the SDK's way
    tool = manager.get_tool(name) if manager is not None else None
    if not isinstance(tool, SpecTool):
        return None
    spec: ToolSpec[Any, Any] = tool.spec
    ann = spec.annotations
    return spec if ann.read_only and not ann.destructive else None


async def _unused(**_: Any) -> None:  # the SDK requires a callable; SpecTool.run never calls it
    return None


def to_sdk_tool(spec: ToolSpec[Any, Any]) -> SpecTool:
    input_schema, output_schema = spec.published_schemas()
    return SpecTool(
        fn=_unused,
        name=spec.name,
        title=spec.title,
        description=spec.description,
        parameters=input_schema,
        fn_metadata=FuncMetadata(arg_model=ArgModelBase, output_schema=output_schema),
        is_async=True,
        annotations=spec.annotations.to_mcp(spec.title),
        spec=spec,
    )


def select_tools(settings: Settings) -> list[ToolSpec[Any, Any]]:
    """Toolsets, then allow list, then deny list; read-only always wins; only configured providers."""
    known = {t.name for t in ALL_TOOLS}
    for label, names, valid in (
        ("toolset", settings.toolsets, set(TOOLSETS)),
        ("tool", settings.tools, known),
        ("tool", settings.exclude_tools, known),
    ):
        unknown = sorted(set(names or ()) - valid)
        if unknown:
            raise ConfigError(f"unknown {label}(s): {', '.join(unknown)}. Valid: {', '.join(sorted(valid))}.")
    chosen = [t for t in ALL_TOOLS if settings.toolsets is None or t.toolset in settings.toolsets]
    if settings.tools:
        chosen = [t for t in chosen if t.name in settings.tools]
    if settings.exclude_tools:
        chosen = [t for t in chosen if t.name not in settings.exclude_tools]
    if settings.read_only:
        chosen = [t for t in chosen if t.annotations.read_only]
    configured = {"imbrace": settings.imbrace_configured, "bird": settings.bird_configured}
    return [t for t in chosen if configured[t.provider]]


def build_server(
    settings: Settings,
    *,
    deps_factory: Callable[[Settings], Deps] = build_deps,
    specs: Sequence[ToolSpec[Any, Any]] | None = None,
) -> MCPServer[Deps]:
    """The MCP server for these settings. `deps_factory` lets tests point the clients at fakes."""
    selected = list(specs) if specs is not None else select_tools(settings)

    @asynccontextmanager
    async def lifespan(_: MCPServer[Deps]) -> AsyncIterator[Deps]:
        deps = deps_factory(settings)
        try:
            yield deps
        finally:
            await deps.aclose()

    state_security = None
    if settings.request_state_key is not None:
        ring = [k.strip() for k in settings.request_state_key.get_secret_value().split(",") if k.strip()]
        state_security = RequestStateSecurity(keys=ring)
    server: MCPServer[Deps] = MCPServer(
        name="channel-mcp",
        title="channel-mcp" + (" (sandbox)" if settings.sandbox else ""),
        version=__version__,
        instructions=INSTRUCTIONS + (SANDBOX_NOTE if settings.sandbox else ""),
        website_url=None,
        tools=[to_sdk_tool(spec) for spec in selected],
        lifespan=lifespan,
        log_level=settings.log_level,
        warn_on_duplicate_tools=False,
        request_state_security=state_security,
    )
    register(server, settings)
    return server


def tool_table(specs: Sequence[ToolSpec[Any, Any]] = ALL_TOOLS) -> list[dict[str, Any]]:
    """Per-tool model-visible cost: bytes of name + description + inputSchema, divided by 4."""
    rows = []
    for spec in specs:
        visible = json.dumps(
            {"name": spec.name, "description": spec.description, "inputSchema": spec.input_schema()},
            separators=(",", ":"),
        )
        ann = spec.annotations
        kind = "RO" if ann.read_only else ("D" if ann.destructive else "W")
        rows.append(
            {
                "name": spec.name,
                "toolset": spec.toolset,
                "annotations": kind + (" idem" if ann.idempotent and not ann.read_only else ""),
                "tokens": len(visible.encode()) // 4,
            }
        )
    return rows


def tools_markdown(specs: Sequence[ToolSpec[Any, Any]] | None = None) -> str:
    """The README's tool block, from the registry: a summary line and one table row per tool, in registry
    order. `channel-mcp tools --markdown` prints exactly this."""
    tools = list(ALL_TOOLS if specs is None else specs)
    rows = tool_table(tools)
    toolsets = len({spec.toolset for spec in tools})
    total = sum(row["tokens"] for row in rows)
    lines = [
        f"{len(tools)} tools in {toolsets} toolsets. Their `tools/list` entries (name, description, input schema)",
        f"cost about {total:,} tokens in all, {round(total / max(len(tools), 1))} a tool;"
        " `channel-mcp tools` gives each tool's cost.",
        "",
        "| tool | toolset | what it does | ann. |",
        "|---|---|---|---|",
    ]
    for spec, row in zip(tools, rows, strict=True):
        description = spec.description.replace("|", "\\|")
        lines.append(f"| `{spec.name}` | {spec.toolset} | {description} | {row['annotations']} |")
    return "\n".join(lines) + "\n"
