"""Stdio for the MCP server without a worker thread per line.

The SDK's `stdio_server` reads and writes stdin/stdout through anyio's file wrapper: every line read,
every write and every flush is a hop to a worker thread, three per call, about a third of a tool
call's latency on a desktop. Here the same `stdio_server` is handed asyncio pipe streams instead, so
the protocol handling stays the SDK's and only the byte transport changes.

Like the SDK, the wire gets private descriptors and fds 0/1 are diverted while serving (fd 0 to the
null device, fd 1 to stderr), so stray reads see EOF and stray prints miss the protocol. When stdin or
stdout is not a pipe, socket or terminal (a regular file, say), the SDK's own file transport is used.

At stdin EOF the SDK's dispatcher cancels every handler still running (its read loop ends, and it
cancels its task group so as not to wait on callers it believes gone). A client that writes its
requests and closes stdin (`printf ... | channel-mcp serve`) would lose every answer still in flight.
So the read stream handed to the SDK holds EOF back until each request read has been answered (or
cancelled by the client), for at most `EOF_GRACE_SECONDS`; the answers are flushed before exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import fcntl
import os
import stat
from collections import Counter
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any, cast

import anyio
from mcp.server.stdio import stdio_server
from mcp.shared.message import SessionMessage
from mcp_types import JSONRPCError, JSONRPCNotification, JSONRPCRequest, JSONRPCResponse

# A line longer than this is dropped (with the rest of it) rather than buffered without bound.
MAX_LINE_BYTES = 64 * 1024 * 1024
# After stdin EOF, requests still in flight get this long to be answered before the server exits.
EOF_GRACE_SECONDS = 10.0


class _Lines:
    """`async for line in ...` over a StreamReader, as text; an over-long line is skipped whole."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self.reader = reader
        self.skipping = False

    def __aiter__(self) -> _Lines:
        return self

    async def __anext__(self) -> str:
        while True:
            try:
                line = await self.reader.readline()
            except ValueError:  # over the limit: asyncio dropped what it had buffered
                self.skipping = True
                continue
            if not line:
                raise StopAsyncIteration
            if self.skipping:  # the tail of the dropped line
                self.skipping = False
                continue
            return line.decode("utf-8", errors="replace")


