"""`make compat`: real MCP clients against `channel-mcp serve --sandbox`, each in its own environment.

Needs only Python 3.11, Node 20 with npm, and the package registries. Every client is pinned and lives
under .compat/ (gitignored): a venv per Python client, since their MCP SDK pins disagree (langchain's
mcp<2, the server's mcp>=2), and an npm prefix for the Inspector. Environments are built once, in
parallel, and reused while their pins are unchanged. Every step has a time limit.

The server always runs from the project venv (.venv), as a user's client would start it.

    python compat/run.py             # every check
    python compat/run.py pydantic-ai  # only the named checks
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMPAT = ROOT / "compat"
ENVS = ROOT / ".compat"
SERVER = ROOT / ".venv" / "bin" / "channel-mcp"
STDIO = [str(SERVER), "serve", "--sandbox"]
# The clients' own chatter is enough; the server's INFO lines would bury it.
SERVER_ENV = {"CHANNEL_MCP_LOG_LEVEL": "WARNING"}
HTTP_TOKEN = "compat-token-" + "0" * 32

INSPECTOR = "@modelcontextprotocol/inspector@2.12.0"
INSTALL_TIMEOUT = 420  # seconds: a first install on a fresh clone, downloads included
STEP_TIMEOUT = 180  # seconds: one client check, server start-up included


@dataclass
class PythonClient:
    name: str
    venv: str
    pins: list[str]
    script: str
    # Skipped when its script is absent (compat/openai_strict.py lands separately).
    optional: bool = False
    args: list[str] = field(default_factory=lambda: list(STDIO))


PYTHON_CLIENTS = [
    PythonClient("pydantic-ai", "pydantic_ai", ["pydantic-ai-slim[mcp]==2.68.0"], "pydantic_ai_check.py"),
    PythonClient(
        "langchain-mcp-adapters",
        "langchain",
        ["langchain-mcp-adapters==0.3.2", "langchain-core==1.8.3", "mcp==1.30.0"],
        "langchain_check.py",
    ),
    PythonClient("google-genai", "genai", ["google-genai==3.6.1", "mcp==2.3.0"], "genai_check.py"),
    # Self-contained: with no arguments it starts .venv/bin/channel-mcp serve --sandbox itself.
    PythonClient(
        "openai-agents strict", "openai", ["openai-agents==0.24.0"], "openai_strict.py", optional=True, args=[]
    ),
]


@dataclass
class Result:
    name: str
    ok: bool
    seconds: float
    detail: str


def log(message: str) -> None:
    print(f"[compat] {message}", flush=True)


def run(cmd: list[str], *, timeout: float, env: dict[str, str] | None = None, cwd: Path = ROOT) -> tuple[bool, str]:
    """Run one command in its own process group, so a timeout also ends the server it started."""
    full_env = {**os.environ, **SERVER_ENV, **(env or {})}
    proc = subprocess.Popen(  # noqa: S603 - fixed argument lists built here
        cmd, cwd=cwd, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        return False, f"{out}\ntimed out after {timeout:.0f} s: {' '.join(cmd)}"
    return proc.returncode == 0, out


# --------------------------------------------------------------------------- environments


def _stamp_ok(directory: Path, pins: list[str]) -> bool:
    stamp = directory / ".pins"
    return stamp.is_file() and stamp.read_text(encoding="utf-8") == "\n".join(pins)


def setup_python(client: PythonClient) -> tuple[bool, str]:
    venv = ENVS / client.venv
    if _stamp_ok(venv, client.pins):
        return True, "reused"
    shutil.rmtree(venv, ignore_errors=True)
    ok, out = run([sys.executable, "-m", "venv", str(venv)], timeout=120)
    if ok:
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        ok, out = run([*pip, *client.pins], timeout=INSTALL_TIMEOUT)
    if ok:
        (venv / ".pins").write_text("\n".join(client.pins), encoding="utf-8")
    return ok, out


def setup_inspector() -> tuple[bool, str]:
    prefix = ENVS / "inspector"
    if _stamp_ok(prefix, [INSPECTOR]):
        return True, "reused"
    shutil.rmtree(prefix, ignore_errors=True)
    prefix.mkdir(parents=True)
    npm = ["npm", "install", "--prefix", str(prefix), "--no-audit", "--no-fund", "--loglevel=error", INSPECTOR]
    ok, out = run(npm, timeout=INSTALL_TIMEOUT)
    if ok:
        (prefix / ".pins").write_text(INSPECTOR, encoding="utf-8")
    return ok, out


# --------------------------------------------------------------------------- the Inspector CLI


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_http() -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    cmd = [*STDIO, "--transport", "http", "--host", "127.0.0.1", "--port", str(port)]
    env = {**os.environ, **SERVER_ENV, "CHANNEL_MCP_HTTP_TOKEN": HTTP_TOKEN}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return proc, f"http://127.0.0.1:{port}/mcp"
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("compat: the HTTP server did not come up within 30 s")


def inspector_check(target: list[str]) -> tuple[bool, str]:
    """tools/list, a tool call, resources/read and prompts/list through the Inspector CLI."""
    binary = str(ENVS / "inspector" / "node_modules" / ".bin" / "mcp-inspector")
    calls: list[tuple[list[str], Callable[[dict[str, object]], bool]]] = [
        (["--method", "tools/list"], lambda r: len(r.get("tools", [])) >= 40),
        (
            ["--method", "tools/call", "--tool-name", "imbrace_list_channels", "--tool-arg", "type=whatsapp"],
            lambda r: r.get("isError") is not True and "whatsapp" in json.dumps(r),
        ),
        (["--method", "resources/read", "--uri", "imbrace://channels"], lambda r: bool(r.get("contents"))),
        (
            ["--method", "prompts/list"],
            lambda r: "audit_channels" in {p["name"] for p in r.get("prompts", [])},
        ),
    ]
    lines = []
    for args, check in calls:
        ok, out = run([binary, "--cli", *target, *args], timeout=60)
        try:
            # The JSON answer comes first; the CLI may add a line after it (its schema portability note).
            answer, _ = json.JSONDecoder().raw_decode(out[out.index("{") :])
        except ValueError:
            ok, answer = False, {}
        if not (ok and check(answer)):
            return False, f"{' '.join(args)} failed:\n{out[-2000:]}"
        lines.append(f"{args[1]} ok")
    return True, "; ".join(lines)


# --------------------------------------------------------------------------- main


def main(selected: list[str]) -> int:
    started = time.monotonic()
    wanted = set(selected)
    clients = [c for c in PYTHON_CLIENTS if not wanted or c.name in wanted or c.venv in wanted]
    clients = [c for c in clients if (COMPAT / c.script).is_file() or not c.optional]
    skipped = [c.name for c in PYTHON_CLIENTS if c.optional and not (COMPAT / c.script).is_file()]
    use_inspector = not wanted or "inspector" in wanted
    if not SERVER.is_file():
        raise SystemExit("compat: .venv is missing; run `make setup` first")

    ENVS.mkdir(exist_ok=True)
    log("setting up client environments (in parallel)")
    with ThreadPoolExecutor(max_workers=len(clients) + 1) as pool:
        setups = {c.name: pool.submit(setup_python, c) for c in clients}
        if use_inspector:
            setups["inspector"] = pool.submit(setup_inspector)
        for name, future in setups.items():
            ok, out = future.result()
            if not ok:
                log(f"setup of {name} failed:\n{out[-3000:]}")
                return 1
    log(f"environments ready in {time.monotonic() - started:.0f} s")

    results: list[Result] = []

    def step(name: str, action: Callable[[], tuple[bool, str]]) -> None:
        t0 = time.monotonic()
        ok, detail = action()
        results.append(Result(name, ok, time.monotonic() - t0, detail.strip()))
        log(f"{'PASS' if ok else 'FAIL'} {name} ({results[-1].seconds:.1f} s)")
        if not ok or os.environ.get("COMPAT_VERBOSE"):
            print(detail.strip()[-4000:], flush=True)

    if use_inspector:
        step("inspector stdio", lambda: inspector_check(STDIO))
        http, url = start_http()
        try:
            header = ["--transport", "http", "--header", f"Authorization: Bearer {HTTP_TOKEN}"]
            step("inspector http", lambda: inspector_check([url, *header]))
        finally:
            http.terminate()
            http.wait(timeout=10)
    for client in clients:
        python = str(ENVS / client.venv / "bin" / "python")
        script = str(COMPAT / client.script)
        step(client.name, lambda p=python, s=script, a=client.args: run([p, s, *a], timeout=STEP_TIMEOUT))

    total = time.monotonic() - started
    print()
    for r in results:
        print(f"  {'PASS' if r.ok else 'FAIL'}  {r.name:<24} {r.seconds:6.1f} s")
    for name in skipped:
        print(f"  SKIP  {name:<24} (compat/ has no script for it yet)")
    failed = sum(not r.ok for r in results)
    print(f"compat run took {total:.0f} s")
    print(f"compat: {len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
