"""Toolset `imbrace_contacts`: find customers, read their history, correct details, export, upload files."""

from __future__ import annotations

import base64
import binascii
import csv
import io
import re
from typing import Annotated

from pydantic import AfterValidator, Field, model_validator

from channel_mcp import progress
from channel_mcp.deps import Deps
from channel_mcp.errors import InputError
from channel_mcp.imbrace.models import (
    Contact,
    ContactComment,
    ContactFile,
    Conversation,
    ConversationActivity,
    UploadedFile,
)
from channel_mcp.models import Items, Page, Result
from channel_mcp.tools._args import ChannelType, ContactId, Email, Id, OptName, Phone, Skip, Text, limit, max_items
from channel_mcp.tools.declare import RO, WRITE, WRITE_IDEM, ToolInput, Toolset

LIST = "imbrace_list_contacts"
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
CSV_BUDGET = 50_000
PREVIEW_ROWS = 20
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def _sort(value: str) -> str:
    if not re.fullmatch(r"-?[A-Za-z_]{1,64}", value):
        raise ValueError("must be a column name, optionally prefixed with -")
    return value


def _mime(value: str) -> str:
    if not re.fullmatch(r"[\w.+-]+/[\w.+-]+", value) or len(value) > 127:
        raise ValueError("must be a MIME type like text/csv")
    return value


