"""The sandbox's iMBRACE channel-service routes, under ``/channel-service/v1|v2|v3``.

One function per route; ``ROUTES`` at the end is the table ``app.py`` mounts. Answers are
``{"success": true, "data": ...}``, lists add ``pagination`` and ``total`` (see ``routing.py``).
Default page sizes: channels everything, contacts 50, search 10, comments and notifications 20.
"""

from __future__ import annotations

import hashlib
import mimetypes
from urllib.parse import quote

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.routing import Route

from channel_mcp.sandbox import seed
from channel_mcp.sandbox.routing import JSON, Call, ok, paged, route
from channel_mcp.sandbox.store import ConflictError, SandboxStore, ValidationError, check_email

__all__ = ["MAX_UPLOAD_BYTES", "PREFIX", "ROUTES"]

PREFIX = "/channel-service"
MAX_UPLOAD_BYTES = 25 * 1024 * 1024
_LIFTED_FIELDS = ("page_id", "credential_id", "phone_number_id", "email")


# --------------------------------------------------------------------------- channels


async def list_channels(call: Call) -> Response:
    wanted = call.query("type")
    if wanted is not None and wanted not in seed.PLATFORMS:
        raise ValidationError(f"type must be one of {', '.join(seed.PLATFORMS)}")
    items = call.store.list_channels(wanted)
    limit, offset = call.paging(None, len(items))
    return paged(items[offset : offset + limit], len(items), limit, offset)


async def count_channels(call: Call) -> Response:
    return ok({"count": call.store.count_channels()})


async def get_channel(call: Call) -> Response:
    return ok(call.store.get_channel(call.path("channel_id")))


async def create_channel(call: Call) -> Response:
    body = await call.body()
    platform = body.required_text("type")
    if platform not in seed.PLATFORMS:
        raise ValidationError(f"type must be one of {', '.join(seed.PLATFORMS)}")
    name = body.required_text("name")
    config = body.obj("config") or {}
    # Platform identifiers may come at the top level or inside config; expose them top-level.
    extra = {k: body.get(k, config.get(k)) for k in _LIFTED_FIELDS if body.get(k, config.get(k)) is not None}
    doc = call.store.create_channel(platform, name, config, extra, description=body.text("description"))
    return ok(doc, 201)


async def update_channel(call: Call) -> Response:
    body = await call.body()
    name = body.text("name")
    active = body.flag("active")
    if active is None:
        active = body.flag("is_active")
    config = body.obj("config")
    description = body.text("description")
    if name is None and active is None and config is None and description is None:
        raise ValidationError("nothing to update: send at least one of name, active, config")
    doc = call.store.update_channel(
        call.path("channel_id"), name=name, active=active, config=config, description=description
    )
    return ok(doc)


async def delete_channel(call: Call) -> Response:
    channel_id = call.path("channel_id")
    call.store.delete_channel(channel_id)
    return ok({"id": channel_id, "deleted": True})


async def _create_named(call: Call, platform: str) -> Response:
    """A channel whose create body is just ``name`` and an optional ``config``."""
    body = await call.body()
    name = body.required_text("name")
    doc = call.store.create_channel(platform, name, body.obj("config"))
    return ok(doc, 201)


async def create_web_channel(call: Call) -> Response:
    return await _create_named(call, "web")


async def create_instagram_channel(call: Call) -> Response:
    return await _create_named(call, "instagram")


async def create_wechat_channel(call: Call) -> Response:
    return await _create_named(call, "wechat")


async def create_line_channel(call: Call) -> Response:
    return await _create_named(call, "line")


async def create_email_channel(call: Call) -> Response:
    body = await call.body()
    email = check_email(body.required_text("email"))
    name = body.text("name") or email
    doc = call.store.create_channel("email", name, body.obj("config"), {"email": email})
    return ok(doc, 201)


