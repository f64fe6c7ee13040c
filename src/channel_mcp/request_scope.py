"""The request's lifespan `Deps` and progress reporter, for resource, prompt and completion handlers.

Template functions and prompts receive a `Context`, but in SDK 2.3 static resources (`Resource.read()`)
and `@server.completion()` handlers receive none. `DepsScope`, a server middleware, exposes the request's
lifespan context in a ContextVar for the duration of each request, so those two read it through
`current_deps()` without reaching into SDK internals. The same middleware sets the request's progress
reporter (`channel_mcp.progress`): the channel walks report each page to a client that sent a progressToken.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ResourceError

from channel_mcp import progress
from channel_mcp.deps import Deps

_request_deps: ContextVar[Deps | None] = ContextVar("channel_mcp_request_deps", default=None)


class DepsScope:
    """Server middleware: the request's lifespan `Deps`, visible to handlers the SDK gives no context; and
    the request's progress reporter (see channel_mcp.progress), for tools, reads and completions alike."""

    # It reads the context's lifespan state, request id and `session.report_progress`, nothing else: the
    # direct path for read-only tool calls (serving.stateless_entry) may run it with a session that drops.
    direct_call_safe = True

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        deps = ctx.lifespan_context
        # The per-request session sends nothing unless the client gave a progressToken.
        reporter = ctx.session.report_progress if ctx.request_id is not None else None
        with progress.reporting(reporter):
            if not isinstance(deps, Deps):
                return await call_next(ctx)
            token = _request_deps.set(deps)
            try:
                return await call_next(ctx)
            finally:
                _request_deps.reset(token)


def current_deps() -> Deps:
    deps = _request_deps.get()
    if deps is None:
        raise ResourceError("channel-mcp resources are only available inside an MCP request.")
    return deps


def ctx_deps(ctx: Context[Deps, Any]) -> Deps:
    deps = ctx.request_context.lifespan_context
    if not isinstance(deps, Deps):  # pragma: no cover - build_server always yields Deps
        raise ResourceError("channel-mcp is not initialised.")
    return deps