def _base64_present(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


Sort = Annotated[str, AfterValidator(_sort)]
Mime = Annotated[str, AfterValidator(_mime)]
# Not `Text`: base64 may be wrapped over lines, and its size is checked (10 MB) when it is decoded.
Base64 = Annotated[str, AfterValidator(_base64_present)]


class ListContactsIn(ToolInput):
    limit: int = limit(50)
    skip: Skip


class ContactIdIn(ToolInput):
    contact_id: ContactId


class UpdateContactIn(ToolInput):
    contact_id: ContactId
    name: OptName
    email: Email | None = Field(None, description="Email address.")
    phone: Phone | None = Field(None, description="Phone, E.164 (+84901234567).")

    @model_validator(mode="after")
    def _one(self) -> UpdateContactIn:
        if self.name is None and self.email is None and self.phone is None:
            raise ValueError("give at least one of name, email, phone")
        return self


class SearchIn(ToolInput):
    q: Text = Field(description="Part of a name, email or phone.", max_length=200)
    limit: int = limit(10)
    skip: Skip


class ExportIn(ToolInput):
    sort: Sort | None = Field(None, description="Column; prefix - for descending.")


class ExportOut(Result):
    rows: int = Field(description="Data rows in the export.")
    columns: list[str] = Field(description="Column names.")
    csv: str | None = Field(None, description="The whole CSV, when it fits the budget.")
    preview: str | None = Field(None, description="Header and first rows, when the whole CSV is too large.")
    truncated: bool = Field(description="True when only a preview is returned.")
    note: str | None = None


class ConversationsIn(ToolInput):
    contact_id: ContactId
    channel_types: Annotated[list[ChannelType], max_items(8, "channel types")] | None = Field(
        None, min_length=1, description="Only these types."
    )


class CommentsIn(ToolInput):
    contact_id: ContactId
    limit: int = limit(20)
    skip: Skip


class ActivitiesIn(ToolInput):
    conversation_id: Id = Field(description="Conversation id.")


class UploadIn(ToolInput):
    filename: Text = Field(description="File name, e.g. contacts.csv.")
    content_base64: Base64 = Field(description="Content, base64, max 10 MB decoded.")
    content_type: Mime | None = Field(None, description="MIME type; default from filename.")


class Conversations(Items[Conversation]):
    pass


class Files(Items[ContactFile]):
    pass


class Activities(Items[ConversationActivity]):
    pass


async def _list(d: Deps, a: ListContactsIn) -> Page[Contact]:
    return await d.imbrace.contacts.list(limit=a.limit, skip=a.skip)


async def _get(d: Deps, a: ContactIdIn) -> Contact:
    return await d.imbrace.contacts.get(a.contact_id)


async def _update(d: Deps, a: UpdateContactIn) -> Contact:
    return await d.imbrace.contacts.update(a.contact_id, name=a.name, email=a.email, phone=a.phone)


async def _search(d: Deps, a: SearchIn) -> Page[Contact]:
    return await d.imbrace.contacts.search(a.q, limit=a.limit, skip=a.skip)


def summarize_csv(text: str, budget: int = CSV_BUDGET) -> ExportOut:
    """Row count and columns always; the text when it fits `budget` characters, else a preview."""
    text = text.lstrip("\ufeff")
    reader = csv.reader(io.StringIO(text))
    columns = next(reader, [])
    rows = sum(1 for row in reader if row)
    if len(text) <= budget:
        return ExportOut(rows=rows, columns=columns, csv=text, truncated=False)
    lines = text.splitlines(keepends=True)
    preview = "".join(lines[: PREVIEW_ROWS + 1])[: budget // 2]
    return ExportOut(
        rows=rows,
        columns=columns,
        preview=preview,
        truncated=True,
        note=(
            f"The export has {rows} rows ({len(text)} characters), over the {budget}-character budget; "
            "this is the header and first rows. Read every contact with imbrace_list_contacts, paging with skip."
        ),
    )


async def _export(d: Deps, a: ExportIn) -> ExportOut:
    # One request, but iMBRACE builds the whole file first: say what is happening while the client waits.
    await progress.report(0, 2, "Asking iMBRACE for the contacts export")
    text = await d.imbrace.contacts.export_csv(sort=a.sort)
    await progress.report(1, 2, f"Export received ({len(text)} characters); counting rows")
    out = summarize_csv(text, d.settings.csv_budget)
    await progress.report(2, 2, f"Export ready: {out.rows} rows")
    return out


async def _conversations(d: Deps, a: ConversationsIn) -> Conversations:
    listing = await d.imbrace.contacts.get_conversations(a.contact_id, channel_types=a.channel_types)
    return Conversations(items=listing.items, unreadable=listing.unreadable)


async def _comments(d: Deps, a: CommentsIn) -> Page[ContactComment]:
    return await d.imbrace.contacts.get_comments(a.contact_id, limit=a.limit, skip=a.skip)


async def _files(d: Deps, a: ContactIdIn) -> Files:
    listing = await d.imbrace.contacts.get_files(a.contact_id)
    return Files(items=listing.items, unreadable=listing.unreadable)


async def _activities(d: Deps, a: ActivitiesIn) -> Activities:
    listing = await d.imbrace.contacts.get_activities(a.conversation_id)
    return Activities(items=listing.items, unreadable=listing.unreadable)


def sanitize_filename(name: str) -> str:
    """Last path component only, without control or invisible characters."""
    base = re.split(r"[\\/]", name)[-1]
    base = _CONTROL.sub("", base).strip().strip(".")
    if not base:
        raise InputError("filename must contain a name, not only separators, dots or control characters.")
    return base[:255]


def decode_upload(content_base64: str) -> bytes:
    if len(content_base64) > (MAX_UPLOAD_BYTES * 4) // 3 + 8:
        raise InputError("content_base64 decodes to more than 10 MB; upload a smaller file.")
    try:
        data = base64.b64decode("".join(content_base64.split()), validate=True)
    except (binascii.Error, ValueError):
        raise InputError("content_base64 is not valid base64.") from None
    if len(data) > MAX_UPLOAD_BYTES:
        raise InputError("content_base64 decodes to more than 10 MB; upload a smaller file.")
    if not data:
        raise InputError("content_base64 decodes to an empty file.")
    return data


async def _upload(d: Deps, a: UploadIn) -> UploadedFile:
    import mimetypes

    filename = sanitize_filename(a.filename)
    data = decode_upload(a.content_base64)
    content_type = a.content_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
    return await d.imbrace.contacts.upload_contacts(filename, data, content_type=content_type)


toolset = Toolset(name="imbrace_contacts", provider="imbrace", lists_with=LIST)

toolset.tool(
    name=LIST,
    title="List contacts",
    description="List contacts, a page at a time.",
    annotations=RO,
    input=ListContactsIn,
    output=Page[Contact],
    handler=_list,
)

toolset.tool(
    name="imbrace_get_contact",
    title="Get contact",
    description="Get one contact.",
    annotations=RO,
    input=ContactIdIn,
    output=Contact,
    handler=_get,
)

toolset.tool(
    name="imbrace_update_contact",
    title="Update contact",
    description="Correct a contact's name, email or phone.",
    annotations=WRITE_IDEM,
    input=UpdateContactIn,
    output=Contact,
    handler=_update,
)

toolset.tool(
    name="imbrace_search_contacts",
    title="Search contacts",
    description="Find contacts by name, email or phone.",
    annotations=RO,
    input=SearchIn,
    output=Page[Contact],
    handler=_search,
)

toolset.tool(
    name="imbrace_export_contacts_csv",
    title="Export contacts",
    description="Export all contacts as CSV.",
    annotations=RO,
    input=ExportIn,
    output=ExportOut,
    handler=_export,
)

toolset.tool(
    name="imbrace_list_contact_conversations",
    title="List contact conversations",
    description="List a contact's conversations.",
    annotations=RO,
    input=ConversationsIn,
    output=Conversations,
    handler=_conversations,
)

toolset.tool(
    name="imbrace_list_contact_comments",
    title="List contact comments",
    description="List internal notes on a contact.",
    annotations=RO,
    input=CommentsIn,
    output=Page[ContactComment],
    handler=_comments,
)

toolset.tool(
    name="imbrace_list_contact_files",
    title="List contact files",
    description="List files attached to a contact.",
    annotations=RO,
    input=ContactIdIn,
    output=Files,
    handler=_files,
)

toolset.tool(
    name="imbrace_list_conversation_activities",
    title="List conversation activities",
    description="List a conversation's activity log.",
    annotations=RO,
    input=ActivitiesIn,
    output=Activities,
    handler=_activities,
)

toolset.tool(
    name="imbrace_upload_contact_file",
    title="Upload contact file",
    description="Upload a file (base64); returns its URL.",
    annotations=WRITE,
    input=UploadIn,
    output=UploadedFile,
    handler=_upload,
    verify_with="imbrace_list_contact_files for the contact it belongs to",
)