def _check_page(store: SandboxStore, credential_id: str, page_id: str, *, exclude_channel: str | None = None) -> JSON:
    pages = {p["_id"]: p for p in store.facebook_pages(credential_id)}
    if page_id not in pages:
        raise ValidationError(f"page {page_id} is not accessible with credential {credential_id}")
    for channel in store.list_channels("facebook"):
        if channel.get("page_id") == page_id and channel["id"] != exclude_channel:
            raise ConflictError(f"page {page_id} is already connected to channel {channel['id']}")
    return pages[page_id]


async def create_facebook_channel(call: Call) -> Response:
    body = await call.body()
    page_id = body.required_text("page_id")
    credential_id = body.required_text("credential_id")
    page = _check_page(call.store, credential_id, page_id)
    name = body.text("name") or str(page["name"])
    config = {"page_access_token": f"EAAGsandboxFAKEpage{page_id}", **(body.obj("config") or {})}
    doc = call.store.create_channel("facebook", name, config, {"page_id": page_id, "credential_id": credential_id})
    return ok(doc, 201)


async def update_facebook_channel(call: Call) -> Response:
    body = await call.body()
    channel_id = body.required_text("channel_id")
    page_id = body.text("page_id")
    credential_id = body.text("credential_id")
    name = body.text("name")
    config = body.obj("config")
    if page_id is None and credential_id is None and name is None and config is None:
        raise ValidationError("nothing to update: send at least one of page_id, credential_id, name, config")
    store = call.store
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


async def create_whatsapp_channel(call: Call) -> Response:
    body = await call.body()
    phone_number_id = body.required_text("phone_number_id")
    access_token = body.required_text("access_token")
    name = body.text("name") or f"WhatsApp {phone_number_id}"
    config = {**(body.obj("config") or {}), "access_token": access_token}
    doc = call.store.create_channel("whatsapp", name, config, {"phone_number_id": phone_number_id})
    return ok(doc, 201)


async def update_whatsapp_channel(call: Call) -> Response:
    body = await call.body()
    channel_id = body.required_text("channel_id")
    phone_number_id = body.text("phone_number_id")
    access_token = body.text("access_token")
    name = body.text("name")
    config = body.obj("config")
    if phone_number_id is None and access_token is None and name is None and config is None:
        raise ValidationError("nothing to update: send at least one of phone_number_id, access_token, name, config")
    if access_token is not None:
        config = {**(config or {}), "access_token": access_token}
    extra = {"phone_number_id": phone_number_id} if phone_number_id is not None else None
    doc = call.store.update_channel(channel_id, name=name, config=config, extra=extra, platform="whatsapp")
    return ok(doc)


# --------------------------------------------------------------------------- credentials, workflows, teams


async def facebook_pages(call: Call) -> Response:
    return ok(call.store.facebook_pages(call.path("credential_id")))


async def get_credential(call: Call) -> Response:
    return ok(call.store.get_credential(call.path("credential_id")))


async def update_credential(call: Call) -> Response:
    body = await call.body()
    name = body.text("name")
    credentials = body.obj("credentials")
    if name is None and credentials is None:
        raise ValidationError("nothing to update: send name and/or credentials")
    doc = call.store.update_credential(call.path("credential_id"), name=name, credentials=credentials)
    return ok(doc)


async def delete_credential(call: Call) -> Response:
    credential_id = call.path("credential_id")
    call.store.delete_credential(credential_id)
    return ok({"id": credential_id, "deleted": True})


async def update_workflow(call: Call) -> Response:
    body = await call.body()
    channel_id = body.required_text("channel_id")
    doc = call.store.update_workflow(call.path("workflow_id"), channel_id=channel_id, config=body.obj("config"))
    return ok(doc)


async def delete_workflow(call: Call) -> Response:
    workflow_id = call.path("workflow_id")
    call.store.delete_workflow(workflow_id)
    return ok({"id": workflow_id, "deleted": True})


async def list_teams(call: Call) -> Response:
    return ok(call.store.list_teams())


async def team_observers(call: Call) -> Response:
    return ok(call.store.team_observers(call.path("team_id")))


# --------------------------------------------------------------------------- contacts


