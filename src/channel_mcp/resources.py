"""Read-only resources and resource templates, built on the same clients as the tools; table-driven.

Resources (all `application/json`, compact rows to choose from; only configured providers are offered):

    imbrace://channels                    every iMBRACE channel (pages walked, bounded)
    imbrace://contacts                    the first page of contacts, the total, and how to read more
    bird://channels                       the first page of Bird channels and the next page token
    imbrace://channels/{channel_id}       one channel          (templates: ids are checked like tool ids,
    imbrace://contacts/{contact_id}       one contact           so a hostile value is refused and nothing
    bird://channels/{channel_id}          one Bird channel      is sent; an unknown id is "not found")

`LISTINGS` and `TEMPLATES` hold one row each; `LiveResource` and `read_template` are the one
implementation behind them. Listings are read through the short cache (`channel_mcp.listings`).
Everything returned is masked and stripped of invisible format characters and redacted of configured
secrets (`masking.clean`), and bounded to the result budget.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError
from mcp.server.mcpserver.resources import Resource
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS
from pydantic import BaseModel, Field

from channel_mcp.bird.models import BirdChannel
from channel_mcp.config import Settings
from channel_mcp.deps import Deps
from channel_mcp.errors import (
    AuthError,
    ChannelMCPError,
    CircuitOpenError,
    InputError,
    NotFoundError,
    RateLimitError,
    UpstreamError,
)
from channel_mcp.fitting import dumps, fit, fitting_prefix
from channel_mcp.imbrace.models import Channel, Contact
from channel_mcp.listings import (
    BIRD_PAGE,
    CHANNEL_PAGE,
    CONTACT_PAGE,
    bird_channels_page,
    imbrace_channels,
    imbrace_contacts_first,
)
from channel_mcp.masking import clean, redact
from channel_mcp.request_scope import ctx_deps, current_deps
from channel_mcp.upstream import check_id

JSON = "application/json"
IMBRACE_CHANNELS = "imbrace://channels"
IMBRACE_CONTACTS = "imbrace://contacts"
BIRD_CHANNELS = "bird://channels"
IMBRACE_CHANNEL = "imbrace://channels/{channel_id}"
IMBRACE_CONTACT = "imbrace://contacts/{contact_id}"
BIRD_CHANNEL = "bird://channels/{channel_id}"


# ---------------------------------------------------------------------------------------------- errors


def invalid(message: str, **data: Any) -> MCPError:
    return MCPError(code=INVALID_PARAMS, message=message, data=data or None)


def checked(name: str, value: str, uri: str | None = None) -> str:
    """`check_id` for template and prompt arguments: a protocol invalid-params error, nothing sent."""
    try:
        return check_id(name, value)
    except InputError as exc:
        raise invalid(f"Invalid {name}: {exc} Nothing was sent.", **({"uri": uri} if uri else {})) from None


def _failure(exc: ChannelMCPError) -> str:
    """Text for an upstream failure: what went wrong and what to do; never a trace or a secret."""
    if isinstance(exc, AuthError):
        return f"{exc.message} The key's value is never shown."
    if isinstance(exc, RateLimitError | CircuitOpenError):
        wait = exc.retry_after
        return f"{exc.message} " + (f"Retry after {max(1, round(wait))} s." if wait is not None else "Retry shortly.")
    if isinstance(exc, UpstreamError):
        return f"{exc.message} This is likely transient: try again shortly."
    return str(exc)


async def _guarded(deps: Deps, load: Callable[[], Awaitable[str]], *, missing: str | None = None) -> str:
    """Run a read; map our exceptions onto the protocol (not found / invalid params / resource error)."""
    try:
        return await load()
    except NotFoundError:
        if missing is None:
            raise ResourceError(
                "The provider answered 404 for a listing: check the configuration (for Bird, BIRD_WORKSPACE_ID)."
            ) from None
        raise ResourceNotFoundError(missing) from None
    except InputError as exc:
        raise invalid(redact(f"Invalid request: {exc} Nothing was sent.", deps.secret_values)) from None
    except ChannelMCPError as exc:
        raise ResourceError(redact(_failure(exc), deps.secret_values)) from None


# ---------------------------------------------------------------------------------------------- rows


def _active(model: BaseModel, field: str, alias: str) -> bool | None:
    value = getattr(model, field, None)
    if value is None:
        value = (model.model_extra or {}).get(alias)
    return value if isinstance(value, bool) else None


def _row(**fields: Any) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not None and v != ""}


def channel_row(channel: Channel) -> dict[str, Any]:
    return _row(
        id=channel.id,
        name=channel.name,
        type=channel.type,
        active=_active(channel, "is_active", "active"),
    )


def contact_row(contact: Contact) -> dict[str, Any]:
    return _row(
        id=contact.id, display_name=contact.display_name, email=contact.email, phone_number=contact.phone_number
    )


def bird_row(channel: BirdChannel) -> dict[str, Any]:
    return _row(
        id=channel.id,
        name=channel.name,
        platform=channel.platformId,
        identifier=channel.identifier,
        status=channel.status,
        active=channel.status == "active" if channel.status else None,
    )


def _listing_text(deps: Deps, data: dict[str, Any], more: Callable[[int], tuple[str, dict[str, Any]]]) -> str:
    """Clean, bound and redact a listing. When rows must be cut, `more(kept)` says how to read the rest."""
    data = clean(data, deps.secret_values)
    limit = deps.max_result_chars
    text = dumps(data)
    if len(text) > limit:
        items: list[Any] = data["items"]
        lo = fitting_prefix(data, items, limit)
        note, call = more(lo)
        cut = {**data, "items": items[:lo], "truncated": True, "has_more": True, "read_more": call, "note": note}
        text = dumps(cut)
    return text


def _object_text(deps: Deps, model: BaseModel) -> str:
    data = clean(model.model_dump(mode="json", exclude_none=True), deps.secret_values)
    _, text = fit(data, deps.max_result_chars)
    return text


# ---------------------------------------------------------------------------------------------- listings


async def read_imbrace_channels(deps: Deps) -> str:
    page = await imbrace_channels(deps)
    rows = [channel_row(c) for c in page.items]
    data: dict[str, Any] = {
        "items": rows,
        "count": len(rows),
        "active": sum(1 for r in rows if r.get("active") is True),
        "inactive": sum(1 for r in rows if r.get("active") is False),
    }
    if page.has_more and page.next:
        offset = page.next["offset"]
        data["has_more"] = True
        data["read_more"] = {"tool": "imbrace_list_channels", "arguments": {"offset": offset, "limit": CHANNEL_PAGE}}
        data["note"] = f"Only the first {len(rows)} channels are listed here; continue with imbrace_list_channels."

    def more(kept: int) -> tuple[str, dict[str, Any]]:
        call = {"tool": "imbrace_list_channels", "arguments": {"offset": kept, "limit": CHANNEL_PAGE}}
        return f"Only {kept} of {len(rows)} channels fit; read the rest with imbrace_list_channels.", call

    return _listing_text(deps, data, more)


async def read_imbrace_contacts(deps: Deps) -> str:
    page = await imbrace_contacts_first(deps)
    rows = [contact_row(c) for c in page.items]
    data: dict[str, Any] = {"items": rows, "count": len(rows)}
    if page.total is not None:
        data["total"] = page.total
    data["has_more"] = page.has_more
    skip = page.next.get("skip") if page.next else None
    if page.has_more and isinstance(skip, int):
        data["read_more"] = {"tool": "imbrace_list_contacts", "arguments": {"skip": skip, "limit": CONTACT_PAGE}}
        of = f" of {page.total}" if page.total is not None else ""
        data["note"] = (
            f"First {len(rows)}{of} contacts. Read more with imbrace_list_contacts skip={skip}, "
            "or find someone with imbrace_search_contacts."
        )

    def more(kept: int) -> tuple[str, dict[str, Any]]:
        call = {"tool": "imbrace_list_contacts", "arguments": {"skip": kept, "limit": CONTACT_PAGE}}
        return f"Only {kept} of {len(rows)} contacts fit; read on with imbrace_list_contacts skip={kept}.", call

    return _listing_text(deps, data, more)


async def read_bird_channels(deps: Deps) -> str:
    page = await bird_channels_page(deps)
    rows = [bird_row(c) for c in page.items]
    data: dict[str, Any] = {"items": rows, "count": len(rows), "has_more": page.has_more}
    token = page.next.get("page_token") if page.next else None
    if isinstance(token, str):
        data["read_more"] = {"tool": "bird_list_channels", "arguments": {"page_token": token, "limit": BIRD_PAGE}}
        data["note"] = "First page only; read the next one with bird_list_channels page_token=<read_more>."

    def more(kept: int) -> tuple[str, dict[str, Any]]:
        call = {"tool": "bird_list_channels", "arguments": {"limit": max(1, kept)}}
        note = f"Only {kept} of {len(rows)} channels fit; page through bird_list_channels with a smaller limit."
        return note, call

    return _listing_text(deps, data, more)


# ---------------------------------------------------------------------------------------------- tables


@dataclass(frozen=True)
class _Row:
    uri: str
    name: str
    title: str
    description: str
    mime_type: str

    @property
    def provider(self) -> str:
        """The URI's scheme, "imbrace" or "bird": the row is offered only when that provider is configured."""
        return self.uri.split("://", 1)[0]


