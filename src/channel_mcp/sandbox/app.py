"""The sandbox ASGI app: the iMBRACE and Bird routes on one port, behind a gateway-like middleware.

Routes come from ``imbrace_routes.py`` and ``bird_routes.py``; this module adds ``/_sandbox/health``
and ``GET|PUT /_sandbox/faults`` (no auth, never faulted, not recorded) and answers every error in
the shape of the provider that owns the path (``error_response``).

Request order: record ``(method, path)`` in ``app.state.requests`` → authenticate (iMBRACE
``x-api-key``/``x-access-token``, Bird ``Authorization: AccessKey <key>``) → faults (faults.py; a
request that fails auth is never faulted) → route. Auth comes before routing, so an unknown path
under a provider prefix is 401 with a bad key and 404 with the right one.
"""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from channel_mcp.sandbox import bird_routes, imbrace_routes
from channel_mcp.sandbox.account import SANDBOX_API_KEY
from channel_mcp.sandbox.faults import FaultConfig
from channel_mcp.sandbox.routing import JSON, Call, route
from channel_mcp.sandbox.store import ConflictError, NotFoundError, SandboxStore, StoreError, ValidationError

__all__ = ["create_app"]

IMBRACE_PREFIX = imbrace_routes.PREFIX
BIRD_PREFIX = bird_routes.PREFIX
ADMIN_PREFIX = "/_sandbox/"
MAX_RECORDED_REQUESTS = 10_000
_IMBRACE_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    429: "rate_limited",
}
_BIRD_CODES = {
    400: "InvalidArgument",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    429: "TooManyRequests",
}


def error_response(path: str, status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """An error in the shape of the provider that owns ``path``."""
    if path.startswith(BIRD_PREFIX):
        code = _BIRD_CODES.get(status, "InternalError" if status >= 500 else "Error")
        return JSONResponse({"code": code, "message": message}, status_code=status, headers=headers)
    code = _IMBRACE_CODES.get(status, "server_error" if status >= 500 else "error")
    return JSONResponse({"success": False, "message": message, "error": code}, status_code=status, headers=headers)


# --------------------------------------------------------------------------- admin


async def health(call: Call) -> Response:
    return JSONResponse({"status": "ok", "contacts": call.store.contact_total()})


def _faults_json(faults: FaultConfig) -> JSON:
    return {
        "rate_429": faults.rate_429,
        "rate_5xx": faults.rate_5xx,
        "latency_ms": faults.latency_ms,
        "retry_after": faults.retry_after,
        "seed": faults.seed,
        "statuses_5xx": list(faults.statuses_5xx),
    }


async def faults_endpoint(call: Call) -> Response:
    state = call.request.app.state
    if call.request.method == "PUT":
        body = await call.body()
        current = _faults_json(state.faults)
        unknown = set(body.data) - set(current)
        if unknown:
            raise ValidationError(f"unknown fault settings: {', '.join(sorted(unknown))}")
        merged = {**current, **body.data}
        try:
            merged["statuses_5xx"] = tuple(merged["statuses_5xx"])
            state.faults = FaultConfig(**merged)
        except (TypeError, ValueError) as exc:
            raise ValidationError(str(exc)) from None
    return JSONResponse(_faults_json(state.faults))


ADMIN_ROUTES: list[Route] = [
    route("/_sandbox/health", health, methods=["GET"]),
    route("/_sandbox/faults", faults_endpoint, methods=["GET", "PUT"]),
]


# --------------------------------------------------------------------------- middleware and errors


class GatewayMiddleware:
    """Records requests, checks the provider's auth header, then injects configured faults."""

    def __init__(self, app: ASGIApp, api_key: str) -> None:
        self.app = app
        self.api_key = api_key.encode()

    def _authorised(self, path: str, headers: dict[bytes, bytes]) -> bool:
        if path.startswith(BIRD_PREFIX):
            scheme, _, token = headers.get(b"authorization", b"").partition(b" ")
            return scheme.lower() == b"accesskey" and hmac.compare_digest(token.strip(), self.api_key)
        return any(hmac.compare_digest(headers.get(h, b""), self.api_key) for h in (b"x-api-key", b"x-access-token"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path.startswith(ADMIN_PREFIX):
            await self.app(scope, receive, send)
            return
        state = scope["app"].state
        requests: list[tuple[str, str]] = state.requests
        requests.append((scope["method"], path))
        if len(requests) > MAX_RECORDED_REQUESTS:
            del requests[: MAX_RECORDED_REQUESTS // 2]
        if not (path.startswith(IMBRACE_PREFIX + "/") or path.startswith(BIRD_PREFIX)):
            await self.app(scope, receive, send)  # unknown prefix: let the router answer 404
            return
        headers = dict(scope["headers"])
        if not self._authorised(path, headers):
            expected = "Authorization: AccessKey <key>" if path.startswith(BIRD_PREFIX) else "x-api-key: <key>"
            response = error_response(path, 401, f"missing or invalid credentials; send {expected}")
            await response(scope, receive, send)
            return
        faults: FaultConfig = state.faults
        if faults.latency_ms > 0:
            await anyio.sleep(faults.latency_ms / 1000)
        kind, status = faults.roll()
        if kind == "429":
            response = error_response(
                path, 429, "rate limit exceeded (sandbox fault injection)", {"retry-after": str(faults.retry_after)}
            )
            await response(scope, receive, send)
            return
        if kind == "5xx":
            response = error_response(path, status, "upstream failure (sandbox fault injection)")
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


async def _store_error(request: Request, exc: Exception) -> Response:
    status = 400
    if isinstance(exc, NotFoundError):
        status = 404
    elif isinstance(exc, ConflictError):
        status = 409
    elif isinstance(exc, ValidationError):
        status = 400
    return error_response(request.url.path, status, str(exc))


async def _http_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, HTTPException):  # registered for HTTPException only
        raise exc
    message = exc.detail
    if exc.status_code == 404 and message == "Not Found":
        message = f"no route for {request.method} {request.url.path}"
    elif exc.status_code == 405:
        message = f"method {request.method} is not allowed on {request.url.path}"
    return error_response(request.url.path, exc.status_code, str(message), dict(exc.headers or {}))


# --------------------------------------------------------------------------- assembly


def create_app(
    *,
    api_key: str = SANDBOX_API_KEY,
    data_path: str | None = None,
    faults: FaultConfig | None = None,
    contacts: int = 240,
) -> Starlette:
    """Build the sandbox app; ``app.state`` holds ``store``, ``faults`` (mutable) and ``requests``."""
    if not api_key:
        raise ValueError("api_key must not be empty")
    store = SandboxStore(data_path, contacts=contacts)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        store.close()

    app = Starlette(
        routes=[*imbrace_routes.ROUTES, *bird_routes.ROUTES, *ADMIN_ROUTES],
        middleware=[Middleware(GatewayMiddleware, api_key=api_key)],
        exception_handlers={StoreError: _store_error, HTTPException: _http_error},
        lifespan=lifespan,
    )
    app.state.store = store
    app.state.faults = faults if faults is not None else FaultConfig()
    app.state.requests = []
    app.state.api_key = api_key
    return app
