"""One exception hierarchy for the whole package.

    ChannelMCPError
    ├── ConfigError            settings are missing or inconsistent (start-up)
    ├── InputError             arguments refused before any request is sent
    └── UpstreamError          the provider answered badly, or not at all
        ├── AuthError          401 / 403
        ├── NotFoundError      404
        ├── BadRequestError    400 / 409 / 422, or a 200 answer with success: false
        ├── RateLimitError     429 (retry_after in seconds when known)
        ├── ServerError        5xx
        ├── TransportError     connection refused or reset, timeouts
        ├── ResponseError      an answer that is not what the API promises (HTML, truncated, too large)
        │   └── ShapeError     JSON with nothing of the documented shape in it (permanent: never "retry")
        └── CircuitOpenError   too many consecutive failures: failing fast during a cool-down

`UpstreamError.maybe_applied` is true when a non-idempotent request (a create) may have reached
the server before it failed: such a request is never re-sent, and the message says to list first.
"""

from __future__ import annotations


class ChannelMCPError(Exception):
    """Base of every error this package raises on purpose."""


class ConfigError(ChannelMCPError):
    """Configuration is missing or invalid."""


class InputError(ChannelMCPError):
    """Invalid arguments; nothing was sent."""


class UpstreamError(ChannelMCPError):
    """A provider call failed. `status` is the HTTP status when there was one."""

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        status: int | None = None,
        request_id: str | None = None,
        maybe_applied: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.status = status
        self.request_id = request_id
        self.maybe_applied = maybe_applied


class AuthError(UpstreamError):
    """The provider refused the credentials (401/403)."""


class NotFoundError(UpstreamError):
    """The addressed object does not exist (404)."""


class BadRequestError(UpstreamError):
    """The provider rejected the request's content (400/409/422 or success: false)."""


class RateLimitError(UpstreamError):
    """429. `retry_after` is seconds to wait, when the provider said."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after


class ServerError(UpstreamError):
    """The provider failed (5xx)."""


class TransportError(UpstreamError):
    """No usable answer: connection refused or reset, or a timeout."""


class ResponseError(UpstreamError):
    """An answer that cannot be used: not JSON, truncated, empty or too large."""


class ShapeError(ResponseError):
    """The answer is JSON, but nothing in it can be read as the documented object (channel_mcp.reading).
    A permanent mismatch between the API and its documents: repeating the call gets the same answer."""


class CircuitOpenError(UpstreamError):
    """Fail-fast while the provider is considered down. `retry_after` is seconds until the next try."""

    def __init__(self, message: str, *, retry_after: float, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after