@dataclass(frozen=True)
class Listing(_Row):
    """A fixed-URI resource: `load` turns the request's `Deps` into the listing's text."""

    load: Callable[[Deps], Awaitable[str]]


@dataclass(frozen=True)
class Template(_Row):
    """A resource template with one id variable: `get` reads the object; `missing` is the not-found text
    (a `str.format` pattern over `id`, the checked value)."""

    get: Callable[[Deps, str], Awaitable[BaseModel]]
    missing: str

    @property
    def param(self) -> str:
        """The template's one variable: `channel_id` in `imbrace://channels/{channel_id}`."""
        return self.uri[self.uri.index("{") + 1 : self.uri.index("}")]


LISTINGS: tuple[Listing, ...] = (
    Listing(
        uri=IMBRACE_CHANNELS,
        name="imbrace-channels",
        title="iMBRACE channels",
        description="Every iMBRACE channel: id, name, type, active. Cached up to 30 s; writes refresh it.",
        mime_type=JSON,
        load=read_imbrace_channels,
    ),
    Listing(
        uri=IMBRACE_CONTACTS,
        name="imbrace-contacts",
        title="iMBRACE contacts (first page)",
        description="The first 50 contacts, the total, and how to read more with imbrace_list_contacts.",
        mime_type=JSON,
        load=read_imbrace_contacts,
    ),
    Listing(
        uri=BIRD_CHANNELS,
        name="bird-channels",
        title="Bird channels (first page)",
        description="The first 100 Bird channels: id, name, platform, status; and the next page token.",
        mime_type=JSON,
        load=read_bird_channels,
    ),
)

