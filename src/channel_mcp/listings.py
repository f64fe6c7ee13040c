"""Cached provider listings shared by the resources and the completions.

Listings are read through `deps.cache` (30 s; keys start with the provider name, so a write through a
tool, which invalidates its provider, makes the next read fresh). The walks report each page as progress.
"""

from __future__ import annotations

from channel_mcp import progress
from channel_mcp.bird.models import BirdChannel
from channel_mcp.deps import Deps
from channel_mcp.imbrace.models import Channel, Contact
from channel_mcp.models import Page

CHANNEL_PAGE = 100  # iMBRACE channels per request while walking the listing
CHANNEL_MAX_PAGES = 10  # at most 1 000 channels in imbrace://channels and completions
CONTACT_PAGE = 50  # imbrace://contacts: the tool's default page
BIRD_PAGE = 100  # Bird's maximum page size
BIRD_MAX_PAGES = 5  # completions walk at most 500 Bird channels

# Cache keys: the provider name first, so `deps.cache.invalidate(provider)` after a write clears them.
KEY_IMBRACE_CHANNELS = "imbrace:channels"
KEY_IMBRACE_CONTACTS = "imbrace:contacts:first"
KEY_CONTACT_SEARCH = "imbrace:contacts:search"
KEY_BIRD_PAGE = "bird:channels:page:"


async def _walked(count: int, total: int | None, message: str) -> None:
    """Progress of a walk, counted in items: the total when the provider says it, never below the count."""
    await progress.report(count, max(total, count) if isinstance(total, int) else None, message)


async def imbrace_channels(deps: Deps) -> Page[Channel]:
    """Every iMBRACE channel (at most CHANNEL_MAX_PAGES pages), through the short cache."""

    async def load() -> Page[Channel]:
        items: list[Channel] = []
        seen: set[str] = set()
        offset = 0
        for number in range(1, CHANNEL_MAX_PAGES + 1):
            page = await deps.imbrace.channel.list(limit=CHANNEL_PAGE, offset=offset)
            fresh = [c for c in page.items if c.id is None or c.id not in seen]
            seen.update(c.id for c in fresh if c.id is not None)
            items.extend(fresh)
            await _walked(len(items), page.total, f"iMBRACE channels: page {number} read, {len(items)} so far")
            nxt = page.next.get("offset") if page.next else None
            if not fresh or not page.has_more or not isinstance(nxt, int) or nxt <= offset:
                return Page[Channel](items=items, total=len(items))
            offset = nxt
        return Page[Channel](items=items, total=None, has_more=True, next={"offset": offset})

    return await deps.cache.get(KEY_IMBRACE_CHANNELS, load)


async def imbrace_contacts_first(deps: Deps) -> Page[Contact]:
    return await deps.cache.get(KEY_IMBRACE_CONTACTS, lambda: deps.imbrace.contacts.list(limit=CONTACT_PAGE))


async def bird_channels_page(deps: Deps, page_token: str | None = None) -> Page[BirdChannel]:
    key = KEY_BIRD_PAGE + (page_token or "")
    return await deps.cache.get(key, lambda: deps.bird.channels.list(limit=BIRD_PAGE, page_token=page_token))


async def bird_channels(deps: Deps) -> list[BirdChannel]:
    """Bird channels for completions: up to BIRD_MAX_PAGES pages, each page cached on its own."""
    items: list[BirdChannel] = []
    token: str | None = None
    tokens: set[str] = set()
    for number in range(1, BIRD_MAX_PAGES + 1):
        page = await bird_channels_page(deps, token)
        items.extend(page.items)
        await _walked(len(items), page.total, f"Bird channels: page {number} read, {len(items)} so far")
        nxt = page.next.get("page_token") if page.next else None
        if not isinstance(nxt, str) or nxt in tokens:
            break
        tokens.add(nxt)
        token = nxt
    return items
