"""The thread-free stdio transport: same protocol as the SDK's, fds diverted while serving."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.test_cli import clean_env

SCRIPT = r"""
import sys, anyio
from mcp.server.mcpserver import MCPServer
from channel_mcp.serving.stdio import run_stdio

server = MCPServer("probe")

@server.tool()
def shout(text: str) -> str:
    print("stray print must not reach the wire")   # fd 1 is diverted to stderr while serving
    data = sys.stdin.read()                        # fd 0 is diverted to the null device
    return text.upper() + f" stdin={data!r}"

anyio.run(run_stdio, server)
print("after serving", flush=True)                 # fds restored on exit
"""


def serve_until_answered(first: bytes, stdin: int | None = subprocess.PIPE) -> tuple[list[str], str]:
    """Start the probe server, send `first`, read until the call (id 2) is answered, then close stdin."""
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT], stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=clean_env()
    )
    assert proc.stdout is not None and proc.stderr is not None
    if proc.stdin is not None:
        proc.stdin.write(first)
        proc.stdin.flush()
    wire: list[str] = []
    try:
        while not any('"id":2' in line for line in wire):
            line = proc.stdout.readline().decode()
            if not line:
                break
            wire.append(line.rstrip("\n"))
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        rest, err = proc.stdout.read(), proc.stderr.read()
        proc.stdout.close()
        proc.stderr.close()
        proc.wait(timeout=60)
    assert proc.returncode == 0, err[-2000:]
    return wire + rest.decode().splitlines(), err.decode()


def lines(*messages: dict[str, object]) -> bytes:
    return b"".join(json.dumps(m).encode() + b"\n" for m in messages)


INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}
CALL = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "shout", "arguments": {"text": "hé"}}}


def test_protocol_over_pipes_with_fds_diverted() -> None:
    too_long = b"x" * (70 * 1024 * 1024) + b"\n"  # over the line limit: dropped whole
    init = lines(INIT, {"jsonrpc": "2.0", "method": "notifications/initialized"})
    wire, err = serve_until_answered(init + too_long + b"not json\n" + lines(CALL))
    answers = [json.loads(line) for line in wire[:-1]]
    assert [a.get("id") for a in answers] == [1, 2]
    assert answers[1]["result"]["content"][0]["text"] == "HÉ stdin=''"
    assert wire[-1] == "after serving"
    assert "stray print must not reach the wire" in err


def test_regular_file_stdin_falls_back_to_the_sdk_transport(tmp_path: os.PathLike[str]) -> None:
    path = os.path.join(tmp_path, "in.jsonl")
    with open(path, "wb") as f:
        f.write(lines(INIT))
    with open(path, "rb") as f:
        out = subprocess.run([sys.executable, "-c", SCRIPT], stdin=f, capture_output=True, timeout=60, env=clean_env())
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout.decode().splitlines()[0])["id"] == 1


SLOW_SCRIPT = r"""
import anyio
from mcp.server.mcpserver import MCPServer
from channel_mcp.serving.stdio import run_stdio

server = MCPServer("probe")

@server.tool()
async def slow(text: str) -> str:
    await anyio.sleep(0.5)  # still running when stdin reaches EOF
    return text.upper()

anyio.run(run_stdio, server)
"""


def call(request_id: int, name: str, arguments: dict[str, object]) -> dict[str, object]:
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "tools/call",
        "params": {"name": name, "arguments": arguments},
    }


def slow_calls(count: int) -> bytes:
    init = lines(INIT, {"jsonrpc": "2.0", "method": "notifications/initialized"})
    return init + lines(*(call(i, "slow", {"text": f"n{i}"}) for i in range(2, 2 + count)))


def answers(stdout: bytes) -> dict[object, dict[str, object]]:
    return {message["id"]: message for message in map(json.loads, stdout.decode().splitlines())}


def test_stdin_eof_on_a_pipe_answers_every_request_in_flight() -> None:
    # `printf ... | channel-mcp serve`: all requests, then EOF at once, while every call is still running.
    out = subprocess.run(
        [sys.executable, "-c", SLOW_SCRIPT], input=slow_calls(5), capture_output=True, timeout=60, env=clean_env()
    )
    assert out.returncode == 0, out.stderr[-2000:]
    got = answers(out.stdout)
    assert sorted(got) == [1, 2, 3, 4, 5, 6]  # type: ignore[type-var]
    assert [got[i]["result"]["content"][0]["text"] for i in range(2, 7)] == ["N2", "N3", "N4", "N5", "N6"]  # type: ignore[index]


def test_stdin_eof_on_a_regular_file_answers_every_request_in_flight(tmp_path: os.PathLike[str]) -> None:
    path = os.path.join(tmp_path, "in.jsonl")
    with open(path, "wb") as f:
        f.write(slow_calls(3))
    with open(path, "rb") as f:
        out = subprocess.run(
            [sys.executable, "-c", SLOW_SCRIPT], stdin=f, capture_output=True, timeout=60, env=clean_env()
        )
    assert out.returncode == 0, out.stderr[-2000:]
    assert sorted(answers(out.stdout)) == [1, 2, 3, 4]  # type: ignore[type-var]


def test_stdin_eof_gives_up_on_a_request_after_the_grace() -> None:
    # A request that never finishes does not keep the process alive past the grace; the SDK then
    # cancels it and says so.
    script = SLOW_SCRIPT.replace("anyio.sleep(0.5)", "anyio.sleep_forever()").replace(
        "anyio.run(run_stdio, server)", "anyio.run(lambda: run_stdio(server, eof_grace=0.5))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], input=slow_calls(1), capture_output=True, timeout=60, env=clean_env()
    )
    assert out.returncode == 0, out.stderr[-2000:]
    got = answers(out.stdout)
    assert list(got) == [1, 2]
    assert got[2]["error"]["message"] == "Connection closed"  # type: ignore[index]


def test_serve_sandbox_answers_piped_requests() -> None:
    # The issue's own case: `printf ... | channel-mcp serve --sandbox`, real tools, stdin closed at once.
    calls = [call(i, "imbrace_list_channels", {}) for i in range(2, 12)]
    payload = lines(INIT, {"jsonrpc": "2.0", "method": "notifications/initialized"}, *calls)
    out = subprocess.run(
        [sys.executable, "-m", "channel_mcp", "serve", "--sandbox"],
        input=payload,
        capture_output=True,
        timeout=60,
        env=clean_env(),
    )
    assert out.returncode == 0, out.stderr[-2000:]
    got = answers(out.stdout)
    assert sorted(got) == list(range(1, 12))  # type: ignore[type-var]
    assert all("result" in got[i] for i in range(2, 12))
