"""HTTP mode against slow and idle clients: head and body deadlines, idle keep-alive, the connection cap.

Each test runs `channel-mcp serve --transport http --sandbox` on 127.0.0.1 with short limits, speaks to
it over raw sockets, and stops it. The flood test opens 20,000 slow connections from separate
processes and checks that a real MCP call still succeeds and that every slow connection is closed.
"""

from __future__ import annotations

import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import pytest

from tests.test_http_app import free_port, stop, wait_ready

# Each test waits out real deadlines on a real server: several seconds apiece.
pytestmark = pytest.mark.slow

CALL = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "tools/call",
    "params": {"name": "imbrace_count_channels", "arguments": {}},
}
HEADERS = {
    "content-type": "application/json",
    "accept": "application/json, text/event-stream",
    "mcp-protocol-version": "2025-11-25",
}
PARTIAL_HEAD = b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n"
PARTIAL_BODY = (
    b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"
)


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IMBRACE_", "BIRD_", "CHANNEL_MCP_"))}
    env.update(extra)
    return env


@dataclass
class Served:
    url: str
    port: int
    log: str = ""  # the server's stderr, once stopped


@contextmanager
def server(*, sandbox: bool = True, imbrace_url: str | None = None, **limits: str) -> Iterator[Served]:
    """The server with these CHANNEL_MCP_* settings, stopped (and its stderr read) on exit.

    On the built-in sandbox, or on `imbrace_url` (a `channel-mcp sandbox` process). stderr goes to a
    file, not a pipe: under a flood a full pipe would block the server's logging.
    """
    port = free_port()
    env = clean_env(**{f"CHANNEL_MCP_{k.upper()}": v for k, v in limits.items()})
    if imbrace_url is not None:
        env.update(IMBRACE_GATEWAY_URL=imbrace_url, IMBRACE_API_KEY="sandbox-key")
    command = [sys.executable, "-m", "channel_mcp", "serve", "--transport", "http", "--port", str(port)]
    command += ["--sandbox"] if sandbox else []
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err, text=True, env=env)
        served = Served(f"http://127.0.0.1:{port}", port)
        try:
            wait_ready(proc, served.url)
            yield served
        finally:
            code, _ = stop(proc)
            err.seek(0)
            served.log = err.read()
        assert code == 0, served.log[-2000:]


def real_call(url: str) -> None:
    answer = httpx.post(f"{url}/mcp", json=CALL, headers=HEADERS, timeout=30)
    assert answer.status_code == 200, answer.text
    assert not answer.json()["result"]["isError"]


def read_until_closed(sock: socket.socket, wait: float) -> bytes | None:
    """What the server sent before closing; None if it has not closed within `wait` seconds."""
    sock.settimeout(wait)
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except TimeoutError:
        return None
    except ConnectionResetError:
        pass
    return received


def test_slow_head_and_body_get_408_and_silent_connections_are_closed() -> None:
    with server(http_header_timeout="1", http_body_timeout="1") as srv:
        silent = socket.create_connection(("127.0.0.1", srv.port))
        head = socket.create_connection(("127.0.0.1", srv.port))
        head.sendall(PARTIAL_HEAD)
        body = socket.create_connection(("127.0.0.1", srv.port))
        body.sendall(PARTIAL_BODY)
        try:
            assert read_until_closed(silent, 20) == b""
            for sock in (head, body):
                answer = read_until_closed(sock, 20)
                assert answer is not None
                assert answer.startswith(b"HTTP/1.1 408 ")
                assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["error"]["message"].startswith("Request Timeout")
        finally:
            for sock in (silent, head, body):
                sock.close()
        real_call(srv.url)  # healthy right after


def test_idle_keep_alive_is_closed_and_a_trickled_head_still_times_out() -> None:
    with server(http_keep_alive_timeout="1", http_header_timeout="2") as srv:
        with socket.create_connection(("127.0.0.1", srv.port)) as sock:
            body = json.dumps(CALL).encode()
            head = "".join(f"{k}: {v}\r\n" for k, v in HEADERS.items())
            request = f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{srv.port}\r\n{head}content-length: {len(body)}\r\n\r\n"
            sock.sendall(request.encode() + body)
            first = sock.recv(65536)
            assert first.startswith(b"HTTP/1.1 200 ")
            # The answer fits one read here; then the idle connection is closed by the keep-alive timeout.
            assert read_until_closed(sock, 20) is not None
        with socket.create_connection(("127.0.0.1", srv.port)) as sock:
            # A byte at a time keeps resetting an idle timer, but not the head deadline.
            sock.settimeout(20)
            closed = False
            for byte in PARTIAL_HEAD * 40:
                try:
                    sock.sendall(bytes([byte]))
                except (BrokenPipeError, ConnectionResetError):
                    closed = True
                    break
                if read_until_closed(sock, 0.05) is not None:
                    closed = True
                    break
            assert closed
        real_call(srv.url)


def test_at_the_cap_the_oldest_unfinished_connection_makes_room() -> None:
    with server(http_max_connections="4", http_header_timeout="60") as srv:
        slow = [socket.create_connection(("127.0.0.1", srv.port)) for _ in range(4)]
        try:
            for sock in slow:
                sock.sendall(b"GET /")
            real_call(srv.url)  # past the cap: the oldest slow one is closed, the call is served
            assert read_until_closed(slow[0], 20) == b""
        finally:
            for sock in slow:
                sock.close()
        real_call(srv.url)
    assert "at the connection limit: closed the oldest unfinished connection" in srv.log


