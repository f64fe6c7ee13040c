"""Argument types shared by several tools. Descriptions are short: they cost tokens in every conversation."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field

# Input caps. Checked in validators, not advertised in the schema (see below). Generous for real use,
# small enough that nothing hostile reaches the upstream or our own recursion (masking, dumping).
MAX_DEPTH = 32  # nesting of config / credentials objects
MAX_ITEMS = 1_000  # entries in any one object or list, and in id lists
MAX_NODES = 10_000  # values in one whole object
MAX_STRING = 10_000  # characters in any one string inside an object
MAX_KEY = 256  # characters in an object key
MAX_TEXT = 2_000  # characters in a name, id, token or search text
# C0 (tab and newline included: names and ids are one line), DEL and C1. Refused, not stripped: a
# name the user did not type must not be sent, and "nothing was sent" stays true.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _no_control(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters (tab, newline, NUL, escape codes)")
    if len(value) > MAX_TEXT:
        raise ValueError(f"must be at most {MAX_TEXT} characters")
    return value


def _non_empty(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return _no_control(value)


def _id(value: str) -> str:
    # Empty ids are left to the path check (http.check_id) and the upstream, as before; this is about
    # what must never be sent: control characters and unbounded length.
    if len(value) > 256 or _CONTROL.search(value):
        raise ValueError("must be an id as returned by the listing tools (no control characters)")
    return value


def max_items(limit: int, what: str) -> BeforeValidator:
    """A length cap checked before the items are: 60,000 wrong items would otherwise cost 60,000 errors
    (0.3 s of CPU) only for the first five to be shown."""

    def check(value: Any) -> Any:
        if isinstance(value, list) and len(value) > limit:
            raise ValueError(f"at most {limit} {what} per call")
        return value

    return BeforeValidator(check)


def _ids(value: list[str]) -> list[str]:
    for item in value:
        _id(item)
    return value


def bounded(value: dict[str, Any]) -> dict[str, Any]:
    """Refuse objects nested deeper than MAX_DEPTH or larger than the caps. Iterative: a 10,000-deep
    argument must fail with this message, not with a RecursionError."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    nodes = 0
    while stack:
        node, depth = stack.pop()
        nodes += 1
        if nodes > MAX_NODES:
            raise ValueError(f"has more than {MAX_NODES} values in all")
        if isinstance(node, str):
            if len(node) > MAX_STRING:
                raise ValueError(f"has a string over {MAX_STRING} characters")
            continue
        if not isinstance(node, dict | list):
            continue
        if depth > MAX_DEPTH:
            raise ValueError(f"is nested more than {MAX_DEPTH} levels deep")
        if len(node) > MAX_ITEMS:
            raise ValueError(f"has an object or list with more than {MAX_ITEMS} entries")
        if isinstance(node, dict):
            if any(len(k) > MAX_KEY for k in node):
                raise ValueError(f"has a key over {MAX_KEY} characters")
            stack.extend((v, depth + 1) for v in node.values())
        else:
            stack.extend((v, depth + 1) for v in node)
    return value


def _email(value: str) -> str:
    _no_control(value)
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
Id = Annotated[str, AfterValidator(_id)]
Ids = Annotated[list[str], max_items(MAX_ITEMS, "ids"), AfterValidator(_ids)]
Bounded = Annotated[dict[str, Any], AfterValidator(bounded)]
Email = Annotated[str, AfterValidator(_email)]
Phone = Annotated[str, AfterValidator(_e164)]

ChannelType = Literal["web", "facebook", "whatsapp", "instagram", "wechat", "line", "email", "wecom"]

ChannelId = Annotated[Id, Field(description="Channel id.")]
CredentialId = Annotated[Id, Field(description="Credential id.")]
ContactId = Annotated[Id, Field(description="Contact id.")]
Name = Annotated[Text, Field(description="Display name.")]
OptName = Annotated[Text | None, Field(None, description="Display name.")]
Config = Annotated[Bounded | None, Field(None, description="Settings.")]
Skip = Annotated[int | None, Field(None, ge=0, description="Items to skip.")]
CONFIRM_DESCRIPTION = "true only after the user explicitly confirmed."
Confirm = Annotated[bool | None, Field(None, description=CONFIRM_DESCRIPTION)]


def limit(default: int | None, maximum: int = 100) -> Any:
    return Field(default, ge=1, le=maximum, description="Page size.")
