"""Toolset `imbrace_notifications`: triage the inbox's notifications."""

from __future__ import annotations

from pydantic import Field

from channel_mcp.deps import Deps
from channel_mcp.imbrace.models import Notification
from channel_mcp.models import ActionResult, Page
from channel_mcp.tools._args import Confirm, Id, Ids, Skip, limit
from channel_mcp.tools.declare import DESTRUCTIVE, RO, WRITE_IDEM, ToolInput, Toolset

LIST = "imbrace_list_notifications"
NotificationId = Field(description="Notification id.")


class ListIn(ToolInput):
    limit: int = limit(20)
    skip: Skip


class MarkReadIn(ToolInput):
    notification_ids: Ids | None = Field(None, min_length=1, description="Ids to mark read; omit for all.")


class DismissIn(ToolInput):
    notification_id: Id = NotificationId
    confirm: Confirm


class DismissAllIn(ToolInput):
    confirm: Confirm


async def _list(d: Deps, a: ListIn) -> Page[Notification]:
    return await d.imbrace.contacts.list_notifications(limit=a.limit, skip=a.skip)


async def _mark(d: Deps, a: MarkReadIn) -> ActionResult:
    return await d.imbrace.contacts.mark_notifications_read(a.notification_ids)


async def _dismiss(d: Deps, a: DismissIn) -> ActionResult:
    return await d.imbrace.contacts.dismiss_notification(a.notification_id)


async def _describe_one(d: Deps, a: DismissIn) -> str:
    return f"dismiss notification {a.notification_id}"


async def _dismiss_all(d: Deps, a: DismissAllIn) -> ActionResult:
    return await d.imbrace.contacts.dismiss_all_notifications()


async def _describe_all(d: Deps, a: DismissAllIn) -> str:
    return "dismiss ALL notifications"


toolset = Toolset(name="imbrace_notifications", provider="imbrace", lists_with=LIST)

toolset.tool(
    name=LIST,
    title="List notifications",
    description="List inbox notifications, newest first.",
    annotations=RO,
    input=ListIn,
    output=Page[Notification],
    handler=_list,
)

toolset.tool(
    name="imbrace_mark_notifications_read",
    title="Mark notifications read",
    description="Mark notifications read (all if no ids).",
    annotations=WRITE_IDEM,
    input=MarkReadIn,
    output=ActionResult,
    handler=_mark,
)

toolset.tool(
    name="imbrace_dismiss_notification",
    title="Dismiss notification",
    description="Dismiss one notification.",
    annotations=DESTRUCTIVE,
    input=DismissIn,
    output=ActionResult,
    handler=_dismiss,
    describe_target=_describe_one,
)

toolset.tool(
    name="imbrace_dismiss_all_notifications",
    title="Dismiss all notifications",
    description="Dismiss every notification.",
    annotations=DESTRUCTIVE,
    input=DismissAllIn,
    output=ActionResult,
    handler=_dismiss_all,
    describe_target=_describe_all,
)
