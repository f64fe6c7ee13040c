"""The floor: a bare `MCPServer` from the same SDK with one tool, served over stdio.

`startup.py` compares channel-mcp's time to answer `tools/list` with this server's, and
`call_overhead.py` its per-call cost with this server's `echo`. With `--gc-paused` it does at start-up
what channel-mcp does (the cyclic GC paused until the server is built, then the start-up objects frozen),
for a like-for-like comparison.
"""

from __future__ import annotations

import gc
import sys
from typing import Any


def build() -> Any:
    from mcp.server.mcpserver import MCPServer

    server = MCPServer("floor")

    @server.tool()
    def echo(text: str) -> str:
        """Return the text unchanged."""
        return text

    return server


if __name__ == "__main__":
    paused = "--gc-paused" in sys.argv
    if paused:
        gc.disable()
    server = build()
    if paused:
        gc.freeze()
        gc.enable()
    server.run()
