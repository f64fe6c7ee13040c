"""Stateless Streamable HTTP deployment: the ASGI app, its security checks, and the uvicorn runner.

Stateless: every request is served on its own. A 2026-07-28 request carries its protocol version and
client capabilities in `_meta`; a 2025-11-25 client's `initialize` is answered, but nothing is kept
from it, and its later requests are served as if already initialised (the SDK's "born ready"
stateless mode). So any replica answers any request: no sticky sessions, no `Mcp-Session-Id`.
Responses are JSON, never SSE.

Once per process: the SDK's session manager enters the `MCPServer` lifespan (which builds `Deps`:
clients, connection pools, cache) when the ASGI lifespan starts, and hands that same state to every
request; nothing is built per request. `/readyz` answers 200 only while that lifespan is up, and says
which providers are configured only to a caller holding the bearer token.

Checks, outermost first, all in pure ASGI middleware (no `BaseHTTPMiddleware`): the whole body is read
first -> access log (one key=value line per request) -> Host and Origin (DNS rebinding) -> bearer token ->
the SDK's body limit (413) and transport. `/healthz` and `/readyz` skip the Host/Origin and token
checks so that probes work. The client's `Authorization` header is removed once checked: the SDK,
tool handlers and upstream calls never see it; upstream calls use channel-mcp's own credentials.

The MCP path takes POST only: GET (a server-to-client stream) and DELETE (ending a session) mean
nothing without sessions, so they get 405, as the transport spec allows.

Starlette and uvicorn are imported here only, so that stdio start-up does not load them.
"""

from __future__ import annotations

import functools
import hmac
import ipaddress
import json
import logging
import re
import signal
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from types import FrameType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from mcp.server.mcpserver import MCPServer
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp
from mcp.server.transport_security import TransportSecuritySettings
from mcp_types.methods import SPEC_CLIENT_METHODS, SPEC_CLIENT_NOTIFICATION_METHODS
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from channel_mcp.config import Settings
from channel_mcp.deps import Deps
from channel_mcp.masking import mask_shapes
from channel_mcp.server import build_server, direct_tool
from channel_mcp.serving.stateless_entry import StatelessJSONEntry, replay_first

if TYPE_CHECKING:
    import uvicorn

__all__ = [
    "GRACE_PERIOD_SECONDS",
    "HEALTH_PATHS",
    "AccessPolicy",
    "bind_problem",
    "create_http_app",
    "is_loopback",
    "run_http",
    "serve_app",
]

logger = logging.getLogger("channel_mcp.serving.http_app")
access_logger = logging.getLogger("channel_mcp.access")

GRACE_PERIOD_SECONDS = 20
"""In-flight requests get this long to finish after SIGTERM (Kubernetes waits 30 s by default)."""
HEALTH_PATHS = frozenset({"/healthz", "/readyz"})
_SAFE_TOKEN = re.compile(r"[A-Za-z0-9/_.\-]{1,64}")


