"""MCP progress notifications for long work (the CSV export, multi-page walks), from any depth.

A client that wants progress puts a `progressToken` in the request's `_meta`; the SDK's per-request
`ServerSession.report_progress` then sends `notifications/progress` against it, and does nothing when
there is no token. Tools get a `Context` with that session, but in SDK 2.3 static resource reads and
completion handlers get none, and the walks sit below both. So the server middleware that already
exposes the request's `Deps` (request_scope.DepsScope) also sets the request's reporter here, in a
ContextVar, and the work calls `report()` wherever it is.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

logger = logging.getLogger("channel_mcp.progress")

Reporter = Callable[[float, float | None, str | None], Awaitable[None]]

_reporter: ContextVar[Reporter | None] = ContextVar("channel_mcp_progress", default=None)


@contextmanager
def reporting(reporter: Reporter | None) -> Iterator[None]:
    """Within this block, `report()` goes to `reporter` (None: nowhere)."""
    token = _reporter.set(reporter)
    try:
        yield
    finally:
        _reporter.reset(token)


async def report(progress: float, total: float | None = None, message: str | None = None) -> None:
    """Tell the client how far the current request has got; a no-op when it asked for no progress."""
    reporter = _reporter.get()
    if reporter is None:
        return
    try:
        await reporter(progress, total, message)
    except Exception:  # progress is a courtesy: losing it must never fail the work it describes
        logger.debug("could not send a progress notification", exc_info=True)
