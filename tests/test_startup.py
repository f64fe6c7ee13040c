"""Start-up: what a stdio client waits for does not load the upstream HTTP stack; the first call does.

In a fresh interpreter (a subprocess), as `channel-mcp serve` does: settings, `build_server`, the
lifespan's clients and a `tools/list`; then one tool call against the embedded sandbox.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

CODE = r"""
import json, sys
import anyio
from channel_mcp.cli import parser, settings_from
from channel_mcp.server import build_server
from channel_mcp.deps import build_deps
from channel_mcp.tools.runner import execute

HEAVY = ("httpx", "httpcore", "h11", "channel_mcp.wire", "channel_mcp.sandbox.app")

async def main():
    settings = settings_from(parser().parse_args(sys.argv[1:]))
    server = build_server(settings)
    deps = build_deps(settings)
    tools = await server.list_tools()
    listed = sorted(m for m in HEAVY if m in sys.modules)
    from channel_mcp.server import direct_tool
    spec = direct_tool(server, "imbrace_get_channel")
    result = await execute(spec, {"channel_id": "ch_web_001"}, deps, None)
    called = sorted(m for m in HEAVY if m in sys.modules)
    await deps.aclose()
    print(json.dumps({"tools": len(tools), "listed": listed, "called": called, "error": result.is_error}))

anyio.run(main)
"""


@pytest.mark.slow
def test_tools_list_does_not_load_the_http_stack() -> None:
    done = subprocess.run(
        [sys.executable, "-c", CODE, "serve", "--sandbox"], capture_output=True, text=True, check=True, timeout=120
    )
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["tools"] >= 40
    assert out["listed"] == [], out  # nothing of the HTTP stack before the first call
    assert out["error"] is False
    assert {"httpx", "channel_mcp.wire", "channel_mcp.sandbox.app"} <= set(out["called"])  # the call loads it
