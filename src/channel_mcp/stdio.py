"""Stdio for the MCP server without a worker thread per line.

The SDK's `stdio_server` reads and writes stdin/stdout through anyio's file wrapper: every line read,
every write and every flush is a hop to a worker thread, three per call, about a third of a tool
call's latency on a desktop. Here the same `stdio_server` is handed asyncio pipe streams instead, so
the protocol handling stays the SDK's and only the byte transport changes.

Like the SDK, the wire gets private descriptors and fds 0/1 are diverted while serving (fd 0 to the
null device, fd 1 to stderr), so stray reads see EOF and stray prints miss the protocol. When stdin or
stdout is not a pipe, socket or terminal (a regular file, say), the SDK's own transport is used.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import stat
from collections.abc import AsyncIterator
from typing import Any, cast

import anyio
from mcp.server.stdio import stdio_server

# A line longer than this is dropped (with the rest of it) rather than buffered without bound.
MAX_LINE_BYTES = 64 * 1024 * 1024


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


async def run_stdio(server: Any) -> None:
    """Serve `server` (an MCPServer) over stdin/stdout."""
    if not (_pipe_like(0) and _pipe_like(1)):
        await server.run_stdio_async()
        return
    lowlevel = server._lowlevel_server  # MCPServer serves stdio only through its own transport
    async with (
        _pipes() as (lines, writer),
        stdio_server(stdin=cast(anyio.AsyncFile[str], lines), stdout=cast(anyio.AsyncFile[str], writer)) as (
            read_stream,
            write_stream,
        ),
    ):
        await lowlevel.run(read_stream, write_stream, lowlevel.create_initialization_options())