def is_loopback(host: str) -> bool:
    """Whether a bind address (or Host name) reaches this machine only."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _token(settings: Settings) -> bytes | None:
    """The configured client token; an empty or blank one counts as none."""
    if settings.auth in ("none", "oauth"):  # an explicit CHANNEL_MCP_AUTH other than token: no static token
        return None
    token = settings.http_token.get_secret_value().strip() if settings.http_token is not None else ""
    return token.encode() or None


def bind_problem(settings: Settings, host: str) -> str | None:
    """Why serving on `host` with these settings is refused, or None when it is fine."""
    if settings.auth is not None:  # an explicit CHANNEL_MCP_AUTH (none|token|oauth): see channel_mcp.serving.auth
        from channel_mcp.serving.auth import mode_problem

        return mode_problem(settings, is_loopback(host))
    if is_loopback(host) or _token(settings) is not None:
        return None
    return (
        f"refusing to bind {host}: it is reachable from other machines and no bearer token is set. "
        "Set CHANNEL_MCP_HTTP_TOKEN to a long random secret (clients then send 'Authorization: Bearer <token>'), "
        "or bind 127.0.0.1."
    )


_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
_HOST_NAME = re.compile(rf"(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*\.?")  # DNS names and IPv4 literals
_PORT = re.compile(r":[0-9]{1,5}")


def _split_host(value: str) -> str | None:
    """The host name of a `host[:port]` value, without port or IPv6 brackets, lower-cased; None if malformed.

    Strict on purpose: `localhost:evil`, `a@b`, an empty port or a bare IPv6 address are not a host and
    port, and a lenient split would let them through the loopback check under a loopback name.
    """
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        name, tail = (value[1:end], value[end + 1 :]) if end > 0 else ("", "")
        try:
            ipaddress.IPv6Address(name)
        except ValueError:
            return None
    else:
        colon = value.find(":")
        name, tail = (value, "") if colon < 0 else (value[:colon], value[colon:])
        if not _HOST_NAME.fullmatch(name):
            return None
    if tail and not (_PORT.fullmatch(tail) and int(tail[1:]) <= 65535):
        return None
    return name


def _normal_origin(origin: str) -> str | None:
    """`scheme://host[:port]`, lower-cased; None when the value is not an origin (userinfo, a path, ...).

    Browsers never send userinfo, paths or queries in `Origin`; such a value is forged, and
    `http://evil.example@127.0.0.1` would otherwise read as a loopback origin.
    """
    origin = origin.strip().rstrip("/").lower()
    scheme, sep, netloc = origin.partition("://")
    if not sep or not re.fullmatch(r"[a-z][a-z0-9+.-]*", scheme) or _split_host(netloc) is None:
        return None
    return origin


@dataclass(frozen=True)
class AccessPolicy:
    """Who may talk to the MCP endpoint: Host and Origin (DNS rebinding), and the bearer token.

    Bound to loopback: the Host must name this machine (localhost, 127.0.0.1, [::1], or the host of a
    configured allowed origin), and loopback origins are allowed. Bound to another address the Host is
    not checked (a proxy in front decides the public name, and the token is required there). In both
    cases an `Origin` header, when present, must be allowed; `*` in the allowed origins allows any.
    """

    loopback: bool
    allowed_origins: tuple[str, ...] = ()
    token: bytes | None = field(default=None, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings, host: str) -> AccessPolicy:
        origins = tuple(o.strip().rstrip("/").lower() for o in settings.allowed_origins if o.strip())
        return cls(loopback=is_loopback(host), allowed_origins=origins, token=_token(settings))

    @functools.lru_cache(maxsize=256)  # noqa: B019 - policies live as long as their app; clients send few hosts
    def host_allowed(self, host: str | None) -> bool:
        if not self.loopback:
            # The public name is the proxy's business, but it must still be a host and a numeric port.
            return host is None or _split_host(host) is not None
        name = _split_host(host) if host else None
        if name is None:
            return False
        if is_loopback(name):
            return True
        return any((urlsplit(o).hostname or "") == name for o in self.allowed_origins if o != "*")

    def origin_allowed(self, origin: str | None) -> bool:
        if origin is None:  # not a browser, or a same-origin request: nothing to check
            return True
        if origin.strip().lower() == "null":  # an opaque origin (sandboxed frame, file:): only if listed
            return any(allowed in ("*", "null") for allowed in self.allowed_origins)
        normal = _normal_origin(origin)
        if normal is None:
            return False
        origin = normal
        for allowed in self.allowed_origins:
            if allowed in ("*", origin):
                return True
            if allowed.endswith(":*"):
                base = allowed[:-2]
                if origin == base or (origin.startswith(base + ":") and origin[len(base) + 1 :].isdigit()):
                    return True
        if self.loopback:
            try:
                parts = urlsplit(origin)
                return parts.scheme in ("http", "https") and is_loopback(parts.hostname or "") and parts.port != 0
            except ValueError:
                return False
        return False

    def token_status(self, authorization: bytes | None) -> str | None:
        """None when the request may pass; else 'missing' or 'invalid'."""
        if self.token is None:
            return None
        if not authorization:
            return "missing"
        scheme, _, credential = authorization.strip().partition(b" ")
        ok = scheme.lower() == b"bearer" and hmac.compare_digest(credential.strip(), self.token)
        return None if ok else "invalid"


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value)
    return None


async def _reject(send: Send, status: int, message: str, headers: Iterable[tuple[bytes, bytes]] = ()) -> None:
    # A JSON-RPC error without id, as the MCP transport spec suggests for HTTP-level refusals.
    body = json.dumps({"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": message}}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def guarded_headers(policy: AccessPolicy, scope: Scope, send: Send) -> list[tuple[bytes, bytes]] | None:
    """Host/Origin validation, then the bearer token: the request's headers without `Authorization`, or
    None once the refusal has been sent."""
    host = origin = authorization = None
    headers: list[tuple[bytes, bytes]] = []
    for key, value in scope["headers"]:
        if key == b"host":
            host = host if host is not None else value
        elif key == b"origin":
            origin = origin if origin is not None else value
        elif key == b"authorization":
            # The client's credential is for channel-mcp only: nothing downstream may see or forward it.
            authorization = authorization if authorization is not None else value
            continue
        headers.append((key, value))
    if not policy.host_allowed(bytes(host).decode("latin-1") if host is not None else None):
        await _reject(send, 421, "Host not allowed (DNS rebinding protection)")
        return None
    if not policy.origin_allowed(bytes(origin).decode("latin-1") if origin is not None else None):
        await _reject(send, 403, "Origin not allowed; add it to CHANNEL_MCP_ALLOWED_ORIGINS to allow it")
        return None
    problem = policy.token_status(bytes(authorization) if authorization is not None else None)
    if problem is not None:
        challenge = b'Bearer realm="channel-mcp"' + (b', error="invalid_token"' if problem == "invalid" else b"")
        await _reject(send, 401, f"Unauthorized: {problem} bearer token", [(b"www-authenticate", challenge)])
        return None
    return headers


class GuardMiddleware:
    """Host/Origin validation, then the bearer token; strips `Authorization` before passing on."""

    def __init__(self, app: ASGIApp, policy: AccessPolicy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in HEALTH_PATHS:
            await self.app(scope, receive, send)
            return
        headers = await guarded_headers(self.policy, scope, send)
        if headers is not None:
            await self.app({**scope, "headers": headers}, receive, send)


async def whole_body(receive: Receive, limit: int) -> Receive | None:
    """Reads a request's body to its end (or past `limit`) and returns a `receive` that hands it out
    again, in one message; None when the client left first (nobody is waiting for an answer)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # http.disconnect
            return None
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        more = bool(message.get("more_body", False))
        if not more or size > limit:
            break
    first: Message = {"type": "http.request", "body": chunks[0] if len(chunks) == 1 else b"".join(chunks)}
    first["more_body"] = more
    return replay_first(first, receive)


