"""HTTP oauth mode: channel-mcp as an OAuth 2.1 resource server (MCP authorization, RFC 9728, RFC 9068).

Built on the SDK's resource-server pieces: `JwtVerifier` is an `mcp.server.auth` `TokenVerifier`, the
SDK's `BearerAuthBackend` turns the `Authorization` header into an `AuthenticatedUser`, its
`AuthContextMiddleware` publishes it (so the SDK binds sealed request state to the principal), and its
`create_protected_resource_routes` serves the RFC 9728 document. Tokens are decoded and checked by
PyJWT (signature, `iss`, `aud`, `exp`, `nbf`), never by hand.

Per request, in `OAuthMiddleware` (inside the Host/Origin check, outside the SDK):

1. 401 with `WWW-Authenticate: Bearer resource_metadata="..."` for a missing or invalid token.
2. 403 when the token's tenant claim names no configured tenant.
3. 403 `insufficient_scope` naming the scope when the JSON-RPC call needs a scope the token lacks:
   `channels:read` for read-only tools, resources, prompts and completions; `channels:write` for writes;
   `channels:delete` for destructive tools. Such a call never reaches a handler, hence never the upstream.
4. The `Authorization` header and any client-held key headers are removed before the SDK sees the request.

`CallerScope`, a server middleware, then hands every handler its caller's `Deps` (by replacing the
request's lifespan context) and filters `tools/list` down to what the caller's scopes allow.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, cast
from urllib.parse import urlsplit

import httpx
import jwt
from mcp.server.auth.middleware.auth_context import AuthContextMiddleware
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser, BearerAuthBackend
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.routes import build_resource_metadata_url, create_protected_resource_routes
from mcp.server.auth.settings import AuthSettings
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp_types import CallToolResult, ListToolsResult, TextContent
from pydantic import AnyHttpUrl
from starlette.requests import HTTPConnection
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from channel_mcp.caller import Caller, current_caller, install_log_filter
from channel_mcp.config import Settings
from channel_mcp.deps import Deps, request_deps
from channel_mcp.errors import ConfigError
from channel_mcp.serving.tenants import CLIENT_KEY_HEADERS, DepsPool, TenantTable
from channel_mcp.tools import ALL_TOOLS

__all__ = [
    "DELETE",
    "READ",
    "SCOPES",
    "WRITE",
    "CallerScope",
    "JwtVerifier",
    "OAuthMiddleware",
    "OAuthWiring",
    "mode_problem",
    "tool_scope",
]

logger = logging.getLogger("channel_mcp.serving.auth")

READ, WRITE, DELETE = "channels:read", "channels:write", "channels:delete"
SCOPES = [READ, WRITE, DELETE]
_TOOL_SCOPES = {
    t.name: READ if t.annotations.read_only else (DELETE if t.annotations.destructive else WRITE) for t in ALL_TOOLS
}
# Methods that read through the providers without a tool: resources, prompts (which may read), completions.
_READ_METHODS = ("resources/", "prompts/", "completion/")
_AT_JWT = {"at+jwt", "application/at+jwt"}
TOKEN_CACHE_SIZE = 10_000
INTROSPECTION_CACHE_SECONDS = 60.0  # opaque tokens are re-checked this often: introspection learns of revocation
FETCH_TIMEOUT = 10.0


def tool_scope(name: str) -> str:
    """The scope a tool needs. A tool outside the registry counts as a write: fail closed."""
    return _TOOL_SCOPES.get(name, WRITE)


def mode_problem(settings: Settings, loopback: bool) -> str | None:
    """Why an explicit CHANNEL_MCP_AUTH cannot serve on this address, or None."""
    if settings.auth == "none":
        return None if loopback else "CHANNEL_MCP_AUTH=none is allowed only on a loopback address (127.0.0.1, ::1)."
    if settings.auth == "token":
        token = settings.http_token.get_secret_value().strip() if settings.http_token is not None else ""
        return None if token else "CHANNEL_MCP_AUTH=token needs CHANNEL_MCP_HTTP_TOKEN."
    missing = [
        name
        for name, value in (
            ("CHANNEL_MCP_OAUTH_ISSUER", settings.oauth_issuer),
            ("CHANNEL_MCP_RESOURCE_URL", settings.resource_url),
        )
        if not value
    ]
    if missing:
        return f"CHANNEL_MCP_AUTH=oauth needs {' and '.join(missing)}."
    if settings.oauth_introspection_url and not (settings.oauth_client_id and settings.oauth_client_secret):
        return (
            "CHANNEL_MCP_OAUTH_INTROSPECTION_URL needs CHANNEL_MCP_OAUTH_CLIENT_ID and CHANNEL_MCP_OAUTH_CLIENT_SECRET."
        )
    return None


# ---------------------------------------------------------------------------------------------- validation


class JwtVerifier:
    """An SDK `TokenVerifier` for one issuer: JWT access tokens by JWKS, opaque ones by RFC 7662 introspection.

    The issuer's metadata (RFC 8414, else OIDC discovery) and its JWKS are fetched on first use and cached.
    A token signed with an unknown `kid` triggers one JWKS refetch, at most every `refetch_seconds`: key
    rotation is picked up without letting a stream of forged tokens hammer the issuer. A valid token is
    remembered until it expires (opaque ones for at most INTROSPECTION_CACHE_SECONDS), so the common path
    costs one dictionary lookup.
    """

    def __init__(self, settings: Settings, *, clock: Callable[[], float] = time.time) -> None:
        assert settings.oauth_issuer and settings.resource_url
        self.issuer = settings.oauth_issuer
        self.resource = settings.resource_url
        self.audiences = list(dict.fromkeys([self.resource, self.resource.rstrip("/")]))
        self.algorithms = list(settings.oauth_algorithms)
        self.leeway = settings.oauth_clock_skew
        self.refetch_seconds = settings.oauth_jwks_refetch_seconds
        self.accept_plain_jwt = settings.oauth_accept_plain_jwt
        self.jwks_url = settings.oauth_jwks_url
        self.introspection_url = settings.oauth_introspection_url
        secret = settings.oauth_client_secret
        self._client_auth = (
            (settings.oauth_client_id, secret.get_secret_value()) if settings.oauth_client_id and secret else None
        )
        self.clock = clock
        self._http: httpx.AsyncClient | None = None
        self._metadata: dict[str, Any] | None = None
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()
        self._cache: OrderedDict[str, tuple[float, AccessToken]] = OrderedDict()

    @property
    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=FETCH_TIMEOUT, follow_redirects=False)
        return self._http

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()

    async def verify_token(self, token: str) -> AccessToken | None:
        key = hashlib.sha256(token.encode()).hexdigest()
        now = self.clock()
        hit = self._cache.get(key)
        if hit is not None:
            if now < hit[0]:
                return hit[1]
            del self._cache[key]
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError:
            access = await self._introspect(token) if self._introspection_possible() else None
            until = min(float(access.expires_at or now), now + INTROSPECTION_CACHE_SECONDS) if access else 0.0
        else:
            access = await self._verify_jwt(token, header)
            until = float(access.expires_at or now) if access else 0.0
        if access is not None and until > now:
            self._cache[key] = (until, access)
            if len(self._cache) > TOKEN_CACHE_SIZE:
                self._cache.popitem(last=False)
        return access

    # -- JWT --------------------------------------------------------------------------------------------

    async def _verify_jwt(self, token: str, header: dict[str, Any]) -> AccessToken | None:
        typ = str(header.get("typ", "")).lower()
        if typ not in _AT_JWT and not (self.accept_plain_jwt and typ in ("", "jwt")):
            logger.info("token refused: typ %s is not at+jwt (RFC 9068)", json.dumps(typ))
            return None
        if header.get("alg") not in self.algorithms:
            logger.info("token refused: algorithm %s is not accepted", json.dumps(header.get("alg")))
            return None
        kid = header.get("kid")
        signing_key = await self._key(kid if isinstance(kid, str) else None)
        if signing_key is None:
            logger.info("token refused: unknown signing key %s", json.dumps(kid))
            return None
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                signing_key,
                algorithms=self.algorithms,
                audience=self.audiences,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.InvalidTokenError as exc:
            logger.info("token refused: %s", type(exc).__name__)
            return None
        return self._access(token, claims)

    async def _key(self, kid: str | None) -> jwt.PyJWK | None:
        if self._fetched_at is None or (kid is not None and kid not in self._keys):
            async with self._lock:
                stale = self._fetched_at is None or self.clock() - self._fetched_at >= self.refetch_seconds
                if (kid is None or kid not in self._keys) and stale:
                    await self._fetch_jwks()
        if kid is None:
            # No kid: acceptable only when the issuer publishes exactly one signing key.
            return next(iter(self._keys.values())) if len(self._keys) == 1 else None
        return self._keys.get(kid)

    async def _fetch_jwks(self) -> None:
        self._fetched_at = self.clock()
        try:
            url = self.jwks_url or (await self._discover()).get("jwks_uri")
            if not isinstance(url, str):
                raise ConfigError("the issuer's metadata names no jwks_uri; set CHANNEL_MCP_OAUTH_JWKS_URL")
            response = await self.http.get(url)
            response.raise_for_status()
            keys = jwt.PyJWKSet.from_dict(response.json()).keys
        except (httpx.HTTPError, ValueError, jwt.PyJWKSetError, ConfigError) as exc:
            # Keep the keys we have: an issuer outage must not lock out callers whose keys are known.
            logger.warning("could not fetch the issuer's JWKS: %s", exc)
            return
        self._keys = {k.key_id: k for k in keys if k.key_id and getattr(k, "public_key_use", None) in (None, "sig")}

    async def _discover(self) -> dict[str, Any]:
        if self._metadata is not None:
            return self._metadata
        parts = urlsplit(self.issuer)
        base = f"{parts.scheme}://{parts.netloc}"
        path = parts.path.rstrip("/")
        # RFC 8414 inserts the well-known segment before the issuer's path; OIDC appends it.
        candidates = [
            f"{base}/.well-known/oauth-authorization-server{path}",
            f"{base}{path}/.well-known/openid-configuration",
        ]
        for url in candidates:
            try:
                response = await self.http.get(url)
            except httpx.HTTPError:
                continue
            if response.status_code != 200:
                continue
            metadata = response.json()
            if isinstance(metadata, dict) and metadata.get("issuer") == self.issuer:
                self._metadata = metadata
                return metadata
            logger.warning("issuer metadata at %s names another issuer: ignored", url)
        raise ConfigError(f"no authorization server metadata for {self.issuer}")

    # -- opaque tokens (RFC 7662) -----------------------------------------------------------------------

    def _introspection_possible(self) -> bool:
        return self._client_auth is not None

    async def _introspect(self, token: str) -> AccessToken | None:
        assert self._client_auth is not None
        try:
            url = self.introspection_url or (await self._discover()).get("introspection_endpoint")
            if not isinstance(url, str):
                return None
            response = await self.http.post(
                url, data={"token": token, "token_type_hint": "access_token"}, auth=self._client_auth
            )
            response.raise_for_status()
            claims = response.json()
        except (httpx.HTTPError, ValueError, ConfigError) as exc:
            logger.warning("token introspection failed: %s", type(exc).__name__)
            return None
        if not isinstance(claims, dict) or claims.get("active") is not True:
            return None
        now = self.clock()
        aud = claims.get("aud")
        audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
        if claims.get("iss", self.issuer) != self.issuer or not set(audiences) & set(self.audiences):
            logger.info("introspected token refused: another issuer or audience")
            return None
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or exp + self.leeway < now:
            return None
        nbf = claims.get("nbf")
        if isinstance(nbf, int | float) and nbf - self.leeway > now:
            return None
        return self._access(token, {**claims, "iss": self.issuer})

    def _access(self, token: str, claims: dict[str, Any]) -> AccessToken:
        # RFC 9068 `scope`; `scp` (Okta, Entra delegated) or `roles` (app roles on client-credentials tokens).
        scope = claims.get("scope", claims.get("scp", claims.get("roles", "")))
        scopes = scope.split() if isinstance(scope, str) else [str(s) for s in scope] if isinstance(scope, list) else []
        client_id = claims.get("client_id") or claims.get("azp") or claims.get("appid") or claims.get("sub") or ""
        subject = claims.get("sub")
        return AccessToken(
            token=token,
            client_id=str(client_id),
            scopes=scopes,
            expires_at=int(claims["exp"]) if isinstance(claims.get("exp"), int | float) else None,
            resource=self.resource,  # checked above: `aud` names this server
            subject=str(subject) if subject is not None else None,
            claims=claims,
        )


# ---------------------------------------------------------------------------------------------- the request gate


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value)
    return None


def _quote(text: str) -> str:
    return text.replace("\\", "").replace('"', "'")


def _needed_scopes(body: bytes) -> list[str]:
    """The scopes a JSON-RPC message needs, read from the request body; unreadable bodies need none here
    (the SDK answers them with a parse error before any handler runs)."""
    try:
        message = json.loads(body)
    except ValueError:
        return []
    needed: list[str] = []
    for item in message if isinstance(message, list) else [message]:
        if not isinstance(item, dict):
            continue
        method = item.get("method")
        if method == "tools/call":
            params = item.get("params")
            name = params.get("name") if isinstance(params, dict) else None
            needed.append(tool_scope(name) if isinstance(name, str) else WRITE)
        elif isinstance(method, str) and method.startswith(_READ_METHODS):
            needed.append(READ)
    return needed


class OAuthMiddleware:
    """The per-request gate (see the module docstring). Pure ASGI: the body is read once and replayed."""

    def __init__(self, app: ASGIApp, wiring: OAuthWiring) -> None:
        self.app = AuthContextMiddleware(app)
        self.wiring = wiring
        # The verifier checks `aud` itself; the SDK's resource check on top costs nothing and fails closed.
        self.backend = BearerAuthBackend(wiring.verifier, resource_server_url=wiring.auth.resource_server_url)
        self.challenge = f'Bearer resource_metadata="{wiring.metadata_url}"'

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.wiring.guarded_paths):
            await self.app(scope, receive, send)
            return
        authorization = _header(scope, b"authorization")
        result = await self.backend.authenticate(HTTPConnection(scope)) if authorization else None
        if result is None:
            problem = "missing bearer token" if not authorization else "invalid or expired bearer token"
            challenge = self.challenge + (', error="invalid_token"' if authorization else "")
            logger.info("refused: %s", problem)
            await _deny(send, 401, problem, challenge)
            return
        credentials, user = result
        assert isinstance(user, AuthenticatedUser)
        token = user.access_token
        claims = token.claims or {}
        table = self.wiring.tenants
        tenant = table.tenant_of(claims) if table is not None else None
        caller = Caller(
            issuer=str(claims.get("iss")) if claims.get("iss") else None,
            subject=token.subject,
            client_id=token.client_id,
            tenant=tenant,
            scopes=frozenset(token.scopes),
        )
        if table is not None and tenant is None:
            logger.info("refused %s: no tenant for claim %s", caller.describe(), table.claim)
            await _deny(send, 403, f"Forbidden: this token's {table.claim} names no tenant of this server", None)
            return

        body, more, receive = await _buffer(receive, self.wiring.max_body_bytes)
        if not more:
            for needed in _needed_scopes(body):
                if needed not in caller.scopes:
                    logger.info("refused %s: needs scope %s", caller.describe(), needed)
                    challenge = (
                        f'{self.challenge}, error="insufficient_scope", scope="{needed}", '
                        f'error_description="{_quote(f"this call needs the {needed} scope")}"'
                    )
                    await _deny(send, 403, f"Forbidden: this call needs the {needed} scope", challenge)
                    return

        # The caller's credentials are for channel-mcp only: nothing downstream may see or forward them.
        keys: dict[str, str] = {}
        headers = []
        for name, value in scope["headers"]:
            if name == b"authorization":
                continue
            if name in CLIENT_KEY_HEADERS:
                if self.wiring.client_keys and value.strip():
                    keys[CLIENT_KEY_HEADERS[name]] = value.decode("latin-1").strip()
                continue
            headers.append((name, value))
        deps = self.wiring.pool.for_tenant(tenant) if tenant is not None else None
        own = self.wiring.pool.for_request(deps or self.wiring.home(), keys) if keys else None
        caller_token = current_caller.set(caller)
        deps_token = request_deps.set(own or deps)
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("request by %s", caller.describe())
        try:
            inner = {**scope, "headers": headers, "user": user, "auth": credentials}
            await self.app(inner, receive, send)
        finally:
            request_deps.reset(deps_token)
            current_caller.reset(caller_token)
            if own is not None:
                await DepsPool.release(own)


async def _buffer(receive: Receive, limit: int) -> tuple[bytes, bool, Receive]:
    """Read the body up to `limit` bytes; returns it, whether more was left unread, and a replaying receive.
    A body over the limit is passed on unread for the SDK to refuse (413); it is never parsed here."""
    chunks: list[Message] = []
    size = 0
    more = True
    while more and size <= limit:
        message = await receive()
        chunks.append(message)
        if message["type"] != "http.request":
            break
        size += len(message.get("body", b""))
        more = bool(message.get("more_body", False))
    body = b"".join(m.get("body", b"") for m in chunks if m["type"] == "http.request")

    async def replay() -> Message:
        if chunks:
            return chunks.pop(0)
        return await receive()

    return body, more or size > limit, replay


async def _deny(send: Send, status: int, message: str, challenge: str | None) -> None:
    body = json.dumps({"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": message}}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if challenge is not None:
        headers.append((b"www-authenticate", challenge.encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


# ---------------------------------------------------------------------------------------------- inside the SDK


class CallerScope:
    """Server middleware: the caller's `Deps` for every handler, and only the tools its scopes allow."""

    # It reads the context's method and params and replaces its lifespan state, nothing else: the direct
    # path for read-only tool calls (serving.stateless_entry) may run it.
    direct_call_safe = True

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        caller = current_caller.get()
        if caller is None:
            return await call_next(ctx)
        deps = request_deps.get()
        if deps is not None:
            ctx = replace(ctx, lifespan_context=deps)
        if ctx.method == "tools/call":
            name = (ctx.params or {}).get("name")
            needed = tool_scope(name) if isinstance(name, str) else WRITE
            if needed not in caller.scopes:  # the HTTP gate refuses first; this holds if a path ever skips it
                text = f"Refused: this call needs the {needed} scope. Nothing was sent."
                return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)
        result = await call_next(ctx)
        if ctx.method == "tools/list":
            return _visible(result, caller.scopes)
        return result


