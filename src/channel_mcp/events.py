"""Resource-updated events: after a successful write through a tool, tell subscribers what may have changed.

Delivered as `notifications/resources/updated` on `subscriptions/listen` streams (protocol 2026-07-28),
filtered by the URIs each client asked for.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from typing import Any

from mcp.server.mcpserver import Context

from channel_mcp.errors import InputError
from channel_mcp.resources import (
    BIRD_CHANNEL,
    BIRD_CHANNELS,
    IMBRACE_CHANNEL,
    IMBRACE_CHANNELS,
    IMBRACE_CONTACT,
    IMBRACE_CONTACTS,
)
from channel_mcp.upstream import check_id

logger = logging.getLogger("channel_mcp.resources")


def changed_uris(toolset: str, arguments: Mapping[str, Any]) -> list[str]:
    """Resource URIs a successful write through a tool of `toolset` may have changed."""
    uris: list[str] = []

    def add(listing: str, template: str, name: str) -> None:
        uris.append(listing)
        value = arguments.get(name)
        if isinstance(value, str):
            with contextlib.suppress(InputError):
                uris.append(template.format(**{name: check_id(name, value)}))

    if toolset in ("imbrace_channels", "imbrace_credentials", "imbrace_workflows"):
        add(IMBRACE_CHANNELS, IMBRACE_CHANNEL, "channel_id")
    elif toolset == "imbrace_contacts":
        add(IMBRACE_CONTACTS, IMBRACE_CONTACT, "contact_id")
    elif toolset == "bird_channels":
        add(BIRD_CHANNELS, BIRD_CHANNEL, "channel_id")
    return uris


async def announce_write(ctx: Context[Any, Any], toolset: str, arguments: Mapping[str, Any]) -> None:
    """After a successful write: publish `notifications/resources/updated` for what it may have changed.

    Delivered on `subscriptions/listen` streams (protocol 2026-07-28), filtered by the URIs each client
    asked for. Handshake-era clients get nothing: MCPServer serves no `resources/subscribe` there and
    advertises neither `subscribe` nor `listChanged`. The resource list itself never changes at run time
    (it depends on configuration only), so no list-changed event is sent.
    """
    for uri in changed_uris(toolset, arguments):
        try:
            await ctx.notify_resource_updated(uri)
        except Exception:  # a lost notification must never fail the write that caused it
            logger.debug("could not publish resources/updated for %s", uri, exc_info=True)