def test_at_the_cap_with_every_connection_busy_the_answer_is_503() -> None:
    # Connections whose whole request is in are never dropped: a newcomer then gets a clear 503.
    sandbox_port = free_port()
    sandbox = subprocess.Popen(
        [sys.executable, "-m", "channel_mcp", "sandbox", "--port", str(sandbox_port), "--latency-ms", "3000"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=clean_env(),
    )
    upstream = f"http://127.0.0.1:{sandbox_port}"
    try:
        with server(sandbox=False, imbrace_url=upstream, http_max_connections="2") as srv:
            body = json.dumps(CALL).encode()
            head = "".join(f"{k}: {v}\r\n" for k, v in HEADERS.items())
            request = f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{srv.port}\r\n{head}content-length: {len(body)}\r\n\r\n"
            busy = [socket.create_connection(("127.0.0.1", srv.port)) for _ in range(2)]
            try:
                for sock in busy:
                    sock.sendall(request.encode() + body)  # each now waits 3 s on the slow upstream
                refused = httpx.post(f"{srv.url}/mcp", json=CALL, headers=HEADERS, timeout=30)
                assert refused.status_code == 503
                assert refused.headers["retry-after"] == "1"
                assert "connection limit" in refused.json()["error"]["message"]
                for sock in busy:  # the busy ones are answered in full
                    sock.settimeout(30)
                    answer = sock.recv(65536)
                    assert answer.startswith(b"HTTP/1.1 200 ")
            finally:
                for sock in busy:
                    sock.close()
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=30)


FLOODER = r"""
import resource, select, socket, sys, time

port, count, first = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
kinds = (b"", b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n",
         b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{")
socks = {}
poller = select.epoll()
started = time.monotonic()
for i in range(count):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # no TIME_WAIT here
    s.settimeout(10)
    try:
        # A source address of its own: the loopback port range (about 28,000) would otherwise be shared
        # with every other test's connections, and the kernel's port search slows as it fills.
        s.bind((f"127.0.0.{10 + first}", 0))
        s.connect(("127.0.0.1", port))
        if kinds[(first + i) % 3]:
            s.sendall(kinds[(first + i) % 3])
    except OSError:
        s.close()
        continue
    s.setblocking(False)
    socks[s.fileno()] = s
    poller.register(s.fileno(), select.EPOLLIN | select.EPOLLRDHUP)
print("open", len(socks), flush=True)
print(f"opened in {time.monotonic() - started:.1f} s", file=sys.stderr)
closed = 0


def reap(deadline):
    global closed
    while socks and time.monotonic() < deadline:
        events = poller.poll(0.5 if deadline > time.monotonic() + 0.5 else 0, max(1, len(socks)))
        for fd, _ in events:
            s = socks[fd]
            try:
                data = s.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                poller.unregister(fd)
                s.close()
                del socks[fd]
                closed += 1
        if not events:
            return


sys.stdin.readline()  # "count": how many are still held, right before the test's real call
reap(time.monotonic() + 0.1)
print("held", len(socks), flush=True)
sys.stdin.readline()  # "go": wait for the server to close the rest
deadline = time.monotonic() + float(sys.argv[4])
while socks and time.monotonic() < deadline:
    reap(deadline)
    time.sleep(0.1)
print("closed", closed, "still open", len(socks), flush=True)
"""


def test_twenty_thousand_slow_connections_do_not_stop_a_real_call() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    per_process = 10_000 if hard >= 10_200 else max(100, hard - 200)  # each flooder raises its soft limit
    processes = 2
    # The default cap (10,000) and head deadline (10 s); the body deadline cut to 10 s from 30.
    with server(http_body_timeout="10", log_level="WARNING") as srv:
        flooders = [
            subprocess.Popen(
                [sys.executable, "-c", FLOODER, str(srv.port), str(per_process), str(n), "30"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for n in range(processes)
        ]
        try:
            opened = []
            for flooder in flooders:
                assert flooder.stdout is not None
                word, number = flooder.stdout.readline().split()
                assert word == "open"
                opened.append(int(number))
            # Every connection attempt got through: eviction made room past the cap, so none was refused.
            assert sum(opened) == processes * per_process
            held = 0
            for flooder in flooders:
                assert flooder.stdin is not None and flooder.stdout is not None
                flooder.stdin.write("count\n")
                flooder.stdin.flush()
                held += int(flooder.stdout.readline().split()[1])
            # Past the cap the server closed the oldest slow connections; it holds the cap's worth open.
            assert held >= 5_000
            real_call(srv.url)
            assert httpx.get(f"{srv.url}/readyz", timeout=30).status_code == 200
            reports = [flooder.communicate("go\n", timeout=45)[0].split() for flooder in flooders]
            print(f"opened {sum(opened)}, held when called {held}")
        finally:
            for flooder in flooders:
                if flooder.poll() is None:
                    flooder.kill()
                    flooder.wait()
        # Each flooder saw every one of its slow connections closed by the server (evicted or timed out).
        for report, count in zip(reports, opened, strict=True):
            assert report == ["closed", str(count), "still", "open", "0"]
        real_call(srv.url)  # healthy right after
    assert "closed the oldest unfinished connection" in srv.log
    assert "Traceback" not in srv.log
