"""Secret masking fails closed: by name at any depth, by declaration, by value shape; paging cursors only
where a cursor can be. Plus the text cleaning (control characters, ANSI escapes) on the way out."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from channel_mcp.config import Settings
from channel_mcp.logs import RedactingFilter
from channel_mcp.masking import PAGING_KEYS, clean, clean_text, is_secret_key, mask_shapes, mask_value
from channel_mcp.sandbox import seed
from tests.conftest import connect

FB_TOKEN = "EAAGsandboxFAKEtoken0001"


@pytest.mark.parametrize(
    "key",
    [
        "page_access_token",
        "pageAccessToken",
        "PAGE_ACCESS_TOKEN",
        "page-token-value",
        "access_token",
        "accessToken",
        "refresh_token",
        "app_secret",
        "clientSecret",
        "password",
        "db_passwd",
        "api_key",
        "apiKey",
        "x-api-key",
        "access_key",
        "AccessKey",
        "private_key",
        "signingKey",
        "authorization",
        "Authorization",
        "cookie",
        "credentials",
        "webhookSecret",
        "pin",
        "totp",
    ],
)
def test_secret_names_are_secret(key: str) -> None:
    assert is_secret_key(key), key


@pytest.mark.parametrize(
    "key",
    ["token_type", "expires_in", "token_count", "secret_count", "credential_id", "tokenType", "page", "pages", "name"],
)
def test_counters_types_and_ids_stay_readable(key: str) -> None:
    assert not is_secret_key(key), key


def test_page_tokens_are_masked_in_configs_credentials_and_items() -> None:
    data = {
        "items": [
            {
                "id": "ch_facebook_001",
                "config": {"page_access_token": FB_TOKEN, "pageToken": "looks-like-a-cursor-1", "token_type": "x1y2"},
                "nextPageToken": "nested-not-a-cursor",
            }
        ],
        "credentials": {"pageAccessToken": "abcdefghijkl-9999", "page_token": "abcdefghijkl-8888"},
        "next": {"page_token": "cursor-at-the-top-1"},
        "nextPageToken": "top-level-cursor-2",
    }
    out = clean(data)
    item = out["items"][0]
    assert item["config"] == {"page_access_token": "****0001", "pageToken": "****or-1", "token_type": "****"}
    assert item["nextPageToken"] == "****rsor"  # not a paging position: inside an item
    assert out["credentials"] == {"pageAccessToken": "****9999", "page_token": "****8888"}
    assert out["next"] == {"page_token": "cursor-at-the-top-1"}
    assert out["nextPageToken"] == "top-level-cursor-2"


def test_a_single_object_has_no_paging_position() -> None:
    assert clean({"id": "ch_1", "pageToken": "secret-in-an-object"}) == {"id": "ch_1", "pageToken": "****ject"}


def test_everything_under_a_secret_name_is_masked() -> None:
    out = clean({"secrets": {"a": "value-aaaa-1111", "b": ["value-bbbb-2222"], "n": 12345, "on": True}})
    assert out == {"secrets": {"a": "****1111", "b": ["****2222"], "n": "****", "on": True}}


def test_hidden_bird_settings_are_masked_whatever_the_key() -> None:
    settings_list = [
        {"key": "displayName", "value": "Shop", "visibility": "public"},
        {"key": "accountRef", "value": "acct-hidden-0042", "visibility": "private"},
        {"key": "limits", "value": {"a": "x-hidden-value"}, "visibility": "internal"},
    ]
    out = clean({"settings": settings_list})
    assert [s["value"] for s in out["settings"]] == ["Shop", "****0042", {"a": "****alue"}]


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("token EAAGm0PX4ZCpsBAKZCtokenvalue1234 here", "EAAGm0PX4ZCpsBAKZCtokenvalue1234"),
        ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.sgn4ture_part", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0"),
        ("Authorization: Bearer abcdef123456789", "abcdef123456789"),
        ("AccessKey live-key-0123456789", "live-key-0123456789"),
        ("key sk_live_51Habcdefghijklmnop", "sk_live_51Habcdefghijklmnop"),
        ("slack xoxb-1234567890-abcdefghij", "xoxb-1234567890-abcdefghij"),
        ("gh ghp_abcdefghijklmnopqrstuvwxyz0123456789", "ghp_abcdefghijklmnopqrstuvwxyz0123456789"),
        ("hook whsec_abcdefgh1234", "whsec_abcdefgh1234"),
    ],
)
def test_credential_shaped_values_are_masked_whatever_the_key(text: str, secret: str) -> None:
    out = clean({"note": text, "nested": [{"free_text": text}]})
    assert secret not in json.dumps(out)
    assert out["note"].endswith(text[-5:]) or "****" in out["note"]


def _seeded_plain_values() -> list[str]:
    values: list[str] = []
    for row in seed.generate_contacts(240):
        values += [v for v in (row[1], row[2], row[3], row[4]) if v]
    for doc in (*seed.channels(), *seed.bird_channels()):
        values += [str(doc[k]) for k in ("id", "name", "identifier", "connectorId", "platformId") if doc.get(k)]
    for cred in seed.credentials():
        values += [str(cred.get("id") or cred.get("_id")), str(cred["name"])]
    values += [c[0] for c in seed.BIRD_CONTACTS]
    return values


def test_no_seeded_id_name_email_or_phone_is_touched() -> None:
    values = _seeded_plain_values()
    assert len(values) > 900
    for value in values:
        assert mask_shapes(clean_text(value)) == value, value
    rows = [{"id": v, "name": v, "email": v, "phone": v} for v in values]
    assert clean({"items": rows})["items"] == rows


def test_control_characters_and_ansi_escapes_are_removed() -> None:
    hostile = "Lan\x1b[2J\x1b[31m red\x1b[0m\x00\x07 \x1b]0;pwned\x07ok\x9b1mC1\x85 tab\tnl\n"
    assert clean_text(hostile) == "Lan red okC1 tab\tnl\n"
    assert clean({"name\x1b[1m": "a\x1b[1mb"}) == {"name": "ab"}


def test_the_log_filter_masks_credential_shapes() -> None:
    record = logging.LogRecord("x", logging.DEBUG, __file__, 1, "upstream said %s", (f"bad token {FB_TOKEN}",), None)
    RedactingFilter([]).filter(record)
    assert FB_TOKEN not in record.getMessage() and "****0001" in record.getMessage()


def test_mask_value_keeps_the_last_four_only_for_long_values() -> None:
    assert mask_value("12345678") == "****"
    assert mask_value("123456789") == "****6789"


# ---------------------------------------------------------------------------------------------- property

_SECRET_KEYS = ["access_token", "pageAccessToken", "page_access_token", "client_secret", "apiKey", "password"]
_PLAIN_KEYS = ["name", "color", "greeting", "count", "page", "languages", "widget"]
_CURSORS = sorted(PAGING_KEYS)
# Cursor names that say "token": exempt at a paging position, secret anywhere else.
_TOKEN_CURSORS = [k for k in _CURSORS if "token" in k]
_value = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=12, max_size=24).map(lambda s: "V" + s)


@st.composite
def _configs(draw: st.DrawFn, depth: int = 0) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["secret", "plain", "cursor", "nest"] if depth < 6 else ["secret", "plain"]))
        if kind == "secret":
            out[draw(st.sampled_from(_SECRET_KEYS))] = "S" + draw(_value)
        elif kind == "cursor":
            out[draw(st.sampled_from(_TOKEN_CURSORS))] = "S" + draw(_value)  # not at a paging position: a secret
        elif kind == "plain":
            out[draw(st.sampled_from(_PLAIN_KEYS))] = "P" + draw(_value)
        else:
            out[draw(st.sampled_from(_PLAIN_KEYS))] = draw(_configs(depth + 1))
    return out


def _leaves(data: Any, prefix: str) -> list[str]:
    if isinstance(data, dict):
        return [v for value in data.values() for v in _leaves(value, prefix)]
    if isinstance(data, list):
        return [v for value in data for v in _leaves(value, prefix)]
    return [data] if isinstance(data, str) and data.startswith(prefix) else []


@settings(max_examples=150, deadline=None)
@given(config=_configs(), cursor=st.sampled_from(_CURSORS), top=_value)
def test_property_secret_names_masked_at_any_depth_cursors_only_at_paging_positions(
    config: dict[str, Any], cursor: str, top: str
) -> None:
    answer = {"items": [{"id": "ch_1", "config": config}], "next": {cursor: "C" + top}, cursor: "C" + top}
    out = clean(answer)
    text = json.dumps(out)
    for secret in _leaves(config, "S"):
        assert secret not in text and secret[:-4] not in text
    for plain in _leaves(config, "P"):
        assert plain in text
    assert out["next"][cursor] == "C" + top and out[cursor] == "C" + top


# ---------------------------------------------------------------------------------------------- end to end


async def test_facebook_page_tokens_never_leave_through_tools_or_resources() -> None:
    async with connect(Settings(sandbox=True)) as c:
        texts = []
        for tool, args in [
            ("imbrace_list_channels", {}),
            ("imbrace_list_channels", {"type": "facebook"}),
            ("imbrace_get_channel", {"channel_id": "ch_facebook_001"}),
            ("imbrace_create_facebook_channel", {"page_id": "pg_1003", "credential_id": "cred_fb_001"}),
            ("imbrace_update_facebook_channel", {"channel_id": "ch_facebook_002", "name": "Renamed bakery"}),
        ]:
            result = await c.call_tool(tool, args)
            assert not result.is_error, (tool, result.content)
            texts.append(result.model_dump_json())
        resource = await c.read_resource("imbrace://channels/ch_facebook_001")
        texts.append(resource.model_dump_json())
        joined = "\n".join(texts)
        assert "EAAGsandboxFAKE" not in joined
        assert "****0001" in joined


async def test_credential_reads_mask_what_the_update_wrote() -> None:
    written = {
        "page_access_token": "pat-secret-value-1111",
        "pageAccessToken": "pat-secret-value-2222",
        "page_token": "pat-secret-value-3333",
    }
    async with connect(Settings(sandbox=True)) as c:
        update = await c.call_tool(
            "imbrace_update_credential", {"credential_id": "cred_fb_002", "credentials": written}
        )
        assert not update.is_error
        got = await c.call_tool("imbrace_get_credential", {"credential_id": "cred_fb_002"})
        assert not got.is_error
        text = got.model_dump_json() + update.model_dump_json()
    for value in written.values():
        assert value not in text and value[:-4] not in text


# ---------------------------------------------------------------------------------------------- declared


def test_declared_secret_fields_serialise_masked_without_the_name_net() -> None:
    """The models mark secret fields themselves: a plain `model_dump`, before any cleaning walk, is masked,
    while the SDK user reading the attribute still gets the value."""
    from channel_mcp.bird.models import BirdChannel
    from channel_mcp.imbrace.models import Channel, ChannelCredential

    channel = Channel.model_validate({"id": "ch_1", "config": {"page_access_token": FB_TOKEN, "greeting": "hi"}})
    assert channel.model_dump(mode="json", exclude_none=True)["config"] == {
        "page_access_token": "****0001",
        "greeting": "hi",
    }
    assert channel.config is not None and channel.config.page_access_token == FB_TOKEN
    credential = ChannelCredential.model_validate({"_id": "cred_1", "credentials": {"app_id": "900000000000001"}})
    assert credential.model_dump(mode="json", by_alias=True)["credentials"] == {"app_id": "****0001"}
    bird = BirdChannel.model_validate(
        {
            "id": "b1",
            "settings": [
                {"key": "shown", "value": "public-value", "visibility": "public"},
                {"key": "accountRef", "value": "acct-ref-000042", "visibility": "private"},
                {"key": "noVisibility", "value": "unknown-000043"},
            ],
        }
    )
    values = [s["value"] for s in bird.model_dump(mode="json")["settings"]]
    assert values == ["public-value", "****0042", "****0043"]
    assert mask_value("****0001") == "****0001"  # masking twice changes nothing
