"""Read-only resources, templates, completions and prompts (filled in by the resources issue)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

    from channel_mcp.config import Settings
    from channel_mcp.deps import Deps


def register_resources(server: MCPServer[Deps], settings: Settings) -> None:
    return None