class WholeBodyMiddleware:
    """Reads a request's whole body before anything else runs; a client gone before the end is dropped.

    The SDK's stateless transport starts a server task, streams and a task group for every request
    before it reads the body: about a millisecond of CPU each. A slow or never-ending body would get
    all that for free, thousands at a time. Here it costs one small coroutine until the body is in
    (bounded by the body deadline, see http_limits), and nothing is logged for a request never received.
    Bodies over `limit` are passed on as they come, so that the SDK answers 413 as before.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        replay = await whole_body(receive, self.limit)
        if replay is not None:
            await self.app(scope, replay, send)


# Every method the spec lets a client send: an access line naming one holds nothing to redact.
_KNOWN_METHODS = SPEC_CLIENT_METHODS | SPEC_CLIENT_NOTIFICATION_METHODS
_CLEAN = {"channel_mcp_redacted": True}  # see logs.RedactingFilter


def log_access(scope: Scope, status: int, started: float, clean_path: str | None = None) -> None:
    """The access line for one request: method, path, status, duration, and the JSON-RPC method header.

    A line made only of known words and numbers (a health path or `clean_path`, a known MCP method)
    is marked as such and skips the redacting filter; any other line goes through it."""
    if not access_logger.isEnabledFor(logging.INFO):
        return
    rpc = (_header(scope, b"mcp-method") or b"").decode("latin-1").strip()
    method, path = scope["method"], scope["path"]
    duration = (time.perf_counter() - started) * 1000
    known_path = path in HEALTH_PATHS or path == clean_path
    if known_path and method in _KNOWN_HTTP_METHODS and (not rpc or rpc in _KNOWN_METHODS):
        # Every part is a known word or a number: nothing for the redacting filter to find.
        suffix = f" rpc={rpc}" if rpc else ""
        line = f"request method={method} path={path} status={status} duration_ms={duration:.1f}{suffix}"
        access_logger.info(line, extra=_CLEAN)
        return
    access_logger.info(
        "request method=%s path=%s status=%d duration_ms=%.1f%s",
        method,
        json.dumps(path) if not _SAFE_TOKEN.fullmatch(path) else path,
        status,
        duration,
        f" rpc={rpc}" if _SAFE_TOKEN.fullmatch(rpc) else "",
    )


_KNOWN_HTTP_METHODS = frozenset({"GET", "POST", "DELETE", "PUT", "PATCH", "HEAD", "OPTIONS"})


class AccessLogMiddleware:
    """One key=value line per request on stderr: method, path, status, duration. No headers, no query."""

    def __init__(self, app: ASGIApp, clean_path: str | None = None) -> None:
        self.app = app
        self.clean_path = clean_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            log_access(scope, status, started, self.clean_path)


class ChannelMCPApp(Starlette):
    """The Starlette app, with POST on the MCP path (the request a deployment serves by the thousand)
    taken through one layer once `serve_mcp_directly` has named its endpoint.

    That layer does what the middleware stack does for that request, in the same order: the whole
    body first (WholeBodyMiddleware), the access line (AccessLogMiddleware), in oauth mode the token
    gate (OAuthMiddleware), Host/Origin and the static token (GuardMiddleware); then Starlette's part:
    a crash before the answer started gets the plain 500 that ServerErrorMiddleware sends, and the
    endpoint sees the scope keys the router sets. Starlette's ExceptionMiddleware has nothing to do
    there (nothing on that path raises HTTPException). One send wrapper instead of four, no routing.
    Every other request takes the stack.
    """

    _front: tuple[str, ASGIApp, int, str | None] | None = None

    def serve_mcp_directly(
        self,
        path: str,
        endpoint: ASGIApp,
        policy: AccessPolicy,
        limit: int,
        gate: Callable[[ASGIApp], ASGIApp] | None = None,
        clean_path: str | None = None,
    ) -> None:
        """`gate`, when given, wraps the guard and endpoint, as a middleware between the access log and the
        guard would (oauth mode's token gate). `clean_path`: as for AccessLogMiddleware."""
        guarded = _Guarded(self, policy, endpoint)
        self._front = (path, gate(guarded) if gate is not None else guarded, limit, clean_path)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        front = self._front
        if front is None or scope["type"] != "http" or scope["path"] != front[0] or scope["method"] != "POST":
            await super().__call__(scope, receive, send)
            return
        _, chain, limit, clean_path = front
        replay = await whole_body(receive, limit)
        if replay is None:
            return
        started = time.perf_counter()
        status = 500
        answered = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, answered
            if message["type"] == "http.response.start":
                status, answered = message["status"], True
            await send(message)

        try:
            await chain(scope, replay, send_wrapper)
        except Exception:
            if not answered:
                await PlainTextResponse("Internal Server Error", status_code=500)(scope, replay, send_wrapper)
            raise
        finally:
            log_access(scope, status, started, clean_path)


@dataclass(frozen=True, slots=True)
class _Guarded:
    """Host/Origin and the static token (as GuardMiddleware), then the endpoint, with the router's scope keys."""

    app: Starlette
    policy: AccessPolicy
    endpoint: ASGIApp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = await guarded_headers(self.policy, scope, send)
        if headers is not None:
            inner = {
                **scope,
                "headers": headers,
                "app": self.app,
                "router": self.app.router,
                "endpoint": self.endpoint,
                "path_params": {},
            }
            await self.endpoint(inner, receive, send)


@dataclass
class _Readiness:
    ready: bool = False


def create_http_app(
    settings: Settings,
    *,
    path: str = "/mcp",
    host: str = "127.0.0.1",
    deps_factory: Callable[[Settings], Deps] | None = None,
    server: MCPServer[Deps] | None = None,
) -> Starlette:
    """The ASGI app: MCP at `path` (stateless, JSON responses), plus `/healthz` and `/readyz`.

    `host` is the bind address; it decides the loopback defaults of the Host/Origin checks.
    `deps_factory` lets tests point the clients at fakes; `server` serves an already built server.
    Run its lifespan (uvicorn does): that is where the clients are built, once.
    """
    if not path.startswith("/") or path in HEALTH_PATHS:
        raise ValueError(f"invalid MCP path {path!r}: it must start with '/' and not be /healthz or /readyz")
    if (problem := bind_problem(settings, host)) is not None:
        raise ValueError(problem)
    # ---- oauth mode (issue 19): the resource server, scopes and tenants live in channel_mcp.serving.auth ----
    oauth = None
    if settings.auth == "oauth":
        from channel_mcp.deps import build_deps
        from channel_mcp.serving.auth import OAuthWiring

        if server is not None:
            raise ValueError("oauth mode builds its own server: pass deps_factory, not server")
        oauth = OAuthWiring.build(settings, deps_factory or build_deps, path)
        server = build_server(oauth.serving_settings(), deps_factory=oauth.lifespan_factory(deps_factory or build_deps))
        oauth.install(server)
    # ---- end of oauth mode wiring
    if server is None:
        server = build_server(settings) if deps_factory is None else build_server(settings, deps_factory=deps_factory)
    elif deps_factory is not None and oauth is None:
        raise ValueError("pass deps_factory or server, not both")
    mcp_app = server.streamable_http_app(
        streamable_http_path=path,
        json_response=True,
        stateless_http=True,
        max_request_body_size=settings.max_body_bytes,
        # Host/Origin are checked by GuardMiddleware with our rules; the SDK still checks Content-Type.
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        host=host,
    )
    readiness = _Readiness()
    session_manager = server.session_manager

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with session_manager.run():  # enters the MCPServer lifespan: Deps are built here, once
            readiness.ready = True
            try:
                yield
            finally:
                readiness.ready = False
                if oauth is not None:
                    await oauth.aclose()

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    policy = AccessPolicy.from_settings(settings, host)

    async def readyz(request: Request) -> Response:
        # Probes carry no token; they get the verdict only. Which providers are configured, and whether
        # this is a sandbox, is for callers holding the token (or any local caller when there is none).
        authorised = policy.token_status(request.headers.get("authorization", "").encode("latin-1")) is None
        if not readiness.ready:
            return JSONResponse({"status": "not ready"}, status_code=503)
        if not authorised:
            return JSONResponse({"status": "ready"})
        configured = {"imbrace": settings.imbrace_configured, "bird": settings.bird_configured}
        providers = [name for name, on in configured.items() if on]
        return JSONResponse({"status": "ready", "providers": providers, "sandbox": settings.sandbox})

    # POST only: with no session there is nothing to DELETE, and a GET stream could never carry anything
    # (no server-initiated messages reach a stateless client) while holding a connection open through
    # shutdown. The transport spec allows 405 for both; clients expect it.
    # Handshake-era requests go straight to the SDK's handler chain, without a transport each (see stateless_entry).
    # Read-only tool calls skip the SDK's per-call machinery too, when nothing they skip would act on them.
    entry = StatelessJSONEntry(
        session_manager,
        fallback=StreamableHTTPASGIApp(session_manager),
        direct_tool=functools.partial(direct_tool, server),
    )
    mcp_route = Route(path, endpoint=entry, methods=["POST"])
    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        mcp_route,
        *(route for route in mcp_app.routes if getattr(route, "path", None) != path),
    ]
    # The MCP path's access lines skip the redacting filter when the path is plain (a known word).
    plain = _SAFE_TOKEN.fullmatch(path) is not None and mask_shapes(path) == path
    clean_path = path if plain and not any(secret in path for secret in settings.secret_values()) else None
    middleware = [
        Middleware(WholeBodyMiddleware, limit=settings.max_body_bytes),
        Middleware(AccessLogMiddleware, clean_path=clean_path),
        Middleware(GuardMiddleware, policy=policy),
    ]
    if oauth is not None:  # oauth mode: metadata routes, and the token gate (GuardMiddleware drops the header)
        from channel_mcp.serving.auth import OAuthMiddleware

        routes.extend(oauth.routes())
        middleware.insert(2, Middleware(OAuthMiddleware, wiring=oauth))
    app = ChannelMCPApp(routes=routes, middleware=middleware, lifespan=lifespan)
    gate = None
    if oauth is not None:  # its gate sits between the access log and the guard, as in the stack
        from channel_mcp.serving.auth import OAuthMiddleware

        gate = functools.partial(OAuthMiddleware, wiring=oauth)
    app.serve_mcp_directly(path, entry, policy, settings.max_body_bytes, gate, clean_path)
    return app


