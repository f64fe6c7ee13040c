"""Toolset `imbrace_credentials`: channel credentials and the Facebook pages they give access to."""

from __future__ import annotations

from pydantic import Field, model_validator

from channel_mcp.deps import Deps
from channel_mcp.imbrace.models import ChannelCredential, FacebookPage
from channel_mcp.models import ActionResult, Items
from channel_mcp.tools._args import Bounded, Confirm, CredentialId, OptName
from channel_mcp.tools.declare import DESTRUCTIVE, RO, WRITE_IDEM, ToolInput, Toolset

GET = "imbrace_get_credential"


class CredentialIdIn(ToolInput):
    credential_id: CredentialId


class DeleteCredentialIn(ToolInput):
    credential_id: CredentialId
    confirm: Confirm


class UpdateCredentialIn(ToolInput):
    credential_id: CredentialId
    name: OptName
    credentials: Bounded | None = Field(None, description="Credential values to set (write-only, never shown).")

    @model_validator(mode="after")
    def _one(self) -> UpdateCredentialIn:
        if self.name is None and not self.credentials:
            raise ValueError("give name or credentials")
        return self


class FacebookPages(Items[FacebookPage]):
    items: list[FacebookPage] = Field(description="Pages this credential can connect.")


async def _pages(d: Deps, a: CredentialIdIn) -> FacebookPages:
    listing = await d.imbrace.channel.get_facebook_pages(a.credential_id)
    return FacebookPages(items=listing.items, unreadable=listing.unreadable)


async def _get(d: Deps, a: CredentialIdIn) -> ChannelCredential:
    return await d.imbrace.channel.get_credential(a.credential_id)


async def _update(d: Deps, a: UpdateCredentialIn) -> ChannelCredential:
    return await d.imbrace.channel.update_credential(a.credential_id, name=a.name, credentials=a.credentials)


async def _delete(d: Deps, a: DeleteCredentialIn) -> ActionResult:
    return await d.imbrace.channel.delete_credential(a.credential_id)


async def _describe(d: Deps, a: DeleteCredentialIn) -> str:
    cred = await d.imbrace.channel.get_credential(a.credential_id)
    return f"delete the {cred.type or ''} credential {cred.name!r} ({a.credential_id})".replace("  ", " ")


toolset = Toolset(name="imbrace_credentials", provider="imbrace", lists_with=GET)

toolset.tool(
    name="imbrace_list_facebook_pages",
    title="List Facebook pages",
    description="List the Facebook pages a credential can connect.",
    annotations=RO,
    input=CredentialIdIn,
    output=FacebookPages,
    handler=_pages,
)

toolset.tool(
    name=GET,
    title="Get credential",
    description="Get a channel credential (secret values masked).",
    annotations=RO,
    input=CredentialIdIn,
    output=ChannelCredential,
    handler=_get,
)

toolset.tool(
    name="imbrace_update_credential",
    title="Update credential",
    description="Rename a credential or replace its values.",
    annotations=WRITE_IDEM,
    input=UpdateCredentialIn,
    output=ChannelCredential,
    handler=_update,
    secret_args=("credentials",),
)

toolset.tool(
    name="imbrace_delete_credential",
    title="Delete credential",
    description="Delete a channel credential permanently.",
    annotations=DESTRUCTIVE,
    input=DeleteCredentialIn,
    output=ActionResult,
    handler=_delete,
    describe_target=_describe,
)
