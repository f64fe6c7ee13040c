"""Argument types shared by several tools. Descriptions are short: they cost tokens in every conversation."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from channel_mcp.safety import CONFIRM_DESCRIPTION

ChannelType = Literal["web", "facebook", "whatsapp", "instagram", "wechat", "line", "email", "wecom"]

ChannelId = Annotated[str, Field(description="Channel id.")]
CredentialId = Annotated[str, Field(description="Credential id.")]
ContactId = Annotated[str, Field(description="Contact id.")]
Name = Annotated[str, Field(description="Display name.", min_length=1)]
OptName = Annotated[str | None, Field(None, description="Display name.", min_length=1)]
Config = Annotated[dict[str, Any] | None, Field(None, description="Settings object.")]
Skip = Annotated[int | None, Field(None, ge=0, description="Items to skip.")]
Confirm = Annotated[bool | None, Field(None, description=CONFIRM_DESCRIPTION)]


def limit(default: int | None, maximum: int = 100) -> Any:
    return Field(default, ge=1, le=maximum, description=f"Page size, 1-{maximum}.")
