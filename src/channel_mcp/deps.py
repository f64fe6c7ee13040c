"""What tool handlers and resources get from the server lifespan: clients, settings, cache, audit log."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from channel_mcp.audit import AuditLog, AuditRecord
from channel_mcp.bird.client import BirdClient
from channel_mcp.config import Settings
from channel_mcp.errors import ConfigError
from channel_mcp.imbrace.client import ImbraceClient

T = TypeVar("T")
CACHE_TTL = 30.0


@dataclass
class ListingCache:
    """Short-lived cache for listings (resources, completions). Writes through our tools invalidate it."""

    ttl: float = CACHE_TTL
    clock: Callable[[], float] = time.monotonic
    _entries: dict[str, tuple[float, Any]] = field(default_factory=dict)

    async def get(self, key: str, load: Callable[[], Awaitable[T]]) -> T:
        hit = self._entries.get(key)
        now = self.clock()
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]  # type: ignore[no-any-return]
        value = await load()
        self._entries[key] = (now, value)
        return value

    def invalidate(self, prefix: str = "") -> None:
        for key in [k for k in self._entries if k.startswith(prefix)]:
            del self._entries[key]


@dataclass
class Deps:
    settings: Settings
    imbrace_client: ImbraceClient | None
    bird_client: BirdClient | None
    sandbox: bool = False
    cache: ListingCache = field(default_factory=ListingCache)
    audit: AuditLog | None = None
    secret_values: list[str] = field(default_factory=list)
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    @property
    def max_result_chars(self) -> int:
        return self.settings.max_result_chars

    @property
    def imbrace(self) -> ImbraceClient:
        if self.imbrace_client is None:
            raise ConfigError("iMBRACE is not configured: set IMBRACE_API_KEY, or run with --sandbox.")
        return self.imbrace_client

    @property
    def bird(self) -> BirdClient:
        if self.bird_client is None:
            raise ConfigError("Bird is not configured: set BIRD_ACCESS_KEY, or run with --sandbox.")
        return self.bird_client

    def audit_write(self, record: AuditRecord) -> None:
        if self.audit is not None:
            self.audit.write(record, secrets=self.secret_values)

    async def aclose(self) -> None:
        for client in (self.imbrace_client, self.bird_client):
            if client is not None:
                await client.aclose()
        if self.audit is not None:
            self.audit.close()


if TYPE_CHECKING:
    import httpx

    _Transport = httpx.AsyncBaseTransport
else:
    _Transport = object  # httpx loads with the first request, not at start-up; it asks a transport for
    # `handle_async_request`, `aclose` and the async context methods only


class LazySandboxTransport(_Transport):
    """The embedded sandbox app, built on the first request rather than at start-up.

    Importing and seeding the sandbox takes tens of milliseconds that a stdio client would otherwise wait
    for before `initialize` is answered. Both clients share one instance, hence one simulated account.
    """

    def __init__(self, api_key: str) -> None:
        self.api_key = api_key
        self._inner: httpx.ASGITransport | None = None

    @property
    def inner(self) -> httpx.ASGITransport:
        if self._inner is None:  # no await in between: two concurrent first requests still build one app
            import httpx

            from channel_mcp.sandbox.app import create_app

            self._inner = httpx.ASGITransport(app=create_app(api_key=self.api_key))
        return self._inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        if self._inner is not None:
            await self._inner.aclose()

    async def __aenter__(self) -> LazySandboxTransport:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


# The Deps one HTTP request must use (its tenant's, or one built from client-held keys), set by the OAuth
# middleware (serving/auth.py); None: the lifespan's.
request_deps: ContextVar[Deps | None] = ContextVar("channel_mcp_caller_deps", default=None)


def build_deps(settings: Settings) -> Deps:
    """Clients for the configured providers; in sandbox mode both talk in-process to the embedded sandbox."""
    if settings.sandbox:
        from channel_mcp.sandbox.account import SANDBOX_API_KEY, SANDBOX_WORKSPACE

        transport = LazySandboxTransport(SANDBOX_API_KEY)
        imbrace: ImbraceClient | None = ImbraceClient(
            api_key=SANDBOX_API_KEY, gateway_url="http://sandbox.local", timeout=settings.timeout, transport=transport
        )
        bird: BirdClient | None = BirdClient(
            access_key=SANDBOX_API_KEY,
            workspace_id=settings.bird_workspace_id or SANDBOX_WORKSPACE,
            api_url="http://sandbox.local",
            timeout=settings.timeout,
            transport=transport,
        )
    else:
        imbrace = ImbraceClient.from_settings(settings) if settings.imbrace_configured else None
        bird = BirdClient.from_settings(settings) if settings.bird_configured else None
    audit = AuditLog(settings.audit_log) if settings.audit_log else None
    return Deps(
        settings=settings,
        imbrace_client=imbrace,
        bird_client=bird,
        sandbox=settings.sandbox,
        audit=audit,
        secret_values=settings.secret_values(),
    )
