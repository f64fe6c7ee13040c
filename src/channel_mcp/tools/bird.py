"""Toolset `bird_channels`: Bird workspace channels and the customer-service-window check."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from channel_mcp.bird.models import BirdChannel, BirdChannelContact
from channel_mcp.deps import Deps
from channel_mcp.models import Page, Result
from channel_mcp.tools._args import Id, limit
from channel_mcp.tools._spec import RO, ToolInput, ToolSpec

TOOLSET = "bird_channels"
LIST = "bird_list_channels"
Workspace = Field(None, description="Workspace; default BIRD_WORKSPACE_ID.")
BirdChannelId = Field(description="Channel id.")


class ListIn(ToolInput):
    limit: int = limit(20)
    page_token: str | None = Field(None, description="From the previous page's next.", max_length=2048)
    workspace_id: Id | None = Workspace


class GetIn(ToolInput):
    channel_id: Id = BirdChannelId
    workspace_id: Id | None = Workspace


class WindowIn(ToolInput):
    channel_id: Id = BirdChannelId
    contact_id: Id = Field(description="Contact id.")
    workspace_id: Id | None = Workspace


class ServiceWindow(Result):
    channel_id: str
    contact_id: str
    serviceWindowExpireAt: str | None = Field(None, description="When the window closes (UTC).")
    isPermanentSession: bool | None = None
    metadata: dict[str, Any] | None = None
    is_open: bool = Field(description="True if free-form (non-template) messages may be sent now.")
    expires_in_seconds: int | None = Field(description="Seconds left; null when closed or permanent.")
    summary: str = Field(description="One line to act on.")


def _duration(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 1:
        return f"{int(seconds)} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def _parse(value: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else None


def service_window(contact: BirdChannelContact, channel_id: str, contact_id: str, now: datetime) -> ServiceWindow:
    """Decide the window against `now` (aware UTC). A null expiry without a permanent session means closed."""
    base = {
        "channel_id": channel_id,
        "contact_id": contact_id,
        "serviceWindowExpireAt": contact.serviceWindowExpireAt,
        "isPermanentSession": contact.isPermanentSession,
        "metadata": contact.metadata,
    }
    closed = "closed: only approved template messages can be sent"
    if contact.isPermanentSession:
        return ServiceWindow(
            **base,
            is_open=True,
            expires_in_seconds=None,
            summary="open (permanent session): free-form messages allowed",
        )
    if not contact.serviceWindowExpireAt:
        return ServiceWindow(**base, is_open=False, expires_in_seconds=None, summary=closed)
    expires = _parse(contact.serviceWindowExpireAt)
    if expires is None:
        return ServiceWindow(
            **base, is_open=False, expires_in_seconds=None, summary=f"{closed} (the expiry time could not be read)"
        )
    remaining = (expires - now).total_seconds()
    if remaining <= 0:
        return ServiceWindow(
            **base,
            is_open=False,
            expires_in_seconds=None,
            summary=f"closed (expired {_duration(-remaining)} ago): only approved template messages can be sent",
        )
    return ServiceWindow(
        **base,
        is_open=True,
        expires_in_seconds=int(remaining),
        summary=f"open for {_duration(remaining)}: free-form messages allowed",
    )


async def _list(d: Deps, a: ListIn) -> Page[BirdChannel]:
    return await d.bird.channels.list(limit=a.limit, page_token=a.page_token, workspace_id=a.workspace_id)


async def _get(d: Deps, a: GetIn) -> BirdChannel:
    return await d.bird.channels.get(a.channel_id, workspace_id=a.workspace_id)


async def _window(d: Deps, a: WindowIn) -> ServiceWindow:
    contact = await d.bird.channels.get_contact(a.channel_id, a.contact_id, workspace_id=a.workspace_id)
    return service_window(contact, a.channel_id, a.contact_id, d.now())


TOOLS: list[ToolSpec[Any, Any]] = [
    ToolSpec(
        LIST,
        "List Bird channels",
        "List the workspace's Bird channels.",
        TOOLSET,
        "bird",
        RO,
        ListIn,
        Page[BirdChannel],
        _list,
        LIST,
    ),
    ToolSpec(
        "bird_get_channel",
        "Get Bird channel",
        "Get one Bird channel.",
        TOOLSET,
        "bird",
        RO,
        GetIn,
        BirdChannel,
        _get,
        LIST,
    ),
    ToolSpec(
        "bird_check_service_window",
        "Check service window",
        "Check a contact's 24 h service window: open allows free-form messages, closed needs a template.",
        TOOLSET,
        "bird",
        RO,
        WindowIn,
        ServiceWindow,
        _window,
        LIST,
    ),
]
