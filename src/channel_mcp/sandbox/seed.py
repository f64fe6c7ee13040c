"""Deterministic seed data for the sandbox.

Nothing here reads the wall clock except Bird service windows, which are stored as offsets
and turned into timestamps relative to *now* at request time so an "open" window stays open.
Contacts are generated from one seeded PRNG in order, so the first N contacts are the same
whatever ``contacts=`` is (240 or 100 000).

Useful ids (stable across runs and sizes)
=========================================

Every object has the documented shape (seeds/ in the design documents): channels carry the platform in
``type`` and ``organization_id``; contacts ``display_name``/``phone_number``; credentials, Facebook pages,
comments and files their ``_id``; Bird ``settings``/``connectionParams`` are arrays of
``{key, value, displayName, description, visibility}``. Fields the documents do not list (a channel's
``description``, a contact's ``tags``) are extras, as a real account has. ``PLANTED_SECRETS`` lists every
fake secret planted here, for leak sweeps.

iMBRACE channels (``type`` is the platform)::

    ch_web_001        Website Live Chat                      active
    ch_web_002        Help Center Widget (staging)           inactive
    ch_facebook_001   iMBRACE Coffee (page pg_1001, cred_fb_001)   active
    ch_facebook_002   Sài Gòn Bakery (page pg_1002, cred_fb_001)   inactive
    ch_whatsapp_001   WhatsApp Support VN (phone_number_id 100000000000001)  active
    ch_whatsapp_002   WhatsApp Sales HK  (phone_number_id 100000000000002)  active
    ch_whatsapp_003   WhatsApp Promotions (phone_number_id 100000000000003) inactive
    ch_instagram_001  @imbrace.coffee                        active
    ch_instagram_002  @saigon.bakery                         inactive
    ch_wechat_001     iMBRACE 官方账号                        active
    ch_line_001       LINE Official TH                       active
    ch_email_001      support@sandbox-shop.example.com       active
    ch_email_002      billing@sandbox-shop.example.com       inactive
    ch_wecom_001      企业微信客服 WeCom Support              active

Channels created through the API get the next number for their platform (the first new web
channel is ``ch_web_003``); numbers are never reused after a delete.

Credentials: ``cred_fb_001`` "Marketing Business Manager" (pages ``pg_1001`` and ``pg_1002``
connected, ``pg_1003`` and ``pg_1004`` not), ``cred_fb_002`` "Agency Sandbox App" (pages
``pg_2001``, ``pg_2002``, none connected).

Workflows: ``wf_001`` (on ch_web_001), ``wf_002`` (ch_whatsapp_001), ``wf_003``
(ch_facebook_001), ``wf_004`` (not attached).

Teams: ``tm_001`` Customer Support VN (3 observers), ``tm_002`` Sales APAC (2), ``tm_003``
VIP Care (1), ``tm_004`` Night Shift (0). Observers are ``usr_001`` … ``usr_006``.

Contacts (``ct_0001`` … ``ct_0240`` by default; ids past 9999 just grow: ``ct_10000``)::

    ct_0001  Nguyễn Văn An         whatsapp  tags vip      25 comments, 3 conversations, 3 files
    ct_0002  Trần Thị Bích Ngọc    whatsapp
    ct_0003  王伟                   wechat
    ct_0004  李娜                   line
    ct_0005  Emily Carter          email
    ct_0006  James O'Brien         web       (apostrophe: CSV quoting)
    ct_0007  Lê Hoàng Phúc         facebook
    ct_0008  陈静                   wecom
    ct_0009  Sarah Johnson         instagram
    ct_0010  Phạm Minh Châu        web       no email
    ct_0011  张伟                   web       no phone
    ct_0012  Olivia Nguyen         email     tags vip, b2b

Search folds Vietnamese diacritics as well as case: ``nguyen`` finds "Nguyễn Văn An".

Conversations are ``cv_<contact number>_<k>`` (``cv_0001_1`` … ``cv_0001_3``); every contact
has at least one, the first on its own channel type. Comments are ``cm_0001_01``…, files
``fl_0001_1``…, activities ``ac_0001_1_1``….

Notifications: ``nt_0001`` (newest) … ``nt_0030`` (oldest); ``nt_0001``-``nt_0010`` unread, then
every third one unread (``nt_0012``, ``nt_0015``, …), the rest read.

Bird workspace ``sandbox-workspace`` (any other workspace id is 404) has 28 channels
``b12d0000-0000-4000-8000-0000000000NN`` (NN = 01 … 28) in creation order;
``…01`` is WhatsApp "WhatsApp Support VN" (active), ``…02`` SMS (active), ``…03`` email
(active), ``…04`` WhatsApp (pending), ``…05`` (setting-up), ``…06`` (failed), ``…07``
(inactive), ``…08`` (deleted), ``…09`` (warning).

Bird contacts, with the service-window state Bird reports on every channel (bird_check_service_window
applies it only on WhatsApp, Messenger and Instagram channels; SMS and email have no window)::

    bc000000-0000-4000-8000-000000000001  open       (expires now + 2 h)
    bc000000-0000-4000-8000-000000000002  closed     (serviceWindowExpireAt null, not permanent)
    bc000000-0000-4000-8000-000000000003  expired    (expired 3 h ago)
    bc000000-0000-4000-8000-000000000004  permanent  (isPermanentSession true)
    bc000000-0000-4000-8000-000000000005  open, closing soon (now + 5 min)
    bc000000-0000-4000-8000-000000000006  open, fresh (now + 23 h 30 min)
"""

