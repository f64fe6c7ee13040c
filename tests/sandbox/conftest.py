from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from starlette.applications import Starlette

from channel_mcp.sandbox import SANDBOX_API_KEY
from channel_mcp.sandbox.app import create_app

IMBRACE = "/channel-service"
WS = "/workspaces/sandbox-workspace"


@pytest.fixture
def app() -> Iterator[Starlette]:
    application = create_app()
    yield application
    application.state.store.close()


def make_client(app: Starlette, headers: dict[str, str] | None = None) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox", headers=headers)


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """iMBRACE-authenticated client."""
    async with make_client(app, {"x-api-key": SANDBOX_API_KEY}) as c:
        yield c


@pytest.fixture
async def bird(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """Bird-authenticated client."""
    async with make_client(app, {"authorization": f"AccessKey {SANDBOX_API_KEY}"}) as c:
        yield c


@pytest.fixture
async def anon(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(app) as c:
        yield c