def run_http(
    settings: Settings,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    path: str = "/mcp",
    grace_period: int = GRACE_PERIOD_SECONDS,
    deps_factory: Callable[[Settings], Deps] | None = None,
) -> int:
    """Serve until SIGTERM or SIGINT, then let in-flight requests finish. Returns the exit code."""
    problem = bind_problem(settings, host)
    if problem is not None:
        print(f"channel-mcp: {problem}", file=sys.stderr)
        return 2
    try:
        app = create_http_app(settings, path=path, host=host, deps_factory=deps_factory)
    except ValueError as exc:
        print(f"channel-mcp: {exc}", file=sys.stderr)
        return 2
    shown = f"[{host}]" if ":" in host else host
    logger.info(
        "serving MCP on http://%s:%d%s (stateless, JSON responses; client token %s)",
        shown,
        port,
        path,
        "required" if _token(settings) is not None else "not required",
    )
    if settings.sandbox:
        logger.info(
            "SANDBOX mode: simulated iMBRACE and Bird data, no account used. Connect an MCP client to "
            "http://%s:%d%s, or see the README for Claude Desktop over stdio.",
            shown,
            port,
            path,
        )
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        # In stateless mode the SDK logs "Terminating session: None" at INFO after every request.
        logging.getLogger("mcp.server.streamable_http").setLevel(logging.WARNING)
    return serve_app(app, settings, host=host, port=port, grace_period=grace_period)