async def list_contacts(call: Call) -> Response:
    limit, offset = call.paging(50, call.store.contact_total())
    items, total = call.store.list_contacts(offset, limit)
    return paged(items, total, limit, offset)


async def search_contacts(call: Call) -> Response:
    query = call.query("q") or ""
    if not query.strip():
        raise ValidationError("q is required")
    limit, offset = call.paging(10, 0)
    items, total = call.store.search_contacts(query, offset, limit)
    return paged(items, total, limit, offset)


async def export_contacts(call: Call) -> Response:
    text = call.store.export_contacts_csv(call.query("sort"))
    return Response(
        text.encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": 'attachment; filename="contacts.csv"'},
    )


def _clean_filename(raw: str | None) -> str:
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    return name or "upload.bin"


async def upload_file(call: Call) -> Response:
    async with call.request.form(max_files=1, max_fields=20) as form:
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
    doc = call.store.record_upload(filename, content_type, size, digest.hexdigest())
    url = f"https://sandbox.invalid/files/{doc['id']}/{quote(filename)}"
    return ok({"id": doc["id"], "url": url, "filename": filename, "size": size, "content_type": content_type}, 201)


async def get_contact(call: Call) -> Response:
    return ok(call.store.get_contact(call.path("contact_id")))


async def update_contact(call: Call) -> Response:
    body = await call.body()
    fields: dict[str, str | None] = {}
    # The contract's (and SDK's) names; the OpenAPI file's display_name/phone_number are accepted too.
    for key, alias in (("name", "display_name"), ("email", "email"), ("phone", "phone_number")):
        value = body.get(key, body.get(alias))
        if value is not None and not isinstance(value, str):
            raise ValidationError(f"{key} must be a string")
        fields[key] = value
    doc = call.store.update_contact(
        call.path("contact_id"), name=fields["name"], email=fields["email"], phone=fields["phone"]
    )
    return ok(doc)


async def contact_conversations(call: Call) -> Response:
    types = call.csv_query("channel_types", seed.PLATFORMS)
    return ok(call.store.contact_conversations(call.path("contact_id"), types))


async def contact_comments(call: Call) -> Response:
    types = call.csv_query("channel_types", seed.PLATFORMS)
    items = call.store.contact_comments(call.path("contact_id"), types)
    limit, offset = call.paging(20, len(items))
    return paged(items[offset : offset + limit], len(items), limit, offset)


async def contact_files(call: Call) -> Response:
    return ok(call.store.contact_files(call.path("contact_id")))


async def conversation_activities(call: Call) -> Response:
    return ok(call.store.conversation_activities(call.path("conversation_id")))


# --------------------------------------------------------------------------- notifications


async def list_notifications(call: Call) -> Response:
    limit, offset = call.paging(20, 0)
    items, total = call.store.list_notifications(offset, limit)
    return paged(items, total, limit, offset)


async def mark_notifications_read(call: Call) -> Response:
    body = await call.optional_body()
    ids: list[str] | None = None
    if body is not None and body.get("notification_id") is not None:
        raw = body.get("notification_id")
        ids = [raw] if isinstance(raw, str) else raw
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) and i for i in ids):
            raise ValidationError("notification_id must be a non-empty list of ids")
    return ok({"updated": call.store.mark_notifications_read(ids)})


async def dismiss_notification(call: Call) -> Response:
    body = await call.body()
    notification_id = body.required_text("notification_id")
    call.store.dismiss_notification(notification_id)
    return ok({"id": notification_id, "deleted": True})


async def dismiss_all_notifications(call: Call) -> Response:
    return ok({"dismissed": call.store.dismiss_all_notifications()})


# --------------------------------------------------------------------------- route table

_V1 = f"{PREFIX}/v1"
_V2 = f"{PREFIX}/v2"
_V3 = f"{PREFIX}/v3"