from __future__ import annotations

import functools
import json
import random
import unicodedata
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = [
    "BIRD_CHANNEL_ACTIVE",
    "BIRD_CHANNEL_PENDING",
    "BIRD_CONTACT_WINDOW_CLOSED",
    "BIRD_CONTACT_WINDOW_CLOSING_SOON",
    "BIRD_CONTACT_WINDOW_EXPIRED",
    "BIRD_CONTACT_WINDOW_OPEN",
    "BIRD_CONTACT_WINDOW_PERMANENT",
    "BIRD_WORKSPACE",
    "ORGANIZATION_ID",
    "PLANTED_SECRETS",
    "PLATFORMS",
    "SEED_EPOCH",
    "bird_channel_id",
    "contact_id",
    "fold",
    "iso",
]

PLATFORMS: tuple[str, ...] = ("web", "facebook", "whatsapp", "instagram", "wechat", "line", "email", "wecom")
ORGANIZATION_ID = "org_sandbox"
BUSINESS_UNIT_ID = "bu_sandbox_apac"
BIRD_WORKSPACE = "sandbox-workspace"
SEED_EPOCH = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
_CONTACT_SEED = 20250303


def iso(dt: datetime) -> str:
    """Timestamps the way the Node services send them: UTC, milliseconds, ``Z``."""
    return dt.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


_NAIVE_EPOCH = SEED_EPOCH.replace(tzinfo=None)


def seed_time(minutes: int) -> str:
    return (_NAIVE_EPOCH + timedelta(minutes=minutes)).isoformat(timespec="milliseconds") + "Z"


