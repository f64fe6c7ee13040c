"""Async Bird client for workspace channels and the customer-service window.

async with BirdClient(access_key="...", workspace_id="...") as bird:
    page = await bird.channels.list(limit=50)
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING

from pydantic import SecretStr

from channel_mcp.bird.models import BirdChannel, BirdChannelContact
from channel_mcp.config import DEFAULT_BIRD_API_URL, Settings
from channel_mcp.errors import ConfigError, InputError
from channel_mcp.masking import clean
from channel_mcp.models import Page
from channel_mcp.reading import read_items, read_one, unwrap
from channel_mcp.upstream import Upstream, check_id, path

if TYPE_CHECKING:
    import httpx

PROVIDER = "bird"
LABEL = "Bird"


class BirdChannels:
    """`bird.channels`: list and get workspace channels, and read a contact's session on a channel."""

    def __init__(self, upstream: Upstream, workspace_id: str | None) -> None:
        self._upstream = upstream
        self._workspace_id = workspace_id

    def _ws(self, workspace_id: str | None) -> str:
        ws = self._workspace_id if workspace_id is None else workspace_id
        if not ws:
            raise InputError("No Bird workspace: set BIRD_WORKSPACE_ID or pass workspace_id.")
        return check_id("workspace_id", ws)

    async def list(
        self, *, limit: int | None = None, page_token: str | None = None, workspace_id: str | None = None
    ) -> Page[BirdChannel]:
        if limit is not None and not 1 <= limit <= 100:
            raise InputError("limit must be between 1 and 100.")
        url = path("/workspaces/{ws}/channels", ws=self._ws(workspace_id))
        payload = await self._upstream.request("GET", url, params={"limit": limit, "pageToken": page_token})
        # Masked before reading so no caller of the SDK sees hidden settings or connection parameters.
        listing = read_items(BirdChannel, clean(payload), label=LABEL, provider=PROVIDER, what="a channel list")
        token = None
        for level in (payload, unwrap(payload)):
            if isinstance(level, dict) and isinstance(level.get("nextPageToken"), str):
                token = level["nextPageToken"]
        nxt: dict[str, int | str] | None = {"page_token": token} if token else None
        return Page[BirdChannel](items=listing.items, unreadable=listing.unreadable, has_more=nxt is not None, next=nxt)

    async def get(self, channel_id: str, *, workspace_id: str | None = None) -> BirdChannel:
        url = path("/workspaces/{ws}/channels/{channel_id}", ws=self._ws(workspace_id), channel_id=channel_id)
        payload = clean(await self._upstream.request("GET", url))
        return read_one(BirdChannel, payload, label=LABEL, provider=PROVIDER, what="a channel")

    async def get_contact(
        self, channel_id: str, contact_id: str, *, workspace_id: str | None = None
    ) -> BirdChannelContact:
        url = path(
            "/workspaces/{ws}/channels/{channel_id}/contacts/{contact_id}",
            ws=self._ws(workspace_id),
            channel_id=channel_id,
            contact_id=contact_id,
        )
        payload = await self._upstream.request("GET", url)
        return read_one(BirdChannelContact, payload, label=LABEL, provider=PROVIDER, what="a channel contact")


class BirdClient:
    """The Bird SDK subset channel-mcp needs. One connection pool for its lifetime."""

    def __init__(
        self,
        *,
        access_key: str | SecretStr,
        workspace_id: str | None = None,
        api_url: str = DEFAULT_BIRD_API_URL,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
        upstream: Upstream | None = None,
    ) -> None:
        if upstream is None:
            key = access_key.get_secret_value() if isinstance(access_key, SecretStr) else access_key
            if not key:
                raise ConfigError("BirdClient needs access_key (BIRD_ACCESS_KEY).")
            upstream = Upstream(
                provider=PROVIDER,
                label=LABEL,
                base_url=api_url.rstrip("/"),
                headers={"authorization": f"AccessKey {key}"},
                timeout=timeout,
                auth_hint="Check BIRD_ACCESS_KEY.",
                transport=transport,
            )
        self.upstream = upstream
        self.workspace_id = workspace_id
        self.channels = BirdChannels(upstream, workspace_id)

    @classmethod
    def from_settings(cls, settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None) -> BirdClient:
        if settings.bird_access_key is None:
            raise ConfigError("BIRD_ACCESS_KEY is not set.")
        return cls(
            access_key=settings.bird_access_key,
            workspace_id=settings.bird_workspace_id,
            api_url=settings.bird_api_url,
            timeout=settings.timeout,
            transport=transport,
        )

    async def aclose(self) -> None:
        await self.upstream.aclose()

    async def __aenter__(self) -> BirdClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
