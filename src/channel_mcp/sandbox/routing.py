"""What a sandbox route reads (``Call``, ``Body``) and answers (``ok``, ``paged``), and ``route()``.

A route is ``async def name(call: Call) -> Response``. A missing or malformed input raises
``ValidationError``, which the app answers as a 400 in the provider's error shape.
"""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from channel_mcp.sandbox.store import SandboxStore, ValidationError

__all__ = ["JSON", "Body", "Call", "RouteHandler", "ok", "page_info", "paged", "route"]

JSON = dict[str, Any]


# --------------------------------------------------------------------------- responses


def ok(data: Any, status: int = 200) -> JSONResponse:
    """iMBRACE single object: ``{"success": true, "data": ...}``."""
    return JSONResponse({"success": True, "data": data}, status_code=status)


def paged(items: list[JSON], total: int, limit: int, offset: int) -> JSONResponse:
    """iMBRACE list: ``data``, ``pagination`` and ``total``."""
    return JSONResponse({"success": True, "data": items, "pagination": page_info(total, limit, offset), "total": total})


def page_info(total: int, limit: int, offset: int) -> JSON:
    return {
        "page": offset // limit + 1,
        "limit": limit,
        "total": total,
        "total_pages": math.ceil(total / limit),
        "has_next": offset + limit < total,
        "has_prev": offset > 0,
    }


# --------------------------------------------------------------------------- request


class Body:
    """A JSON-object request body with typed field readers."""

    def __init__(self, data: JSON) -> None:
        self.data = data

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def text(self, key: str) -> str | None:
        """The stripped string at ``key``, or None when absent or null."""
        if self.data.get(key) is None:
            return None
        return self.required_text(key)

    def required_text(self, key: str) -> str:
        value = self.data.get(key)
        if value is None:
            raise ValidationError(f"{key} is required")
        if not isinstance(value, str) or not value.strip():
            raise ValidationError(f"{key} must be a non-empty string")
        return value.strip()

    def obj(self, key: str) -> JSON | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise ValidationError(f"{key} must be an object")
        return value

    def flag(self, key: str) -> bool | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, bool):
            raise ValidationError(f"{key} must be true or false")
        return value


class Call:
    """One request as a route sees it: the store, path and query parameters, and the JSON body."""

    def __init__(self, request: Request) -> None:
        self.request = request

    @property
    def store(self) -> SandboxStore:
        store: SandboxStore = self.request.app.state.store
        return store

    def path(self, name: str) -> str:
        return str(self.request.path_params[name])

    def query(self, name: str) -> str | None:
        """The query parameter, or None when absent or empty."""
        return self.request.query_params.get(name) or None

    def int_query(self, name: str, *, minimum: int, maximum: int | None = None) -> int | None:
        raw = self.query(name)
        if raw is None:
            return None
        try:
            value = int(raw)
        except ValueError:
            raise ValidationError(f"{name} must be an integer") from None
        if value < minimum or (maximum is not None and value > maximum):
            bound = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
            raise ValidationError(f"{name} must be {bound}")
        return value

    def csv_query(self, name: str, allowed: tuple[str, ...]) -> list[str] | None:
        """Repeated and/or comma-separated values, each one of ``allowed``; None when none given."""
        raw = self.request.query_params.getlist(name)
        values = [v.strip() for item in raw for v in item.split(",") if v.strip()]
        if not values:
            return None
        unknown = [v for v in values if v not in allowed]
        if unknown:
            raise ValidationError(f"unknown {name}: {', '.join(unknown)} (allowed: {', '.join(allowed)})")
        return values

    def paging(self, default_limit: int | None, total: int) -> tuple[int, int]:
        """``(limit, offset)`` from limit (1..1000), skip or offset (win over page), page (1-based).

        With no limit and no default, one page holds everything.
        """
        limit = self.int_query("limit", minimum=1, maximum=1000)
        skip = self.int_query("skip", minimum=0)
        offset = self.int_query("offset", minimum=0)
        page = self.int_query("page", minimum=1)
        if limit is None:
            limit = default_limit if default_limit is not None else max(total, 1)
        if skip is not None:
            return limit, skip
        if offset is not None:
            return limit, offset
        return limit, ((page or 1) - 1) * limit

    async def body(self) -> Body:
        """The JSON-object body; an empty one is a 400."""
        body = await self.optional_body()
        if body is None:
            raise ValidationError("request body must be a JSON object")
        return body

    async def optional_body(self) -> Body | None:
        """The JSON-object body, or None when the body is empty."""
        raw = await self.request.body()
        if not raw.strip():
            return None
        try:
            data = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise ValidationError("request body is not valid JSON") from None
        if not isinstance(data, dict):
            raise ValidationError("request body must be a JSON object")
        return Body(data)


# --------------------------------------------------------------------------- route table

RouteHandler = Callable[[Call], Awaitable[Response]]


def route(path: str, handler: RouteHandler, *, methods: list[str]) -> Route:
    """A Starlette route that hands ``handler`` a ``Call``; named after the handler."""

    async def endpoint(request: Request) -> Response:
        return await handler(Call(request))

    return Route(path, endpoint, methods=methods, name=handler.__name__)
