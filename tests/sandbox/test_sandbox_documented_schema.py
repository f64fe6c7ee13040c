"""Every seeded sandbox object, as the API answers it, validates against the documented schemas.

The schemas below are transcribed from the API documents (design documents, seeds/000, 001, 002):
`string?` is an optional string (absent, never null), a `nullable` Bird field may be null, enums and
patterns are the documented ones. Undocumented extra fields are allowed, as on a real account. The
walk covers every channel, credential, Facebook page, contact, comment and file, every Bird channel
(listed and fetched), and every seeded Bird contact's window on several channels.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
from jsonschema import Draft202012Validator

from channel_mcp.sandbox import seed

V1 = "/channel-service/v1"
WS = "/workspaces/sandbox-workspace/channels"

STR = {"type": "string"}
ISO = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$"}


def obj(required: list[str], **props: Any) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": props}


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


CHANNEL = obj(
    ["id", "name", "type", "organization_id", "is_active", "created_at", "updated_at"],
    object_name=STR,
    id=STR,
    name=STR,
    type={"enum": ["web", "facebook", "whatsapp", "instagram", "wechat", "line", "email", "wecom"]},
    organization_id=STR,
    business_unit_id=STR,
    is_active={"type": "boolean"},
    config={"type": "object"},
    created_at=ISO,
    updated_at=ISO,
)
CREDENTIAL = obj(["_id"], _id=STR, type=STR, name=STR)
PAGE = obj(["_id"], _id=STR)
CONTACT = obj(
    ["id", "organization_id", "created_at", "updated_at"],
    object_name=STR,
    id=STR,
    organization_id=STR,
    display_name=STR,
    email=STR,
    phone_number=STR,
    avatar_url=STR,
    created_at=ISO,
    updated_at=ISO,
)
COMMENT = obj(["_id"], _id=STR, text=STR, created_at=ISO)
FILE = obj(["_id"], _id=STR, name=STR, url=STR, size={"type": "number"})
SETTING = obj(
    ["key", "value", "visibility"],
    key=STR,
    displayName=STR,
    description=STR,
    visibility=STR,
)
BIRD_CHANNEL = obj(
    ["id", "platformId", "name", "connectorId", "status", "createdAt"],
    id=STR,
    platformId={"type": "string", "pattern": "^[A-Za-z0-9-]+$"},
    name=STR,
    connectorId=STR,
    identifier=STR,
    status={"enum": ["active", "pending", "setting-up", "failed", "inactive", "deleted", "warning"]},
    contactIdentifierKeyOverride=nullable({"type": "string", "pattern": "^[A-Za-z0-9_-]+$"}),
    contactIdentifierFormatOverride=nullable({"type": "object"}),
    platformServiceUrlOverride=nullable({"type": "string", "pattern": "^https://"}),
    platformServiceVersionOverride=nullable({"enum": ["1.0"]}),
    platformServiceProtocolOverride=nullable({"enum": ["http", "https"]}),
    platformMessageJsonSchemaOverride=nullable({"type": "object"}),
    platformTemplateEngineOverride=nullable({"enum": ["default", "liquid"]}),
    capabilities={"type": "object"},
    settings={"type": "array", "items": SETTING},
    connectionParams={"type": "array", "items": SETTING},
    preferences=nullable({"type": "object"}),
    useCaseId=nullable(STR),
    useCaseType=nullable({"enum": ["transactional", "marketing", "conversation"]}),
    channelMessageType={"enum": ["promotional", "2fa", "conversational", "transactional", "emergency"]},
    suites={"type": "array", "items": STR},
    createdAt=ISO,
    updatedAt=ISO,
)
WINDOW = obj(
    ["serviceWindowExpireAt"],
    serviceWindowExpireAt=nullable(ISO),
    isPermanentSession=nullable({"type": "boolean"}),
    metadata=nullable({"type": "object"}),
)


def check(schema: dict[str, Any], items: list[Any], what: str) -> int:
    validator = Draft202012Validator(schema)
    for item in items:
        errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(item)]
        assert not errors, f"{what} {item.get('id', item.get('_id'))}: {errors}"
        for key in ("created_at", "updated_at", "createdAt", "updatedAt"):
            if isinstance(item.get(key), str):
                datetime.fromisoformat(item[key].replace("Z", "+00:00"))
    return len(items)


async def data(client: httpx.AsyncClient, url: str, **params: Any) -> Any:
    r = await client.get(url, params=params)
    assert r.status_code == 200, (url, r.text)
    return r.json()["data"]


async def test_every_imbrace_object_has_the_documented_shape(client: httpx.AsyncClient) -> None:
    channels = await data(client, f"{V1}/channels")
    checked = check(CHANNEL, channels, "channel")
    for channel in channels:
        checked += check(CHANNEL, [await data(client, f"{V1}/channels/{channel['id']}")], "channel")
    assert {c["type"] for c in channels} == set(seed.PLATFORMS)

    for credential in seed.credentials():
        cid = credential["_id"]
        checked += check(CREDENTIAL, [await data(client, f"{V1}/channels/credentials/{cid}")], "credential")
        checked += check(PAGE, await data(client, f"{V1}/channels/_facebook/credential/{cid}"), "page")

    contacts = await data(client, f"{V1}/contacts", limit=1000)
    assert len(contacts) == 240
    checked += check(CONTACT, contacts, "contact")
    for contact in contacts:
        checked += check(COMMENT, await data(client, f"{V1}/contacts/{contact['id']}/comments", limit=100), "comment")
        checked += check(FILE, await data(client, f"{V1}/contact/{contact['id']}/files"), "file")
    checked += check(CONTACT, [await data(client, f"{V1}/contacts/ct_0010")], "contact without email")
    checked += check(CONTACT, await data(client, f"{V1}/contacts/_search", q="nguyen"), "search hit")

    # Objects the sandbox makes must have the shape too.
    made = await client.post(f"{V1}/channels/_whatsapp", json={"phone_number_id": "1", "access_token": "EAAGx"})
    updated = await client.put(f"{V1}/contacts/ct_0011", json={"name": "张伟", "phone": "+86 138 0000 0011"})
    checked += check(CHANNEL, [made.json()["data"]], "created channel")
    checked += check(CONTACT, [updated.json()["data"]], "updated contact")
    assert checked > 1000


async def test_every_bird_object_has_the_documented_shape(bird: httpx.AsyncClient) -> None:
    listed = (await bird.get(WS, params={"limit": 100})).json()["results"]
    assert len(listed) == 28
    check(BIRD_CHANNEL, listed, "Bird channel")
    for channel in listed:
        check(BIRD_CHANNEL, [(await bird.get(f"{WS}/{channel['id']}")).json()], "Bird channel")
    for contact_id, *_ in seed.BIRD_CONTACTS:
        for channel in listed[:4]:
            r = await bird.get(f"{WS}/{channel['id']}/contacts/{contact_id}")
            check(WINDOW, [r.json()], "Bird window")
            assert "serviceWindowExpireAt" in r.json()  # required, even when null


def test_planted_secrets_come_from_the_seed() -> None:
    planted = set(seed.PLANTED_SECRETS)
    assert len(planted) == len(seed.PLANTED_SECRETS)
    private = {
        p["value"]
        for c in seed.bird_channels()
        for p in (*c["settings"], *c["connectionParams"])
        if p["visibility"] != "public"
    }
    assert private <= planted and len(private) == 56
    configs = [c["config"] for c in seed.channels()] + [c["credentials"] for c in seed.credentials()]
    for key in ("page_access_token", "access_token", "app_secret", "channel_secret", "secret"):
        assert any(key in config for config in configs)
        assert {config[key] for config in configs if key in config} <= planted
    # Identifiers are not secrets: they must not be swept as if they were.
    assert not {config.get("app_id") for config in configs} & planted
