"""channel-mcp: an MCP server, and an async Python SDK, for iMBRACE channels and contacts and Bird channels."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from channel_mcp._version import __version__

if TYPE_CHECKING:
    from channel_mcp.bird.client import BirdClient
    from channel_mcp.config import Settings
    from channel_mcp.errors import ChannelMCPError
    from channel_mcp.imbrace.client import ImbraceClient
    from channel_mcp.server import build_server

__all__ = ["BirdClient", "ChannelMCPError", "ImbraceClient", "Settings", "__version__", "build_server"]

_LAZY = {
    "BirdClient": "channel_mcp.bird.client",
    "ChannelMCPError": "channel_mcp.errors",
    "ImbraceClient": "channel_mcp.imbrace.client",
    "Settings": "channel_mcp.config",
    "build_server": "channel_mcp.server",
}


def __getattr__(name: str) -> Any:
    # Lazy so that `channel-mcp --version` and the stdio start-up import only what they use.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(name)
