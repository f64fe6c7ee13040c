"""An embedded fake of the iMBRACE channel-service API and the Bird Channels API.

Use it to try channel-mcp without an account, or as a stand-in for the real services in
tests. It answers in the documented shapes (seeds/); the official ``imbrace`` SDK works against it,
except that SDK 1.3.1 types ``Channel.type`` narrower than its own documents (the platform is in
``type``), so a strict SDK model needs that one field loosened. Kept cheap to import: the
Starlette app lives in ``app.py`` and is only loaded when ``create_app`` or ``serve`` is used.

    from channel_mcp.sandbox import create_app, FaultConfig, serve, serve_in_thread

Seed ids are documented in ``channel_mcp.sandbox.seed``; routes in ``imbrace_routes.py`` and
``bird_routes.py`` (request reading in ``routing.py``), error shapes in ``app.py``, data in ``store.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from channel_mcp.sandbox.account import SANDBOX_API_KEY, SANDBOX_WORKSPACE, sandbox_env
from channel_mcp.sandbox.faults import FaultConfig

if TYPE_CHECKING:
    from channel_mcp.sandbox.app import create_app
    from channel_mcp.sandbox.run import serve, serve_in_thread

__all__ = [
    "SANDBOX_API_KEY",
    "SANDBOX_WORKSPACE",
    "FaultConfig",
    "create_app",
    "sandbox_env",
    "serve",
    "serve_in_thread",
]


def __getattr__(name: str) -> Any:
    # Lazy so that importing the package does not pull in Starlette or uvicorn.
    if name == "create_app":
        from channel_mcp.sandbox.app import create_app

        return create_app
    if name in ("serve", "serve_in_thread"):
        from channel_mcp.sandbox import run

        return getattr(run, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
