"""State of the sandbox: one SQLite database (``:memory:`` or a file) plus a contact search index.

Storage
-------
Small collections (channels, credentials, workflows, teams, notifications, uploads, Bird
channels and contacts) live as JSON documents in one ``docs`` table ordered by ``seq``; they
are a few dozen rows, so filtering happens in Python. Contacts get a real table because there
may be 100 000 of them. A file database is seeded only when it is new; later runs reuse it
(and ignore ``contacts=``), so changes survive a restart. Run one sandbox per file at a time:
the search index is built at start-up and does not see writes from another process.

Contact search keeps, in memory and in contact order, one lower-cased blob per contact
(name, diacritic-folded name, email, phone). A substring test over 100k short strings is a
few milliseconds, faster than any ``LIKE`` scan SQLite can do, and gives the exact total.
Pages are then fetched by primary key.

Documented shapes
-----------------
Answers follow the API documents (seeds/): a channel's ``type`` is its platform (web, facebook,
whatsapp, ...), the same word the contract uses for ``GET /v1/channels?type=`` and
``POST /v1/channels {"type": ...}``. (Earlier versions answered ``type: "support"`` and put the
platform in ``channel_type``, because the official SDK 1.3.1 types ``Channel.type`` as
direct|group|broadcast|support; the documents win, and the SDK test loosens that one field.)
Contacts are stored in columns named for the contract's update body (name, phone) and answered with
the documented names (display_name, phone_number). Credentials, Facebook pages, comments and files
carry ``_id``.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from channel_mcp.sandbox import seed

__all__ = ["ConflictError", "NotFoundError", "SandboxStore", "StoreError", "ValidationError"]

JSON = dict[str, Any]

_SCHEMA_VERSION = "2"  # 2: documented shapes (type is the platform, _id, display_name, ...)
_CONTACT_COLUMNS = "seq, id, name, email, phone, avatar_url, channel_type, tags, created_at, updated_at"
_EXPORT_COLUMNS = (
    "id", "display_name", "email", "phone_number", "channel_type", "tags", "avatar_url", "created_at", "updated_at"
)  # fmt: skip
_SORTABLE = {
    "id": "seq",
    "display_name": "name",
    "name": "name",
    "email": "email",
    "phone_number": "phone",
    "phone": "phone",
    "channel_type": "channel_type",
    "created_at": "created_at",
    "updated_at": "updated_at",
}
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
_E164_RE = re.compile(r"^\+[1-9]\d{6,14}$")
_BIRD_NAMESPACE = uuid.UUID("6f1c2a40-5a4d-4b1e-9d2a-000000000b1d")


class StoreError(Exception):
    """Base class; ``str(exc)`` is the message shown to the API caller."""


class NotFoundError(StoreError):
    pass


class ValidationError(StoreError):
    pass


class ConflictError(StoreError):
    pass


def _doc_id(doc: JSON) -> str:
    """The id a document is stored under: `id`, or the documented `_id` of credentials and the like."""
    return str(doc["id"] if "id" in doc else doc["_id"])


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def now_iso() -> str:
    return seed.iso(datetime.now(UTC))


def normalise_phone(phone: str) -> str:
    compact = re.sub(r"[\s().-]", "", phone)
    if not _E164_RE.match(compact):
        raise ValidationError(f"phone must be in E.164 format, e.g. +84901234567 (got {phone!r})")
    return compact


def check_email(email: str) -> str:
    email = email.strip()
    if not _EMAIL_RE.match(email):
        raise ValidationError(f"email is not a valid address: {email!r}")
    return email


class SandboxStore:
    def __init__(self, path: str | None = None, *, contacts: int = 240) -> None:
        if contacts < 0:
            raise ValueError("contacts must not be negative")
        self.path = path or ":memory:"
        self._lock = threading.RLock()
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        # The app may be built in one thread and served by uvicorn in another; the lock
        # serialises access, so sharing the connection across threads is safe.
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._contact_seq: list[int] = []
        self._contact_blob: list[str] = []
        self._contact_pos: dict[str, int] = {}
        try:
            with self._lock:
                if self.path != ":memory:":
                    self._db.execute("PRAGMA journal_mode=WAL")
                    self._db.execute("PRAGMA synchronous=NORMAL")
                self._create_schema()
                if self._meta("seeded") is None:
                    self._seed(contacts)
                elif self._meta("schema_version") != _SCHEMA_VERSION:
                    raise ValueError(f"{self.path} was written by another sandbox version; delete it to reseed")
                self._load_contact_index()
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise ValueError(f"{self.path} is not a usable sandbox database: {exc}") from exc
        except BaseException:
            self._db.close()
            raise

    # ------------------------------------------------------------------ plumbing

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _create_schema(self) -> None:
        self._db.executescript(
            """
            CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS docs (
                kind TEXT NOT NULL, id TEXT NOT NULL, seq INTEGER NOT NULL, doc TEXT NOT NULL,
                PRIMARY KEY (kind, id)
            );
            CREATE INDEX IF NOT EXISTS docs_kind_seq ON docs (kind, seq);
            CREATE TABLE IF NOT EXISTS contacts (
                seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, name TEXT NOT NULL, email TEXT, phone TEXT,
                avatar_url TEXT, channel_type TEXT NOT NULL, tags TEXT NOT NULL,
                created_at TEXT NOT NULL, updated_at TEXT NOT NULL, search TEXT NOT NULL
            );
            """
        )

    def _meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _set_meta(self, db: sqlite3.Connection, key: str, value: str) -> None:
        db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def _seed(self, contacts: int) -> None:
        with self._tx() as db:
            for kind, docs in (
                ("channel", seed.channels()),
                ("credential", seed.credentials()),
                ("workflow", seed.workflows()),
                ("team", seed.teams()),
                ("notification", seed.notifications()),
                (f"bird_channel:{seed.BIRD_WORKSPACE}", seed.bird_channels()),
            ):
                db.executemany(
                    "INSERT INTO docs (kind, id, seq, doc) VALUES (?, ?, ?, ?)",
                    [(kind, _doc_id(d), i, _dumps(d)) for i, d in enumerate(docs, start=1)],
                )
            for platform in seed.PLATFORMS:
                used = [int(c["id"].rsplit("_", 1)[1]) for c in seed.channels() if c["type"] == platform]
                self._set_meta(db, f"next_channel:{platform}", str(max(used, default=0) + 1))
            db.executemany(
                f"INSERT INTO contacts ({_CONTACT_COLUMNS}, search) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
                seed.generate_contacts(contacts),
            )
            self._set_meta(db, "next_upload", "1")
            self._set_meta(db, "schema_version", _SCHEMA_VERSION)
            self._set_meta(db, "seeded", now_iso())

    def _load_contact_index(self) -> None:
        rows = self._db.execute("SELECT seq, id, search FROM contacts ORDER BY seq").fetchall()
        self._contact_seq = [r[0] for r in rows]
        self._contact_blob = [r[2] for r in rows]
        self._contact_pos = {r[1]: i for i, r in enumerate(rows)}

    # Generic document helpers ------------------------------------------------

    def _docs(self, kind: str) -> list[JSON]:
        with self._lock:
            rows = self._db.execute("SELECT doc FROM docs WHERE kind = ? ORDER BY seq", (kind,)).fetchall()
        return [json.loads(r[0]) for r in rows]

    def _doc(self, kind: str, doc_id: str) -> JSON | None:
        with self._lock:
            row = self._db.execute("SELECT doc FROM docs WHERE kind = ? AND id = ?", (kind, doc_id)).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def _insert_doc(self, db: sqlite3.Connection, kind: str, doc: JSON) -> None:
        (seq,) = db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM docs WHERE kind = ?", (kind,)).fetchone()
        db.execute("INSERT INTO docs (kind, id, seq, doc) VALUES (?, ?, ?, ?)", (kind, _doc_id(doc), seq, _dumps(doc)))

    def _replace_doc(self, db: sqlite3.Connection, kind: str, doc: JSON) -> None:
        db.execute("UPDATE docs SET doc = ? WHERE kind = ? AND id = ?", (_dumps(doc), kind, _doc_id(doc)))

    def _delete_doc(self, db: sqlite3.Connection, kind: str, doc_id: str) -> bool:
        return db.execute("DELETE FROM docs WHERE kind = ? AND id = ?", (kind, doc_id)).rowcount > 0

    # ------------------------------------------------------------------ channels

    def list_channels(self, platform: str | None = None) -> list[JSON]:
        docs = self._docs("channel")
        if platform is not None:
            docs = [d for d in docs if d["type"] == platform]
        return docs

    def count_channels(self) -> int:
        with self._lock:
            (n,) = self._db.execute("SELECT COUNT(*) FROM docs WHERE kind = 'channel'").fetchone()
        return int(n)

    def get_channel(self, channel_id: str) -> JSON:
        doc = self._doc("channel", channel_id)
        if doc is None:
            raise NotFoundError(f"channel {channel_id} not found")
        return doc

    def create_channel(
        self,
        platform: str,
        name: str,
        config: JSON | None = None,
        extra: JSON | None = None,
        description: str | None = None,
    ) -> JSON:
        if platform not in seed.PLATFORMS:
            raise ValidationError(f"type must be one of {', '.join(seed.PLATFORMS)}")
        now = now_iso()
        with self._tx() as db:
            number = int(self._meta(f"next_channel:{platform}") or "1")
            self._set_meta(db, f"next_channel:{platform}", str(number + 1))
            doc: JSON = {
                "object_name": "channel",
                "id": f"ch_{platform}_{number:03d}",
                "name": name,
                "type": platform,
                "organization_id": seed.ORGANIZATION_ID,
                "business_unit_id": seed.BUSINESS_UNIT_ID,
                "description": description,
                "is_active": True,
                "config": dict(config or {}),
                "workflow_id": None,
                "created_at": now,
                "updated_at": now,
            }
            doc.update(extra or {})
            self._insert_doc(db, "channel", doc)
        return doc

    def update_channel(
        self,
        channel_id: str,
        *,
        name: str | None = None,
        active: bool | None = None,
        config: JSON | None = None,
        extra: JSON | None = None,
        description: str | None = None,
        platform: str | None = None,
    ) -> JSON:
        """Shallow-merge ``config`` (keys sent replace stored keys, others are kept)."""
        with self._tx() as db:
            doc = self.get_channel(channel_id)
            if platform is not None and doc["type"] != platform:
                raise ValidationError(f"channel {channel_id} is a {doc['type']} channel, not {platform}")
            if name is not None:
                doc["name"] = name
            if active is not None:
                doc["is_active"] = active
            if description is not None:
                doc["description"] = description
            if config is not None:
                doc["config"] = {**doc.get("config", {}), **config}
            doc.update(extra or {})
            doc["updated_at"] = now_iso()
            self._replace_doc(db, "channel", doc)
        return doc

    def delete_channel(self, channel_id: str) -> None:
        with self._tx() as db:
            if not self._delete_doc(db, "channel", channel_id):
                raise NotFoundError(f"channel {channel_id} not found")
            for wf in self._docs("workflow"):
                if wf.get("channel_id") == channel_id:
                    wf["channel_id"] = None
                    self._replace_doc(db, "workflow", wf)

    # ------------------------------------------------------------ credentials

    def _credential(self, credential_id: str) -> JSON:
        doc = self._doc("credential", credential_id)
        if doc is None:
            raise NotFoundError(f"credential {credential_id} not found")
        return doc

    @staticmethod
    def _public_credential(doc: JSON) -> JSON:
        return {k: v for k, v in doc.items() if k != "pages"}

    def get_credential(self, credential_id: str) -> JSON:
        return self._public_credential(self._credential(credential_id))

    def update_credential(self, credential_id: str, *, name: str | None, credentials: JSON | None) -> JSON:
        with self._tx() as db:
            doc = self._credential(credential_id)
            if name is not None:
                doc["name"] = name
            if credentials is not None:
                doc["credentials"] = {**doc.get("credentials", {}), **credentials}
            doc["updated_at"] = now_iso()
            self._replace_doc(db, "credential", doc)
        return self._public_credential(doc)

    def delete_credential(self, credential_id: str) -> None:
        with self._tx() as db:
            if not self._delete_doc(db, "credential", credential_id):
                raise NotFoundError(f"credential {credential_id} not found")

    def facebook_pages(self, credential_id: str) -> list[JSON]:
        doc = self._credential(credential_id)
        connected = {c.get("page_id") for c in self.list_channels("facebook")}
        return [{**page, "connected": page["_id"] in connected} for page in doc.get("pages", [])]

    # ------------------------------------------------------------ workflows, teams

    def update_workflow(self, workflow_id: str, *, channel_id: str, config: JSON | None) -> JSON:
        with self._tx() as db:
            wf = self._doc("workflow", workflow_id)
            if wf is None:
                raise NotFoundError(f"workflow {workflow_id} not found")
            channel = self.get_channel(channel_id)
            previous = wf.get("channel_id")
            if previous and previous != channel_id:
                old = self._doc("channel", previous)
                if old is not None and old.get("workflow_id") == workflow_id:
                    old["workflow_id"] = None
                    self._replace_doc(db, "channel", old)
            channel["workflow_id"] = workflow_id
            self._replace_doc(db, "channel", channel)
            wf["channel_id"] = channel_id
            if config is not None:
                wf["config"] = {**wf.get("config", {}), **config}
            wf["updated_at"] = now_iso()
            self._replace_doc(db, "workflow", wf)
        return wf

    def delete_workflow(self, workflow_id: str) -> None:
        with self._tx() as db:
            wf = self._doc("workflow", workflow_id)
            if wf is None or not self._delete_doc(db, "workflow", workflow_id):
                raise NotFoundError(f"workflow {workflow_id} not found")
            channel = self._doc("channel", wf["channel_id"]) if wf.get("channel_id") else None
            if channel is not None and channel.get("workflow_id") == workflow_id:
                channel["workflow_id"] = None
                self._replace_doc(db, "channel", channel)

    def list_teams(self) -> list[JSON]:
        return [{k: v for k, v in t.items() if k != "observers"} for t in self._docs("team")]

    def team_observers(self, team_id: str) -> list[JSON]:
        team = self._doc("team", team_id)
        if team is None:
            raise NotFoundError(f"team {team_id} not found")
        return list(team["observers"])

    # ------------------------------------------------------------------ contacts

    @staticmethod
    def _contact(row: sqlite3.Row) -> JSON:
        doc: JSON = {
            "object_name": "contact",
            "id": row["id"],
            "organization_id": seed.ORGANIZATION_ID,
            "display_name": row["name"],
            "email": row["email"],
            "phone_number": row["phone"],
            "avatar_url": row["avatar_url"],
            "created_at": row["created_at"],
            "updated_at": row["updated_at"],
            # Not in the documented schema; kept as a real account's extra fields would be.
            "channel_type": row["channel_type"],
            "tags": json.loads(row["tags"]),
        }
        # Documented as `string?`: an absent value is left out, not sent as null.
        return {k: v for k, v in doc.items() if v is not None}

    def _contacts_by_seq(self, seqs: Sequence[int]) -> list[JSON]:
        if not seqs:
            return []
        marks = ",".join("?" * len(seqs))
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_CONTACT_COLUMNS} FROM contacts WHERE seq IN ({marks}) ORDER BY seq",  # noqa: S608 - only placeholders
                tuple(seqs),
            ).fetchall()
        return [self._contact(r) for r in rows]

    def contact_total(self) -> int:
        return len(self._contact_seq)

    def list_contacts(self, offset: int, limit: int) -> tuple[list[JSON], int]:
        with self._lock:
            seqs = self._contact_seq[offset : offset + limit]
            total = len(self._contact_seq)
        return self._contacts_by_seq(seqs), total

    def search_contacts(self, query: str, offset: int, limit: int) -> tuple[list[JSON], int]:
        needle = query.strip().lower()
        if not needle:
            raise ValidationError("q must not be empty")
        with self._lock:
            hits = [s for s, blob in zip(self._contact_seq, self._contact_blob, strict=True) if needle in blob]
        return self._contacts_by_seq(hits[offset : offset + limit]), len(hits)

    def get_contact(self, contact_id: str) -> JSON:
        with self._lock:
            row = self._db.execute(f"SELECT {_CONTACT_COLUMNS} FROM contacts WHERE id = ?", (contact_id,)).fetchone()  # noqa: S608
        if row is None:
            raise NotFoundError(f"contact {contact_id} not found")
        return self._contact(row)

    def update_contact(
        self, contact_id: str, *, name: str | None = None, email: str | None = None, phone: str | None = None
    ) -> JSON:
        if name is None and email is None and phone is None:
            raise ValidationError("nothing to update: send at least one of name, email, phone")
        if name is not None and not name.strip():
            raise ValidationError("name must not be empty")
        email = check_email(email) if email is not None else None
        phone = normalise_phone(phone) if phone is not None else None
        with self._tx() as db:
            doc = self.get_contact(contact_id)
            if name is not None:
                doc["display_name"] = name.strip()
            if email is not None:
                doc["email"] = email
            if phone is not None:
                doc["phone_number"] = phone
            doc["updated_at"] = now_iso()
            email, phone = doc.get("email"), doc.get("phone_number")
            blob = seed.search_blob(doc["display_name"], email, phone)
            db.execute(
                "UPDATE contacts SET name = ?, email = ?, phone = ?, updated_at = ?, search = ? WHERE id = ?",
                (doc["display_name"], email, phone, doc["updated_at"], blob, contact_id),
            )
            self._contact_blob[self._contact_pos[contact_id]] = blob
        return doc

    def export_contacts_csv(self, sort: str | None) -> str:
        order = "seq ASC"
        if sort:
            descending = sort.startswith("-")
            column = sort.lstrip("+-")
            if column not in _SORTABLE:
                raise ValidationError(f"sort must be one of {', '.join(_SORTABLE)} (prefix - for descending)")
            order = f"{_SORTABLE[column]} {'DESC' if descending else 'ASC'}, seq ASC"
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(_EXPORT_COLUMNS)
        with self._lock:
            rows = self._db.execute(f"SELECT {_CONTACT_COLUMNS} FROM contacts ORDER BY {order}")  # noqa: S608 - whitelisted
            for row in rows:
                tags = ";".join(json.loads(row["tags"]))
                writer.writerow(
                    (
                        row["id"],
                        row["name"],
                        row["email"] or "",
                        row["phone"] or "",
                        row["channel_type"],
                        tags,
                        row["avatar_url"] or "",
                        row["created_at"],
                        row["updated_at"],
                    )
                )
        return out.getvalue()

    def _contact_number(self, contact_id: str) -> tuple[int, str]:
        doc = self.get_contact(contact_id)
        number = seed.contact_number(contact_id)
        if number is None:  # only seeded ids exist today; keep the guard for the type checker
            raise NotFoundError(f"contact {contact_id} not found")
        return number, str(doc["channel_type"])

    def contact_conversations(self, contact_id: str, channel_types: Sequence[str] | None = None) -> list[JSON]:
        number, own = self._contact_number(contact_id)
        convs = seed.conversations(number, own)
        if channel_types:
            wanted = set(channel_types)
            convs = [c for c in convs if c["channel_type"] in wanted]
        return convs

    def contact_comments(self, contact_id: str, channel_types: Sequence[str] | None = None) -> list[JSON]:
        number, own = self._contact_number(contact_id)
        items = seed.comments(number, own)
        if channel_types:
            wanted = set(channel_types)
            items = [c for c in items if c["channel_type"] in wanted]
        return items

    def contact_files(self, contact_id: str) -> list[JSON]:
        number, _ = self._contact_number(contact_id)
        return seed.files(number)

    def conversation_activities(self, conversation_id: str) -> list[JSON]:
        parsed = seed.parse_conversation_id(conversation_id)
        missing = NotFoundError(f"conversation {conversation_id} not found")
        if parsed is None:
            raise missing
        number, k = parsed
        try:
            convs = self.contact_conversations(seed.contact_id(number))
        except NotFoundError:
            raise missing from None
        match = [c for c in convs if c["id"] == conversation_id]
        if not match:
            raise missing
        return seed.activities(number, k, match[0])

    # ------------------------------------------------------------ notifications

    def list_notifications(self, offset: int, limit: int) -> tuple[list[JSON], int]:
        docs = self._docs("notification")
        return docs[offset : offset + limit], len(docs)

    def mark_notifications_read(self, ids: Sequence[str] | None) -> int:
        """Return how many notifications went from unread to read."""
        with self._tx() as db:
            docs = self._docs("notification")
            if ids is not None:
                known = {d["id"] for d in docs}
                unknown = [i for i in ids if i not in known]
                if unknown:
                    raise NotFoundError(f"notification(s) not found: {', '.join(unknown)}")
                wanted = set(ids)
                docs = [d for d in docs if d["id"] in wanted]
            changed = 0
            for doc in docs:
                if not doc["is_read"]:
                    doc["is_read"] = True
                    self._replace_doc(db, "notification", doc)
                    changed += 1
        return changed

    def dismiss_notification(self, notification_id: str) -> None:
        with self._tx() as db:
            if not self._delete_doc(db, "notification", notification_id):
                raise NotFoundError(f"notification {notification_id} not found")

    def dismiss_all_notifications(self) -> int:
        with self._tx() as db:
            return int(db.execute("DELETE FROM docs WHERE kind = 'notification'").rowcount)

    # ------------------------------------------------------------------ uploads

    def record_upload(self, filename: str, content_type: str, size: int, sha256: str) -> JSON:
        with self._tx() as db:
            number = int(self._meta("next_upload") or "1")
            self._set_meta(db, "next_upload", str(number + 1))
            upload_id = f"up_{number:06d}"
            doc: JSON = {
                "id": upload_id,
                "filename": filename,
                "size": size,
                "content_type": content_type,
                "sha256": sha256,
                "created_at": now_iso(),
            }
            self._insert_doc(db, "upload", doc)
        return doc

    # ------------------------------------------------------------------ Bird

    def _bird_channels(self, workspace_id: str) -> list[JSON]:
        if workspace_id != seed.BIRD_WORKSPACE:
            raise NotFoundError(f"workspace {workspace_id} not found")
        return self._docs(f"bird_channel:{workspace_id}")

    def bird_list_channels(
        self, workspace_id: str, *, platform: str | None = None, status: str | None = None
    ) -> list[JSON]:
        docs = self._bird_channels(workspace_id)
        if platform:
            docs = [d for d in docs if d["platformId"] == platform]
        if status:
            docs = [d for d in docs if d["status"] == status]
        return docs

    def bird_get_channel(self, workspace_id: str, channel_id: str) -> JSON:
        self._bird_channels(workspace_id)
        doc = self._doc(f"bird_channel:{workspace_id}", channel_id)
        if doc is None:
            raise NotFoundError(f"channel {channel_id} not found")
        return doc

    def bird_channel_contact(self, workspace_id: str, channel_id: str, contact_id: str) -> JSON:
        channel = self.bird_get_channel(workspace_id, channel_id)
        match = [c for c in seed.BIRD_CONTACTS if c[0] == contact_id]
        if not match:
            raise NotFoundError(f"contact {contact_id} not found on channel {channel_id}")
        _, display_name, phone, email, offset, permanent = match[0]
        # Service windows are anchored to the request time so seeded states never go stale.
        now = datetime.now(UTC)
        expire = None if offset is None else now + timedelta(seconds=offset)
        last_inbound = None if expire is None else expire - timedelta(hours=24)
        if permanent:
            last_inbound = now - timedelta(days=3)
        platform = channel["platformId"]
        key = seed.bird_identifier_key(platform)
        if key == "phonenumber":
            identifier = phone
        elif key == "emailaddress":
            identifier = email
        else:
            identifier = f"{platform}-user-{contact_id[-4:]}"
        created = seed.seed_time(5_000)
        return {
            "id": str(uuid.uuid5(_BIRD_NAMESPACE, f"{channel_id}/{contact_id}")),
            "channelId": channel_id,
            "contactId": contact_id,
            "platformId": platform,
            "identifierKey": key,
            "identifierValue": identifier,
            "serviceWindowExpireAt": None if expire is None else seed.iso(expire),
            "isPermanentSession": permanent,
            "metadata": {
                "displayName": display_name,
                "lastInboundMessageAt": None if last_inbound is None else seed.iso(last_inbound),
            },
            "createdAt": created,
            "updatedAt": created if last_inbound is None else seed.iso(last_inbound),
        }
