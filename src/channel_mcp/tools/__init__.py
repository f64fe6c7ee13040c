"""The explicit tool registry: every tool of every toolset, in a fixed order. Nothing registers by import."""

from __future__ import annotations

from typing import Any

from channel_mcp.tools import bird, channels, contacts, credentials, notifications, workflows
from channel_mcp.tools.declare import ToolSpec

TOOLSETS: dict[str, list[ToolSpec[Any, Any]]] = {
    channels.TOOLSET: channels.TOOLS,
    credentials.TOOLSET: credentials.TOOLS,
    workflows.TOOLSET: workflows.TOOLS,
    contacts.TOOLSET: contacts.TOOLS,
    notifications.TOOLSET: notifications.TOOLS,
    bird.TOOLSET: bird.TOOLS,
}

ALL_TOOLS: list[ToolSpec[Any, Any]] = [tool for tools in TOOLSETS.values() for tool in tools]

__all__ = ["ALL_TOOLS", "TOOLSETS", "ToolSpec"]
