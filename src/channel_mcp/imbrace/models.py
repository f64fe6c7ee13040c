"""iMBRACE channel-service models. Tolerant: extra fields are kept, optional fields may be missing."""

from __future__ import annotations

from typing import Any

from pydantic import AliasChoices, Field

from channel_mcp.models import ApiModel, Identified

CHANNEL_TYPES = ("web", "facebook", "whatsapp", "instagram", "wechat", "line", "email", "wecom")


class Channel(Identified):
    name: str | None = Field(None, description="Display name.")
    type: str | None = Field(None, description="Channel type as the API reports it.")
    channel_type: str | None = Field(None, description="Platform: web, facebook, whatsapp, ...")
    is_active: bool | None = Field(None, description="False when the channel is deactivated.")
    config: dict[str, Any] | None = Field(None, description="Channel configuration (secrets masked).")
    created_at: str | None = None
    updated_at: str | None = None


class ChannelCount(ApiModel):
    count: int = Field(description="Number of channels.")


class ChannelCredential(Identified):
    name: str | None = None
    type: str | None = None
    credentials: dict[str, Any] | None = Field(None, description="Credential values (secrets masked).")
    created_at: str | None = None
    updated_at: str | None = None


class FacebookPage(Identified):
    name: str | None = None
    category: str | None = None
    connected: bool | None = None


class ChannelWorkflow(ApiModel):
    id: str | None = Field(None, validation_alias=AliasChoices("id", "_id", "workflow_id"))
    channel_id: str | None = None
    config: dict[str, Any] | None = None


class Team(Identified):
    name: str | None = None
    description: str | None = None
    member_count: int | None = None


class TeamObserver(Identified):
    name: str | None = None
    email: str | None = None
    role: str | None = None


class Contact(Identified):
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    channel_type: str | None = None
    tags: list[str] | None = None
    created_at: str | None = None
    updated_at: str | None = None


class ContactComment(Identified):
    content: str | None = Field(None, validation_alias=AliasChoices("content", "comment", "text", "message"))
    author: Any = Field(None, description="Who wrote it.")
    created_at: str | None = None


class ContactFile(Identified):
    filename: str | None = Field(None, validation_alias=AliasChoices("filename", "name", "file_name"))
    url: str | None = None
    size: int | None = None
    content_type: str | None = None
    created_at: str | None = None


class Conversation(Identified):
    channel_id: str | None = None
    channel_type: str | None = None
    status: str | None = None
    subject: str | None = Field(None, validation_alias=AliasChoices("subject", "title"))
    last_message: str | None = None
    last_message_at: str | None = None
    unread_count: int | None = None


class ConversationActivity(Identified):
    type: str | None = Field(None, validation_alias=AliasChoices("type", "action", "activity_type"))
    actor: Any = None
    message: str | None = Field(None, validation_alias=AliasChoices("message", "text", "content", "description"))
    created_at: str | None = None


class Notification(Identified):
    title: str | None = None
    message: str | None = None
    type: str | None = None
    is_read: bool | None = None
    link: str | None = None
    created_at: str | None = None


class UploadedFile(ApiModel):
    url: str | None = Field(None, description="Where the uploaded file is served.")
    filename: str | None = None
    size: int | None = None
    content_type: str | None = None
