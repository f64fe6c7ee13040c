"""Contacts, conversations, comments, files, uploads and notifications."""

from __future__ import annotations

import csv
import io

import httpx
import pytest

V1 = "/channel-service/v1"
# The documented Contact (seeds/001), plus two undocumented extras a real account also has.
CONTACT_FIELDS = {
    "object_name", "id", "organization_id", "display_name", "email", "phone_number", "avatar_url",
    "created_at", "updated_at", "channel_type", "tags",
}  # fmt: skip


async def test_list_contacts_default_page(client: httpx.AsyncClient) -> None:
    body = (await client.get(f"{V1}/contacts")).json()
    assert body["success"] is True
    assert body["total"] == 240
    assert len(body["data"]) == 50
    assert body["pagination"] == {
        "page": 1,
        "limit": 50,
        "total": 240,
        "total_pages": 5,
        "has_next": True,
        "has_prev": False,
    }
    first = body["data"][0]
    assert set(first) == CONTACT_FIELDS
    assert first["id"] == "ct_0001"
    assert first["display_name"] == "Nguyễn Văn An"


async def test_contacts_skip_offset_page(client: httpx.AsyncClient) -> None:
    async def ids(**params: int) -> list[str]:
        return [c["id"] for c in (await client.get(f"{V1}/contacts", params=params)).json()["data"]]

    assert await ids(limit=3, skip=5) == ["ct_0006", "ct_0007", "ct_0008"]
    assert await ids(limit=3, offset=5) == ["ct_0006", "ct_0007", "ct_0008"]
    assert await ids(limit=3, page=2) == ["ct_0004", "ct_0005", "ct_0006"]
    last = (await client.get(f"{V1}/contacts", params={"limit": 100, "skip": 200})).json()
    assert len(last["data"]) == 40
    assert last["pagination"]["has_next"] is False
    assert last["pagination"]["page"] == 3
    beyond = (await client.get(f"{V1}/contacts", params={"skip": 1000})).json()
    assert beyond["data"] == []


async def test_seed_is_multilingual_and_valid(client: httpx.AsyncClient) -> None:
    contacts = (await client.get(f"{V1}/contacts", params={"limit": 240})).json()["data"]
    names = [c["display_name"] for c in contacts]
    assert any(any("\u4e00" <= ch <= "\u9fff" for ch in n) for n in names)  # Chinese
    assert any("ễ" in n or "ạ" in n or "ư" in n or "ố" in n for n in names)  # Vietnamese
    assert any(n.isascii() for n in names)  # English
    phones = [c["phone_number"] for c in contacts if c.get("phone_number")]
    assert all(p.startswith("+") and p[1:].isdigit() and 8 <= len(p) <= 16 for p in phones)
    assert len({c["id"] for c in contacts}) == 240


async def test_get_contact_and_404(client: httpx.AsyncClient) -> None:
    r = await client.get(f"{V1}/contacts/ct_0003")
    assert r.json()["data"]["display_name"] == "王伟"
    r = await client.get(f"{V1}/contacts/ct_9999")
    assert r.status_code == 404
    assert r.json()["error"] == "not_found"


async def test_search(client: httpx.AsyncClient) -> None:
    r = (await client.get(f"{V1}/contacts/_search", params={"q": "NGUYEN"})).json()
    ids = [c["id"] for c in r["data"]]
    assert "ct_0001" in ids  # diacritics folded: Nguyễn
    assert r["pagination"]["limit"] == 10
    assert r["total"] >= len(ids)
    assert (await client.get(f"{V1}/contacts/_search", params={"q": "王伟"})).json()["data"][0]["id"] == "ct_0003"
    assert (await client.get(f"{V1}/contacts/_search", params={"q": "emily.carter@"})).json()["total"] == 1
    by_phone = (await client.get(f"{V1}/contacts/_search", params={"q": "+8613800000003"})).json()
    assert [c["id"] for c in by_phone["data"]] == ["ct_0003"]
    assert (await client.get(f"{V1}/contacts/_search", params={"q": "zzzzzz"})).json()["total"] == 0
    assert (await client.get(f"{V1}/contacts/_search", params={"q": " "})).status_code == 400
    assert (await client.get(f"{V1}/contacts/_search")).status_code == 400


async def test_search_paging(client: httpx.AsyncClient) -> None:
    full = (await client.get(f"{V1}/contacts/_search", params={"q": "example", "limit": 100})).json()
    total = full["total"]
    assert total > 20
    page2 = (await client.get(f"{V1}/contacts/_search", params={"q": "example", "limit": 5, "skip": 5})).json()
    assert [c["id"] for c in page2["data"]] == [c["id"] for c in full["data"][5:10]]
    assert page2["total"] == total


