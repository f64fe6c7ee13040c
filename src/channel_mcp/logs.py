"""Logging set-up: everything goes to stderr (stdout is the protocol in stdio mode), through a filter that
removes configured secrets, auth header values and credential-shaped strings from every record."""

from __future__ import annotations

import logging
import re
import sys

from channel_mcp.masking import mask_shapes, redact

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
        if record.__dict__.get("channel_mcp_redacted") is True and not record.args and not record.exc_info:
            return True  # built by channel-mcp from known words and numbers only (the access line)
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
    # Nothing in the format above uses the caller's frame, thread or process: not collecting them saves a
    # frame walk and three look-ups per record (the logging HOWTO's "Optimization" section).
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    # httpx logs every request line at INFO; our transport logs what matters at DEBUG.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, root.level))
    logging.getLogger("httpcore").setLevel(max(logging.WARNING, root.level))
