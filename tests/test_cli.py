"""The `channel-mcp` command as a user runs it: a real subprocess, over stdio for the server."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from mcp import Client, StdioServerParameters

from channel_mcp._version import __version__
from channel_mcp.tools import ALL_TOOLS


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IMBRACE_", "BIRD_", "CHANNEL_MCP_"))}
    env.update(extra)
    return env


def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "channel_mcp", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env(**env),
        stdin=subprocess.DEVNULL,
    )


def test_version() -> None:
    out = run("--version")
    assert out.returncode == 0 and out.stdout.strip() == f"channel-mcp {__version__}"


def test_tools_table_and_json() -> None:
    table = run("tools")
    assert table.returncode == 0 and "imbrace_delete_channel" in table.stdout and "D idem" in table.stdout
    rows = json.loads(run("tools", "--json").stdout)
    assert [row["name"] for row in rows] == [t.name for t in ALL_TOOLS]
    assert {"name", "toolset", "annotations", "tokens"} <= set(rows[0])


@pytest.mark.parametrize("args", [(), ("serve",)])
def test_serve_without_credentials_refuses_and_says_what_to_set(args: tuple[str, ...]) -> None:
    out = run(*args)
    assert out.returncode != 0 and out.stdout == ""
    for needle in ("IMBRACE_API_KEY", "BIRD_ACCESS_KEY", "--sandbox"):
        assert needle in out.stderr


def test_invalid_configuration_is_reported_without_values() -> None:
    out = run("serve", CHANNEL_MCP_TIMEOUT="-3", IMBRACE_API_KEY="test-imbrace-key-7f3a9c")
    assert out.returncode == 2 and "CHANNEL_MCP_TIMEOUT" in out.stderr and "test-imbrace-key" not in out.stderr


def test_unknown_toolset_is_refused() -> None:
    out = run("serve", "--sandbox", "--toolsets", "imbrace_everything")
    assert out.returncode == 2 and "unknown toolset" in out.stderr and "imbrace_channels" in out.stderr


async def test_stdio_server_end_to_end() -> None:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "channel_mcp", "serve", "--sandbox", "--log-level", "DEBUG"],
        env=clean_env(),
    )
    async with Client(params) as client:
        assert client.instructions is not None and "SANDBOX" in client.instructions
        tools = (await client.list_tools()).tools
        assert {t.name for t in tools} == {spec.name for spec in ALL_TOOLS}
        count = await client.call_tool("imbrace_count_channels", {})
        assert not count.is_error and count.structured_content is not None
        assert count.structured_content["count"] >= 12 and count.structured_content["sandbox"] is True
        refused = await client.call_tool("imbrace_get_channel", {"channel_id": "../../etc"})
        assert refused.is_error


async def test_stdio_read_only_offers_only_read_tools() -> None:
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "channel_mcp", "serve", "--sandbox", "--read-only"], env=clean_env()
    )
    async with Client(params) as client:
        tools = (await client.list_tools()).tools
    assert tools and all(t.annotations and t.annotations.read_only_hint for t in tools)


def test_doctor_checks_each_provider_without_printing_keys() -> None:
    good = run("doctor", "--sandbox")
    assert good.returncode == 0 and "iMBRACE" in good.stdout and "reachable" in good.stdout
    bad = run(
        "doctor",
        IMBRACE_API_KEY="test-imbrace-key-7f3a9c",
        IMBRACE_GATEWAY_URL="http://127.0.0.1:9",
        CHANNEL_MCP_TIMEOUT="2",
    )
    assert bad.returncode == 1 and "FAILED" in bad.stdout and "test-imbrace-key" not in bad.stdout + bad.stderr