async def test_update_contact_visible_in_get_and_search(client: httpx.AsyncClient) -> None:
    body = {"name": "Emily Quokka", "email": "emily@quokka.example", "phone": "+44 7700 900123"}
    r = await client.put(f"{V1}/contacts/ct_0005", json=body)
    assert r.status_code == 200
    data = r.json()["data"]
    assert data["display_name"] == "Emily Quokka"
    assert data["phone_number"] == "+447700900123"
    assert data["updated_at"] != data["created_at"]
    assert (await client.get(f"{V1}/contacts/ct_0005")).json()["data"]["email"] == "emily@quokka.example"
    found = (await client.get(f"{V1}/contacts/_search", params={"q": "quokka"})).json()
    assert [c["id"] for c in found["data"]] == ["ct_0005"]
    assert (await client.get(f"{V1}/contacts/_search", params={"q": "emily carter"})).json()["total"] == 0


@pytest.mark.parametrize(
    "body",
    [{}, {"email": "nope"}, {"name": ""}, {"phone": "12345"}, {"name": 5}, {"unknown": "x"}],
)
async def test_update_contact_validation(client: httpx.AsyncClient, body: dict[str, object]) -> None:
    r = await client.put(f"{V1}/contacts/ct_0001", json=body)
    assert r.status_code == 400
    assert r.json()["success"] is False


async def test_update_unknown_contact(client: httpx.AsyncClient) -> None:
    assert (await client.put(f"{V1}/contacts/ct_4040", json={"name": "x"})).status_code == 404


async def test_export_csv(client: httpx.AsyncClient) -> None:
    r = await client.get(f"{V1}/contacts/_export_csv")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == 240
    assert rows[0]["id"] == "ct_0001"
    assert rows[5]["display_name"] == "James O'Brien"
    assert list(rows[0]) == [
        "id",
        "display_name",
        "email",
        "phone_number",
        "channel_type",
        "tags",
        "avatar_url",
        "created_at",
        "updated_at",
    ]
    desc = list(csv.DictReader(io.StringIO((await client.get(f"{V1}/contacts/_export_csv?sort=-name")).text)))
    names = [row["display_name"] for row in desc]
    assert names == sorted(names, reverse=True)
    asc = list(csv.DictReader(io.StringIO((await client.get(f"{V1}/contacts/_export_csv?sort=email")).text)))
    emails = [row["email"] for row in asc if row["email"]]
    assert emails == sorted(emails)
    assert (await client.get(f"{V1}/contacts/_export_csv?sort=password")).status_code == 400


async def test_conversations_and_activities(client: httpx.AsyncClient) -> None:
    convs = (await client.get(f"{V1}/contacts/ct_0001/conversations")).json()["data"]
    assert [c["id"] for c in convs] == ["cv_0001_1", "cv_0001_2", "cv_0001_3"]
    assert [c["channel_type"] for c in convs] == ["whatsapp", "web", "facebook"]
    filtered = await client.get(f"{V1}/contacts/ct_0001/conversations", params={"channel_types": "whatsapp,web"})
    assert [c["channel_type"] for c in filtered.json()["data"]] == ["whatsapp", "web"]
    assert (await client.get(f"{V1}/contacts/ct_0001/conversations?channel_types=fax")).status_code == 400
    assert (await client.get(f"{V1}/contacts/ct_9999/conversations")).status_code == 404
    # every contact has at least one conversation, on its own channel type first
    some = (await client.get(f"{V1}/contacts/ct_0150/conversations")).json()["data"]
    own = (await client.get(f"{V1}/contacts/ct_0150")).json()["data"]["channel_type"]
    assert some[0]["channel_type"] == own

    acts = (await client.get(f"{V1}/conversations_activities/cv_0001_2")).json()["data"]
    assert len(acts) >= 3
    assert {a["conversation_id"] for a in acts} == {"cv_0001_2"}
    assert acts[0]["type"] == "conversation_created"
    for missing in ("cv_0001_9", "cv_9999_1", "nonsense"):
        assert (await client.get(f"{V1}/conversations_activities/{missing}")).status_code == 404