def serve_app(
    app: ASGIApp, settings: Settings, *, host: str, port: int, grace_period: int = GRACE_PERIOD_SECONDS
) -> int:
    """Run `app` under channel-mcp's HTTP stack until SIGTERM or SIGINT; returns the exit code.

    The stack: uvicorn on uvloop where installed (uvicorn's "auto" loop), httptools parsing requests
    (C) with channel-mcp's deadlines, head-size limit and connection cap
    (see http_limits). benchmarks/_peers.py serves its no-MCP floor with this same function.
    """
    import uvicorn

    from channel_mcp.serving.http_limits import ConnectionLimits, limited_protocol

    limits = ConnectionLimits(
        header_timeout=settings.http_header_timeout,
        body_timeout=settings.http_body_timeout,
        max_connections=_connection_cap(settings.http_max_connections),
    )
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        lifespan="on",
        log_config=None,  # keep channel-mcp's redacting stderr handler
        log_level=settings.log_level.lower(),
        access_log=False,  # AccessLogMiddleware writes the request lines
        server_header=False,
        ws="none",  # MCP does not use WebSockets: nothing to upgrade to, nothing left unguarded
        timeout_graceful_shutdown=grace_period,
        # Slow and idle clients: head and body deadlines, the 16 KiB head limit and the connection cap (see
        # http_limits), and a short idle keep-alive.
        http=limited_protocol(limits),
        timeout_keep_alive=settings.http_keep_alive_timeout,
    )
    server = uvicorn.Server(config)
    try:
        with _graceful_signals(server):
            server.run()
    except SystemExit as exc:  # uvicorn exits this way when it cannot bind or the lifespan fails
        return exc.code if isinstance(exc.code, int) else 1
    return 0 if server.started else 1


