"""Connection limits for HTTP mode: uvicorn's httptools protocol, with the timeouts and the cap it lacks.

uvicorn closes idle
keep-alive connections, but it has no deadline for a request head or body: a client that sends
`POST /mcp HTTP/1.1\\r\\n` and then nothing, a byte every few seconds, or a body that never ends keeps
its connection, its file descriptor and about 4 KiB for as long as it likes. 20,000 such connections
exhaust the process's file descriptors, and real calls fail. Its `limit_concurrency` does not help:
it answers 503 only once a request head has arrived, to everyone alike, and slow connections never
send one.

This protocol adds, per connection:
- a head deadline: from the connection's first moment (or a keep-alive connection's first byte), the
  request line and headers must be complete within `header_timeout`;
- a body deadline: once the head is in, the body must be complete within `body_timeout`;
- a cap on open connections. At the cap, the oldest connection that has not yet delivered a whole
  request (idle keep-alive, partial head or partial body) is closed to make room: nothing has run for
  it yet, and a slow client is what makes the cap bite. Only when every connection is serving a
  request does a new one get a 503.

A timed-out request that sent any bytes gets a 408 before the close. Everything else (HTTP parsing,
flow control, graceful shutdown) is uvicorn's.

Requests are parsed by httptools (llhttp, in C), a dependency: about a third less CPU per request than
the pure-Python h11. httptools has no limit of its own on a request head, so the protocol keeps h11's
16 KiB (`MAX_HEAD_BYTES`), answered the way uvicorn answers any unparsable request (400, "Invalid HTTP
request received.").
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Literal

from starlette.types import Receive, Scope, Send

__all__ = [
    "MAX_HEAD_BYTES",
    "ConnectionLimits",
    "limited_httptools_protocol",
    "limited_protocol",
]

logger = logging.getLogger("channel_mcp.serving.http_limits")

_NOTE_EVERY_SECONDS = 10.0  # under a flood, one warning per kind per interval rather than one per connection


@dataclass(frozen=True)
class ConnectionLimits:
    header_timeout: float
    body_timeout: float
    max_connections: int


def _error_body(message: str) -> bytes:
    # The same JSON-RPC-without-id shape as the app's other HTTP-level refusals.
    return json.dumps({"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": message}}).encode()


_TIMEOUT_BODY = _error_body("Request Timeout: the request was not received in time")
_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
    b"content-length: " + str(len(_TIMEOUT_BODY)).encode() + b"\r\nconnection: close\r\n\r\n" + _TIMEOUT_BODY
)
_FULL_BODY = _error_body("Service Unavailable: the server is at its connection limit; retry shortly")


async def _at_capacity(scope: Scope, receive: Receive, send: Send) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(_FULL_BODY)).encode()),
                (b"retry-after", b"1"),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": _FULL_BODY})


class _Notes:
    """Rate-limited warnings with a count, so a flood shows up in the log without flooding it."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.last: dict[str, float] = {}

    def note(self, kind: str, message: str) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + 1
        now = time.monotonic()
        if now - self.last.get(kind, -_NOTE_EVERY_SECONDS) >= _NOTE_EVERY_SECONDS:
            logger.warning("%s (%d since the last note)", message, self.counts[kind])
            self.last[kind] = now
            self.counts[kind] = 0


MAX_HEAD_BYTES = 16 * 1024
"""A request head (request line and headers) longer than this gets a 400 and the connection is closed: h11's
own limit, kept when the faster httptools parser (which has none of its own) reads the requests."""
_BAD_REQUEST = "Invalid HTTP request received."  # uvicorn's text for a request its parser refuses


def limited_protocol(limits: ConnectionLimits) -> type[asyncio.Protocol]:
    """The HTTP protocol for uvicorn's `http=`, enforcing `limits` and `MAX_HEAD_BYTES` on httptools (C
    parsing, about a third less CPU per request than h11; a dependency, with wheels for every platform
    uvicorn supports). One per server."""
    return limited_httptools_protocol(limits)