async def test_comments_paged(client: httpx.AsyncClient) -> None:
    first = (await client.get(f"{V1}/contacts/ct_0001/comments")).json()
    assert first["total"] == 25
    assert len(first["data"]) == 20
    assert first["pagination"]["has_next"] is True
    rest = (await client.get(f"{V1}/contacts/ct_0001/comments", params={"limit": 20, "skip": 20})).json()
    assert len(rest["data"]) == 5
    assert {c["_id"] for c in first["data"]}.isdisjoint(c["_id"] for c in rest["data"])
    assert {"_id", "text", "created_at"} <= set(first["data"][0])
    assert (await client.get(f"{V1}/contacts/ct_9999/comments")).status_code == 404


async def test_files_singular_route(client: httpx.AsyncClient) -> None:
    files = (await client.get(f"{V1}/contact/ct_0001/files")).json()["data"]
    assert len(files) == 3
    assert files[0]["url"].startswith("https://sandbox.invalid/files/")
    assert (await client.get(f"{V1}/contact/ct_9999/files")).status_code == 404


async def test_upload(client: httpx.AsyncClient) -> None:
    r = await client.post(
        f"{V1}/contacts/_fileupload", files={"file": ("hóa đơn.pdf", b"%PDF-1.4 fake", "application/pdf")}
    )
    assert r.status_code == 201
    data = r.json()["data"]
    assert data["filename"] == "hóa đơn.pdf"
    assert data["size"] == len(b"%PDF-1.4 fake")
    assert data["content_type"] == "application/pdf"
    assert data["url"] == f"https://sandbox.invalid/files/{data['id']}/h%C3%B3a%20%C4%91%C6%A1n.pdf"
    second = (await client.post(f"{V1}/contacts/_fileupload", files={"file": ("a.txt", b"hi")})).json()["data"]
    assert second["id"] != data["id"]
    missing = await client.post(f"{V1}/contacts/_fileupload", files={"other": ("a.txt", b"hi")})
    assert missing.status_code == 400
    assert "file" in missing.json()["message"]
    assert (await client.post(f"{V1}/contacts/_fileupload", json={"file": "x"})).status_code == 400


def unread(items: list[dict[str, object]]) -> list[object]:
    return [n["id"] for n in items if not n["is_read"]]


async def test_notifications_read_and_dismiss(client: httpx.AsyncClient) -> None:
    page = (await client.get(f"{V1}/notifications")).json()
    assert page["total"] == 30
    assert len(page["data"]) == 20
    item = page["data"][0]
    assert item["id"] == "nt_0001"
    assert {"id", "title", "message", "type", "is_read", "created_at"} <= set(item)

    r = await client.put(f"{V1}/notifications/read", json={"notification_id": ["nt_0001", "nt_0002"]})
    assert r.json() == {"success": True, "data": {"updated": 2}}
    r = await client.put(f"{V1}/notifications/read", json={"notification_id": ["nt_0001"]})
    assert r.json()["data"]["updated"] == 0
    listed = (await client.get(f"{V1}/notifications", params={"limit": 30})).json()["data"]
    assert "nt_0001" not in unread(listed)
    assert "nt_0003" in unread(listed)
    assert (await client.put(f"{V1}/notifications/read", json={"notification_id": ["nt_9999"]})).status_code == 404
    assert (await client.put(f"{V1}/notifications/read", json={"notification_id": []})).status_code == 400

    r = await client.put(f"{V1}/notifications/read")  # no body: mark all
    assert r.json()["data"]["updated"] == len(unread(listed))
    assert unread((await client.get(f"{V1}/notifications", params={"limit": 30})).json()["data"]) == []

    r = await client.request("DELETE", f"{V1}/notifications/dismiss", json={"notification_id": "nt_0003"})
    assert r.json() == {"success": True, "data": {"id": "nt_0003", "deleted": True}}
    again = await client.request("DELETE", f"{V1}/notifications/dismiss", json={"notification_id": "nt_0003"})
    assert again.status_code == 404
    assert (await client.request("DELETE", f"{V1}/notifications/dismiss")).status_code == 400
    assert (await client.get(f"{V1}/notifications")).json()["total"] == 29

    r = await client.delete(f"{V1}/notifications/dismiss/all")
    assert r.json() == {"success": True, "data": {"dismissed": 29}}
    assert (await client.get(f"{V1}/notifications")).json()["total"] == 0


@pytest.mark.parametrize(
    ("typed", "stored"), [("+84 912 345 678", "+84912345678"), ("+1 (415) 555-0112", "+14155550112")]
)
async def test_update_contact_accepts_a_phone_as_typed(client: httpx.AsyncClient, typed: str, stored: str) -> None:
    r = await client.put(f"{V1}/contacts/ct_0004", json={"phone": typed})
    assert r.status_code == 200, r.text
    assert r.json()["data"]["phone_number"] == stored
