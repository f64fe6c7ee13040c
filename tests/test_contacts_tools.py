"""Contact tools' own logic: CSV budget and decoding, upload checks, input checks, paging answers."""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable

import pytest
import respx
from mcp_types import CallToolResult

from channel_mcp.errors import InputError
from channel_mcp.tools.contacts import decode_upload, sanitize_filename, summarize_csv
from tests.conftest import IMBRACE, paged

Call = Callable[..., Awaitable[CallToolResult]]


def test_small_csv_is_returned_whole() -> None:
    out = summarize_csv('id,name\n1,"Lê, Thị"\n2,王伟\n')
    assert out.rows == 2 and out.columns == ["id", "name"] and out.csv and not out.truncated


def test_large_csv_gets_a_preview_and_the_way_to_the_rest() -> None:
    text = "id,name\n" + "".join(f"{i},Name {i}\n" for i in range(20_000))
    out = summarize_csv(text, budget=50_000)
    assert out.truncated and out.csv is None and out.rows == 20_000
    assert out.preview is not None and len(out.preview) <= 25_000 and out.preview.startswith("id,name\n0,")
    assert out.note is not None and "imbrace_list_contacts" in out.note


async def test_non_utf8_export_is_decoded_with_replacement(call: Call, upstream: respx.MockRouter) -> None:
    upstream.get(f"{IMBRACE}/v1/contacts/_export_csv").respond(
        200, content=b"id,name\n1,Caf\xe9\n", headers={"content-type": "text/csv"}
    )
    result = await call("imbrace_export_contacts_csv", {})
    assert not result.is_error
    assert result.structured_content is not None and result.structured_content["csv"] == "id,name\n1,Caf\ufffd\n"


@pytest.mark.parametrize(
    ("raw", "clean"),
    [("../../etc/passwd", "passwd"), ("C:\\temp\\a.csv", "a.csv"), ("rep\x00ort\u202e.csv", "report.csv")],
)
def test_filename_sanitised(raw: str, clean: str) -> None:
    assert sanitize_filename(raw) == clean


@pytest.mark.parametrize("raw", ["..", "/", "\x01\x02"])
def test_filename_without_a_name_is_refused(raw: str) -> None:
    with pytest.raises(InputError):
        sanitize_filename(raw)


def test_upload_decoding_limits() -> None:
    assert decode_upload(base64.b64encode(b"hi").decode()) == b"hi"
    with pytest.raises(InputError, match="base64"):
        decode_upload("not base64!!")
    with pytest.raises(InputError, match="10 MB"):
        decode_upload(base64.b64encode(b"x" * (10 * 1024 * 1024 + 1)).decode())


@pytest.mark.parametrize(
    "args",
    [
        {"filename": "a.txt", "content_base64": "%%%"},
        {"filename": "..", "content_base64": "aGk="},
        {"filename": "a.txt", "content_base64": "aGk=", "content_type": "not a type"},
    ],
)
async def test_bad_uploads_send_nothing(call: Call, upstream: respx.MockRouter, args: dict[str, str]) -> None:
    result = await call("imbrace_upload_contact_file", args)
    assert result.is_error and "Nothing was sent" in result.content[0].text  # type: ignore[union-attr]
    assert upstream.calls.call_count == 0


async def test_upload_guesses_content_type_and_returns_url(call: Call, upstream: respx.MockRouter) -> None:
    route = upstream.post(f"{IMBRACE}/v1/contacts/_fileupload").respond(
        200, json={"success": True, "data": {"url": "https://files.test/a.png"}}
    )
    result = await call("imbrace_upload_contact_file", {"filename": "dir/a.png", "content_base64": "iVBORw=="})
    assert result.structured_content == {"url": "https://files.test/a.png"}
    assert b'filename="a.png"' in route.calls.last.request.content
    assert b"Content-Type: image/png" in route.calls.last.request.content


@pytest.mark.parametrize(
    "args",
    [
        {"contact_id": "ct_1"},
        {"contact_id": "ct_1", "email": "not-an-email"},
        {"contact_id": "ct_1", "phone": "0901 234 567"},
        {"contact_id": "ct_1", "name": "x", "nickname": "y"},
    ],
)
async def test_update_contact_checks(call: Call, upstream: respx.MockRouter, args: dict[str, str]) -> None:
    result = await call("imbrace_update_contact", args)
    assert result.is_error and upstream.calls.call_count == 0


@pytest.mark.parametrize(
    ("tool", "args"),
    [
        ("imbrace_list_contacts", {"limit": 0}),
        ("imbrace_list_contacts", {"limit": 101}),
        ("imbrace_list_contacts", {"skip": -1}),
        ("imbrace_search_contacts", {"q": ""}),
        ("imbrace_list_contact_conversations", {"contact_id": "c", "channel_types": ["sms"]}),
        ("imbrace_list_contact_conversations", {"contact_id": "c", "channel_types": []}),
        ("imbrace_mark_notifications_read", {"notification_ids": []}),
    ],
)
async def test_bounds_and_enums(call: Call, upstream: respx.MockRouter, tool: str, args: dict[str, object]) -> None:
    result = await call(tool, args)
    assert result.is_error and upstream.calls.call_count == 0


async def test_search_answer_says_how_to_get_the_next_page(call: Call, upstream: respx.MockRouter) -> None:
    upstream.get(f"{IMBRACE}/v1/contacts/_search").respond(
        200, json=paged([{"id": f"c{i}"} for i in range(10)], limit=10, total=31)
    )
    result = await call("imbrace_search_contacts", {"q": "an"})
    assert result.structured_content is not None
    assert result.structured_content["total"] == 31 and result.structured_content["next"] == {"skip": 10}


@pytest.mark.parametrize(
    ("typed", "sent"),
    [
        ("+84 912 345 678", "+84912345678"),
        ("+1 (415) 555-0112", "+14155550112"),
        ("+44.7700.900123", "+447700900123"),
        ("+84912345678", "+84912345678"),
    ],
)
async def test_update_contact_phone_as_a_person_types_it(
    call: Call, upstream: respx.MockRouter, typed: str, sent: str
) -> None:
    """The contract's body stays {name, email, phone}; the phone goes out as E.164, separators removed."""
    route = upstream.put(f"{IMBRACE}/v1/contacts/ct_1").respond(
        200, json={"success": True, "data": {"id": "ct_1", "display_name": "An", "phone_number": sent}}
    )
    result = await call("imbrace_update_contact", {"contact_id": "ct_1", "name": "An", "phone": typed})
    assert not result.is_error, result.content
    assert json.loads(route.calls.last.request.content) == {"name": "An", "phone": sent}
    assert result.structured_content is not None and result.structured_content["phone_number"] == sent
    assert result.structured_content["display_name"] == "An"