@functools.lru_cache(maxsize=16384)
def fold(text: str) -> str:
    """Lower-case and strip diacritics so "nguyen" finds "Nguyễn"; CJK passes through."""
    decomposed = unicodedata.normalize("NFKD", text.lower().replace("đ", "d").replace("Đ", "d"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def contact_id(number: int) -> str:
    return f"ct_{number:04d}"


def contact_number(cid: str) -> int | None:
    if not cid.startswith("ct_") or not cid[3:].isdigit():
        return None
    return int(cid[3:])


# --------------------------------------------------------------------------- iMBRACE channels

_FAKE_TOKEN = "EAAGsandboxFAKEtoken"  # noqa: S105 - deliberately fake, exercises masking


def _channel(
    cid: str,
    platform: str,
    name: str,
    *,
    active: bool,
    minutes: int,
    config: dict[str, Any],
    description: str,
    extra: dict[str, Any] | None = None,
    workflow_id: str | None = None,
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "object_name": "channel",
        "id": cid,
        "name": name,
        "type": platform,
        "organization_id": ORGANIZATION_ID,
        "business_unit_id": BUSINESS_UNIT_ID,
        "description": description,
        "is_active": active,
        "config": config,
        "workflow_id": workflow_id,
        "created_at": seed_time(minutes),
        "updated_at": seed_time(minutes + 1440),
    }
    doc.update(extra or {})
    return doc


def channels() -> list[dict[str, Any]]:
    return [
        _channel(
            "ch_web_001",
            "web",
            "Website Live Chat",
            active=True,
            minutes=0,
            description="Chat widget on sandbox-shop.example.com",
            config={"widget_color": "#0F766E", "greeting": "Xin chào! How can we help?", "languages": ["vi", "en"]},
            workflow_id="wf_001",
        ),
        _channel(
            "ch_web_002",
            "web",
            "Help Center Widget (staging)",
            active=False,
            minutes=60,
            description="Staging widget, switched off",
            config={"widget_color": "#1D4ED8", "greeting": "Hi there", "languages": ["en"]},
        ),
        _channel(
            "ch_facebook_001",
            "facebook",
            "iMBRACE Coffee",
            active=True,
            minutes=120,
            description="Messenger inbox of the iMBRACE Coffee page",
            config={"page_access_token": f"{_FAKE_TOKEN}0001", "subscribed_fields": ["messages", "feed"]},
            extra={"page_id": "pg_1001", "credential_id": "cred_fb_001"},
            workflow_id="wf_003",
        ),
        _channel(
            "ch_facebook_002",
            "facebook",
            "Sài Gòn Bakery",
            active=False,
            minutes=180,
            description="Paused while the page is rebranded",
            config={"page_access_token": f"{_FAKE_TOKEN}0002", "subscribed_fields": ["messages"]},
            extra={"page_id": "pg_1002", "credential_id": "cred_fb_001"},
        ),
        _channel(
            "ch_whatsapp_001",
            "whatsapp",
            "WhatsApp Support VN",
            active=True,
            minutes=240,
            description="Customer care line, Vietnam",
            config={
                "access_token": f"{_FAKE_TOKEN}WA01",
                "waba_id": "200000000000001",
                "display_phone_number": "+1 555 010 0001",
            },
            extra={"phone_number_id": "100000000000001"},
            workflow_id="wf_002",
        ),
        _channel(
            "ch_whatsapp_002",
            "whatsapp",
            "WhatsApp Sales HK",
            active=True,
            minutes=300,
            description="Sales enquiries, Hong Kong",
            config={
                "access_token": f"{_FAKE_TOKEN}WA02",
                "waba_id": "200000000000001",
                "display_phone_number": "+1 555 010 0002",
            },
            extra={"phone_number_id": "100000000000002"},
        ),
        _channel(
            "ch_whatsapp_003",
            "whatsapp",
            "WhatsApp Promotions",
            active=False,
            minutes=360,
            description="Marketing number, disabled after the campaign",
            config={
                "access_token": f"{_FAKE_TOKEN}WA03",
                "waba_id": "200000000000002",
                "display_phone_number": "+1 555 010 0003",
            },
            extra={"phone_number_id": "100000000000003"},
        ),
        _channel(
            "ch_instagram_001",
            "instagram",
            "@imbrace.coffee",
            active=True,
            minutes=420,
            description="Instagram direct messages",
            config={"instagram_account_id": "17840000000000001", "access_token": f"{_FAKE_TOKEN}IG01"},
        ),
        _channel(
            "ch_instagram_002",
            "instagram",
            "@saigon.bakery",
            active=False,
            minutes=480,
            description="Old account",
            config={"instagram_account_id": "17840000000000002", "access_token": f"{_FAKE_TOKEN}IG02"},
        ),
        _channel(
            "ch_wechat_001",
            "wechat",
            "iMBRACE 官方账号",
            active=True,
            minutes=540,
            description="WeChat official account",
            config={"app_id": "wx00sandbox0000001", "app_secret": "sandbox-wechat-secret-FAKE", "token": "sbx-token"},
        ),
        _channel(
            "ch_line_001",
            "line",
            "LINE Official TH",
            active=True,
            minutes=600,
            description="LINE official account, Thailand",
            config={"channel_id": "2000000001", "channel_secret": "sandbox-line-secret-FAKE"},
        ),
        _channel(
            "ch_email_001",
            "email",
            "support@sandbox-shop.example.com",
            active=True,
            minutes=660,
            description="Shared support mailbox",
            config={"imap_host": "imap.sandbox-shop.example.com", "smtp_host": "smtp.sandbox-shop.example.com"},
            extra={"email": "support@sandbox-shop.example.com"},
        ),
        _channel(
            "ch_email_002",
            "email",
            "billing@sandbox-shop.example.com",
            active=False,
            minutes=720,
            description="Billing mailbox, moved to the ERP",
            config={"imap_host": "imap.sandbox-shop.example.com", "smtp_host": "smtp.sandbox-shop.example.com"},
            extra={"email": "billing@sandbox-shop.example.com"},
        ),
        _channel(
            "ch_wecom_001",
            "wecom",
            "企业微信客服 WeCom Support",
            active=True,
            minutes=780,
            description="WeCom customer service",
            config={"corp_id": "ww00sandbox000001", "agent_id": "1000002", "secret": "sandbox-wecom-secret-FAKE"},
        ),
    ]


def credentials() -> list[dict[str, Any]]:
    return [
        {
            "_id": "cred_fb_001",
            "name": "Marketing Business Manager",
            "type": "facebook",
            "credentials": {
                "app_id": "900000000000001",
                "app_secret": "sandbox-app-secret-FAKE-0001",
                "access_token": f"{_FAKE_TOKEN}CRED01",
            },
            "pages": [
                {"_id": "pg_1001", "name": "iMBRACE Coffee", "category": "Coffee Shop"},
                {"_id": "pg_1002", "name": "Sài Gòn Bakery", "category": "Bakery"},
                {"_id": "pg_1003", "name": "Hanoi Noodle House", "category": "Restaurant"},
                {"_id": "pg_1004", "name": "iMBRACE Careers", "category": "Company"},
            ],
            "created_at": seed_time(-2880),
            "updated_at": seed_time(-1440),
        },
        {
            "_id": "cred_fb_002",
            "name": "Agency Sandbox App",
            "type": "facebook",
            "credentials": {
                "app_id": "900000000000002",
                "app_secret": "sandbox-app-secret-FAKE-0002",
                "access_token": f"{_FAKE_TOKEN}CRED02",
            },
            "pages": [
                {"_id": "pg_2001", "name": "Đà Nẵng Surf School", "category": "Sports & Recreation"},
                {"_id": "pg_2002", "name": "深圳电子商城", "category": "Electronics Store"},
            ],
            "created_at": seed_time(-2000),
            "updated_at": seed_time(-2000),
        },
    ]


def workflows() -> list[dict[str, Any]]:
    specs = [
        ("wf_001", "Auto-reply outside business hours", "ch_web_001", {"timezone": "Asia/Ho_Chi_Minh"}),
        ("wf_002", "Route VIP customers to VIP Care", "ch_whatsapp_001", {"team_id": "tm_003"}),
        ("wf_003", "CSAT survey after close", "ch_facebook_001", {"delay_minutes": 30}),
        ("wf_004", "Lead qualification bot", None, {}),
    ]
    return [
        {"id": wid, "name": name, "channel_id": channel_id, "config": config, "updated_at": seed_time(900 + i)}
        for i, (wid, name, channel_id, config) in enumerate(specs)
    ]


def teams() -> list[dict[str, Any]]:
    observers = {
        "tm_001": [
            ("usr_001", "Đỗ Thu Hà", "ha.do@sandbox-shop.example.com", "supervisor"),
            ("usr_002", "Võ Quang Huy", "huy.vo@sandbox-shop.example.com", "agent"),
            ("usr_003", "Lý Minh Thư", "thu.ly@sandbox-shop.example.com", "agent"),
        ],
        "tm_002": [
            ("usr_004", "黄志强 (Kelvin Wong)", "kelvin.wong@sandbox-shop.example.com", "supervisor"),
            ("usr_005", "Priya Raman", "priya.raman@sandbox-shop.example.com", "agent"),
        ],
        "tm_003": [("usr_006", "Hannah Becker", "hannah.becker@sandbox-shop.example.com", "admin")],
        "tm_004": [],
    }
    meta = [
        ("tm_001", "Customer Support VN", "Front line for Vietnamese-speaking customers", 12),
        ("tm_002", "Sales APAC", "Pre-sales across Hong Kong, Singapore and Vietnam", 7),
        ("tm_003", "VIP Care", "Dedicated agents for VIP accounts", 3),
        ("tm_004", "Night Shift", "Covers 22:00-06:00 ICT", 4),
    ]
    return [
        {
            "id": tid,
            "name": name,
            "description": description,
            "member_count": members,
            "observers": [{"id": u, "name": n, "email": e, "role": r} for u, n, e, r in observers[tid]],
        }
        for tid, name, description, members in meta
    ]


def notifications() -> list[dict[str, Any]]:
    templates = [
        ("assignment", "New conversation assigned", "Nguyễn Văn An is waiting on WhatsApp", "/inbox/cv_0001_1"),
        ("mention", "You were mentioned", "Võ Quang Huy mentioned you in a note on 王伟", "/contacts/ct_0003"),
        ("sla_warning", "First reply SLA at risk", "3 conversations on Website Live Chat are close to breach", None),
        ("message", "New message", "Emily Carter replied by email", "/inbox/cv_0005_1"),
        ("system", "Channel disconnected", "LINE Official TH token expires in 7 days", "/channels/ch_line_001"),
        ("assignment", "Conversation transferred", "A conversation was moved to VIP Care", "/inbox/cv_0012_1"),
        ("system", "Template approved", "WhatsApp template order_update_vi was approved", None),
        ("message", "新消息", "李娜 sent a message on LINE", "/inbox/cv_0004_1"),
        ("mention", "Bạn được nhắc đến", "Đỗ Thu Hà nhắc đến bạn trong ghi chú", "/contacts/ct_0002"),
        ("system", "Export ready", "Your contacts export is ready to download", None),
    ]
    out = []
    for i in range(30):
        kind, title, message, link = templates[i % len(templates)]
        number = i + 1
        doc: dict[str, Any] = {
            "id": f"nt_{number:04d}",
            "title": title,
            "message": message,
            "type": kind,
            "is_read": not (number <= 10 or number % 3 == 0),
            "created_at": seed_time(20_000 - i * 97),
        }
        if link is not None:
            doc["link"] = link
        out.append(doc)
    return out


# --------------------------------------------------------------------------- contacts

_VN_FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô")
_VN_MIDDLE = ("Văn", "Thị", "Minh", "Hữu", "Đức", "Ngọc", "Thanh", "Quang", "Thu", "Gia")
_VN_GIVEN = (
    "An", "Bình", "Châu", "Dũng", "Giang", "Hà", "Hải", "Hạnh", "Hiếu", "Hoa", "Hùng", "Khánh", "Lan", "Linh",
    "Long", "Mai", "Nam", "Nhung", "Phúc", "Quân", "Sơn", "Tâm", "Thảo", "Trang", "Tuấn", "Vy", "Yến",
)  # fmt: skip
_CN_FAMILY = (
    ("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"), ("杨", "yang"), ("黄", "huang"),
    ("赵", "zhao"), ("吴", "wu"), ("周", "zhou"), ("徐", "xu"), ("孙", "sun"), ("马", "ma"), ("林", "lin"),
)  # fmt: skip
_CN_GIVEN = (
    ("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"), ("丽", "li"), ("强", "qiang"),
    ("磊", "lei"), ("洋", "yang"), ("艳", "yan"), ("杰", "jie"), ("涛", "tao"), ("明", "ming"), ("超", "chao"),
    ("秀英", "xiuying"), ("子轩", "zixuan"), ("欣怡", "xinyi"), ("浩然", "haoran"), ("雨桐", "yutong"),
)  # fmt: skip
_EN_FIRST = (
    "Emily", "James", "Olivia", "Liam", "Sophia", "Noah", "Ava", "Lucas", "Mia", "Ethan", "Chloe", "Daniel",
    "Grace", "Oliver", "Hannah", "Jack", "Zoe", "Samuel", "Ruby", "Henry",
)  # fmt: skip
_EN_LAST = (
    "Carter", "Smith", "Johnson", "Brown", "Taylor", "Walker", "Wright", "Mitchell", "Turner", "Harris",
    "Cooper", "Hughes", "Patel", "Kim", "Murphy", "Bennett", "Fraser", "Lawson",
)  # fmt: skip
_DOMAINS = ("example.com", "example.net", "example.org", "mail.example.com")
_TAGS = ("vip", "new", "returning", "wholesale", "complaint", "newsletter", "b2b")
_VN_TYPES = ("whatsapp", "whatsapp", "facebook", "web", "email", "instagram")
_CN_TYPES = ("wechat", "wechat", "wecom", "web", "line")
_EN_TYPES = ("email", "web", "whatsapp", "instagram", "line", "facebook")

# (name, email, phone, channel_type, tags, has_avatar)
_FIXED_CONTACTS: tuple[tuple[str, str | None, str | None, str, tuple[str, ...], bool], ...] = (
    ("Nguyễn Văn An", "an.nguyen@example.com", "+84901230001", "whatsapp", ("vip",), True),
    ("Trần Thị Bích Ngọc", "ngoc.tran@example.com", "+84912340002", "whatsapp", ("returning",), True),
    ("王伟", "wei.wang@example.com", "+8613800000003", "wechat", ("wholesale",), False),
    ("李娜", "na.li@example.net", "+8613900000004", "line", (), True),
    ("Emily Carter", "emily.carter@example.org", "+12025550105", "email", ("newsletter",), True),
    ("James O'Brien", "james.obrien@example.com", "+447700900006", "web", (), False),
    ("Lê Hoàng Phúc", "phuc.le@example.com", "+84987650007", "facebook", ("new",), True),
    ("陈静", "jing.chen@example.com", "+8618600000008", "wecom", ("b2b",), False),
    ("Sarah Johnson", "sarah.johnson@example.net", "+61491570009", "instagram", (), True),
    ("Phạm Minh Châu", None, "+84935550010", "web", ("complaint",), False),
    ("张伟", "wei.zhang@example.org", None, "web", (), False),
    ("Olivia Nguyen", "olivia.nguyen@example.com", "+14155550112", "email", ("vip", "b2b"), True),
)

ContactRow = tuple[int, str, str, str | None, str | None, str | None, str, str, str, str, str]
"""(seq, id, name, email, phone, avatar_url, channel_type, tags_json, created_at, updated_at, search_blob)"""


def search_blob(name: str, email: str | None, phone: str | None) -> str:
    # \x1f separates fields so a query can never match across two of them.
    return f"{name.lower()}\x1f{fold(name)}\x1f{(email or '').lower()}\x1f{phone or ''}"


def _contact_times(rng: random.Random, number: int) -> tuple[str, str]:
    created = number * 53 + rng.randrange(50)
    return seed_time(-500_000 + created), seed_time(-500_000 + created + rng.randrange(1, 90_000))


def generate_contacts(count: int) -> Iterator[ContactRow]:
    rng = random.Random(_CONTACT_SEED)  # noqa: S311 - deterministic fake data, not security
    for number in range(1, count + 1):
        cid = contact_id(number)
        created, updated = _contact_times(rng, number)
        if number <= len(_FIXED_CONTACTS):
            name, email, phone, ctype, tag_tuple, has_avatar = _FIXED_CONTACTS[number - 1]
            tags = list(tag_tuple)
        else:
            culture = rng.random()
            domain = _DOMAINS[rng.randrange(len(_DOMAINS))]
            if culture < 0.4:
                family = rng.choice(_VN_FAMILY)
                given = rng.choice(_VN_GIVEN)
                name = f"{family} {rng.choice(_VN_MIDDLE)} {given}"
                local = f"{fold(given)}.{fold(family)}"
                phone = f"+849{rng.randrange(10)}{number:07d}"
                ctype = rng.choice(_VN_TYPES)
            elif culture < 0.7:
                cn_family, py_family = rng.choice(_CN_FAMILY)
                cn_given, py_given = rng.choice(_CN_GIVEN)
                name = cn_family + cn_given
                local = f"{py_given}.{py_family}"
                phone = f"+861{rng.randrange(3, 10)}{number:09d}"
                ctype = rng.choice(_CN_TYPES)
            else:
                first = rng.choice(_EN_FIRST)
                last = rng.choice(_EN_LAST)
                name = f"{first} {last}"
                local = f"{first}.{last}".lower()
                if rng.random() < 0.5:
                    phone = f"+1{rng.choice(('202', '415', '646', '312'))}555{number % 10000:04d}"
                else:
                    phone = f"+447700{number % 1_000_000:06d}"
                ctype = rng.choice(_EN_TYPES)
            email = f"{local}.{number}@{domain}"
            if number % 17 == 0:
                email = None
            if number % 23 == 0:
                phone = None
            tags = sorted({rng.choice(_TAGS) for _ in range(rng.randrange(3))})
            has_avatar = number % 3 != 0
        avatar = f"https://sandbox.invalid/avatars/{cid}.png" if has_avatar else None
        yield (
            number,
            cid,
            name,
            email,
            phone,
            avatar,
            ctype,
            json.dumps(tags),
            created,
            updated,
            search_blob(name, email, phone),
        )


# Sub-resources of a contact are derived on demand from its number: they are read-only in the
# API, so there is nothing to store and seeding 100k contacts stays cheap.

_CONV_STATUS = ("open", "pending", "closed", "closed")
_SNIPPETS = (
    "Cho mình hỏi đơn hàng #{n} đã giao chưa?",
    "请问什么时候发货？",
    "Can I change my delivery address?",
    "Cảm ơn shop nhiều nha!",
    "The discount code is not working.",
    "我想退货，怎么办？",
    "Do you ship to Singapore?",
    "Mình muốn đổi size áo.",
)
_COMMENT_AUTHORS = (("usr_001", "Đỗ Thu Hà"), ("usr_002", "Võ Quang Huy"), ("usr_004", "黄志强 (Kelvin Wong)"))
_COMMENTS = (
    "Called back, customer confirmed the address.",
    "Khách muốn nhận hàng sau 17h.",
    "客户要求开发票。",
    "Escalated to VIP Care.",
    "Refund approved by supervisor.",
    "Follow up next Monday.",
)
_FILES = (
    ("invoice-{n}.pdf", "application/pdf"),
    ("photo-{n}.jpg", "image/jpeg"),
    ("receipt-{n}.png", "image/png"),
    ("contract-{n}.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
)
_ACTIVITIES = (
    ("conversation_created", "Conversation started by the customer"),
    ("assigned", "Assigned to Đỗ Thu Hà"),
    ("message_received", "Customer sent a message"),
    ("message_sent", "Agent replied"),
    ("tag_added", "Tag 'delivery' added"),
    ("status_changed", "Status changed to closed"),
)


def _sub_rng(number: int, salt: int) -> random.Random:
    return random.Random(number * 1_000_003 + salt)  # noqa: S311 - deterministic fake data


def conversation_count(number: int) -> int:
    return 3 if number == 1 else 1 + _sub_rng(number, 1).randrange(4)


def conversations(number: int, own_type: str) -> list[dict[str, Any]]:
    rng = _sub_rng(number, 2)
    others = [p for p in PLATFORMS if p != own_type]
    rng.shuffle(others)
    types = [own_type, *others][: conversation_count(number)]
    if number == 1:
        types = ["whatsapp", "web", "facebook"]
    out = []
    for k, ctype in enumerate(types, start=1):
        start = -400_000 + number * 37 + k * 1_000 + rng.randrange(500)
        out.append(
            {
                "id": f"cv_{number:04d}_{k}",
                "contact_id": contact_id(number),
                "channel_id": f"ch_{ctype}_001",
                "channel_type": ctype,
                "status": rng.choice(_CONV_STATUS),
                "last_message": rng.choice(_SNIPPETS).format(n=10_000 + number),
                "unread_count": rng.randrange(4),
                "participant_ids": [contact_id(number), "usr_001"],
                "created_at": seed_time(start),
                "last_message_at": seed_time(start + rng.randrange(10, 3_000)),
                "updated_at": seed_time(start + 3_000),
            }
        )
    return out


def parse_conversation_id(conversation_id: str) -> tuple[int, int] | None:
    if not conversation_id.startswith("cv_"):
        return None
    head, _, tail = conversation_id[3:].rpartition("_")
    if not head.isdigit() or not tail.isdigit():
        return None
    return int(head), int(tail)


def activities(number: int, k: int, conversation: dict[str, Any]) -> list[dict[str, Any]]:
    rng = _sub_rng(number, 10 + k)
    steps = 3 + rng.randrange(5)
    out = []
    for j in range(steps):
        kind, description = _ACTIVITIES[j] if j < 2 else rng.choice(_ACTIVITIES[2:])
        out.append(
            {
                "id": f"ac_{number:04d}_{k}_{j + 1}",
                "conversation_id": conversation["id"],
                "type": kind,
                "description": description,
                "actor": {"id": "usr_001", "name": "Đỗ Thu Hà"} if j % 2 else {"id": contact_id(number), "name": None},
                "created_at": seed_time(-400_000 + number * 37 + k * 1_000 + j * 7),
            }
        )
    return out


def comments(number: int, own_type: str) -> list[dict[str, Any]]:
    rng = _sub_rng(number, 3)
    count = 25 if number == 1 else rng.randrange(0, 31)
    out = []
    for j in range(count):
        author_id, author_name = rng.choice(_COMMENT_AUTHORS)
        out.append(
            {
                "_id": f"cm_{number:04d}_{j + 1:02d}",
                "contact_id": contact_id(number),
                "channel_type": own_type if j % 4 else rng.choice(PLATFORMS),
                "text": rng.choice(_COMMENTS),
                "author": {"id": author_id, "name": author_name},
                "created_at": seed_time(-300_000 + number * 11 + j * 60),
            }
        )
    return out


def files(number: int) -> list[dict[str, Any]]:
    rng = _sub_rng(number, 4)
    count = 3 if number == 1 else rng.randrange(0, 5)
    out = []
    for j in range(count):
        pattern, content_type = _FILES[(number + j) % len(_FILES)]
        filename = pattern.format(n=f"{number:04d}-{j + 1}")
        fid = f"fl_{number:04d}_{j + 1}"
        out.append(
            {
                "_id": fid,
                "contact_id": contact_id(number),
                "name": filename,
                "content_type": content_type,
                "size": 2_048 + rng.randrange(2_000_000),
                "url": f"https://sandbox.invalid/files/{fid}/{filename}",
                "created_at": seed_time(-200_000 + number * 13 + j * 30),
            }
        )
    return out


# --------------------------------------------------------------------------- Bird


def bird_channel_id(n: int) -> str:
    return f"b12d0000-0000-4000-8000-{n:012d}"


def bird_contact_id(n: int) -> str:
    return f"bc000000-0000-4000-8000-{n:012d}"


BIRD_CHANNEL_ACTIVE = bird_channel_id(1)
BIRD_CHANNEL_PENDING = bird_channel_id(4)
BIRD_CONTACT_WINDOW_OPEN = bird_contact_id(1)
BIRD_CONTACT_WINDOW_CLOSED = bird_contact_id(2)
BIRD_CONTACT_WINDOW_EXPIRED = bird_contact_id(3)
BIRD_CONTACT_WINDOW_PERMANENT = bird_contact_id(4)
BIRD_CONTACT_WINDOW_CLOSING_SOON = bird_contact_id(5)

_PLATFORM_INFO: dict[str, tuple[str, str]] = {
    # platformId -> (identifier key, channelMessageType: one of the documented values)
    "whatsapp": ("phonenumber", "conversational"),
    "sms-messagebird": ("phonenumber", "transactional"),
    "email-sparkpost": ("emailaddress", "promotional"),
    "facebook": ("facebook.psid", "conversational"),
    "instagram": ("instagram.igsid", "conversational"),
    "line": ("line.userid", "conversational"),
    "telegram": ("telegram.userid", "conversational"),
    "rcs-google": ("phonenumber", "promotional"),
}
# channelMessageType -> useCaseType (documented: transactional, marketing, conversation)
_USE_CASE = {"conversational": "conversation", "transactional": "transactional", "promotional": "marketing"}

_BIRD_SPECS: tuple[tuple[str, str, str], ...] = (
    ("whatsapp", "WhatsApp Support VN", "active"),
    ("sms-messagebird", "SMS OTP Sender", "active"),
    ("email-sparkpost", "Transactional Email", "active"),
    ("whatsapp", "WhatsApp Sales SG", "pending"),
    ("instagram", "Instagram DM", "setting-up"),
    ("facebook", "Messenger Bakery", "failed"),
    ("line", "LINE Thailand", "inactive"),
    ("telegram", "Telegram Bot (retired)", "deleted"),
    ("whatsapp", "WhatsApp Promotions", "warning"),
    ("sms-messagebird", "SMS Marketing VN", "active"),
    ("email-sparkpost", "Newsletter", "active"),
    ("whatsapp", "WhatsApp Delivery Updates", "active"),
    ("facebook", "Messenger Coffee", "active"),
    ("instagram", "Instagram Coffee", "active"),
    ("line", "LINE Japan", "active"),
    ("telegram", "Telegram Support", "active"),
    ("rcs-google", "RCS Business Messaging", "pending"),
    ("whatsapp", "WhatsApp Support HK", "active"),
    ("sms-messagebird", "SMS Alerts US", "active"),
    ("email-sparkpost", "Billing Email", "inactive"),
    ("whatsapp", "WhatsApp Careers", "active"),
    ("facebook", "Messenger Careers", "warning"),
    ("sms-messagebird", "SMS Two-way UK", "active"),
    ("email-sparkpost", "Support Email", "active"),
    ("whatsapp", "WhatsApp VIP", "active"),
    ("instagram", "Instagram Bakery", "inactive"),
    ("line", "LINE Taiwan", "active"),
    ("rcs-google", "RCS Promotions", "active"),
)


def _param(key: str, value: Any, visibility: str, display: str, description: str) -> dict[str, Any]:
    return {"key": key, "value": value, "displayName": display, "description": description, "visibility": visibility}


def _bird_identifier(platform: str, n: int) -> str:
    if platform in ("whatsapp", "sms-messagebird", "rcs-google"):
        return f"+1555010{n:04d}"
    if platform == "email-sparkpost":
        return f"channel{n:02d}@mail.sandbox-shop.example.com"
    return f"sandbox-{platform}-{n:02d}"


def bird_channels() -> list[dict[str, Any]]:
    out = []
    for n, (platform, name, status) in enumerate(_BIRD_SPECS, start=1):
        _, message_type = _PLATFORM_INFO[platform]
        messaging_status = "active" if status in ("active", "warning") else "inactive"
        hidden_key = "apiKey" if platform in ("sms-messagebird", "email-sparkpost") else "accessToken"
        out.append(
            {
                "id": bird_channel_id(n),
                "platformId": platform,
                "name": name,
                "connectorId": f"c0000000-0000-4000-8000-{n:012d}",
                "identifier": _bird_identifier(platform, n),
                "status": status,
                "capabilities": {
                    "messaging": {
                        "status": messaging_status,
                        "incoming": {"status": messaging_status},
                        "outgoing": {"status": messaging_status, "serviceWindow": platform == "whatsapp"},
                    }
                },
                "settings": [
                    _param("displayName", name, "public", "Display name", "Name shown to customers"),
                    _param(
                        "webhookSecret",
                        f"whsec_sandbox_FAKE_{n:04d}",
                        "private",
                        "Webhook secret",
                        "Signs the events Bird sends to your webhook",
                    ),
                ],
                "connectionParams": [
                    _param("accountId", f"acct-sandbox-{n:04d}", "public", "Account", "Account at the platform"),
                    _param(
                        hidden_key,
                        f"{_FAKE_TOKEN}BIRD{n:04d}",
                        "private",
                        "API key" if hidden_key == "apiKey" else "Access token",
                        "Credential Bird uses to reach the platform",
                    ),
                ],
                "preferences": {
                    "disableProfileFetching": platform in ("sms-messagebird", "email-sparkpost"),
                    "explicitMarketingOptOut": message_type == "promotional",
                    "ignoreSuppressionChecks": False,
                    "isPrivate": False,
                },
                "useCaseId": f"uc000000-0000-4000-8000-{n:012d}" if n % 4 else None,
                "useCaseType": _USE_CASE[message_type],
                "channelMessageType": message_type,
                "suites": ["connectivity", "engagement"] if n % 2 else ["connectivity", "inbox"],
                "createdAt": seed_time(n * 600),
                "updatedAt": seed_time(n * 600 + 4_000),
            }
        )
    return out


def bird_identifier_key(platform: str) -> str:
    return _PLATFORM_INFO.get(platform, ("identifier", ""))[0]


# (id, display name, phone, email, window offset in seconds from now or None, permanent session)
BIRD_CONTACTS: tuple[tuple[str, str, str, str, int | None, bool], ...] = (
    (BIRD_CONTACT_WINDOW_OPEN, "Nguyễn Văn An", "+84901230001", "an.nguyen@example.com", 2 * 3600, False),
    (BIRD_CONTACT_WINDOW_CLOSED, "王伟", "+8613800000003", "wei.wang@example.com", None, False),
    (BIRD_CONTACT_WINDOW_EXPIRED, "Emily Carter", "+12025550105", "emily.carter@example.org", -3 * 3600, False),
    (BIRD_CONTACT_WINDOW_PERMANENT, "Olivia Nguyen", "+14155550112", "olivia.nguyen@example.com", None, True),
    (BIRD_CONTACT_WINDOW_CLOSING_SOON, "Lê Hoàng Phúc", "+84987650007", "phuc.le@example.com", 5 * 60, False),
    (bird_contact_id(6), "Sarah Johnson", "+61491570009", "sarah.johnson@example.net", 23 * 3600 + 1800, False),
)


def _planted() -> tuple[str, ...]:
    """Every secret value the seed plants, read back from the seed data itself: channel configs and
    credential values under secret-holding keys, and every non-public Bird setting or connection
    parameter. Used by leak sweeps: none of these may ever reach a tool result, resource or log."""
    found: list[str] = []
    for channel in channels():
        found += [str(v) for k, v in channel["config"].items() if k in _SECRET_CONFIG_KEYS]
    for credential in credentials():
        found += [str(v) for k, v in credential["credentials"].items() if k in _SECRET_CONFIG_KEYS]
    for bird in bird_channels():
        for param in (*bird["settings"], *bird["connectionParams"]):
            if param["visibility"] != "public":
                found.append(str(param["value"]))
    return tuple(dict.fromkeys(found))


# The config and credential keys whose values are secrets (others, like app_id or waba_id, are not).
_SECRET_CONFIG_KEYS = frozenset(
    {"page_access_token", "access_token", "app_secret", "channel_secret", "secret", "token"}
)
PLANTED_SECRETS: tuple[str, ...] = _planted()
