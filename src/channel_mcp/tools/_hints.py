"""Where each kind of id comes from: the one table behind every "not found" hint.

A hint must lead somewhere: it names a tool that lists or shows such ids *without* needing one (telling
a model to call `imbrace_get_credential` for a credential id it does not have is a dead end), or, where
this server has no such tool, says where the ids come from. tests/test_hints.py walks every tool with
an id argument through a 404 and holds each hint to that.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

# (provider, argument) -> the sentence that tells where valid values come from.
ID_HINTS: dict[tuple[str, str], str] = {
    ("imbrace", "channel_id"): "Channel ids: imbrace_list_channels.",
    ("imbrace", "credential_id"): (
        "Credential ids come with the Facebook channels that use them (credential_id): "
        "imbrace_list_channels with type=facebook, or imbrace_get_channel."
    ),
    ("imbrace", "page_id"): "Page ids: imbrace_list_facebook_pages with the channel's credential_id.",
    ("imbrace", "phone_number_id"): (
        "WhatsApp phone number ids come from Meta's WhatsApp Manager; connected ones show on "
        "imbrace_list_channels with type=whatsapp."
    ),
    ("imbrace", "workflow_id"): (
        "Workflow ids are on the channels that run them (workflow_id): imbrace_list_channels or imbrace_get_channel."
    ),
    ("imbrace", "team_id"): "Team ids: imbrace_list_assignable_teams.",
    ("imbrace", "contact_id"): "Contact ids: imbrace_search_contacts or imbrace_list_contacts.",
    ("imbrace", "conversation_id"): "Conversation ids: imbrace_list_contact_conversations for the contact.",
    ("imbrace", "notification_id"): "Notification ids: imbrace_list_notifications.",
    ("imbrace", "notification_ids"): "Notification ids: imbrace_list_notifications.",
    ("bird", "channel_id"): "Bird channel ids: bird_list_channels.",
    ("bird", "contact_id"): (
        "Bird contact ids come from Bird itself (its inbox, contacts or webhook events): "
        "this server has no tool that lists them."
    ),
    ("bird", "workspace_id"): "Workspace ids are in Bird's dashboard; omit workspace_id to use BIRD_WORKSPACE_ID.",
}


def id_args(args: BaseModel | None) -> dict[str, Any]:
    """The id arguments a call was given: `*_id` strings and `*_ids` lists."""
    if args is None:
        return {}
    return {
        k: v
        for k, v in args.__dict__.items()
        if (k.endswith("_id") and isinstance(v, str)) or (k.endswith("_ids") and isinstance(v, list))
    }


def not_found(provider: str, args: BaseModel | None, fallback: str) -> str:
    """The text of a 404: which ids were asked for, and for each where valid ones come from."""
    ids = id_args(args)
    if not ids:
        return f"Not found: the requested object does not exist. Use {fallback} to find valid ids."
    what = ", ".join(f"{k}={v!r}" for k, v in ids.items())
    if len(ids) > 1 or any(isinstance(v, list) for v in ids.values()):  # the 404 does not say which one
        what = "one of " + what
    unknown = f"Use {fallback} to find valid ids."
    hints = dict.fromkeys(ID_HINTS.get((provider, k), unknown) for k in ids)  # in order, once each
    return f"Not found: {what} does not exist. " + " ".join(hints)
