"""Toolset `imbrace_channels`: list, read, create, update and delete iMBRACE channels of every type."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator

from channel_mcp.deps import Deps
from channel_mcp.imbrace.models import Channel
from channel_mcp.models import ActionResult, Page, Result
from channel_mcp.tools._args import ChannelId, ChannelType, Config, Confirm, Email, Id, Name, OptName, Text, limit
from channel_mcp.tools.declare import DESTRUCTIVE, RO, WRITE, WRITE_IDEM, ToolInput, Toolset

LIST = "imbrace_list_channels"
Secret = Annotated[Text, Field(description="Access token (write-only).")]


def _need_one(model: BaseModel, *names: str) -> None:
    if all(getattr(model, n) is None for n in names):
        raise ValueError(f"give at least one of {', '.join(names)}")


class ListChannelsIn(ToolInput):
    type: ChannelType | None = Field(None, description="Channel type.")
    limit: int | None = limit(None)
    offset: int | None = Field(None, ge=0, description="Items to skip.")


class ChannelIdIn(ToolInput):
    channel_id: ChannelId


class NoArgs(ToolInput):
    pass


class CountOut(Result):
    count: int = Field(description="Number of channels.")
    by_type: dict[str, int] | None = Field(None, description="Channels per type, when the API groups them.")


class CreateChannelIn(ToolInput):
    type: ChannelType = Field(description="Channel type.")
    name: Name
    config: Config


class UpdateChannelIn(ToolInput):
    channel_id: ChannelId
    name: OptName
    active: bool | None = Field(None, description="false deactivates, true reactivates.")
    config: Config

    @model_validator(mode="after")
    def _one(self) -> UpdateChannelIn:
        _need_one(self, "name", "active", "config")
        return self


class DeleteChannelIn(ToolInput):
    channel_id: ChannelId
    api_version: Literal["v1", "v3"] = Field("v1", description="API version.")
    confirm: Confirm


class NameIn(ToolInput):
    name: Name


class NameConfigIn(ToolInput):
    name: Name
    config: Config


class CreateFacebookIn(ToolInput):
    page_id: Text = Field(description="Facebook page id.")
    credential_id: Id = Field(description="Credential id.")
    name: OptName


class UpdateFacebookIn(ToolInput):
    channel_id: ChannelId
    page_id: Text | None = Field(None, description="Facebook page id.")
    credential_id: Id | None = Field(None, description="Credential id.")
    name: OptName
    config: Config

    @model_validator(mode="after")
    def _one(self) -> UpdateFacebookIn:
        _need_one(self, "page_id", "credential_id", "name", "config")
        return self


class CreateEmailIn(ToolInput):
    email: Email = Field(description="Inbox address.")
    name: OptName
    config: Config


class CreateWhatsappIn(ToolInput):
    phone_number_id: Text = Field(description="WhatsApp phone number id.")
    access_token: Secret
    name: OptName
    config: Config


class UpdateWhatsappIn(ToolInput):
    channel_id: ChannelId
    phone_number_id: Text | None = Field(None, description="WhatsApp phone number id.")
    access_token: Text | None = Field(None, description="Access token (write-only).")
    name: OptName
    config: Config

    @model_validator(mode="after")
    def _one(self) -> UpdateWhatsappIn:
        _need_one(self, "phone_number_id", "access_token", "name", "config")
        return self


async def _list(d: Deps, a: ListChannelsIn) -> Page[Channel]:
    return await d.imbrace.channel.list(type=a.type, limit=a.limit, offset=a.offset)


async def _get(d: Deps, a: ChannelIdIn) -> Channel:
    return await d.imbrace.channel.get(a.channel_id)


async def _count(d: Deps, a: NoArgs) -> CountOut:
    counted = await d.imbrace.channel.get_count()
    return CountOut(count=counted.count, by_type=counted.by_type)


async def _create(d: Deps, a: CreateChannelIn) -> Channel:
    return await d.imbrace.channel.create(type=a.type, name=a.name, config=a.config)


async def _update(d: Deps, a: UpdateChannelIn) -> Channel:
    return await d.imbrace.channel.update(a.channel_id, name=a.name, active=a.active, config=a.config)


async def _delete(d: Deps, a: DeleteChannelIn) -> ActionResult:
    if a.api_version == "v3":
        return await d.imbrace.channel.delete_v3(a.channel_id)
    return await d.imbrace.channel.delete(a.channel_id)


async def _describe_channel(d: Deps, a: DeleteChannelIn) -> str:
    channel = await d.imbrace.channel.get(a.channel_id)
    kind = channel.type or "channel"
    return f"delete the {kind} channel {channel.name!r} ({a.channel_id})"


async def _web(d: Deps, a: NameIn) -> Channel:
    return await d.imbrace.channel.create_web(a.name)


async def _facebook(d: Deps, a: CreateFacebookIn) -> Channel:
    return await d.imbrace.channel.create_facebook(page_id=a.page_id, credential_id=a.credential_id, name=a.name)


async def _update_facebook(d: Deps, a: UpdateFacebookIn) -> Channel:
    return await d.imbrace.channel.update_facebook(
        a.channel_id, page_id=a.page_id, credential_id=a.credential_id, name=a.name, config=a.config
    )


async def _instagram(d: Deps, a: NameConfigIn) -> Channel:
    return await d.imbrace.channel.create_instagram(a.name, config=a.config)


async def _email(d: Deps, a: CreateEmailIn) -> Channel:
    return await d.imbrace.channel.create_email(a.email, name=a.name, config=a.config)


async def _wechat(d: Deps, a: NameConfigIn) -> Channel:
    return await d.imbrace.channel.create_wechat(a.name, config=a.config)


async def _line(d: Deps, a: NameConfigIn) -> Channel:
    return await d.imbrace.channel.create_line(a.name, config=a.config)


async def _whatsapp(d: Deps, a: CreateWhatsappIn) -> Channel:
    return await d.imbrace.channel.create_whatsapp(
        phone_number_id=a.phone_number_id, access_token=a.access_token, name=a.name, config=a.config
    )


async def _update_whatsapp(d: Deps, a: UpdateWhatsappIn) -> Channel:
    return await d.imbrace.channel.update_whatsapp(
        a.channel_id, phone_number_id=a.phone_number_id, access_token=a.access_token, name=a.name, config=a.config
    )


toolset = Toolset(name="imbrace_channels", provider="imbrace", lists_with=LIST)

toolset.tool(
    name=LIST,
    title="List channels",
    description="List iMBRACE channels, optionally of one type.",
    annotations=RO,
    input=ListChannelsIn,
    output=Page[Channel],
    handler=_list,
)

toolset.tool(
    name="imbrace_get_channel",
    title="Get channel",
    description="Get one iMBRACE channel.",
    annotations=RO,
    input=ChannelIdIn,
    output=Channel,
    handler=_get,
)

toolset.tool(
    name="imbrace_count_channels",
    title="Count channels",
    description="Count iMBRACE channels.",
    annotations=RO,
    input=NoArgs,
    output=CountOut,
    handler=_count,
)

toolset.tool(
    name="imbrace_create_channel",
    title="Create channel",
    description="Create a channel of any type.",
    annotations=WRITE,
    input=CreateChannelIn,
    output=Channel,
    handler=_create,
)

toolset.tool(
    name="imbrace_update_channel",
    title="Update channel",
    description="Rename, (de)activate or reconfigure a channel.",
    annotations=WRITE_IDEM,
    input=UpdateChannelIn,
    output=Channel,
    handler=_update,
)

toolset.tool(
    name="imbrace_delete_channel",
    title="Delete channel",
    description="Delete a channel permanently.",
    annotations=DESTRUCTIVE,
    input=DeleteChannelIn,
    output=ActionResult,
    handler=_delete,
    describe_target=_describe_channel,
)

toolset.tool(
    name="imbrace_create_web_channel",
    title="Create web channel",
    description="Create a website chat channel.",
    annotations=WRITE,
    input=NameIn,
    output=Channel,
    handler=_web,
)

toolset.tool(
    name="imbrace_create_facebook_channel",
    title="Create Facebook channel",
    description="Connect a Facebook page as a channel.",
    annotations=WRITE,
    input=CreateFacebookIn,
    output=Channel,
    handler=_facebook,
)

toolset.tool(
    name="imbrace_update_facebook_channel",
    title="Update Facebook channel",
    description="Change a Facebook channel's page, credential, name or config.",
    annotations=WRITE_IDEM,
    input=UpdateFacebookIn,
    output=Channel,
    handler=_update_facebook,
)

toolset.tool(
    name="imbrace_create_instagram_channel",
    title="Create Instagram channel",
    description="Create an Instagram channel.",
    annotations=WRITE,
    input=NameConfigIn,
    output=Channel,
    handler=_instagram,
)

toolset.tool(
    name="imbrace_create_email_channel",
    title="Create email channel",
    description="Create an email inbox channel.",
    annotations=WRITE,
    input=CreateEmailIn,
    output=Channel,
    handler=_email,
)

toolset.tool(
    name="imbrace_create_wechat_channel",
    title="Create WeChat channel",
    description="Create a WeChat channel.",
    annotations=WRITE,
    input=NameConfigIn,
    output=Channel,
    handler=_wechat,
)

toolset.tool(
    name="imbrace_create_line_channel",
    title="Create LINE channel",
    description="Create a LINE channel.",
    annotations=WRITE,
    input=NameConfigIn,
    output=Channel,
    handler=_line,
)

toolset.tool(
    name="imbrace_create_whatsapp_channel",
    title="Create WhatsApp channel",
    description="Connect a WhatsApp Business number.",
    annotations=WRITE,
    input=CreateWhatsappIn,
    output=Channel,
    handler=_whatsapp,
    secret_args=("access_token",),
)

toolset.tool(
    name="imbrace_update_whatsapp_channel",
    title="Update WhatsApp channel",
    description="Change a WhatsApp channel's number, token, name or config.",
    annotations=WRITE_IDEM,
    input=UpdateWhatsappIn,
    output=Channel,
    handler=_update_whatsapp,
    secret_args=("access_token",),
)