# Order matters: literal segments (_count, _web, _search, ...) before the {id} routes they resemble,
# and for a path with several methods the first route's methods answer a 405's Allow header.
ROUTES: list[Route] = [
    route(f"{_V1}/channels", list_channels, methods=["GET"]),
    route(f"{_V1}/channels", create_channel, methods=["POST"]),
    route(f"{_V1}/channels/_count", count_channels, methods=["GET"]),
    route(f"{_V1}/channels/_web", create_web_channel, methods=["POST"]),
    route(f"{_V3}/channels/_web", create_web_channel, methods=["POST"]),
    route(f"{_V3}/channels/_facebook", create_facebook_channel, methods=["POST"]),
    route(f"{_V2}/channels/_facebook", update_facebook_channel, methods=["PUT"]),
    route(f"{_V1}/channels/_instagram", create_instagram_channel, methods=["POST"]),
    route(f"{_V1}/channels/_email", create_email_channel, methods=["POST"]),
    route(f"{_V1}/channels/_wechat", create_wechat_channel, methods=["POST"]),
    route(f"{_V1}/channels/_line", create_line_channel, methods=["POST"]),
    route(f"{_V1}/channels/_whatsapp", create_whatsapp_channel, methods=["POST"]),
    route(f"{_V2}/channels/_whatsapp", create_whatsapp_channel, methods=["POST"]),
    route(f"{_V3}/channels/_whatsapp", create_whatsapp_channel, methods=["POST"]),
    route(f"{_V2}/channels/_whatsapp", update_whatsapp_channel, methods=["PUT"]),
    route(f"{_V1}/channels/_facebook/credential/{{credential_id}}", facebook_pages, methods=["GET"]),
    route(f"{_V1}/channels/credentials/{{credential_id}}", get_credential, methods=["GET"]),
    route(f"{_V1}/channels/credentials/{{credential_id}}", update_credential, methods=["PUT"]),
    route(f"{_V1}/channels/credentials/{{credential_id}}", delete_credential, methods=["DELETE"]),
    route(f"{_V1}/channels/workflows/{{workflow_id}}", update_workflow, methods=["PUT"]),
    route(f"{_V1}/channels/workflows/{{workflow_id}}", delete_workflow, methods=["DELETE"]),
    route(f"{_V1}/channels/{{channel_id}}", get_channel, methods=["GET"]),
    route(f"{_V1}/channels/{{channel_id}}", update_channel, methods=["PUT"]),
    route(f"{_V1}/channels/{{channel_id}}", delete_channel, methods=["DELETE"]),
    route(f"{_V3}/channels/{{channel_id}}", delete_channel, methods=["DELETE"]),
    route(f"{_V1}/assign/teams/all", list_teams, methods=["GET"]),
    route(f"{_V1}/assign/team/{{team_id}}/observers", team_observers, methods=["GET"]),
    route(f"{_V1}/contacts", list_contacts, methods=["GET"]),
    route(f"{_V1}/contacts/_search", search_contacts, methods=["GET"]),
    route(f"{_V1}/contacts/_export_csv", export_contacts, methods=["GET"]),
    route(f"{_V1}/contacts/_fileupload", upload_file, methods=["POST"]),
    route(f"{_V1}/contacts/{{contact_id}}", get_contact, methods=["GET"]),
    route(f"{_V1}/contacts/{{contact_id}}", update_contact, methods=["PUT"]),
    route(f"{_V1}/contacts/{{contact_id}}/conversations", contact_conversations, methods=["GET"]),
    route(f"{_V1}/contacts/{{contact_id}}/comments", contact_comments, methods=["GET"]),
    route(f"{_V1}/contact/{{contact_id}}/files", contact_files, methods=["GET"]),
    route(f"{_V1}/conversations_activities/{{conversation_id}}", conversation_activities, methods=["GET"]),
    route(f"{_V1}/notifications", list_notifications, methods=["GET"]),
    route(f"{_V1}/notifications/read", mark_notifications_read, methods=["PUT"]),
    route(f"{_V1}/notifications/dismiss/all", dismiss_all_notifications, methods=["DELETE"]),
    route(f"{_V1}/notifications/dismiss", dismiss_notification, methods=["DELETE"]),
]
