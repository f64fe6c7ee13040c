"""The sandbox ASGI app: iMBRACE channel-service and Bird Channels on one port.

Routes
------
* iMBRACE under ``/channel-service/v1|v2|v3/...`` (the SDK's base is ``{gateway}/channel-service``);
  auth ``x-api-key: <key>`` or ``x-access-token: <key>``.
* Bird under ``/workspaces/{workspace_id}/channels...``; auth ``Authorization: AccessKey <key>``.
* ``/_sandbox/health`` and ``GET|PUT /_sandbox/faults`` (no auth, never faulted, not recorded).

Wire shapes
-----------
iMBRACE single object ``{"success": true, "data": {...}}``; list
``{"success": true, "data": [...], "pagination": {page, limit, total, total_pages, has_next,
has_prev}, "total": N}``; error ``{"success": false, "message": "...", "error": "<code>"}``
with codes ``unauthorized`` 401, ``bad_request`` 400, ``not_found`` 404, ``conflict`` 409,
``method_not_allowed`` 405, ``payload_too_large`` 413, ``rate_limited`` 429 and
``server_error`` 5xx. Bird: ``{"results": [...], "nextPageToken": "..."}`` (no token on the
last page) and errors ``{"code": "NotFound" | "InvalidArgument" | "Unauthorized" | ...,
"message": "..."}``.

Paging: ``limit`` (1..1000), ``skip`` or ``offset`` (win over ``page``), ``page`` (1-based).
The channel list returns everything when no ``limit`` is given; contacts default to 50,
search to 10, comments and notifications to 20.

Request order: record ``(method, path)`` in ``app.state.requests`` → authenticate → faults
(see faults.py; a request that fails auth is never faulted) → route. Like a gateway, auth is
checked before routing under ``/channel-service/`` and ``/workspaces/``, so an unknown path
there with a bad key is 401, with the right key 404. Channel ``type`` handling is described
in store.py.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import mimetypes
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import quote

import anyio
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from channel_mcp.sandbox import seed
from channel_mcp.sandbox.faults import FaultConfig
from channel_mcp.sandbox.store import (
    ConflictError,
    NotFoundError,
    SandboxStore,
    StoreError,
    ValidationError,
    check_email,
)

__all__ = ["create_app"]

JSON = dict[str, Any]
Handler = Callable[[Request], Awaitable[Response]]

IMBRACE_PREFIX = "/channel-service"
BIRD_PREFIX = "/workspaces/"
ADMIN_PREFIX = "/_sandbox/"
MAX_UPLOAD_BYTES = 25 * 1024 * 1024
MAX_RECORDED_REQUESTS = 10_000
_IMBRACE_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    429: "rate_limited",
}
_BIRD_CODES = {
    400: "InvalidArgument",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    429: "TooManyRequests",
}


# --------------------------------------------------------------------------- responses


def _provider(path: str) -> str:
    if path.startswith(BIRD_PREFIX):
        return "bird"
    return "imbrace"


def error_response(path: str, status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    if _provider(path) == "bird":
        code = _BIRD_CODES.get(status, "InternalError" if status >= 500 else "Error")
        return JSONResponse({"code": code, "message": message}, status_code=status, headers=headers)
    code = _IMBRACE_CODES.get(status, "server_error" if status >= 500 else "error")
    return JSONResponse({"success": False, "message": message, "error": code}, status_code=status, headers=headers)


def ok(data: Any, status: int = 200) -> JSONResponse:
    return JSONResponse({"success": True, "data": data}, status_code=status)


def paged(items: list[JSON], total: int, limit: int, offset: int) -> JSONResponse:
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


# --------------------------------------------------------------------------- request parsing


def _int_param(request: Request, name: str, *, minimum: int, maximum: int | None = None) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError(f"{name} must be an integer") from None
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
        raise ValidationError(f"{name} must be {bound}")
    return value


def paging(request: Request, default_limit: int | None, total: int) -> tuple[int, int]:
    """Return ``(limit, offset)``; with no limit and no default, one page holds everything."""
    limit = _int_param(request, "limit", minimum=1, maximum=1000)
    skip = _int_param(request, "skip", minimum=0)
    offset = _int_param(request, "offset", minimum=0)
    page = _int_param(request, "page", minimum=1)
    if limit is None:
        limit = default_limit if default_limit is not None else max(total, 1)
    if skip is not None:
        return limit, skip
    if offset is not None:
        return limit, offset
    return limit, ((page or 1) - 1) * limit


def _csv_param(request: Request, name: str, allowed: tuple[str, ...]) -> list[str] | None:
    raw = request.query_params.getlist(name)
    values = [v.strip() for item in raw for v in item.split(",") if v.strip()]
    if not values:
        return None
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise ValidationError(f"unknown {name}: {', '.join(unknown)} (allowed: {', '.join(allowed)})")
    return values


async def json_body(request: Request, *, required: bool = True) -> JSON | None:
    raw = await request.body()
    if not raw.strip():
        if required:
            raise ValidationError("request body must be a JSON object")
        return None
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ValidationError("request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ValidationError("request body must be a JSON object")
    return body


def _str(body: JSON, key: str, *, required: bool = False) -> str | None:
    value = body.get(key)
    if value is None:
        if required:
            raise ValidationError(f"{key} is required")
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{key} must be a non-empty string")
    return value.strip()


def _dict(body: JSON, key: str) -> JSON | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValidationError(f"{key} must be an object")
    return value


def _bool(body: JSON, key: str) -> bool | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise ValidationError(f"{key} must be true or false")
    return value


def _store(request: Request) -> SandboxStore:
    store: SandboxStore = request.app.state.store
    return store


# --------------------------------------------------------------------------- iMBRACE channels


async def list_channels(request: Request) -> Response:
    store = _store(request)
    wanted = request.query_params.get("type") or None
    if wanted is not None and wanted not in seed.PLATFORMS:
        raise ValidationError(f"type must be one of {', '.join(seed.PLATFORMS)}")
    items = store.list_channels(wanted)
    limit, offset = paging(request, None, len(items))
    return paged(items[offset : offset + limit], len(items), limit, offset)


async def count_channels(request: Request) -> Response:
    return ok({"count": _store(request).count_channels()})


async def get_channel(request: Request) -> Response:
    return ok(_store(request).get_channel(request.path_params["channel_id"]))


_LIFTED_FIELDS = ("page_id", "credential_id", "phone_number_id", "email")


async def create_channel(request: Request) -> Response:
    body = await json_body(request)
    assert body is not None
    platform = _str(body, "type", required=True)
    assert platform is not None
    if platform not in seed.PLATFORMS:
        raise ValidationError(f"type must be one of {', '.join(seed.PLATFORMS)}")
    name = _str(body, "name", required=True)
    assert name is not None
    config = _dict(body, "config") or {}
    # Platform identifiers may come at the top level or inside config; expose them top-level.
    extra = {k: body.get(k, config.get(k)) for k in _LIFTED_FIELDS if body.get(k, config.get(k)) is not None}
    doc = _store(request).create_channel(platform, name, config, extra, description=_str(body, "description"))
    return ok(doc, 201)


async def update_channel(request: Request) -> Response:
    body = await json_body(request)
    assert body is not None
    name = _str(body, "name")
    active = _bool(body, "active")
    if active is None:
        active = _bool(body, "is_active")
    config = _dict(body, "config")
    description = _str(body, "description")
    if name is None and active is None and config is None and description is None:
        raise ValidationError("nothing to update: send at least one of name, active, config")
    doc = _store(request).update_channel(
        request.path_params["channel_id"], name=name, active=active, config=config, description=description
    )
    return ok(doc)


async def delete_channel(request: Request) -> Response:
    channel_id = request.path_params["channel_id"]
    _store(request).delete_channel(channel_id)
    return ok({"id": channel_id, "deleted": True})


def _simple_create(platform: str) -> Handler:
    async def handler(request: Request) -> Response:
        body = await json_body(request)
        assert body is not None
        name = _str(body, "name", required=True)
        assert name is not None
        doc = _store(request).create_channel(platform, name, _dict(body, "config"))
        return ok(doc, 201)

    handler.__name__ = f"create_{platform}_channel"
    return handler


async def create_email_channel(request: Request) -> Response:
    body = await json_body(request)
    assert body is not None
    email = _str(body, "email", required=True)
    assert email is not None
    email = check_email(email)
    name = _str(body, "name") or email
    doc = _store(request).create_channel("email", name, _dict(body, "config"), {"email": email})
    return ok(doc, 201)


def _check_page(store: SandboxStore, credential_id: str, page_id: str, *, exclude_channel: str | None = None) -> JSON:
    pages = {p["_id"]: p for p in store.facebook_pages(credential_id)}
    if page_id not in pages:
        raise ValidationError(f"page {page_id} is not accessible with credential {credential_id}")
    for channel in store.list_channels("facebook"):
        if channel.get("page_id") == page_id and channel["id"] != exclude_channel:
            raise ConflictError(f"page {page_id} is already connected to channel {channel['id']}")
    return pages[page_id]


async def create_facebook_channel(request: Request) -> Response:
    body = await json_body(request)
    assert body is not None
    page_id = _str(body, "page_id", required=True)
    credential_id = _str(body, "credential_id", required=True)
    assert page_id is not None and credential_id is not None
    store = _store(request)
    page = _check_page(store, credential_id, page_id)
    name = _str(body, "name") or str(page["name"])
    config = {"page_access_token": f"EAAGsandboxFAKEpage{page_id}", **(_dict(body, "config") or {})}
    doc = store.create_channel("facebook", name, config, {"page_id": page_id, "credential_id": credential_id})
    return ok(doc, 201)


async def update_facebook_channel(request: Request) -> Response:
    body = await json_body(request)
    assert body is not None
    channel_id = _str(body, "channel_id", required=True)
    assert channel_id is not None
    page_id = _str(body, "page_id")
    credential_id = _str(body, "credential_id")
    name = _str(body, "name")
    config = _dict(body, "config")
    if page_id is None and credential_id is None and name is None and config is None:
        raise ValidationError("nothing to update: send at least one of page_id, credential_id, name, config")
    store = _store(request)
    current = store.get_channel(channel_id)
    if current["type"] != "facebook":
        raise ValidationError(f"channel {channel_id} is a {current['type']} channel, not facebook")
    if page_id is not None or credential_id is not None:
        new_credential = credential_id or str(current.get("credential_id") or "")
        new_page = page_id or str(current.get("page_id") or "")
        _check_page(store, new_credential, new_page, exclude_channel=channel_id)
    extra = {k: v for k, v in (("page_id", page_id), ("credential_id", credential_id)) if v is not None}
    doc = store.update_channel(channel_id, name=name, config=config, extra=extra, platform="facebook")
    return ok(doc)


async def create_whatsapp_channel(request: Request) -> Response:
    body = await json_body(request)
    assert body is not None
    phone_number_id = _str(body, "phone_number_id", required=True)
    access_token = _str(body, "access_token", required=True)
    assert phone_number_id is not None and access_token is not None
    name = _str(body, "name") or f"WhatsApp {phone_number_id}"
    config = {**(_dict(body, "config") or {}), "access_token": access_token}
    doc = _store(request).create_channel("whatsapp", name, config, {"phone_number_id": phone_number_id})
    return ok(doc, 201)


async def update_whatsapp_channel(request: Request) -> Response:
    body = await json_body(request)
    assert body is not None
    channel_id = _str(body, "channel_id", required=True)
    assert channel_id is not None
    phone_number_id = _str(body, "phone_number_id")
    access_token = _str(body, "access_token")
    name = _str(body, "name")
    config = _dict(body, "config")
    if phone_number_id is None and access_token is None and name is None and config is None:
        raise ValidationError("nothing to update: send at least one of phone_number_id, access_token, name, config")
    if access_token is not None:
        config = {**(config or {}), "access_token": access_token}
    extra = {"phone_number_id": phone_number_id} if phone_number_id is not None else None
    doc = _store(request).update_channel(channel_id, name=name, config=config, extra=extra, platform="whatsapp")
    return ok(doc)


# --------------------------------------------------------------------------- credentials, workflows, teams


async def facebook_pages(request: Request) -> Response:
    return ok(_store(request).facebook_pages(request.path_params["credential_id"]))


async def get_credential(request: Request) -> Response:
    return ok(_store(request).get_credential(request.path_params["credential_id"]))


async def update_credential(request: Request) -> Response:
    body = await json_body(request)
    assert body is not None
    name = _str(body, "name")
    credentials = _dict(body, "credentials")
    if name is None and credentials is None:
        raise ValidationError("nothing to update: send name and/or credentials")
    doc = _store(request).update_credential(request.path_params["credential_id"], name=name, credentials=credentials)
    return ok(doc)


async def delete_credential(request: Request) -> Response:
    credential_id = request.path_params["credential_id"]
    _store(request).delete_credential(credential_id)
    return ok({"id": credential_id, "deleted": True})


async def update_workflow(request: Request) -> Response:
    body = await json_body(request)
    assert body is not None
    channel_id = _str(body, "channel_id", required=True)
    assert channel_id is not None
    doc = _store(request).update_workflow(
        request.path_params["workflow_id"], channel_id=channel_id, config=_dict(body, "config")
    )
    return ok(doc)


async def delete_workflow(request: Request) -> Response:
    workflow_id = request.path_params["workflow_id"]
    _store(request).delete_workflow(workflow_id)
    return ok({"id": workflow_id, "deleted": True})


async def list_teams(request: Request) -> Response:
    return ok(_store(request).list_teams())


async def team_observers(request: Request) -> Response:
    return ok(_store(request).team_observers(request.path_params["team_id"]))


# --------------------------------------------------------------------------- contacts


async def list_contacts(request: Request) -> Response:
    store = _store(request)
    limit, offset = paging(request, 50, store.contact_total())
    items, total = store.list_contacts(offset, limit)
    return paged(items, total, limit, offset)


async def search_contacts(request: Request) -> Response:
    query = request.query_params.get("q", "")
    if not query.strip():
        raise ValidationError("q is required")
    limit, offset = paging(request, 10, 0)
    items, total = _store(request).search_contacts(query, offset, limit)
    return paged(items, total, limit, offset)


async def export_contacts(request: Request) -> Response:
    text = _store(request).export_contacts_csv(request.query_params.get("sort") or None)
    return Response(
        text.encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": 'attachment; filename="contacts.csv"'},
    )


def _clean_filename(raw: str | None) -> str:
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    return name or "upload.bin"


async def upload_file(request: Request) -> Response:
    async with request.form(max_files=1, max_fields=20) as form:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise ValidationError("multipart field 'file' is required")
        digest = hashlib.sha256()
        size = 0
        while chunk := await upload.read(1024 * 1024):
            size += len(chunk)
            if size > MAX_UPLOAD_BYTES:
                raise HTTPException(413, f"file is larger than {MAX_UPLOAD_BYTES} bytes")
            digest.update(chunk)
        filename = _clean_filename(upload.filename)
        content_type = upload.content_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
    doc = _store(request).record_upload(filename, content_type, size, digest.hexdigest())
    url = f"https://sandbox.invalid/files/{doc['id']}/{quote(filename)}"
    return ok({"id": doc["id"], "url": url, "filename": filename, "size": size, "content_type": content_type}, 201)


async def get_contact(request: Request) -> Response:
    return ok(_store(request).get_contact(request.path_params["contact_id"]))


async def update_contact(request: Request) -> Response:
    body = await json_body(request)
    assert body is not None
    fields: dict[str, str | None] = {}
    # The contract's (and SDK's) names; the OpenAPI file's display_name/phone_number are accepted too.
    for key, alias in (("name", "display_name"), ("email", "email"), ("phone", "phone_number")):
        value = body.get(key, body.get(alias))
        if value is not None and not isinstance(value, str):
            raise ValidationError(f"{key} must be a string")
        fields[key] = value
    doc = _store(request).update_contact(
        request.path_params["contact_id"], name=fields["name"], email=fields["email"], phone=fields["phone"]
    )
    return ok(doc)


async def contact_conversations(request: Request) -> Response:
    types = _csv_param(request, "channel_types", seed.PLATFORMS)
    return ok(_store(request).contact_conversations(request.path_params["contact_id"], types))


async def contact_comments(request: Request) -> Response:
    types = _csv_param(request, "channel_types", seed.PLATFORMS)
    items = _store(request).contact_comments(request.path_params["contact_id"], types)
    limit, offset = paging(request, 20, len(items))
    return paged(items[offset : offset + limit], len(items), limit, offset)


async def contact_files(request: Request) -> Response:
    return ok(_store(request).contact_files(request.path_params["contact_id"]))


async def conversation_activities(request: Request) -> Response:
    return ok(_store(request).conversation_activities(request.path_params["conversation_id"]))


# --------------------------------------------------------------------------- notifications


async def list_notifications(request: Request) -> Response:
    store = _store(request)
    limit, offset = paging(request, 20, 0)
    items, total = store.list_notifications(offset, limit)
    return paged(items, total, limit, offset)


async def mark_notifications_read(request: Request) -> Response:
    body = await json_body(request, required=False)
    ids: list[str] | None = None
    if body is not None and body.get("notification_id") is not None:
        raw = body["notification_id"]
        ids = [raw] if isinstance(raw, str) else raw
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) and i for i in ids):
            raise ValidationError("notification_id must be a non-empty list of ids")
    return ok({"updated": _store(request).mark_notifications_read(ids)})


async def dismiss_notification(request: Request) -> Response:
    body = await json_body(request)
    assert body is not None
    notification_id = _str(body, "notification_id", required=True)
    assert notification_id is not None
    _store(request).dismiss_notification(notification_id)
    return ok({"id": notification_id, "deleted": True})


async def dismiss_all_notifications(request: Request) -> Response:
    return ok({"dismissed": _store(request).dismiss_all_notifications()})


# --------------------------------------------------------------------------- Bird


def _encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode().rstrip("=")


def _decode_token(token: str) -> int:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        offset = data["o"]
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise ValidationError("pageToken is not valid") from None
    if not isinstance(offset, int) or offset < 0:
        raise ValidationError("pageToken is not valid")
    return offset


async def bird_list_channels(request: Request) -> Response:
    limit = _int_param(request, "limit", minimum=1, maximum=100) or 20
    token = request.query_params.get("pageToken")
    offset = _decode_token(token) if token else 0
    items = _store(request).bird_list_channels(
        request.path_params["workspace_id"],
        platform=request.query_params.get("platform") or None,
        status=request.query_params.get("status") or None,
    )
    body: JSON = {"results": items[offset : offset + limit]}
    if offset + limit < len(items):
        body["nextPageToken"] = _encode_token(offset + limit)
    return JSONResponse(body)


async def bird_get_channel(request: Request) -> Response:
    doc = _store(request).bird_get_channel(request.path_params["workspace_id"], request.path_params["channel_id"])
    return JSONResponse(doc)


async def bird_channel_contact(request: Request) -> Response:
    params = request.path_params
    doc = _store(request).bird_channel_contact(params["workspace_id"], params["channel_id"], params["contact_id"])
    return JSONResponse(doc)


# --------------------------------------------------------------------------- admin


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok", "contacts": _store(request).contact_total()})


def _faults_json(faults: FaultConfig) -> JSON:
    return {
        "rate_429": faults.rate_429,
        "rate_5xx": faults.rate_5xx,
        "latency_ms": faults.latency_ms,
        "retry_after": faults.retry_after,
        "seed": faults.seed,
        "statuses_5xx": list(faults.statuses_5xx),
    }


async def faults_endpoint(request: Request) -> Response:
    if request.method == "PUT":
        body = await json_body(request)
        assert body is not None
        current = _faults_json(request.app.state.faults)
        unknown = set(body) - set(current)
        if unknown:
            raise ValidationError(f"unknown fault settings: {', '.join(sorted(unknown))}")
        merged = {**current, **body}
        try:
            merged["statuses_5xx"] = tuple(merged["statuses_5xx"])
            request.app.state.faults = FaultConfig(**merged)
        except (TypeError, ValueError) as exc:
            raise ValidationError(str(exc)) from None
    return JSONResponse(_faults_json(request.app.state.faults))


# --------------------------------------------------------------------------- middleware and errors


class GatewayMiddleware:
    """Records requests, checks the provider's auth header, then injects configured faults."""

    def __init__(self, app: ASGIApp, api_key: str) -> None:
        self.app = app
        self.api_key = api_key.encode()

    def _authorised(self, path: str, headers: dict[bytes, bytes]) -> bool:
        if path.startswith(BIRD_PREFIX):
            scheme, _, token = headers.get(b"authorization", b"").partition(b" ")
            return scheme.lower() == b"accesskey" and hmac.compare_digest(token.strip(), self.api_key)
        return any(hmac.compare_digest(headers.get(h, b""), self.api_key) for h in (b"x-api-key", b"x-access-token"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path.startswith(ADMIN_PREFIX):
            await self.app(scope, receive, send)
            return
        state = scope["app"].state
        requests: list[tuple[str, str]] = state.requests
        requests.append((scope["method"], path))
        if len(requests) > MAX_RECORDED_REQUESTS:
            del requests[: MAX_RECORDED_REQUESTS // 2]
        if not (path.startswith(IMBRACE_PREFIX + "/") or path.startswith(BIRD_PREFIX)):
            await self.app(scope, receive, send)  # unknown prefix: let the router answer 404
            return
        headers = dict(scope["headers"])
        if not self._authorised(path, headers):
            expected = "Authorization: AccessKey <key>" if path.startswith(BIRD_PREFIX) else "x-api-key: <key>"
            response = error_response(path, 401, f"missing or invalid credentials; send {expected}")
            await response(scope, receive, send)
            return
        faults: FaultConfig = state.faults
        if faults.latency_ms > 0:
            await anyio.sleep(faults.latency_ms / 1000)
        kind, status = faults.roll()
        if kind == "429":
            response = error_response(
                path, 429, "rate limit exceeded (sandbox fault injection)", {"retry-after": str(faults.retry_after)}
            )
            await response(scope, receive, send)
            return
        if kind == "5xx":
            response = error_response(path, status, "upstream failure (sandbox fault injection)")
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


async def _store_error(request: Request, exc: Exception) -> Response:
    status = 400
    if isinstance(exc, NotFoundError):
        status = 404
    elif isinstance(exc, ConflictError):
        status = 409
    elif isinstance(exc, ValidationError):
        status = 400
    return error_response(request.url.path, status, str(exc))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = exc.detail
    if exc.status_code == 404 and message == "Not Found":
        message = f"no route for {request.method} {request.url.path}"
    elif exc.status_code == 405:
        message = f"method {request.method} is not allowed on {request.url.path}"
    return error_response(request.url.path, exc.status_code, str(message), dict(exc.headers or {}))


# --------------------------------------------------------------------------- assembly


def _routes() -> list[Route]:
    v1 = f"{IMBRACE_PREFIX}/v1"
    v2 = f"{IMBRACE_PREFIX}/v2"
    v3 = f"{IMBRACE_PREFIX}/v3"
    ws = "/workspaces/{workspace_id}/channels"
    # Literal segments (_count, _web, _search, ...) must come before the {id} routes they resemble.
    return [
        Route(f"{v1}/channels", list_channels, methods=["GET"]),
        Route(f"{v1}/channels", create_channel, methods=["POST"]),
        Route(f"{v1}/channels/_count", count_channels, methods=["GET"]),
        Route(f"{v1}/channels/_web", _simple_create("web"), methods=["POST"]),
        Route(f"{v3}/channels/_web", _simple_create("web"), methods=["POST"]),
        Route(f"{v3}/channels/_facebook", create_facebook_channel, methods=["POST"]),
        Route(f"{v2}/channels/_facebook", update_facebook_channel, methods=["PUT"]),
        Route(f"{v1}/channels/_instagram", _simple_create("instagram"), methods=["POST"]),
        Route(f"{v1}/channels/_email", create_email_channel, methods=["POST"]),
        Route(f"{v1}/channels/_wechat", _simple_create("wechat"), methods=["POST"]),
        Route(f"{v1}/channels/_line", _simple_create("line"), methods=["POST"]),
        Route(f"{v1}/channels/_whatsapp", create_whatsapp_channel, methods=["POST"]),
        Route(f"{v2}/channels/_whatsapp", create_whatsapp_channel, methods=["POST"]),
        Route(f"{v3}/channels/_whatsapp", create_whatsapp_channel, methods=["POST"]),
        Route(f"{v2}/channels/_whatsapp", update_whatsapp_channel, methods=["PUT"]),
        Route(f"{v1}/channels/_facebook/credential/{{credential_id}}", facebook_pages, methods=["GET"]),
        Route(f"{v1}/channels/credentials/{{credential_id}}", get_credential, methods=["GET"]),
        Route(f"{v1}/channels/credentials/{{credential_id}}", update_credential, methods=["PUT"]),
        Route(f"{v1}/channels/credentials/{{credential_id}}", delete_credential, methods=["DELETE"]),
        Route(f"{v1}/channels/workflows/{{workflow_id}}", update_workflow, methods=["PUT"]),
        Route(f"{v1}/channels/workflows/{{workflow_id}}", delete_workflow, methods=["DELETE"]),
        Route(f"{v1}/channels/{{channel_id}}", get_channel, methods=["GET"]),
        Route(f"{v1}/channels/{{channel_id}}", update_channel, methods=["PUT"]),
        Route(f"{v1}/channels/{{channel_id}}", delete_channel, methods=["DELETE"]),
        Route(f"{v3}/channels/{{channel_id}}", delete_channel, methods=["DELETE"]),
        Route(f"{v1}/assign/teams/all", list_teams, methods=["GET"]),
        Route(f"{v1}/assign/team/{{team_id}}/observers", team_observers, methods=["GET"]),
        Route(f"{v1}/contacts", list_contacts, methods=["GET"]),
        Route(f"{v1}/contacts/_search", search_contacts, methods=["GET"]),
        Route(f"{v1}/contacts/_export_csv", export_contacts, methods=["GET"]),
        Route(f"{v1}/contacts/_fileupload", upload_file, methods=["POST"]),
        Route(f"{v1}/contacts/{{contact_id}}", get_contact, methods=["GET"]),
        Route(f"{v1}/contacts/{{contact_id}}", update_contact, methods=["PUT"]),
        Route(f"{v1}/contacts/{{contact_id}}/conversations", contact_conversations, methods=["GET"]),
        Route(f"{v1}/contacts/{{contact_id}}/comments", contact_comments, methods=["GET"]),
        Route(f"{v1}/contact/{{contact_id}}/files", contact_files, methods=["GET"]),
        Route(f"{v1}/conversations_activities/{{conversation_id}}", conversation_activities, methods=["GET"]),
        Route(f"{v1}/notifications", list_notifications, methods=["GET"]),
        Route(f"{v1}/notifications/read", mark_notifications_read, methods=["PUT"]),
        Route(f"{v1}/notifications/dismiss/all", dismiss_all_notifications, methods=["DELETE"]),
        Route(f"{v1}/notifications/dismiss", dismiss_notification, methods=["DELETE"]),
        Route(ws, bird_list_channels, methods=["GET"]),
        Route(f"{ws}/{{channel_id}}", bird_get_channel, methods=["GET"]),
        Route(f"{ws}/{{channel_id}}/contacts/{{contact_id}}", bird_channel_contact, methods=["GET"]),
        Route("/_sandbox/health", health, methods=["GET"]),
        Route("/_sandbox/faults", faults_endpoint, methods=["GET", "PUT"]),
    ]


def create_app(
    *,
    api_key: str = "sandbox-key",
    data_path: str | None = None,
    faults: FaultConfig | None = None,
    contacts: int = 240,
) -> Starlette:
    """Build the sandbox app; ``app.state`` holds ``store``, ``faults`` (mutable) and ``requests``."""
    if not api_key:
        raise ValueError("api_key must not be empty")
    store = SandboxStore(data_path, contacts=contacts)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        store.close()

    app = Starlette(
        routes=_routes(),
        middleware=[Middleware(GatewayMiddleware, api_key=api_key)],
        exception_handlers={StoreError: _store_error, HTTPException: _http_error},
        lifespan=lifespan,
    )
    app.state.store = store
    app.state.faults = faults if faults is not None else FaultConfig()
    app.state.requests = []
    app.state.api_key = api_key
    return app
