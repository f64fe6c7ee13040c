"""Confirmation before destructive calls, the audit log, and log redaction."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import os
import re
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from mcp_types import InputRequiredResult
from pydantic import BaseModel, Field

from channel_mcp.caller import audit_fields, binding_prefix
from channel_mcp.errors import ChannelMCPError
from channel_mcp.masking import clean, mask_shapes, mask_value, redact

if TYPE_CHECKING:
    from channel_mcp.deps import Deps
    from channel_mcp.http import Exchange
    from channel_mcp.tools._spec import ToolSpec

logger = logging.getLogger("channel_mcp.safety")

CONFIRM_DESCRIPTION = "true only after the user explicitly confirmed."


class Confirmer(Protocol):
    """Asks the user through the client (MCP elicitation), when the client can."""

    def can_ask(self) -> bool: ...

    async def ask(self, message: str, binding: str) -> Literal["accept", "decline", "cancel"] | InputRequiredResult: ...


class ConfirmAnswer(BaseModel):
    confirm: bool = Field(description="Yes, go ahead.")


async def confirm_destructive(
    spec: ToolSpec[Any, Any], args: BaseModel, deps: Deps, confirmer: Confirmer | None
) -> tuple[str, str | InputRequiredResult | None]:
    """Returns (outcome for the audit log, refusal text, or the question to send, or None to proceed).

    Nothing destructive is sent unless this returns None as its second item."""
    if deps.settings.confirm == "never":
        return "skipped (CHANNEL_MCP_CONFIRM=never)", None
    if confirmer is not None and confirmer.can_ask():
        target = await _describe(spec, args, deps)
        binding = hashlib.sha256(f"{binding_prefix()}{spec.name}:{args.model_dump_json()}".encode()).hexdigest()[:32]
        try:
            answer = await confirmer.ask(f"Confirm: {target}. This cannot be undone.", binding)
        except Exception:  # a client that advertised elicitation but failed to answer
            logger.warning("elicitation failed for %s", spec.name, exc_info=True)
            answer = "cancel"
        if isinstance(answer, InputRequiredResult):
            return "asked the user", answer
        if answer == "accept":
            return "confirmed by the user", None
        verb = "declined" if answer == "decline" else "cancelled"
        return f"{verb} by the user", f"Not done: the user {verb} the confirmation to {target}. Nothing was deleted."
    if getattr(args, "confirm", None) is True:
        return "confirmed via confirm argument", None
    target = await _describe(spec, args, deps)
    return "refused: no confirmation", (
        f"{spec.name} needs the user's explicit confirmation and this client cannot ask for it. "
        f"Ask the user whether to {target}; only if they clearly agree, call again with confirm: true. "
        "Nothing was deleted."
    )


async def _describe(spec: ToolSpec[Any, Any], args: BaseModel, deps: Deps) -> str:
    if spec.describe_target is None:
        return spec.title.lower()
    try:
        return await spec.describe_target(deps, args)
    except ChannelMCPError:
        # The fetch is only for a friendlier message: the delete itself will report a missing id.
        ids = ", ".join(f"{k} {v}" for k, v in args.__dict__.items() if k.endswith("_id"))
        return f"{spec.title.lower()} ({ids})" if ids else spec.title.lower()


class AuditLog:
    """Appends one JSON line per write or destructive call; each line is flushed and synced as written."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._file = path.open("a", encoding="utf-8")

    def write(
        self,
        spec: ToolSpec[Any, Any],
        args: BaseModel,
        *,
        outcome: str,
        trace: list[Exchange],
        started: float,
        error: str | None,
        secrets: list[str],
    ) -> None:
        arguments = args.model_dump(mode="json", exclude_none=True)
        for name in spec.secret_args:
            if name in arguments:
                value = arguments[name]
                arguments[name] = {k: "****" for k in value} if isinstance(value, dict) else mask_value(str(value))[:4]
        for name, value in arguments.items():
            if name.endswith("_base64") and isinstance(value, str):
                arguments[name] = upload_summary(value)
        # Redact before cutting: a cut through a secret would leave a prefix that no longer matches it.
        arguments = _cut_long(clean(arguments, secrets))
        last = trace[-1] if trace else None
        line = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "tool": spec.name,
            "arguments": arguments,
            "confirmation": outcome,
            "status": last.status if last else None,
            "request_id": last.request_id if last else None,
            "attempts": len(trace),
            "duration_ms": round((time.monotonic() - started) * 1000, 1),
            "ok": error is None,
        }
        line.update(audit_fields())  # who called: issuer, subject, client_id, tenant (HTTP oauth mode)
        if error is not None:
            line["error"] = error
        text = json.dumps(clean(line, secrets), ensure_ascii=False)
        self._file.write(text + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        self._file.close()


# Argument values in an audit line are cut past this many characters: the line says what was done,
# it is not a copy of the data (a 10 MB upload or config would otherwise be stored once per call).
AUDIT_VALUE_CHARS = 200


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


_HEADER_RE = re.compile(
    r"(?i)(x-api-key|x-access-token|authorization|accesskey|bearer)(['\"]?\s*[:=,]?\s*['\"]?)"
    r"(?:(?:AccessKey|Bearer)\s+)?[^\s'\",}]+"
)


class RedactingFilter(logging.Filter):
    """Removes configured secrets, auth header values and credential-shaped strings from every record,
    at every level."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        cleaned = self._clean(message)
        record.msg, record.args = cleaned, None
        if record.exc_text:
            record.exc_text = self._clean(record.exc_text)
        return True

    def _clean(self, text: str) -> str:
        text = _HEADER_RE.sub(lambda m: f"{m.group(1)}{m.group(2)}****", redact(text, self.secrets))
        return mask_shapes(text)


def configure_logging(level: str, secrets: list[str]) -> None:
    """Logs go to stderr only (stdout is the protocol in stdio mode), redacted."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_channel_mcp", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler._channel_mcp = True  # type: ignore[attr-defined]
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter(secrets))
    root.addHandler(handler)
    root.setLevel(level)
    # httpx logs every request line at INFO; our transport logs what matters at DEBUG.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, root.level))
    logging.getLogger("httpcore").setLevel(max(logging.WARNING, root.level))
