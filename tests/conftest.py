"""Shared fixtures: fake credentials, respx-faked upstreams, and an in-memory MCP client."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import respx
from mcp import Client
from mcp_types import CallToolResult, InputRequiredResult

from channel_mcp.config import Settings
from channel_mcp.server import build_server

# Test-only keys. ScanningClient and _scan_all_logs below look for them in every result and log line.
IMBRACE_KEY = "test-imbrace-key-7f3a9c"
BIRD_KEY = "test-bird-key-51d0e2"
IMBRACE = "https://imbrace.test/channel-service"
BIRD = "https://bird.test"
WS = "ws-test"


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "imbrace_api_key": IMBRACE_KEY,
        "imbrace_gateway_url": "https://imbrace.test",
        "bird_access_key": BIRD_KEY,
        "bird_workspace_id": WS,
        "bird_api_url": BIRD,
        "timeout": 5.0,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never read the developer's real environment."""
    import os

    for name in list(os.environ):
        if name.startswith(("IMBRACE_", "BIRD_", "CHANNEL_MCP_")):
            monkeypatch.delenv(name, raising=False)


@pytest.fixture
def settings() -> Settings:
    return make_settings()


@pytest.fixture
def upstream() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
        yield router


# Secret inputs used across the suite; like the keys, they must never come back.
SECRET_INPUTS = ("wa-secret-token-123456", "wa-secret-token-654321", "new-secret-99887766")
SCANNED = (IMBRACE_KEY, BIRD_KEY, *SECRET_INPUTS)


def assert_no_secrets(text: str, where: str) -> None:
    for secret in SCANNED:
        assert secret not in text, f"a test secret leaked into {where}"


class ScanningClient(Client):
    """The SDK client, with every tool result and resource read checked for the test secrets."""

    async def call_tool(self, *args: Any, **kwargs: Any) -> Any:
        result = await super().call_tool(*args, **kwargs)
        assert_no_secrets(result.model_dump_json(), f"the result of {args[0] if args else kwargs.get('name')}")
        return result

    async def read_resource(self, *args: Any, **kwargs: Any) -> Any:
        result = await super().read_resource(*args, **kwargs)
        assert_no_secrets(result.model_dump_json(), "a resource")
        return result


@asynccontextmanager
async def connect(settings: Settings, **client_kwargs: Any) -> AsyncIterator[Client]:
    """An in-memory MCP client on a fresh server. A context manager, not an async fixture, because
    the SDK's task group must be entered and left in the same task."""
    async with ScanningClient(build_server(settings, **client_kwargs.pop("server_kwargs", {})), **client_kwargs) as c:
        yield c


class _LogCapture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture(scope="session", autouse=True)
def _scan_all_logs() -> Iterator[None]:
    """The whole suite runs with DEBUG logging, captured *without* the redacting filter: the product must
    not log a secret in the first place (the filter in logs.py is a second line, tested on its own)."""
    capture = _LogCapture()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(capture)
    root.setLevel(logging.DEBUG)
    yield
    root.removeHandler(capture)
    root.setLevel(old_level)
    assert_no_secrets("\n".join(capture.lines), "the logs")


@pytest.fixture
def call(settings: Settings, upstream: respx.MockRouter) -> Callable[..., Awaitable[CallToolResult]]:
    async def _call(tool: str, args: dict[str, Any] | None = None, **client_kwargs: Any) -> CallToolResult:
        async with connect(settings, **client_kwargs) as c:
            return await c.call_tool(tool, args or {})

    return _call


def finished(result: CallToolResult | InputRequiredResult) -> CallToolResult:
    """What `execute(..., confirmer=None)` gives: a tool result, never a question (narrowed for mypy)."""
    assert isinstance(result, CallToolResult), result
    return result


def envelope(data: Any, **extra: Any) -> dict[str, Any]:
    return {"success": True, "data": data, **extra}


def paged(items: list[Any], *, page: int = 1, limit: int = 50, total: int | None = None) -> dict[str, Any]:
    total = len(items) if total is None else total
    pages = max(1, -(-total // limit))
    return {
        "success": True,
        "data": items,
        "pagination": {
            "page": page,
            "limit": limit,
            "total": total,
            "total_pages": pages,
            "has_next": page < pages,
            "has_prev": page > 1,
        },
        "total": total,
    }
