"""The one entry point for everything beside the tools: resources, templates, prompts and completions.

Offered only when a provider is configured; the request middleware (`request_scope.DepsScope`) comes
with them, since their handlers read the request's `Deps` through it.
"""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer

from channel_mcp.completions import complete
from channel_mcp.config import Settings
from channel_mcp.deps import Deps
from channel_mcp.prompts import add_prompts
from channel_mcp.request_scope import DepsScope
from channel_mcp.resources import add_resources


def register(server: MCPServer[Deps], settings: Settings) -> None:
    """Resources, templates, prompts and completions for the configured providers."""
    if not (settings.imbrace_configured or settings.bird_configured):
        return
    server.middleware.append(DepsScope())
    add_resources(server, settings)
    add_prompts(server, settings)
    server.completion()(complete)  # type: ignore[no-untyped-call]
