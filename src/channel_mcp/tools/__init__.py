"""The explicit tool registry: every tool of every toolset, in a fixed order. Nothing registers by import.

This is the one list of tools: the README table, the MCPB manifest's tool list, schemas.json and the
tool snapshots are generated from it (`make manifests`, `UPDATE_TOOLSNAPS=1`).
"""

from __future__ import annotations

from typing import Any

from channel_mcp.tools import bird, channels, contacts, credentials, notifications, workflows
from channel_mcp.tools.declare import Toolset, ToolSpec

TOOLSET_ORDER: tuple[Toolset, ...] = (
    channels.toolset,
    credentials.toolset,
    workflows.toolset,
    contacts.toolset,
    notifications.toolset,
    bird.toolset,
)

TOOLSETS: dict[str, list[ToolSpec[Any, Any]]] = {toolset.name: toolset.tools for toolset in TOOLSET_ORDER}

ALL_TOOLS: list[ToolSpec[Any, Any]] = [tool for tools in TOOLSETS.values() for tool in tools]

__all__ = ["ALL_TOOLS", "TOOLSETS", "ToolSpec"]
