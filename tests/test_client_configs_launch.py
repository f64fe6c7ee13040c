"""Each client config's stdio command, run as written, starts the server from the built wheel.

The configs say `uvx channel-mcp serve …`. The test builds the wheel and runs that exact command with one
change uvx itself offers: `--from <wheel>` (and `--python` this interpreter, so nothing downloads a Python),
so it is the launcher a user's client runs, resolving the published package's entry point and
dependencies the same way, without publishing. Then an MCP initialize and tools/list over stdio, in
sandbox mode: the configs' credentials are placeholders, so the test replaces their env with the sandbox.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters

from channel_mcp._version import __version__
from channel_mcp.tools import ALL_TOOLS

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
CLIENTS = ROOT / "manifests" / "clients"
BIN = Path(sys.executable).parent


def _stdio_entries() -> list[tuple[str, dict[str, Any]]]:
    entries = []
    for path in sorted(CLIENTS.glob("*.json")):
        config = json.loads(path.read_text(encoding="utf-8"))
        servers = config.get("mcpServers") or config["servers"]
        entries += [(f"{path.stem}:{name}", entry) for name, entry in servers.items() if "command" in entry]
    return entries


ENTRIES = _stdio_entries()
# Configs that spell the same command line run the same process: launch each distinct one once.
COMMANDS: dict[tuple[str, ...], list[str]] = {}
for _name, _entry in ENTRIES:
    COMMANDS.setdefault((_entry["command"], *_entry["args"]), []).append(_name)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # A fresh directory per run: uvx caches by the wheel's path, so a stale build is never reused.
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(ROOT)],
        check=True,
        timeout=300,
        capture_output=True,
    )
    [built] = out.glob("channel_mcp-*.whl")
    assert built.name.startswith(f"channel_mcp-{__version__}-")
    return built


def test_every_config_has_stdio_entries() -> None:
    assert {name.split(":")[0] for name, _ in ENTRIES} == {"claude_desktop_config", "cursor", "vscode"}


@pytest.mark.parametrize("argv", list(COMMANDS), ids=[" ".join(argv) for argv in COMMANDS])
async def test_config_command_serves_from_the_wheel(argv: tuple[str, ...], wheel: Path) -> None:
    name = ", ".join(COMMANDS[argv])
    command = shutil.which(argv[0], path=str(BIN)) or shutil.which(argv[0])
    assert command, f"{argv[0]} not found (it comes with the test extras)"
    args = ["--from", str(wheel), "--python", sys.executable, *argv[1:]]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IMBRACE_", "BIRD_", "CHANNEL_MCP_"))}
    env |= {"CHANNEL_MCP_SANDBOX": "true", "CHANNEL_MCP_LOG_LEVEL": "WARNING", "UV_PYTHON_DOWNLOADS": "never"}
    async with Client(StdioServerParameters(command=command, args=args, env=env)) as client:
        tools = (await client.list_tools()).tools
    assert {t.name for t in tools} == {spec.name for spec in ALL_TOOLS}, name


def test_wheel_carries_the_licence(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        [licence] = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
        assert archive.read(licence) == (ROOT / "LICENSE").read_bytes()
        [metadata] = [n for n in names if n.endswith(".dist-info/METADATA")]
        headers = archive.read(metadata).decode()
    assert "License-Expression: MIT" in headers and "License-File: LICENSE" in headers
