"""A lean HTTP/1.1 transport for httpx: asyncio streams, httptools response parsing, a keep-alive pool.

httpx's default transport (httpcore) cost about 0.8 ms of CPU per upstream GET on loopback, most of a
tool call's CPU after the MCP layer: anyio stream wrappers, a lock and a shielded cancel scope per
request, async-library detection, a readability poll before every reuse and h11 in pure Python. The
same GET over asyncio streams with httptools (C) costs about 0.12 ms. `LeanTransport` keeps httpx's
client API (request building, headers, `Response`, decoding, timeouts and exception types) and only
replaces the wire: it answers `handle_async_request` with a streamed `httpx.Response`, so the
response-size cap in `upstream.Upstream` still applies as the bytes arrive.

Deliberately small. What it does not do it hands to httpx's own transport, decided per request:
proxies from the environment (decided once, at construction), request bodies of unknown length, HEAD
requests, and any request while httpcore is patched (respx and similar fakes intercept there; they keep working).
A keep-alive connection that the server has closed, or that was idle longer than `KEEPALIVE_EXPIRY`,
is dropped before reuse.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import sniffio

__all__ = ["KEEPALIVE_EXPIRY", "LIMITS", "LeanTransport", "upstream_transport"]

KEEPALIVE_EXPIRY = 5.0  # seconds an idle connection is kept (httpx's default)
MAX_IDLE_PER_ORIGIN = 32
MAX_CONNECTIONS = 64
# The one pool size for upstream calls, whichever transport carries them (this wire, or httpx's own).
LIMITS = httpx.Limits(max_connections=MAX_CONNECTIONS, max_keepalive_connections=MAX_IDLE_PER_ORIGIN)
_READ_SIZE = 65536
_IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
_PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy")
_POOL_MODULE = "httpcore._async.connection_pool"


def _on_asyncio() -> bool:
    """Whether the caller runs on asyncio: the wire is asyncio streams, so under trio (the SDK is usable
    from any loop httpx supports) every request goes to httpx's own transport."""
    try:
        return sniffio.current_async_library() == "asyncio"
    except sniffio.AsyncLibraryNotFoundError:
        return False


def _httpcore_patched() -> bool:
    """Whether something (respx, a test fake) has replaced httpcore's pool handler, to intercept requests.
    httpcore is not imported for this: if nothing has imported it, nothing has patched it."""
    httpcore = sys.modules.get("httpcore")
    if httpcore is None:
        return False
    handler = httpcore.AsyncConnectionPool.handle_async_request
    return getattr(handler, "__module__", None) != _POOL_MODULE


def _proxied() -> bool:
    return any(os.environ.get(name) or os.environ.get(name.upper()) for name in _PROXY_VARS)


def upstream_transport() -> httpx.AsyncBaseTransport | None:
    """The transport for channel-mcp's upstream clients: `LeanTransport`, or None (httpx's own) behind a proxy."""
    return None if _proxied() else LeanTransport()


class _Response:
    """Parser callbacks for one response on one connection."""

    __slots__ = ("body", "complete", "headers", "headers_done", "keep_alive", "parser", "reason")

    def __init__(self) -> None:
        self.parser: Any = None
        self.headers: list[tuple[bytes, bytes]] = []
        self.headers_done = False
        self.complete = False
        self.keep_alive = False
        self.body: list[bytes] = []
        self.reason = b""

    def on_status(self, status: bytes) -> None:
        self.reason += status

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.headers_done = True

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        self.complete = True
        # Asked now: once the callback returns, llhttp resets for the next message and says False.
        self.keep_alive = bool(self.parser.should_keep_alive())


