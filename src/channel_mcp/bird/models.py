"""Bird Channels models: every documented field of the get-channel body (seeds/002), named, typed and
constrained as documented. Undocumented fields are kept; reading is tolerant (channel_mcp.reading)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, SerializationInfo, SerializerFunctionWrapHandler, model_serializer

from channel_mcp.masking import mask_any
from channel_mcp.models import ApiModel

BirdStatus = Literal["active", "pending", "setting-up", "failed", "inactive", "deleted", "warning"]
UseCaseType = Literal["transactional", "marketing", "conversation"]
ChannelMessageType = Literal["promotional", "2fa", "conversational", "transactional", "emergency"]


class BirdSetting(ApiModel):
    """One entry of `settings` or `connectionParams`; values that are not public are masked."""

    key: str | None = None
    value: Any = None
    displayName: str | None = None
    description: str | None = None
    visibility: str | None = Field(None, description="public, or hidden (value masked).")

    @model_serializer(mode="wrap")
    def _mask_hidden(self, handler: SerializerFunctionWrapHandler, info: SerializationInfo) -> Any:
        # Declared secret unless public: a setting with no visibility at all is hidden too (fail closed).
        data = handler(self)
        if isinstance(data, dict) and self.visibility != "public" and data.get("value") is not None:
            data["value"] = mask_any(data["value"])
        return data


class BirdChannel(ApiModel):
    """A Bird workspace channel; non-public settings and connection parameters are masked."""

    id: str | None = Field(None, description="Channel id (uuid).")
    platformId: Annotated[str, Field(pattern=r"^[A-Za-z0-9-]+$")] | None = Field(
        None, description="Platform, e.g. whatsapp, sms-messagebird."
    )
    name: str | None = None
    connectorId: str | None = None
    identifier: str | None = Field(None, description="Phone number, handle or address of the channel.")
    status: BirdStatus | None = None
    contactIdentifierKeyOverride: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]+$")] | None = None
    contactIdentifierFormatOverride: dict[str, Any] | None = None
    platformServiceUrlOverride: Annotated[str, Field(pattern=r"^https://")] | None = None
    platformServiceVersionOverride: Literal["1.0"] | None = None
    platformServiceProtocolOverride: Literal["http", "https"] | None = None
    platformMessageJsonSchemaOverride: dict[str, Any] | None = None
    platformTemplateEngineOverride: Literal["default", "liquid"] | None = None
    capabilities: dict[str, Any] | None = None
    settings: list[BirdSetting] | None = Field(None, description="Non-public values masked.")
    connectionParams: list[BirdSetting] | None = Field(None, description="Non-public values masked.")
    preferences: dict[str, Any] | None = None
    useCaseId: str | None = None
    useCaseType: UseCaseType | None = None
    channelMessageType: ChannelMessageType | None = None
    suites: list[str] | None = None
    createdAt: str | None = None
    updatedAt: str | None = None


class BirdChannelContact(ApiModel):
    """A contact's session on a channel; carries the customer-service window."""

    serviceWindowExpireAt: str | None = Field(None, description="Documented as required and nullable.")
    isPermanentSession: bool | None = None
    metadata: dict[str, Any] | None = None
