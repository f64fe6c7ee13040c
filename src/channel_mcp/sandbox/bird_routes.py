"""The sandbox's Bird Channels routes, under ``/workspaces/{workspace_id}/channels``.

One function per route; ``ROUTES`` at the end is the table ``app.py`` mounts. Lists answer
``{"results": [...], "nextPageToken": "..."}`` (no token on the last page); single objects bare.
"""

from __future__ import annotations

import base64
import binascii
import json

from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from channel_mcp.sandbox.routing import JSON, Call, route
from channel_mcp.sandbox.store import ValidationError

__all__ = ["PREFIX", "ROUTES"]

PREFIX = "/workspaces/"


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


# --------------------------------------------------------------------------- channels


async def bird_list_channels(call: Call) -> Response:
    limit = call.int_query("limit", minimum=1, maximum=100) or 20
    token = call.query("pageToken")
    offset = _decode_token(token) if token else 0
    items = call.store.bird_list_channels(
        call.path("workspace_id"), platform=call.query("platform"), status=call.query("status")
    )
    body: JSON = {"results": items[offset : offset + limit]}
    if offset + limit < len(items):
        body["nextPageToken"] = _encode_token(offset + limit)
    return JSONResponse(body)


async def bird_get_channel(call: Call) -> Response:
    return JSONResponse(call.store.bird_get_channel(call.path("workspace_id"), call.path("channel_id")))


async def bird_channel_contact(call: Call) -> Response:
    doc = call.store.bird_channel_contact(call.path("workspace_id"), call.path("channel_id"), call.path("contact_id"))
    return JSONResponse(doc)


# --------------------------------------------------------------------------- route table

_CHANNELS = "/workspaces/{workspace_id}/channels"

ROUTES: list[Route] = [
    route(_CHANNELS, bird_list_channels, methods=["GET"]),
    route(f"{_CHANNELS}/{{channel_id}}", bird_get_channel, methods=["GET"]),
    route(f"{_CHANNELS}/{{channel_id}}/contacts/{{contact_id}}", bird_channel_contact, methods=["GET"]),
]