def limited_httptools_protocol(limits: ConnectionLimits) -> type[asyncio.Protocol]:
    """An `HttpToolsProtocol` subclass enforcing `limits` and `MAX_HEAD_BYTES`.

    Shared by the connections of one server: `live`, and `unfinished` in the order each connection
    started waiting for its request, oldest first (an OrderedDict, not a dict: after many removals at
    the front, finding a dict's first key walks the dead slots, and a flood would make that quadratic)."""
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    live: set[LimitedHttpToolsProtocol] = set()
    unfinished: OrderedDict[LimitedHttpToolsProtocol, None] = OrderedDict()
    notes = _Notes()

    class LimitedHttpToolsProtocol(HttpToolsProtocol):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.deadline: asyncio.TimerHandle | None = None
            self.phase: Literal["head", "body", "request"] = "head"
            self.head_bytes = False  # whether the request now awaited has sent anything yet
            self.head_size = 0  # bytes received while its head is incomplete

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            if len(live) >= limits.max_connections:
                if unfinished:
                    next(iter(unfinished)).drop()
                    notes.note("evicted", "at the connection limit: closed the oldest unfinished connection")
                else:
                    self.app = _at_capacity
                    notes.note("refused", "at the connection limit with every connection busy: answering 503")
            live.add(self)
            super().connection_made(transport)
            self.await_head(timed=True)

        def connection_lost(self, exc: Exception | None) -> None:
            self.cancel_deadline()
            unfinished.pop(self, None)
            live.discard(self)
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            if self.phase == "head":
                self.head_bytes = True
                self.head_size += len(data)
                if self.deadline is None:  # an idle keep-alive connection starts its next request
                    self.set_deadline(limits.header_timeout)
            super().data_received(data)
            if self.phase == "head" and self.head_size > MAX_HEAD_BYTES and not self.transport.is_closing():
                self.logger.warning(_BAD_REQUEST)
                self.send_400_response(_BAD_REQUEST)
                self.drop()

        def on_header(self, name: bytes, value: bytes) -> None:
            # Without the optional whitespace around it (RFC 9110 5.5), as h11 hands values on: llhttp keeps
            # trailing spaces, and a header that must match the body (Mcp-Name) would then not.
            super().on_header(name, value.strip(b" \t"))

        def on_headers_complete(self) -> None:
            super().on_headers_complete()
            if self.phase == "head":
                self.phase = "body"
                self.set_deadline(limits.body_timeout)

        def on_message_complete(self) -> None:
            super().on_message_complete()
            if self.phase != "request":
                # The whole request is in: from here it is the app's time, bounded by the tool timeout,
                # and the connection is no longer a candidate for eviction.
                self.phase = "request"
                self.cancel_deadline()
                unfinished.pop(self, None)

        def on_response_complete(self) -> None:
            finished = self.phase == "request"
            if finished:
                self.phase = "head"
                self.head_bytes = False
                self.head_size = 0
            super().on_response_complete()
            if finished and self.phase == "head" and not self.transport.is_closing():
                self.await_head(timed=False)

        def await_head(self, *, timed: bool) -> None:
            self.phase = "head"
            self.head_bytes = False
            self.head_size = 0
            unfinished[self] = None
            unfinished.move_to_end(self)
            if timed:
                self.set_deadline(limits.header_timeout)

        def set_deadline(self, seconds: float) -> None:
            self.cancel_deadline()
            self.deadline = self.loop.call_later(seconds, self.expired)

        def cancel_deadline(self) -> None:
            if self.deadline is not None:
                self.deadline.cancel()
                self.deadline = None

        def expired(self) -> None:
            self.deadline = None
            if self.transport.is_closing():
                return
            notes.note(f"{self.phase} timeout", f"closed a connection whose request {self.phase} was too slow")
            began = self.phase == "body" or self.head_bytes
            answered = self.phase == "body" and self.cycle is not None and self.cycle.response_started
            if began and not answered:
                self.transport.write(_TIMEOUT_RESPONSE)
            self.drop()

        def drop(self) -> None:
            self.cancel_deadline()
            unfinished.pop(self, None)
            live.discard(self)
            self.transport.close()

    return LimitedHttpToolsProtocol
