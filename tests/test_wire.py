"""channel_mcp.wire: the lean HTTP/1.1 transport under httpx, against small raw servers on loopback.

Keep-alive reuse, the three ways a body ends (length, chunks, close), a kept-alive connection the
server closed (a GET is sent again on a new one, a POST is not), cancellation closing the connection,
timeouts and refused connections as httpx's exception types, the hand-over to httpx's transport
while respx is active or the caller is on trio, and TLS verified as httpx verifies it.
"""

from __future__ import annotations

import asyncio
import http.server
import ssl
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx
import pytest
import respx
import trio
import trustme

from channel_mcp.wire import LeanTransport, upstream_transport

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, "Server"], Awaitable[None]]


@dataclass
class Server:
    url: str = ""
    connections: int = 0
    requests: list[bytes] = field(default_factory=list)


async def read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return head + (await reader.readexactly(length) if length else b"")


@asynccontextmanager
async def serving(handler: Handler) -> AsyncIterator[Server]:
    state = Server()

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        state.connections += 1
        try:
            await handler(reader, writer, state)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    state.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    try:
        yield state
    finally:
        server.close()
        await server.wait_closed()


async def keep_alive(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, state: Server) -> None:
    while True:
        state.requests.append(await read_request(reader))
        writer.write(b'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n{"ok":true}')
        await writer.drain()


async def test_connections_are_kept_alive_and_reused() -> None:
    async with serving(keep_alive) as server, httpx.AsyncClient(transport=LeanTransport()) as client:
        for _ in range(5):
            response = await client.get(f"{server.url}/a?b=c d", headers={"x-key": "k"})
            assert response.status_code == 200 and response.json() == {"ok": True}
        posted = await client.post(f"{server.url}/p", json={"n": 1})
        assert posted.json() == {"ok": True}
    assert server.connections == 1
    assert server.requests[0].startswith(b"GET /a?b=c%20d HTTP/1.1\r\n") and b"x-key: k\r\n" in server.requests[0]
    assert server.requests[-1].endswith(b'{"n":1}')


async def test_chunked_and_close_delimited_bodies() -> None:
    async def chunked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, state: Server) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 201 Created\r\ntransfer-encoding: chunked\r\n\r\n4\r\nabcd\r\n3\r\nefg\r\n0\r\n\r\n")
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nuntil the end")
        await writer.drain()

    async with serving(chunked) as server, httpx.AsyncClient(transport=LeanTransport()) as client:
        first = await client.get(server.url)
        assert (first.status_code, first.reason_phrase, first.content) == (201, "Created", b"abcdefg")
        second = await client.get(server.url)
        assert second.content == b"until the end"
        third = await client.get(server.url)  # the closed connection is not reused
        assert third.status_code == 201
    assert server.connections == 2


async def test_a_kept_alive_connection_closed_by_the_server_is_retried_only_for_a_get() -> None:
    async def once_per_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, state: Server) -> None:
        state.requests.append(await read_request(reader))
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        await writer.drain()
        await read_request(reader)  # the next request arrives; the connection is closed unanswered

    async with serving(once_per_connection) as server, httpx.AsyncClient(transport=LeanTransport()) as client:
        assert (await client.get(server.url)).content == b"ok"
        assert (await client.get(server.url)).content == b"ok"  # sent again on a new connection
        assert server.connections == 2
        with pytest.raises(httpx.RemoteProtocolError):
            await client.post(server.url, content=b"x")  # may have been processed: never repeated here
        assert server.connections == 2


async def test_cancelling_a_call_closes_its_connection() -> None:
    gone = asyncio.Event()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, state: Server) -> None:
        await read_request(reader)
        await reader.read()  # until the client goes away
        gone.set()

    async with serving(silent) as server, httpx.AsyncClient(transport=LeanTransport(max_connections=1)) as client:
        task = asyncio.create_task(client.get(server.url))
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.wait_for(gone.wait(), 5)
        # Its slot was freed: the single-connection pool serves the next call at once.
        with pytest.raises(httpx.ReadTimeout):
            await client.get(server.url, timeout=httpx.Timeout(5, read=0.2, pool=1))


async def test_refused_connections_and_pool_timeouts_are_httpx_errors() -> None:
    async with serving(keep_alive) as server:
        url = server.url
    async with httpx.AsyncClient(transport=LeanTransport()) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(url)

    async def stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, state: Server) -> None:
        await asyncio.sleep(3)

    async with serving(stall) as server, httpx.AsyncClient(transport=LeanTransport(max_connections=1)) as client:
        first = asyncio.create_task(client.get(server.url, timeout=httpx.Timeout(5, read=2)))
        await asyncio.sleep(0.1)
        with pytest.raises(httpx.PoolTimeout):
            await client.get(server.url, timeout=httpx.Timeout(5, pool=0.2))
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first


async def test_respx_still_intercepts() -> None:
    with respx.mock(assert_all_called=True) as router:
        router.get("https://api.test/x").respond(json={"mocked": True})
        async with httpx.AsyncClient(transport=LeanTransport()) as client:
            assert (await client.get("https://api.test/x")).json() == {"mocked": True}


def test_a_proxy_in_the_environment_keeps_httpx_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    assert isinstance(upstream_transport(), LeanTransport)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.test:3128")
    assert upstream_transport() is None


# ---------------------------------------------------------------------------------------------- TLS and trio


@asynccontextmanager
async def serving_tls(handler: Handler, cert: trustme.LeafCert) -> AsyncIterator[Server]:
    """`serving`, over TLS with `cert`."""
    state = Server()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        state.connections += 1
        try:
            await handler(reader, writer, state)
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0, ssl=context)
    state.url = f"https://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    try:
        yield state
    finally:
        server.close()
        await server.wait_closed()


def trusting(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


async def test_https_verifies_the_server_and_keeps_the_connection_alive() -> None:
    ca = trustme.CA()
    async with serving_tls(keep_alive, ca.issue_cert("127.0.0.1")) as server:
        async with httpx.AsyncClient(transport=LeanTransport(verify=trusting(ca))) as client:
            for _ in range(3):
                response = await client.get(server.url + "/x")
                assert response.status_code == 200 and response.json() == {"ok": True}
        assert server.connections == 1 and len(server.requests) == 3


async def test_https_refuses_a_certificate_from_an_unknown_authority() -> None:
    ca = trustme.CA()
    async with serving_tls(keep_alive, ca.issue_cert("127.0.0.1")) as server:
        async with httpx.AsyncClient(transport=LeanTransport()) as client:  # the default trust store
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                await client.get(server.url + "/x")
        assert server.requests == []


async def test_https_refuses_a_certificate_for_another_host() -> None:
    ca = trustme.CA()
    async with serving_tls(keep_alive, ca.issue_cert("api.example.test")) as server:
        async with httpx.AsyncClient(transport=LeanTransport(verify=trusting(ca))) as client:
            with pytest.raises(httpx.ConnectError, match=r"CERTIFICATE_VERIFY_FAILED|match"):
                await client.get(server.url + "/x")
        assert server.requests == []


class _Plain(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return None


def test_under_trio_requests_go_through_httpx_transport() -> None:
    # The wire is asyncio streams; an SDK user on trio must still be served (by httpx's own transport).
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Plain)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/x"

    async def main() -> list[object]:
        async with httpx.AsyncClient(transport=LeanTransport()) as client:
            return [(await client.get(url)).json() for _ in range(2)]

    try:
        assert trio.run(main) == [{"ok": True}, {"ok": True}]
    finally:
        server.shutdown()
        server.server_close()
