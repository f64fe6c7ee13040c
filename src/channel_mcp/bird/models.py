"""Bird Channels models, named as in Bird's schema. Tolerant of new fields and new status values."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from channel_mcp.models import ApiModel


class BirdChannel(ApiModel):
    id: str = Field(description="Channel id.")
    platformId: str | None = None
    name: str | None = None
    connectorId: str | None = None
    identifier: str | None = Field(None, description="Phone number, handle or address of the channel.")
    status: str | None = Field(None, description="active, pending, setting-up, failed, inactive, deleted or warning.")
    capabilities: Any = None
    settings: Any = Field(None, description="Settings; non-public values are masked.")
    connectionParams: Any = Field(None, description="Connection parameters; non-public values are masked.")
    preferences: Any = None
    useCaseType: str | None = None
    channelMessageType: str | None = None
    suites: list[Any] | None = None
    createdAt: str | None = None
    updatedAt: str | None = None


class BirdChannelContact(ApiModel):
    """A contact's session on a channel; carries the customer-service window."""

    serviceWindowExpireAt: str | None = None
    isPermanentSession: bool | None = None
    metadata: dict[str, Any] | None = None
