"""Hostile bytes on stdin: `channel-mcp serve --sandbox` as a real stdio subprocess.

One process takes every case in turn. After each bad input a valid `tools/call` must still be answered.
A bad input gets a JSON-RPC error (or an `isError` tool result) for its id, or is dropped; it never
kills the process, and stdout never carries anything but JSON-RPC messages (logs, at DEBUG, go to stderr).
Every wait is bounded; the process is always killed at the end.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import count
from typing import Any

import pytest

MB = 1024 * 1024
WAIT = 15.0


@dataclass
class StdioServer:
    proc: subprocess.Popen[bytes]
    lines: queue.Queue[bytes] = field(default_factory=queue.Queue)
    stdout: list[bytes] = field(default_factory=list)
    stderr: list[bytes] = field(default_factory=list)
    pending: list[dict[str, Any]] = field(default_factory=list)
    ids: Iterator[int] = field(default_factory=lambda: count(1000))

    def start_readers(self) -> None:
        def pump_out() -> None:
            assert self.proc.stdout is not None
            for line in iter(self.proc.stdout.readline, b""):
                self.stdout.append(line)
                self.lines.put(line)

        def pump_err() -> None:
            assert self.proc.stderr is not None
            for line in iter(self.proc.stderr.readline, b""):
                self.stderr.append(line)

        # stderr must be drained too, or a chatty server blocks on a full pipe.
        threading.Thread(target=pump_out, daemon=True).start()
        threading.Thread(target=pump_err, daemon=True).start()

    def write(self, raw: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(raw + b"\n")
        self.proc.stdin.flush()

    def send(self, message: dict[str, Any]) -> None:
        self.write(json.dumps(message).encode())

    def messages_until(self, wanted: object, timeout: float = WAIT) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Read until the response with id `wanted`; returns it and every other message read meanwhile."""
        others: list[dict[str, Any]] = []
        for i, message in enumerate(self.pending):
            if message.get("id") == wanted and ("result" in message or "error" in message):
                del self.pending[i]
                return message, []
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no answer to id {wanted!r} within {timeout} s; process alive: {self.alive}")
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                continue
            message = parse_jsonrpc(line)
            if message.get("id") == wanted and ("result" in message or "error" in message):
                return message, others
            others.append(message)

    def valid_call(self) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The valid request that must be answered after every bad input."""
        rid = next(self.ids)
        self.send(
            {
                "jsonrpc": "2.0",
                "id": rid,
                "method": "tools/call",
                "params": {"name": "imbrace_count_channels", "arguments": {}},
            }
        )
        answer, others = self.messages_until(rid)
        assert "result" in answer and answer["result"]["isError"] is False, answer
        assert answer["result"]["structuredContent"]["count"] > 0
        return answer, others

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None


def parse_jsonrpc(line: bytes) -> dict[str, Any]:
    """Every stdout line must be one JSON-RPC 2.0 message."""
    message = json.loads(line)
    assert isinstance(message, dict) and message.get("jsonrpc") == "2.0", line[:200]
    is_response = "id" in message and (("result" in message) != ("error" in message))
    is_message = isinstance(message.get("method"), str)
    assert is_response or is_message, line[:200]
    return message


@pytest.fixture(scope="module")
def server() -> Iterator[StdioServer]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IMBRACE_", "BIRD_", "CHANNEL_MCP_"))}
    proc = subprocess.Popen(
        [sys.executable, "-m", "channel_mcp", "serve", "--sandbox", "--log-level", "DEBUG"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    srv = StdioServer(proc)
    srv.start_readers()
    try:
        srv.send(
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "initialize",
                "params": {
                    "protocolVersion": "2025-11-25",
                    "capabilities": {},
                    "clientInfo": {"name": "t", "version": "1"},
                },
            }
        )
        answer, _ = srv.messages_until(1, timeout=30)
        assert answer["result"]["serverInfo"]["name"] == "channel-mcp"
        srv.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        yield srv
    finally:
        proc.kill()
        proc.wait(timeout=10)
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def raw(message: object) -> bytes:
    return json.dumps(message).encode()


def request(rid: int, method: str, params: Any = None, **extra: Any) -> bytes:
    message: dict[str, Any] = {"jsonrpc": "2.0", "id": rid, "method": method, **extra}
    if params is not None:
        message["params"] = params
    return json.dumps(message).encode()


def call(rid: int, name: Any, arguments: Any) -> bytes:
    return request(rid, "tools/call", {"name": name, "arguments": arguments})


def nested(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


DROP, ERROR, TOOL_ERROR, ANSWERED = "dropped-or-error", "error", "tool-error", "answered"


def notification(method: str, params: object) -> dict[str, object]:
    return {"jsonrpc": "2.0", "method": method, "params": params}


# (id, raw line, what must happen): "error" = a JSON-RPC error for that id; "tool-error" = an isError
# result for that id; "answered" = a result for that id; "dropped-or-error" = nothing, or an error for it.
CASES: list[tuple[str, int | None, bytes, str]] = [
    ("garbage text", None, b"hello, is this MCP?", DROP),
    ("empty line", None, b"", DROP),
    ("carriage return", None, b"\r", DROP),
    ("NUL byte", None, b"\x00", DROP),
    ("invalid UTF-8", None, b"\xff\xfe\xfd", DROP),
    ("truncated JSON", None, b'{"jsonrpc":"2.0","id":5,"method":"pi', DROP),
    ("JSON null", None, b"null", DROP),
    ("JSON number", None, b"42", DROP),
    ("JSON string", None, b'"tools/list"', DROP),
    ("empty batch", None, b"[]", DROP),
    ("batch (removed from MCP)", 20, b'[{"jsonrpc":"2.0","id":20,"method":"ping"}]', DROP),
    ("1000-deep array", None, b"[" * 1000 + b"]" * 1000, DROP),
    ("100000-deep array", None, b"[" * 100_000 + b"]" * 100_000, DROP),
    ("no method, no id", None, b'{"jsonrpc":"2.0"}', DROP),
    ("jsonrpc 1.0", 21, request(21, "ping", jsonrpc="1.0"), DROP),
    ("object id", None, b'{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}', DROP),
    ("null id", None, b'{"jsonrpc":"2.0","id":null,"method":"ping"}', DROP),
    ("unknown method", 22, request(22, "no/such/method"), ERROR),
    ("unknown notification", None, b'{"jsonrpc":"2.0","method":"notifications/nothing"}', DROP),
    ("stray response", None, b'{"jsonrpc":"2.0","id":999999,"result":{}}', DROP),
    ("stray error response", None, raw({"jsonrpc": "2.0", "id": 9998, "error": {"code": 1, "message": "x"}}), DROP),
    ("cancel of unknown request", None, raw(notification("notifications/cancelled", {"requestId": 77})), DROP),
    ("tools/call name is a number", 23, call(23, 123, {}), ERROR),
    ("tools/call arguments is a list", 24, call(24, "imbrace_get_channel", []), ERROR),
    ("tools/call params is a string", 25, request(25, "tools/call", "imbrace_get_channel"), DROP),
    ("tools/call without params", 26, request(26, "tools/call"), DROP),
    ("tools/list cursor is a number", 27, request(27, "tools/list", {"cursor": 5}), ERROR),
    ("unknown tool", 28, call(28, "no_such_tool", {}), TOOL_ERROR),
    ("wrong argument type", 29, call(29, "imbrace_get_channel", {"channel_id": 5}), TOOL_ERROR),
    ("missing required argument", 30, call(30, "imbrace_get_channel", {}), TOOL_ERROR),
    ("unknown argument", 31, call(31, "imbrace_count_channels", {"everything": True}), TOOL_ERROR),
    ("hostile id", 32, call(32, "imbrace_get_channel", {"channel_id": "../../admin"}), TOOL_ERROR),
    ("delete without confirm", 33, call(33, "imbrace_delete_channel", {"channel_id": "ch_web_001"}), TOOL_ERROR),
    ("second initialize with no params", 34, request(34, "initialize", {}), ERROR),
    ("logging/setLevel bad level", 35, request(35, "logging/setLevel", {"level": "LOUD"}), ERROR),
    ("resources/read unknown uri", 36, request(36, "resources/read", {"uri": "nope://x"}), ERROR),
    ("5000-deep arguments", 37, call(37, "imbrace_update_channel", {"channel_id": "ch_web_001"})[:-3]
        + b',"config":' + nested(5000) + b"}}}", DROP),
    ("4 MB argument", 38, call(38, "imbrace_search_contacts", {"q": "x" * (4 * MB)}), TOOL_ERROR),
    ("4 MB of garbage", None, b"z" * (4 * MB), DROP),
    ("4 MB ping", 39, request(39, "ping", {"_meta": {"pad": "y" * (4 * MB)}}), ANSWERED),
    ("20 MB argument", 40, call(40, "imbrace_get_channel", {"channel_id": "c" * (20 * MB)}), TOOL_ERROR),
]  # fmt: skip


@pytest.mark.parametrize(("rid", "line", "expect"), [pytest.param(*case[1:], id=case[0]) for case in CASES])
def test_bad_input_then_a_valid_call(server: StdioServer, rid: int | None, line: bytes, expect: str) -> None:
    assert server.alive
    server.write(line)
    answer: dict[str, Any] | None = None
    if expect in (ERROR, TOOL_ERROR, ANSWERED):
        answer, others = server.messages_until(rid)
        server.pending.extend(others)
    _, others = server.valid_call()
    # Anything else that came back must be a JSON-RPC error: for this input's id, or for no id.
    for message in [*server.pending, *others]:
        assert "error" in message and message["id"] in (rid, None), message
    server.pending.clear()
    if expect == ERROR:
        assert answer is not None and "error" in answer, answer
        assert isinstance(answer["error"]["code"], int) and answer["error"]["message"]
    elif expect == TOOL_ERROR:
        assert answer is not None and answer["result"]["isError"] is True, answer
        text = answer["result"]["content"][0]["text"]
        assert "Traceback" not in text and len(text) < 2000
    elif expect == ANSWERED:
        assert answer is not None and "result" in answer
    assert server.alive


def test_the_process_survived_everything_and_kept_stdout_clean(server: StdioServer) -> None:
    server.valid_call()
    assert server.alive
    for line in server.stdout:
        parse_jsonrpc(line)
    assert server.stderr, "logs go to stderr"
    assert not any(b"Traceback" in line for line in server.stdout)


def test_closing_stdin_ends_the_process_cleanly() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IMBRACE_", "BIRD_", "CHANNEL_MCP_"))}
    proc = subprocess.Popen(
        [sys.executable, "-m", "channel_mcp", "serve", "--sandbox"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        out, _ = proc.communicate(b"garbage\n" + request(1, "ping") + b"\n", timeout=30)
        assert proc.returncode == 0
        assert [parse_jsonrpc(line) for line in out.splitlines()] == [{"jsonrpc": "2.0", "id": 1, "result": {}}]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
