"""Shared helpers for the benchmarks: processes, raw JSON-RPC over stdio, statistics, the result table.

Every benchmark prints a table of rows (measure, value, goal, verdict, note) and, with `--json FILE`,
writes the same rows as JSON for `run_all.py`. Comparisons are always measured side by side in the
same run, interleaving the variants, because the machines these run on are shared and noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "benchmarks"
PYTHON = sys.executable
PROTOCOL_VERSION = "2025-11-25"
SANDBOX_KEY = "sandbox-key"
SANDBOX_WORKSPACE = "sandbox-workspace"
SEED_CHANNEL_ID = "ch_web_001"


# ------------------------------------------------------------------------------------------------ rows and tables


@dataclass
class Row:
    bench: str
    measure: str
    value: str
    goal: str = ""
    verdict: str = ""  # "ok", "OVER" or "" (informational)
    note: str = ""
    key: bool = False  # shown in run_all's summary even without a goal

    @property
    def in_summary(self) -> bool:
        return self.key or bool(self.goal)


def verdict(ok: bool) -> str:
    return "ok" if ok else "OVER"


def print_table(rows: Sequence[Row], title: str | None = None, *, file: IO[str] | None = None) -> None:
    out = file or sys.stdout
    headers = ("bench", "measure", "value", "goal", "", "note")
    cells = [(r.bench, r.measure, r.value, r.goal, r.verdict, r.note) for r in rows]
    widths = [max([len(h)] + [len(c[i]) for c in cells]) for i, h in enumerate(headers)]
    widths[-1] = len(headers[-1])  # the note is free text at the end of the line
    if title:
        print(f"\n## {title}\n", file=out)
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |"
    print(line, file=out)
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|", file=out)
    for c in cells:
        print("| " + " | ".join(v.ljust(w) for v, w in zip(c, widths, strict=True)) + " |", file=out)
    out.flush()


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help="small counts: proves the benchmark runs (CI smoke test)")
    p.add_argument("--json", metavar="FILE", help="also write the result rows as JSON to FILE")
    return p


def parse_args(description: str, argv: Sequence[str] | None = None) -> argparse.Namespace:
    return parser(description).parse_args(argv)


def finish(rows: Sequence[Row], args: argparse.Namespace, title: str) -> None:
    print_table(rows, title)
    if args.json:
        Path(args.json).write_text(json.dumps([asdict(r) for r in rows], indent=1), encoding="utf-8")


def machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": str(os.cpu_count() or "?"),
        "cpu": cpu,
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
    }


# ------------------------------------------------------------------------------------------------ statistics


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


# ------------------------------------------------------------------------------------------------ processes


def compile_like_an_install() -> None:
    """Byte-compile channel-mcp's sources, as installing a wheel does (pip compiles every module it installs).

    An editable checkout has no `__pycache__` until a run writes one, and a machine that sets
    PYTHONDONTWRITEBYTECODE never writes it: every start-up then compiles channel-mcp from source while
    the SDK, installed by pip, loads compiled. Start-up figures compare installed against installed."""
    import compileall

    compileall.compile_dir(str(ROOT / "src" / "channel_mcp"), quiet=1, workers=1)


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The current environment without any channel-mcp or provider settings, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IMBRACE_", "BIRD_", "CHANNEL_MCP_"))}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float = 60.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 - loopback URL we built
                if resp.status == 200:
                    return
        except OSError:
            pass
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process for {url} exited with {proc.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not come up within {timeout:.0f} s")
        time.sleep(0.05)


def stop(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass
class Service:
    url: str
    pid: int


@contextlib.contextmanager
def sandbox_process(contacts: int | None = None) -> Iterator[Service]:
    """`channel-mcp sandbox` on a free loopback port (or one seeded with `contacts` contacts)."""
    port = free_port()
    if contacts is None:
        cmd = [PYTHON, "-m", "channel_mcp", "sandbox", "--port", str(port)]
    else:
        code = (
            "import sys; from channel_mcp.sandbox import serve; "
            f"serve(port={port}, contacts={contacts}, stream=sys.stderr)"
        )
        cmd = [PYTHON, "-c", code]
    proc = subprocess.Popen(cmd, env=clean_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_http(url + "/_sandbox/health", timeout=300, proc=proc)
        yield Service(url, proc.pid)
    finally:
        stop(proc)


def sandbox_env(url: str) -> dict[str, str]:
    return {
        "IMBRACE_GATEWAY_URL": url,
        "IMBRACE_API_KEY": SANDBOX_KEY,
        "BIRD_API_URL": url,
        "BIRD_ACCESS_KEY": SANDBOX_KEY,
        "BIRD_WORKSPACE_ID": SANDBOX_WORKSPACE,
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8").rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def sched_seconds(pid: int) -> tuple[float, float]:
    """(on-CPU, waiting-for-a-CPU) seconds of a live process's threads, from /proc/<pid>/task/*/schedstat.

    On a shared machine the second is the noise; the first barely depends on it."""
    on_cpu = waiting = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            run, wait, _ = (int(x) for x in (task / "schedstat").read_text(encoding="utf-8").split())
        except (OSError, ValueError):
            continue
        on_cpu += run
        waiting += wait
    return on_cpu / 1e9, waiting / 1e9


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text(encoding="utf-8").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


# ------------------------------------------------------------------------------------------------ raw JSON-RPC


def rpc(msg_id: int | None, method: str, params: dict[str, Any] | None = None) -> bytes:
    msg: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
    if msg_id is not None:
        msg["id"] = msg_id
    if params is not None:
        msg["params"] = params
    return (json.dumps(msg, separators=(",", ":")) + "\n").encode()


def handshake() -> bytes:
    """initialize + initialized, as one write."""
    init = rpc(
        0,
        "initialize",
        {"protocolVersion": PROTOCOL_VERSION, "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}},
    )
    return init + rpc(None, "notifications/initialized")


def call_tool(msg_id: int, name: str, arguments: dict[str, Any]) -> bytes:
    return rpc(msg_id, "tools/call", {"name": name, "arguments": arguments})


class StdioServer:
    """A server process spoken to with raw JSON-RPC lines (blocking). Sends the handshake on start."""

    def __init__(self, cmd: Sequence[str], env: Mapping[str, str]) -> None:
        self.proc = subprocess.Popen(
            list(cmd), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=dict(env)
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.stdin = self.proc.stdin
        self.stdout = self.proc.stdout
        self.next_id = 1
        self.send(handshake())
        self.read(0)

    def send(self, data: bytes) -> None:
        self.stdin.write(data)
        self.stdin.flush()

    def read(self, msg_id: int) -> dict[str, Any]:
        """The response with this id (skipping notifications and log lines)."""
        while True:
            line = self.stdout.readline()
            if not line:
                raise RuntimeError(f"server exited (code {self.proc.poll()}) before answering request {msg_id}")
            msg = json.loads(line)
            if msg.get("id") == msg_id:
                if "error" in msg:
                    raise RuntimeError(f"request {msg_id} failed: {msg['error']}")
                return dict(msg["result"])

    def request(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        msg_id = self.next_id
        self.next_id += 1
        self.send(rpc(msg_id, method, params))
        return self.read(msg_id)

    def call(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        result = self.request("tools/call", {"name": name, "arguments": arguments})
        if result.get("isError"):
            raise RuntimeError(f"{name} failed: {result.get('content')}")
        return result

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            stop(self.proc)
        self.stdout.close()


def channel_mcp_cmd(*args: str) -> list[str]:
    return [PYTHON, "-m", "channel_mcp", *args]


def wait_port(port: int, timeout: float = 60.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Until something accepts TCP connections on 127.0.0.1:`port` (for servers without a health route)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2):
                return
        except OSError:
            pass
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process for port {port} exited with {proc.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"port {port} did not open within {timeout:.0f} s")
        time.sleep(0.05)


# ---------------------------------------------------------------------------------------------- HTTP load

TOOL = "imbrace_get_channel"
ARGUMENTS = {"channel_id": SEED_CHANNEL_ID}


MODERN = "2026-07-28"
MODERN_META = {
    "io.modelcontextprotocol/protocolVersion": MODERN,
    "io.modelcontextprotocol/clientCapabilities": {},
    "io.modelcontextprotocol/clientInfo": {"name": "bench", "version": "1"},
}


@dataclass(frozen=True)
class Target:
    """One server port, the Authorization header value it needs, and the protocol revision spoken to it."""

    port: int
    authorization: str | None = None
    version: str = PROTOCOL_VERSION


class Connection:
    """One keep-alive HTTP/1.1 connection posting one MCP tool call, over and over (raw HTTP/1.1: a
    lighter load generator than httpx, so that it is less of the bottleneck)."""

    def __init__(self, target: Target, tool: str = TOOL, arguments: Mapping[str, Any] | None = None) -> None:
        self.tool = tool
        self.arguments = dict(arguments if arguments is not None else ARGUMENTS)
        self.port = target.port
        self.version = target.version
        self.auth_line = f"authorization: {target.authorization}\r\n" if target.authorization else ""
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.next_id = 1

    async def call(self) -> None:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        params: dict[str, object] = {"name": self.tool, "arguments": self.arguments}
        extra = ""
        if self.version == MODERN:
            params["_meta"] = MODERN_META
            extra = f"mcp-method: tools/call\r\nmcp-name: {self.tool}\r\n"
        body = json.dumps({"jsonrpc": "2.0", "id": self.next_id, "method": "tools/call", "params": params}).encode()
        self.next_id += 1
        head = (
            f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\ncontent-type: application/json\r\n"
            f"accept: application/json, text/event-stream\r\nmcp-protocol-version: {self.version}\r\n"
            f"{extra}{self.auth_line}content-length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode() + body)
        status_line = await self.reader.readline()
        headers: dict[str, str] = {}
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            key, _, value = line.decode("latin-1").partition(":")
            headers[key.strip().lower()] = value.strip()
        if "content-length" in headers:
            payload = await self.reader.readexactly(int(headers["content-length"]))
        else:  # chunked
            chunks = []
            while size := int((await self.reader.readline()).strip() or b"0", 16):
                chunks.append(await self.reader.readexactly(size))
                await self.reader.readline()
            await self.reader.readline()
            payload = b"".join(chunks)
        if not status_line.startswith(b"HTTP/1.1 200") or b'"isError":false' not in payload:
            raise RuntimeError(f"call failed: {status_line!r} {payload[:300]!r}")
        if headers.get("connection", "").lower() == "close":
            await self.close()

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
            self.writer = None
