"""iMBRACE channel-service models: the documented fields (seeds/000, seeds/001) with their documented names.

Undocumented fields the API sends are kept (extra=allow); objects we know only from the SDK (teams,
workflows, conversations, notifications) keep the names the API sends. Reading is tolerant: see
channel_mcp.reading."""

from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import AliasChoices, Field

from channel_mcp.masking import SecretValue
from channel_mcp.models import ApiModel, DocumentId, Identified, Result

ChannelPlatform = Literal["web", "facebook", "whatsapp", "instagram", "wechat", "line", "email", "wecom"]
CHANNEL_TYPES: tuple[str, ...] = get_args(ChannelPlatform)


# The documented schemas: seeds/000 (Channel, ChannelCredential) and seeds/001 (Contact, ContactComment,
# ContactFile). Docstrings become outputSchema descriptions, so they speak to the agent.


class ChannelConfig(ApiModel):
    """Platform settings of a channel. The credentials a platform keeps here are declared secret: they
    serialise masked (last 4 characters) in every result; other keys are kept as sent."""

    access_token: SecretValue = Field(None, description="Platform access token (masked).")
    page_access_token: SecretValue = Field(None, description="Facebook page access token (masked).")
    app_secret: SecretValue = Field(None, description="App secret (masked).")
    channel_secret: SecretValue = Field(None, description="LINE channel secret (masked).")
    channel_access_token: SecretValue = Field(None, description="LINE channel access token (masked).")
    secret: SecretValue = Field(None, description="Secret (masked).")
    token: SecretValue = Field(None, description="Verification token (masked).")
    verify_token: SecretValue = Field(None, description="Webhook verify token (masked).")
    password: SecretValue = Field(None, description="Mailbox password (masked).")


class Channel(Identified):
    """An iMBRACE channel; `type` is its platform."""

    object_name: str | None = Field(None, description="Object type identifier.")
    name: str | None = Field(None, description="Display name.")
    type: ChannelPlatform | None = Field(None, description="Platform.")
    organization_id: str | None = Field(None, description="Owning organisation.")
    business_unit_id: str | None = Field(None, description="Business unit.")
    is_active: bool | None = Field(None, description="False when the channel is deactivated.")
    config: ChannelConfig | None = Field(None, description="Channel configuration (secrets masked).")
    created_at: str | None = Field(None, description="ISO 8601.")
    updated_at: str | None = Field(None, description="ISO 8601.")


class ChannelCount(Result):
    """`GET /channels/_count`, read whichever way it is answered: `{count}`, `{total}`, a bare number,
    or counts grouped by type (the OpenAPI file's description), which are summed."""

    count: int = Field(description="Number of channels.")
    by_type: dict[str, int] | None = Field(None, description="Channels per type, when the API groups them.")


class ChannelCredential(DocumentId):
    """A channel credential; its values, when sent, are under `credentials` (secrets masked)."""

    type: str | None = Field(None, description="Credential type, e.g. facebook.")
    name: str | None = Field(None, description="Display name.")
    # Every credential value is a secret, whatever its key: declared so, it serialises masked.
    credentials: dict[str, SecretValue] | None = Field(None, description="Credential values (masked).")


class FacebookPage(DocumentId):
    """A page a credential can connect; `_id` is what create_facebook takes as page_id."""

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
    """An iMBRACE contact."""

    object_name: str | None = Field(None, description="Object type identifier.")
    organization_id: str | None = Field(None, description="Owning organisation.")
    display_name: str | None = Field(None, description="Display name.")
    email: str | None = None
    phone_number: str | None = None
    avatar_url: str | None = None
    created_at: str | None = Field(None, description="ISO 8601.")
    updated_at: str | None = Field(None, description="ISO 8601.")


class ContactComment(DocumentId):
    """An internal comment on a contact."""

    text: str | None = Field(None, description="Comment text.")
    created_at: str | None = Field(None, description="ISO 8601.")


class ContactFile(DocumentId):
    """A file attached to a contact."""

    name: str | None = Field(None, description="File name.")
    url: str | None = Field(None, description="Download URL.")
    size: int | float | None = Field(None, description="Bytes.")


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