class _Writer:
    """`write` + `flush` onto a StreamWriter; flush waits while the client is not reading (backpressure)."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer

    async def write(self, text: str) -> None:
        self.writer.write(text.encode("utf-8"))

    async def flush(self) -> None:
        await self.writer.drain()


def _pipe_like(fd: int) -> bool:
    mode = os.fstat(fd).st_mode
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or stat.S_ISCHR(mode)


@contextlib.asynccontextmanager
async def _pipes() -> AsyncIterator[tuple[_Lines, _Writer]]:
    loop = asyncio.get_running_loop()
    wire_in = fcntl.fcntl(0, fcntl.F_DUPFD_CLOEXEC, 3)
    wire_out = fcntl.fcntl(1, fcntl.F_DUPFD_CLOEXEC, 3)
    saved_in = fcntl.fcntl(0, fcntl.F_DUPFD_CLOEXEC, 3)
    saved_out = fcntl.fcntl(1, fcntl.F_DUPFD_CLOEXEC, 3)
    devnull = os.open(os.devnull, os.O_RDONLY)
    try:
        os.dup2(devnull, 0)
        os.dup2(2, 1)
        reader = asyncio.StreamReader(limit=MAX_LINE_BYTES)
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(wire_in, "rb", 0))
        transport, protocol = await loop.connect_write_pipe(
            asyncio.streams.FlowControlMixin, os.fdopen(wire_out, "wb", 0)
        )
        writer = asyncio.StreamWriter(transport, protocol, None, loop)
        try:
            yield _Lines(reader), _Writer(writer)
        finally:
            with contextlib.suppress(OSError, RuntimeError):
                await writer.drain()
            writer.close()
    finally:
        os.close(devnull)
        os.dup2(saved_in, 0)
        os.dup2(saved_out, 1)
        os.close(saved_in)
        os.close(saved_out)


class _InFlight:
    """Ids of requests read from the client and not answered yet (a Counter: a client may reuse an id)."""

    def __init__(self) -> None:
        self.pending: Counter[Any] = Counter()
        self.changed = anyio.Event()

    def opened(self, request_id: Any) -> None:
        self.pending[request_id] += 1

    def closed(self, request_id: Any) -> None:
        if self.pending[request_id] > 0:
            self.pending[request_id] -= 1
            if self.pending[request_id] == 0:
                del self.pending[request_id]
            self.changed.set()

    async def drained(self, grace: float) -> None:
        with anyio.move_on_after(grace):
            while self.pending:
                self.changed = anyio.Event()
                await self.changed.wait()


class _DrainingReader:
    """The SDK's read stream, with EOF held back until the requests read so far are answered."""

    def __init__(self, inner: Any, in_flight: _InFlight, grace: float) -> None:
        self.inner = inner
        self.in_flight = in_flight
        self.grace = grace

    @property
    def last_context(self) -> contextvars.Context | None:  # the SDK restores each sender's context
        return cast("contextvars.Context | None", getattr(self.inner, "last_context", None))

    async def receive(self) -> SessionMessage | Exception:
        try:
            item: SessionMessage | Exception = await self.inner.receive()
        except anyio.EndOfStream:
            await self.in_flight.drained(self.grace)
            raise
        if isinstance(item, SessionMessage):
            message = item.message
            if isinstance(message, JSONRPCRequest):
                self.in_flight.opened(message.id)
            elif isinstance(message, JSONRPCNotification) and message.method == "notifications/cancelled":
                # A cancelled request may get no answer at all (the spec lets the server stay silent).
                self.in_flight.closed((message.params or {}).get("requestId"))
        return item

    def __aiter__(self) -> _DrainingReader:
        return self

    async def __anext__(self) -> SessionMessage | Exception:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    def close(self) -> None:
        self.inner.close()

    async def aclose(self) -> None:
        await self.inner.aclose()

    async def __aenter__(self) -> _DrainingReader:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


class _AnsweringWriter:
    """The SDK's write stream; each answer it carries closes its request in `_InFlight`."""

    def __init__(self, inner: Any, in_flight: _InFlight) -> None:
        self.inner = inner
        self.in_flight = in_flight

    async def send(self, item: SessionMessage) -> None:
        # The inner stream has no buffer: send returns once the stdout writer has taken the answer,
        # and that writer writes and flushes everything it took before the transport exits.
        await self.inner.send(item)
        message = item.message
        if isinstance(message, JSONRPCResponse | JSONRPCError) and message.id is not None:
            self.in_flight.closed(message.id)

    def close(self) -> None:
        self.inner.close()

    async def aclose(self) -> None:
        await self.inner.aclose()

    async def __aenter__(self) -> _AnsweringWriter:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


async def _serve(server: Any, transport: Any, grace: float) -> None:
    lowlevel = server._lowlevel_server  # MCPServer serves stdio only through its own transport
    async with transport as (read_stream, write_stream):
        in_flight = _InFlight()
        await lowlevel.run(
            _DrainingReader(read_stream, in_flight, grace),
            _AnsweringWriter(write_stream, in_flight),
            lowlevel.create_initialization_options(),
        )


async def run_stdio(server: Any, *, eof_grace: float = EOF_GRACE_SECONDS) -> None:
    """Serve `server` (an MCPServer) over stdin/stdout; at stdin EOF, answer what is in flight, then return."""
    if not (_pipe_like(0) and _pipe_like(1)):
        await _serve(server, stdio_server(), eof_grace)  # the SDK's own file transport (worker threads)
        return
    async with _pipes() as (lines, writer):
        transport = stdio_server(stdin=cast(anyio.AsyncFile[str], lines), stdout=cast(anyio.AsyncFile[str], writer))
        await _serve(server, transport, eof_grace)