_FD_HEADROOM = 1024
"""File descriptors kept out of the connection cap: upstream connections, logs, the audit file."""


def _connection_cap(configured: int) -> int:
    """`configured`, lowered so that the cap is reached before the open-file limit is.

    The soft limit is first raised to the hard one (often 1024 of a far higher hard limit): past it,
    accept() fails with EMFILE, and uvicorn can neither answer nor make room.
    """
    try:
        import resource
    except ImportError:  # Windows: no RLIMIT_NOFILE
        return configured
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    if soft == resource.RLIM_INFINITY:
        return configured
    room = max(1, soft - min(_FD_HEADROOM, soft // 4))
    if room < configured:
        logger.warning(
            "CHANNEL_MCP_HTTP_MAX_CONNECTIONS=%d is above what the open-file limit (%d) allows; using %d",
            configured,
            soft,
            room,
        )
        return room
    return configured


@contextmanager
def _graceful_signals(server: uvicorn.Server) -> Iterator[None]:
    """uvicorn re-raises the stop signal once it has drained; with our handler underneath, that is a no-op.

    Without this, SIGTERM would end the process with the default disposition (status -15) even after
    a clean, graceful shutdown. A signal that arrives before uvicorn installs its own handlers still
    stops the server.
    """

    def stop(signum: int, frame: FrameType | None) -> None:
        server.should_exit = True

    previous: dict[signal.Signals, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, stop)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
