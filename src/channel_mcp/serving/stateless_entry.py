"""A direct entry for stateless 2025-11-25 JSON requests: the SDK's own handler chain, without a transport per request.

For a request at a handshake-era revision (2025-11-25 or no `MCP-Protocol-Version` header) in
stateless, JSON-response mode, the SDK builds a `StreamableHTTPServerTransport`, its memory streams and
message-router task, a `JSONRPCDispatcher` and a server task in the session manager's task group, sends
the parsed message through the streams, waits for the answer on a per-request stream, and tears it all
down again: a third of the MCP layer's CPU per call, for one request and one answer. The SDK's own
2026-07-28 entry (`_streamable_http_modern`) already serves a request in the ASGI task with `serve_one`.

This entry does the same for the handshake-era revision, and only for the plain, well-formed case: a
POST that accepts JSON, sends `application/json`, fits the body limit, and holds one JSON-RPC request
(not `initialize`) that the SDK's message model accepts. It runs the request through the same
`ServerRunner.on_request` with the same born-ready `Connection`, the same transport context (no back
channel: JSON mode cannot carry a server-to-client request) and the same message metadata, maps
exceptions to errors exactly as `JSONRPCDispatcher` does, and writes the same bytes the SDK's transport
writes (`model_dump_json(by_alias=True, exclude_unset=True)`, `content-type: application/json`).
Notifications for the request are dropped, as the SDK's transport drops them in JSON mode.

A read-only channel-mcp tool call goes one step further (`_call_direct`): the SDK's runner would
validate the params, open an OpenTelemetry span, run the server middleware, build a `Context`, find the
tool and call `SpecTool.run`, then validate and dump the result against the revision's schema. For a
request whose params are exactly `name` and an `arguments` object, naming a read-only tool (which never
asks the user anything and announces nothing), the entry runs the same server middleware chain itself
around `execute`, and writes the result in the shape the SDK's per-revision dump gives. It steps aside
(the request takes `_serve`) whenever that would not be the same answer: a tracer provider is set (the
span would be recorded), the chain holds middleware not known to be transparent, the tool is not
read-only, or the params carry anything else (`_meta`, `requestState`, a task).

Anything else (the 2026-07-28 revision, `initialize`, notifications, malformed bodies or headers, an
oversized body) goes to the SDK untouched, with the body replayed; so every refusal keeps its status and
text. tests/test_conformance.py and tests/test_http_app.py pin the behaviour on both paths.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol, cast

import anyio
import pydantic_core
from mcp.server._otel import OpenTelemetryMiddleware
from mcp.server.connection import Connection
from mcp.server.context import HandlerResult, ServerRequestContext
from mcp.server.request_state import RequestStateBoundary
from mcp.server.runner import ServerRunner, aclose_shielded
from mcp.server.streamable_http import check_accept_headers
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.shared.dispatcher import CallOptions
from mcp.shared.exceptions import MCPError, NoBackChannelError
from mcp.shared.jsonrpc_dispatcher import handler_exception_to_error_data, progress_token_from_params
from mcp.shared.message import ServerMessageMetadata
from mcp.shared.transport_context import TransportContext
from mcp_types import (
    DEFAULT_NEGOTIATED_VERSION,
    CallToolResult,
    ErrorData,
    JSONRPCError,
    JSONRPCRequest,
    JSONRPCResponse,
    RequestId,
    TextContent,
)
from mcp_types.jsonrpc import jsonrpc_message_adapter
from mcp_types.methods import serialize_server_result
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from opentelemetry import trace
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from channel_mcp.tools.declare import ToolSpec
from channel_mcp.tools.runner import execute

__all__ = ["DirectTool", "StatelessJSONEntry", "replay_first"]

logger = logging.getLogger("mcp.shared.jsonrpc_dispatcher")  # the SDK logs handler crashes here
logger_tools = logging.getLogger("mcp.server.mcpserver.server")  # ... and tool crashes here

_JSON_HEADERS = [(b"content-type", b"application/json")]
_PRIVATE_STATE = ("_task_group", "_lifespan_state")


@dataclass
class _NoBackChannelContext:
    """The dispatch context `JSONRPCDispatcher` builds for a request on a JSON-mode stateless transport.

    No back channel (`can_send_request` is False, so `send_raw_request` raises `NoBackChannelError`), and
    notifications, progress included, have nowhere to go: the SDK's transport drops them in JSON mode.
    """

    transport: TransportContext
    request_id: RequestId
    message_metadata: ServerMessageMetadata
    progress_token: Any = None
    cancel_requested: anyio.Event = field(default_factory=anyio.Event)
    _closed: bool = False

    @property
    def can_send_request(self) -> bool:
        return self.transport.can_send_request and not self._closed

    async def notify(self, method: str, params: Mapping[str, Any] | None, opts: CallOptions | None = None) -> None:
        return None

    async def send_raw_request(
        self, method: str, params: Mapping[str, Any] | None, opts: CallOptions | None = None
    ) -> dict[str, Any]:
        raise NoBackChannelError(method)

    async def progress(self, progress: float, total: float | None = None, message: str | None = None) -> None:
        return None

    def close(self) -> None:
        self._closed = True


class DirectTool(Protocol):
    """Finds the spec of a tool whose call may be served by `_call_direct` (None: the SDK's way)."""

    def __call__(self, name: str) -> ToolSpec[Any, Any] | None: ...


class _DroppedSession:
    """The per-request session the server middleware sees on the direct path. It offers what channel-mcp's
    middleware uses (`report_progress`), and like the SDK's JSON-mode transport it delivers nothing."""

    async def report_progress(
        self, progress: float, total: float | None = None, message: str | None = None, **_: Any
    ) -> None:
        return None


_DROPPED_SESSION = _DroppedSession()


def _transparent(middleware: object) -> bool:
    """Middleware whose effect on a read-only tool call the direct path reproduces by running it: the
    SDK's `requestState` boundary (it acts only on `requestState` and `input_required` results, which
    the direct path never has), and channel-mcp's own, marked `direct_call_safe` (they read the
    context's method, params and lifespan state and `session.report_progress`, nothing else)."""
    return isinstance(middleware, RequestStateBoundary) or getattr(middleware, "direct_call_safe", False) is True


def _tool_result_wire(result: CallToolResult) -> dict[str, Any] | None:
    """`result` as the SDK's per-revision dump shapes it, for the one form `execute` returns (a single
    plain text block, optional structured content); None for any other form (then the SDK's dump runs)."""
    if result.meta is not None or result.result_type != "complete" or len(result.content) != 1:
        return None
    block = result.content[0]
    if not isinstance(block, TextContent) or block.annotations is not None or block.meta is not None:
        return None
    wire: dict[str, Any] = {"content": [{"text": block.text, "type": "text"}], "isError": result.is_error}
    if result.structured_content is not None:
        wire["structuredContent"] = result.structured_content
    return wire


def _wire_dict(result: object) -> dict[str, Any]:
    """A handler's or middleware's result as the SDK's runner dumps it for the wire."""
    if result is None:
        return {}
    if isinstance(result, ErrorData):
        raise MCPError.from_error_data(result)
    if isinstance(result, BaseModel):
        return result.model_dump(by_alias=True, mode="json", exclude_none=True)
    if isinstance(result, dict):
        return dict(cast(dict[str, Any], result))
    raise TypeError(f"handler returned {type(result).__name__}; expected BaseModel, dict, or None")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value).decode("latin-1")
    return None


