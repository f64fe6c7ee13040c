"""Argument types shared by several tools. Descriptions are short: they cost tokens in every conversation."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field

from channel_mcp.safety import CONFIRM_DESCRIPTION


def _non_empty(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def _email(value: str) -> str:
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value) or len(value) > 254:
        raise ValueError("must be an email address like name@example.com")
    return value


def _e164(value: str) -> str:
    # What a person types (+84 912 345 678, +1 (415) 555-0112): separators go, then it must be E.164.
    compact = re.sub(r"[\s().-]", "", value)
    if not re.fullmatch(r"\+[1-9]\d{1,14}", compact):
        raise ValueError("must be a phone number with country code, like +84 912 345 678")
    return compact


# Checked on input but kept out of the advertised schema: constraints there cost tokens in every
# conversation, and the error message says the same thing when it matters.
Text = Annotated[str, AfterValidator(_non_empty)]
Email = Annotated[str, AfterValidator(_email)]
Phone = Annotated[str, AfterValidator(_e164)]

ChannelType = Literal["web", "facebook", "whatsapp", "instagram", "wechat", "line", "email", "wecom"]

ChannelId = Annotated[str, Field(description="Channel id.")]
CredentialId = Annotated[str, Field(description="Credential id.")]
ContactId = Annotated[str, Field(description="Contact id.")]
Name = Annotated[Text, Field(description="Display name.")]
OptName = Annotated[Text | None, Field(None, description="Display name.")]
Config = Annotated[dict[str, Any] | None, Field(None, description="Settings.")]
Skip = Annotated[int | None, Field(None, ge=0, description="Items to skip.")]
Confirm = Annotated[bool | None, Field(None, description=CONFIRM_DESCRIPTION)]


def limit(default: int | None, maximum: int = 100) -> Any:
    return Field(default, ge=1, le=maximum, description="Page size.")