class _Connection:
    __slots__ = ("key", "reader", "used_at", "writer")

    def __init__(self, key: tuple[str, str, int], reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.key = key
        self.reader = reader
        self.writer = writer
        self.used_at = time.monotonic()

    def reusable(self, now: float) -> bool:
        return not (self.writer.is_closing() or self.reader.at_eof() or now - self.used_at > KEEPALIVE_EXPIRY)

    def close(self) -> None:
        self.writer.close()


class _Body(httpx.AsyncByteStream):
    """A response body read from the connection as it is iterated; the connection goes back to the pool
    only when the whole response was read and the server keeps it alive."""

    def __init__(
        self,
        transport: LeanTransport,
        conn: _Connection,
        parser: Any,
        state: _Response,
        read_timeout: float | None,
        request: httpx.Request,
    ) -> None:
        self.transport = transport
        self.conn = conn
        self.parser = parser
        self.state = state
        self.read_timeout = read_timeout
        self.request = request
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        state = self.state
        while True:
            if state.body:
                chunks, state.body = state.body, []
                for chunk in chunks:
                    yield chunk
            if state.complete:
                return
            await self.transport._read(self.conn, self.parser, state, self.read_timeout, self.request)

    async def aclose(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.state.complete and self.state.keep_alive:
            self.transport._release(self.conn)
        else:
            self.conn.close()
        self.transport._slots.release()


class LeanTransport(httpx.AsyncBaseTransport):
    """HTTP/1.1 over asyncio streams with httptools, for plain request/response APIs (see the module doc)."""

    def __init__(self, verify: ssl.SSLContext | bool = True, max_connections: int = MAX_CONNECTIONS) -> None:
        self._ssl = verify if isinstance(verify, ssl.SSLContext) else None
        self._verify = verify
        # Connections open at once, idle or busy, as httpx.Limits(max_connections=...): a request beyond
        # it waits for one to come free, up to the pool timeout.
        self._slots = asyncio.BoundedSemaphore(max_connections)
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self._fallback: httpx.AsyncHTTPTransport | None = None

    def _ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = httpx.create_ssl_context(verify=self._verify)
        return self._ssl

    def _default(self) -> httpx.AsyncHTTPTransport:
        if self._fallback is None:
            self._fallback = httpx.AsyncHTTPTransport(verify=self._verify, limits=LIMITS)
        return self._fallback

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        method = request.method
        unknown_length = "content-length" not in request.headers and method not in ("GET", "DELETE")
        # HEAD answers declare a length they do not send: left to httpcore, which knows the request.
        if unknown_length or method == "HEAD" or not _on_asyncio() or _httpcore_patched():
            return await self._default().handle_async_request(request)
        url = request.url
        scheme = url.scheme
        if scheme not in ("http", "https"):
            return await self._default().handle_async_request(request)
        port = url.port or (443 if scheme == "https" else 80)
        key = (scheme, url.host, port)
        timeouts = request.extensions.get("timeout", {})
        body = await request.aread()
        head = [request.method.encode("ascii"), b" ", url.raw_path, b" HTTP/1.1\r\n"]
        for name, value in request.headers.raw:
            head += [name, b": ", value, b"\r\n"]
        head.append(b"\r\n")
        payload = b"".join(head) + body
        try:
            async with asyncio.timeout(timeouts.get("pool")):
                await self._slots.acquire()
        except TimeoutError:
            raise httpx.PoolTimeout("no connection came free in time", request=request) from None
        conn = self._checkout(key)
        reused = conn is not None
        try:
            while True:
                if conn is None:
                    conn = await self._connect(key, timeouts.get("connect"), request)
                try:
                    return await self._exchange(conn, payload, timeouts, request)
                except _StaleConnection:
                    conn.close()
                    if not reused or request.method not in _IDEMPOTENT:
                        raise httpx.RemoteProtocolError(
                            "Server disconnected without sending a response.", request=request
                        ) from None
                    # A kept-alive connection the server closed as the request left, with no answer: a
                    # repeatable request is sent once more on a new connection (httpcore, seeing the close
                    # first, would have used a new one). Anything else is reported as maybe sent, never
                    # repeated here.
                    conn, reused = None, False
        except BaseException:
            # Failed or cancelled before the response was handed over: the connection may hold half an
            # exchange, so it is closed (the server sees the client go), and its slot freed.
            if conn is not None:
                conn.close()
            self._slots.release()
            raise

    async def _exchange(
        self, conn: _Connection, payload: bytes, timeouts: dict[str, float | None], request: httpx.Request
    ) -> httpx.Response:
        try:
            conn.writer.write(payload)
            if conn.writer.transport.get_write_buffer_size() > _READ_SIZE:
                async with asyncio.timeout(timeouts.get("write")):
                    await conn.writer.drain()
        except TimeoutError:
            conn.close()
            raise httpx.WriteTimeout("timed out sending the request", request=request) from None
        except OSError as exc:
            conn.close()
            raise httpx.WriteError(str(exc) or type(exc).__name__, request=request) from None
        import httptools  # here, not at start-up: ~30 ms to import, and stdio start-up is waited for

        state = _Response()
        parser = state.parser = httptools.HttpResponseParser(state)
        first = True
        while not state.headers_done:
            got = await self._read(conn, parser, state, timeouts.get("read"), request, stale_if_empty=first)
            first = first and not got
        extensions = {"http_version": b"HTTP/1.1", "reason_phrase": state.reason}
        read_timeout = timeouts.get("read")
        stream = _Body(self, conn, parser, state, read_timeout, request)
        return httpx.Response(parser.get_status_code(), headers=state.headers, stream=stream, extensions=extensions)

    async def _read(
        self,
        conn: _Connection,
        parser: Any,
        state: _Response,
        read_timeout: float | None,
        request: httpx.Request,
        *,
        stale_if_empty: bool = False,
    ) -> bool:
        """Feed the next bytes to the parser; False when nothing has come yet (only with stale_if_empty)."""
        try:
            async with asyncio.timeout(read_timeout):
                data = await conn.reader.read(_READ_SIZE)
        except TimeoutError:
            conn.close()
            raise httpx.ReadTimeout("timed out reading the response", request=request) from None
        except OSError as exc:
            conn.close()
            if stale_if_empty:
                raise _StaleConnection from None
            raise httpx.ReadError(str(exc) or type(exc).__name__, request=request) from None
        if not data:
            conn.close()
            if stale_if_empty:
                raise _StaleConnection
            names = {name.lower() for name, _ in state.headers}
            if state.headers_done and b"content-length" not in names and b"transfer-encoding" not in names:
                state.complete = True  # a body delimited by the close of the connection ends here
                return True
            raise httpx.RemoteProtocolError(
                "peer closed connection without sending complete message body", request=request
            )
        import httptools

        try:
            parser.feed_data(data)
        except httptools.HttpParserError as exc:
            conn.close()
            raise httpx.RemoteProtocolError(f"malformed HTTP response: {exc}", request=request) from None
        return True

    async def _connect(
        self, key: tuple[str, str, int], connect_timeout: float | None, request: httpx.Request
    ) -> _Connection:
        scheme, host, port = key
        tls = self._ssl_context() if scheme == "https" else None
        try:
            async with asyncio.timeout(connect_timeout):
                reader, writer = await asyncio.open_connection(
                    host, port, ssl=tls, server_hostname=host if tls else None, limit=_READ_SIZE * 4
                )
        except TimeoutError:
            raise httpx.ConnectTimeout("timed out connecting", request=request) from None
        except (OSError, ssl.SSLError) as exc:
            raise httpx.ConnectError(str(exc) or type(exc).__name__, request=request) from None
        return _Connection(key, reader, writer)

    def _checkout(self, key: tuple[str, str, int]) -> _Connection | None:
        idle = self._idle.get(key)
        now = time.monotonic()
        while idle:
            conn = idle.pop()
            if conn.reusable(now):
                return conn
            conn.close()
        return None

    def _release(self, conn: _Connection) -> None:
        idle = self._idle.setdefault(conn.key, [])
        if len(idle) >= MAX_IDLE_PER_ORIGIN or conn.writer.is_closing():
            conn.close()
            return
        conn.used_at = time.monotonic()
        idle.append(conn)

    async def aclose(self) -> None:
        idle = [conn for conns in self._idle.values() for conn in conns]
        self._idle.clear()
        for conn in idle:
            conn.close()
        for conn in idle:
            with contextlib.suppress(OSError, ssl.SSLError):
                await conn.writer.wait_closed()
        if self._fallback is not None:
            await self._fallback.aclose()


class _StaleConnection(Exception):
    """The server closed a connection before any byte of the answer."""