def _visible(result: HandlerResult, scopes: frozenset[str]) -> HandlerResult:
    if isinstance(result, ListToolsResult):
        return result.model_copy(update={"tools": [t for t in result.tools if tool_scope(t.name) in scopes]})
    if isinstance(result, dict) and isinstance(result.get("tools"), list):
        tools = [t for t in result["tools"] if isinstance(t, dict) and tool_scope(str(t.get("name"))) in scopes]
        return {**result, "tools": tools}
    return result


# ---------------------------------------------------------------------------------------------- wiring


@dataclass
class OAuthWiring:
    """Everything oauth mode adds to the HTTP app, built once by `create_http_app`."""

    settings: Settings
    auth: AuthSettings
    verifier: JwtVerifier
    pool: DepsPool
    tenants: TenantTable | None
    metadata_url: str
    guarded_paths: tuple[str, ...]
    max_body_bytes: int
    client_keys: bool
    _home: Deps | None = None

    @classmethod
    def build(cls, settings: Settings, factory: Callable[[Settings], Deps], mcp_path: str) -> OAuthWiring:
        assert settings.resource_url is not None
        install_log_filter()
        # The SDK's settings model checks both URLs (a ValidationError is a ValueError: start-up refuses it).
        auth = AuthSettings.model_validate(
            {
                "issuer_url": settings.oauth_issuer,
                "resource_server_url": settings.resource_url,
                "validate_token_resource": True,
                "required_scopes": None,
            }
        )
        tenants = TenantTable.load(settings.tenants_file) if settings.tenants_file is not None else None
        return cls(
            settings=settings,
            auth=auth,
            verifier=JwtVerifier(settings),
            pool=DepsPool(settings, tenants, factory),
            tenants=tenants,
            metadata_url=str(build_resource_metadata_url(cast(AnyHttpUrl, auth.resource_server_url))),
            guarded_paths=(mcp_path,),
            max_body_bytes=settings.max_body_bytes,
            client_keys=settings.client_keys,
        )

    def serving_settings(self) -> Settings:
        """The settings the MCP server is built from (which tools and resources exist)."""
        return self.tenants.serving_settings(self.settings) if self.tenants is not None else self.settings

    def lifespan_factory(self, factory: Callable[[Settings], Deps]) -> Callable[[Settings], Deps]:
        """The server lifespan's Deps: the deployment's own without tenants; with tenants, none at all."""

        def build(settings: Settings) -> Deps:
            self._home = self.pool.empty() if self.tenants is not None else factory(self.settings)
            return self._home

        return build

    def home(self) -> Deps:
        if self._home is None:  # pragma: no cover - the lifespan runs before any request
            raise ConfigError("channel-mcp is not initialised")
        return self._home

    def install(self, server: MCPServer[Any]) -> None:
        server.middleware.insert(0, CallerScope())

    def routes(self) -> list[BaseRoute]:
        """RFC 9728 metadata at the path-suffixed URL and, for clients that try it first, the bare one."""
        assert self.settings.oauth_issuer and self.settings.resource_url
        routes: list[BaseRoute] = list(
            create_protected_resource_routes(
                # Strings, not AnyHttpUrl: the metadata model keeps a path-less issuer without the trailing
                # slash AnyHttpUrl would add, and clients compare the issuer as an exact string (RFC 8414).
                resource_url=cast(AnyHttpUrl, self.settings.resource_url),
                authorization_servers=[cast(AnyHttpUrl, self.settings.oauth_issuer)],
                scopes_supported=SCOPES,
                resource_name="channel-mcp",
            )
        )
        bare = "/.well-known/oauth-protected-resource"
        first = routes[0]
        if isinstance(first, Route) and first.path != bare:
            routes.append(Route(bare, endpoint=first.endpoint, methods=["GET", "OPTIONS"]))
        return routes

    async def aclose(self) -> None:
        await self.pool.aclose()
        await self.verifier.aclose()