TEMPLATES: tuple[Template, ...] = (
    Template(
        uri=IMBRACE_CHANNEL,
        name="imbrace-channel",
        title="iMBRACE channel",
        description="One iMBRACE channel with its configuration (secrets masked).",
        mime_type=JSON,
        get=lambda deps, channel_id: deps.imbrace.channel.get(channel_id),
        missing="No iMBRACE channel {id!r}. Read " + IMBRACE_CHANNELS + " or call imbrace_list_channels for ids.",
    ),
    Template(
        uri=IMBRACE_CONTACT,
        name="imbrace-contact",
        title="iMBRACE contact",
        description="One iMBRACE contact.",
        mime_type=JSON,
        get=lambda deps, contact_id: deps.imbrace.contacts.get(contact_id),
        missing="No iMBRACE contact {id!r}. Use imbrace_search_contacts or read " + IMBRACE_CONTACTS + " for ids.",
    ),
    Template(
        uri=BIRD_CHANNEL,
        name="bird-channel",
        title="Bird channel",
        description="One Bird channel (hidden settings masked).",
        mime_type=JSON,
        get=lambda deps, channel_id: deps.bird.channels.get(channel_id),
        missing="No Bird channel {id!r} in this workspace. Read " + BIRD_CHANNELS + " or call bird_list_channels.",
    ),
)


# ---------------------------------------------------------------------------------------------- reading


class LiveResource(Resource):
    """A fixed-URI resource whose content is loaded at read time with the request's `Deps`."""

    load: Callable[[Deps], Awaitable[str]] = Field(exclude=True)

    async def read(self) -> str:
        deps = current_deps()
        return await _guarded(deps, lambda: self.load(deps))


async def read_template(template: Template, value: str, ctx: Context[Deps, Any]) -> str:
    """One object through a template: the id checked (nothing sent if refused), read, masked and bounded."""
    uri = template.uri.format(**{template.param: value})
    value = checked(template.param, value, uri)
    deps = ctx_deps(ctx)

    async def load() -> str:
        return _object_text(deps, await template.get(deps, value))

    return await _guarded(deps, load, missing=template.missing.format(id=value))


def _template_function(template: Template) -> Callable[..., Awaitable[str]]:
    """`read_template` as the SDK wants it: a function whose parameters are the URI's variables plus a
    `Context`, since the SDK binds URI variables to parameters by name."""

    async def read(ctx: Context[Deps, Any], **variables: str) -> str:
        return await read_template(template, variables[template.param], ctx)

    annotations: dict[str, Any] = {template.param: str, "ctx": Context[Deps, Any]}
    keyword = inspect.Parameter.KEYWORD_ONLY
    read.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter(name, keyword, annotation=hint) for name, hint in annotations.items()],
        return_annotation=str,
    )
    read.__annotations__ = {**annotations, "return": str}
    return read


def add_resources(server: MCPServer[Deps], settings: Settings) -> None:
    """The listings and templates of the configured providers (the request middleware is the caller's)."""
    configured = {"imbrace": settings.imbrace_configured, "bird": settings.bird_configured}
    for listing in LISTINGS:
        if configured[listing.provider]:
            server.add_resource(
                LiveResource(
                    uri=listing.uri,
                    name=listing.name,
                    title=listing.title,
                    description=listing.description,
                    mime_type=listing.mime_type,
                    load=listing.load,
                )
            )
    for template in TEMPLATES:
        if configured[template.provider]:
            server.resource(
                template.uri,
                name=template.name,
                title=template.title,
                description=template.description,
                mime_type=template.mime_type,
            )(_template_function(template))
