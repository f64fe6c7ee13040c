"""The audit log: one JSON line per write or destructive call, from a plain record the tool runner builds.

Arguments are recorded as given, minus secrets (declared secret arguments keep four masked characters,
configured secret values are redacted everywhere) and minus bulk (uploads as size and digest, long values
cut). Each line is flushed and synced as written.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from channel_mcp.caller import audit_fields
from channel_mcp.masking import clean, mask_value

# Argument values in an audit line are cut past this many characters: the line says what was done,
# it is not a copy of the data (a 10 MB upload or config would otherwise be stored once per call).
AUDIT_VALUE_CHARS = 200


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """What one audited call did. `arguments` is the validated input as JSON; `secret_args` names the ones
    whose values are secrets; the last four fields describe the requests that left (none if refused)."""

    tool: str
    arguments: dict[str, Any]
    secret_args: tuple[str, ...]
    outcome: str
    error: str | None
    duration_ms: float
    status: int | None = None
    request_id: str | None = None
    attempts: int = 0


class AuditLog:
    """Appends one JSON line per `write`; each line is flushed and synced as written."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._file = path.open("a", encoding="utf-8")

    def write(self, record: AuditRecord, *, secrets: list[str]) -> None:
        arguments = dict(record.arguments)
        for name in record.secret_args:
            if name in arguments:
                value = arguments[name]
                arguments[name] = {k: "****" for k in value} if isinstance(value, dict) else mask_value(str(value))[:4]
        for name, value in arguments.items():
            if name.endswith("_base64") and isinstance(value, str):
                arguments[name] = upload_summary(value)
        # Redact before cutting: a cut through a secret would leave a prefix that no longer matches it.
        arguments = _cut_long(clean(arguments, secrets))
        line: dict[str, Any] = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "tool": record.tool,
            "arguments": arguments,
            "confirmation": record.outcome,
            "status": record.status,
            "request_id": record.request_id,
            "attempts": record.attempts,
            "duration_ms": record.duration_ms,
            "ok": record.error is None,
        }
        line.update(audit_fields())  # who called: issuer, subject, client_id, tenant (HTTP oauth mode)
        if record.error is not None:
            line["error"] = record.error
        text = json.dumps(clean(line, secrets), ensure_ascii=False)
        self._file.write(text + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        self._file.close()


def upload_summary(content_base64: str) -> dict[str, Any]:
    """What the audit log keeps of an upload: its size and digest, enough to identify the file, never its bytes."""
    try:
        data = base64.b64decode("".join(content_base64.split()), validate=True)
    except (binascii.Error, ValueError):
        return {"base64_chars": len(content_base64), "valid_base64": False}
    return {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def _cut_long(value: Any) -> Any:
    """Long strings shortened with a marker saying how long they were; arguments are depth-capped (tools/_args.py)."""
    if isinstance(value, str):
        if len(value) <= AUDIT_VALUE_CHARS:
            return value
        return f"{value[:AUDIT_VALUE_CHARS]}… [cut: {len(value)} characters]"
    if isinstance(value, dict):
        return {k: _cut_long(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_cut_long(v) for v in value]
    return value
