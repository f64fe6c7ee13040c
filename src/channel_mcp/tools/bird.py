"""Toolset `bird_channels`: Bird workspace channels and the customer-service-window check."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import Field

from channel_mcp.bird.models import BirdChannel, BirdChannelContact
from channel_mcp.deps import Deps
from channel_mcp.models import Page, Result
from channel_mcp.tools._args import Id, limit
from channel_mcp.tools.declare import RO, ToolInput, Toolset

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


# Where Bird keeps a customer-service window: the Meta platforms, which allow free-form (non-template)
# messages only within 24 h of the customer's last message (WhatsApp Business, Messenger's standard
# messaging window, Instagram messaging). Matched on Bird's platformId or its prefix
# ("whatsapp", "whatsapp-cloud", ...).
WINDOW_PLATFORMS = ("whatsapp", "facebook", "messenger", "instagram")
# Where no such window exists: any message may be sent at any time (opt-in and content rules apply,
# but no template is needed because the customer has been silent).
NO_WINDOW_PLATFORMS = ("sms", "email", "rcs", "line", "telegram", "viber", "voice", "push", "linkedin")


def window_applies(platform_id: str | None) -> bool | None:
    """True for window platforms, False for platforms without one, None when unknown or not given."""
    if not platform_id:
        return None
    name = platform_id.lower()
    for prefixes, answer in ((WINDOW_PLATFORMS, True), (NO_WINDOW_PLATFORMS, False)):
        if any(name == p or name.startswith(p + "-") for p in prefixes):
            return answer
    return None


class ServiceWindow(Result):
    channel_id: str
    contact_id: str
    platformId: str | None = Field(None, description="The channel's platform.")
    window_applies: bool | None = Field(
        description="False: this platform has no service window; null: platform unknown, window rule applied."
    )
    serviceWindowExpireAt: str | None = Field(description="When the window closes, as Bird sent it.")
    isPermanentSession: bool | None = None
    metadata: dict[str, Any] | None = None
    is_open: bool = Field(description="True if free-form (non-template) messages may be sent now.")
    expires_in_seconds: int | None = Field(description="Seconds left; null when closed, permanent or no window.")
    summary: str = Field(description="One line to act on.")
    note: str | None = Field(None, description="How the answer was read, when that matters.")


def _duration(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 1:
        return f"{int(seconds)} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def _parse(value: str) -> tuple[datetime | None, bool]:
    """The moment, and whether it came without a zone (read as UTC: Bird sends UTC)."""
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None, False
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC), True
    return moment, False


def service_window(
    contact: BirdChannelContact, channel_id: str, contact_id: str, now: datetime, platform_id: str | None = None
) -> ServiceWindow:
    """Decide the window against `now` (aware UTC). A null expiry without a permanent session means closed."""
    applies = window_applies(platform_id)
    notes = [contact.shape_note] if contact.shape_note else []
    base: dict[str, Any] = {
        "channel_id": channel_id,
        "contact_id": contact_id,
        "platformId": platform_id,
        "window_applies": applies,
        "serviceWindowExpireAt": contact.serviceWindowExpireAt,
        "isPermanentSession": contact.isPermanentSession,
        "metadata": contact.metadata,
    }

    def out(is_open: bool, seconds: int | None, summary: str) -> ServiceWindow:
        if applies is None and platform_id:
            notes.append(
                f"Platform {platform_id!r} is not known to have or lack a service window; the rule was applied."
            )
        return ServiceWindow(
            **base, is_open=is_open, expires_in_seconds=seconds, summary=summary, note=" ".join(notes) or None
        )

    if applies is False:
        return out(
            True,
            None,
            f"no service window on {platform_id}: messages can be sent at any time, no template needed",
        )
    closed = "closed: only approved template messages can be sent"
    if contact.isPermanentSession:
        return out(True, None, "open (permanent session): free-form messages allowed")
    if not contact.serviceWindowExpireAt:
        return out(False, None, closed)
    expires, naive = _parse(contact.serviceWindowExpireAt)
    if expires is None:
        return out(False, None, f"{closed} (the expiry time could not be read)")
    if naive:
        notes.append("serviceWindowExpireAt came without a time zone and was read as UTC.")
    remaining = (expires - now).total_seconds()
    if remaining <= 0:
        return out(
            False,
            None,
            f"closed (expired {_duration(-remaining)} ago): only approved template messages can be sent",
        )
    return out(True, int(remaining), f"open for {_duration(remaining)}: free-form messages allowed")


async def _list(d: Deps, a: ListIn) -> Page[BirdChannel]:
    return await d.bird.channels.list(limit=a.limit, page_token=a.page_token, workspace_id=a.workspace_id)


async def _get(d: Deps, a: GetIn) -> BirdChannel:
    return await d.bird.channels.get(a.channel_id, workspace_id=a.workspace_id)


async def _platform(d: Deps, a: WindowIn) -> str | None:
    """The channel's platformId: one GET, remembered for the cache period (a platform never changes)."""
    key = f"bird:platform:{a.workspace_id or ''}:{a.channel_id}"

    async def load() -> str | None:
        return (await d.bird.channels.get(a.channel_id, workspace_id=a.workspace_id)).platformId

    return await d.cache.get(key, load)


async def _window(d: Deps, a: WindowIn) -> ServiceWindow:
    # The contract's request first: it validates every id, so a bad one sends nothing at all.
    contact = await d.bird.channels.get_contact(a.channel_id, a.contact_id, workspace_id=a.workspace_id)
    platform_id = await _platform(d, a)
    return service_window(contact, a.channel_id, a.contact_id, d.now(), platform_id)


toolset = Toolset(name="bird_channels", provider="bird", lists_with=LIST)

toolset.tool(
    name=LIST,
    title="List Bird channels",
    description="List the workspace's Bird channels.",
    annotations=RO,
    input=ListIn,
    output=Page[BirdChannel],
    handler=_list,
)

toolset.tool(
    name="bird_get_channel",
    title="Get Bird channel",
    description="Get one Bird channel.",
    annotations=RO,
    input=GetIn,
    output=BirdChannel,
    handler=_get,
)

toolset.tool(
    name="bird_check_service_window",
    title="Check service window",
    description="Check a contact's service window: open allows free-form messages, closed needs a template.",
    annotations=RO,
    input=WindowIn,
    output=ServiceWindow,
    handler=_window,
)