class StatelessJSONEntry:
    """ASGI endpoint for the MCP path: handshake-era stateless JSON requests directly, the rest via `fallback`."""

    def __init__(
        self,
        session_manager: StreamableHTTPSessionManager,
        fallback: ASGIApp,
        direct_tool: DirectTool | None = None,
    ) -> None:
        if not (session_manager.stateless and session_manager.json_response):
            raise ValueError("the direct entry serves stateless, JSON-response session managers only")
        self.manager = session_manager
        self.fallback = fallback
        self.direct_tool = direct_tool
        security = session_manager.security_settings
        # With the SDK's DNS-rebinding checks on, every request goes its way (channel-mcp checks Host/Origin itself).
        # The session manager's private state this entry reads (`_task_group`, `_lifespan_state`): an SDK
        # release without them turns the entry off, and every request goes the SDK's own way.
        sdk_shape = all(hasattr(session_manager, name) for name in _PRIVATE_STATE)
        self.enabled = sdk_shape and (security is None or not security.enable_dns_rebinding_protection)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        running = getattr(self.manager, "_task_group", None) is not None  # else the SDK says it is not running
        if not (self.enabled and running and scope["type"] == "http" and scope["method"] == "POST"):
            await self.fallback(scope, receive, send)
            return
        version = _header(scope, b"mcp-protocol-version")
        if version is not None and version not in HANDSHAKE_PROTOCOL_VERSIONS:
            await self.fallback(scope, receive, send)  # 2026-07-28: the SDK's own single-exchange entry
            return
        message = await receive()
        body = message.get("body", b"") if message["type"] == "http.request" else b""
        complete = message["type"] == "http.request" and not message.get("more_body", False)
        request = _parse(scope, body) if complete and len(body) <= self.manager.max_request_body_size else None
        if request is None:
            await self.fallback(scope, replay_first(message, receive), send)
            return
        direct = self._direct_spec(request)
        if direct is not None:
            await self._call_direct(request, *direct, version, scope, replay_first(message, receive), send)
            return
        await self._serve(request, version, scope, replay_first(message, receive), send)

    def _direct_spec(self, req: JSONRPCRequest) -> tuple[ToolSpec[Any, Any], list[Any]] | None:
        """The tool's spec and the middleware to run around it (the chain without the no-op span) when
        `req` may take `_call_direct` (see the module docstring), else None."""
        if self.direct_tool is None or req.method != "tools/call":
            return None
        params = req.params
        if params is None or not (params.keys() <= {"name", "arguments"}):
            return None
        name, arguments = params.get("name"), params.get("arguments")
        if not isinstance(name, str) or not isinstance(arguments, dict):
            return None
        server = self.manager.app
        if server.cache_hints.get("tools/call") is not None:
            return None
        # The SDK's OpenTelemetry span is a no-op until a tracer provider is set; then it must be recorded.
        if not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
            return None
        chain = [m for m in server.middleware if not isinstance(m, OpenTelemetryMiddleware)]
        if not all(_transparent(m) for m in chain):
            return None
        spec = self.direct_tool(name)
        return (spec, chain) if spec is not None else None

    async def _call_direct(
        self,
        req: JSONRPCRequest,
        spec: ToolSpec[Any, Any],
        chain: list[Any],
        version: str | None,
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        # What `ServerRunner.on_request` and `MCPServer._handle_call_tool` do for a read-only tool call.
        assert req.params is not None
        arguments: dict[str, Any] = req.params["arguments"]
        ctx: ServerRequestContext[Any, Any] = ServerRequestContext(
            session=_DROPPED_SESSION,  # type: ignore[arg-type]  # the middleware uses report_progress only
            lifespan_context=self.manager._lifespan_state,
            method=req.method,
            params=req.params,
            request_id=req.id,
            meta=None,
            protocol_version=version if version is not None else DEFAULT_NEGOTIATED_VERSION,
            request=Request(scope, receive),
        )

        async def inner(ctx: ServerRequestContext[Any, Any]) -> HandlerResult:
            try:
                result = await execute(spec, arguments, ctx.lifespan_context, None)
            except MCPError:
                raise
            except Exception as exc:  # as `_handle_call_tool`: the text of an unexpected crash, as an error
                logger_tools.exception("Tool %r raised an unexpected exception", spec.name)
                result = CallToolResult(content=[TextContent(type="text", text=str(exc))], is_error=True)
            assert isinstance(result, CallToolResult)  # read-only tools never ask for input
            wire = _tool_result_wire(result)
            if wire is None:
                wire = serialize_server_result(req.method, ctx.protocol_version, _wire_dict(result))
            return wire

        call: Callable[[ServerRequestContext[Any, Any]], Any] = inner
        for middleware in reversed(chain):
            call = partial(middleware, call_next=call)
        try:
            body = _result_bytes(req.id, _wire_dict(await call(ctx)))
        except Exception as exc:
            await _answer(send, _error_answer(req, exc))
            return
        await _send_json(send, body)

    async def _serve(
        self, req: JSONRPCRequest, version: str | None, scope: Scope, receive: Receive, send: Send
    ) -> None:
        # What `_handle_stateless_request` + `JSONRPCDispatcher` + the transport do for this request.
        http_request = Request(scope, receive)
        dctx = _NoBackChannelContext(
            transport=TransportContext(kind="streamable-http", can_send_request=False),
            request_id=req.id,
            message_metadata=ServerMessageMetadata(request_context=http_request, can_send_request=False),
            progress_token=progress_token_from_params(req.params),
        )
        connection = Connection.from_envelope(
            version if version is not None else DEFAULT_NEGOTIATED_VERSION, None, None
        )
        runner = ServerRunner(self.manager.app, connection, self.manager._lifespan_state)
        answer: JSONRPCResponse | JSONRPCError
        try:
            try:
                result = await runner.on_request(dctx, req.method, req.params)
            finally:
                dctx.close()
            answer = JSONRPCResponse(jsonrpc="2.0", id=req.id, result=result)
        except Exception as exc:
            answer = _error_answer(req, exc)
        finally:
            await aclose_shielded(connection)
        await _answer(send, answer)


def _error_answer(req: JSONRPCRequest, exc: Exception) -> JSONRPCError:
    """The error `JSONRPCDispatcher` answers when a request's handler chain raises `exc`."""
    error = handler_exception_to_error_data(exc)
    if error is None:
        logger.exception("handler for %r raised", req.method)
        error = ErrorData(code=0, message=str(exc))
    return JSONRPCError(jsonrpc="2.0", id=req.id, error=error)


async def _answer(send: Send, answer: JSONRPCResponse | JSONRPCError) -> None:
    """The bytes the SDK's transport writes for one answer in JSON mode."""
    if isinstance(answer, JSONRPCResponse):
        await _send_json(send, _result_bytes(answer.id, answer.result))
    else:
        await _send_json(send, answer.model_dump_json(by_alias=True, exclude_unset=True).encode())


def _result_bytes(request_id: RequestId, result: dict[str, Any]) -> bytes:
    """`JSONRPCResponse(jsonrpc="2.0", id=request_id, result=result).model_dump_json(by_alias=True,
    exclude_unset=True)`, without building the model: its three fields are always set, and `result`, a
    `dict[str, Any]`, is serialised by type inference, as `to_json` does (with the model's inf/NaN rule)."""
    return pydantic_core.to_json({"jsonrpc": "2.0", "id": request_id, "result": result}, inf_nan_mode="null")


async def _send_json(send: Send, body: bytes) -> None:
    headers = [*_JSON_HEADERS, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _parse(scope: Scope, body: bytes) -> JSONRPCRequest | None:
    """The request, when the SDK's transport would dispatch it as is; None for anything it would treat
    otherwise (refuse, acknowledge, or handle inline)."""
    headers = Request(scope)
    has_json, _ = check_accept_headers(headers)
    if not has_json:
        return None
    content_type = headers.headers.get("content-type", "")
    # Both of the SDK's checks: the transport-security one (400) and the transport's own (415).
    if not content_type.lower().startswith("application/json") or not any(
        part.strip() == "application/json" for part in content_type.split(";")[0].split(",")
    ):
        return None
    try:
        message = jsonrpc_message_adapter.validate_python(pydantic_core.from_json(body), by_name=False)
    except (ValueError, ValidationError):
        return None
    if not isinstance(message, JSONRPCRequest) or message.method == "initialize":
        return None
    return message


def replay_first(first: Message, receive: Receive) -> Receive:
    """`receive` with the message already taken handed out again first."""
    replayed = False

    async def again() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return first

    return again
