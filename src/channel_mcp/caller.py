"""Who is calling: the authenticated caller of the current HTTP request, in a ContextVar.

Set by the OAuth middleware (`channel_mcp.serving.auth`) for the duration of one request and read by the
audit log and the confirmation binding. It lives in its own dependency-free module so that they can read
it without importing the HTTP stack. Outside oauth mode (stdio, token mode) there is no caller: every
function here then returns an empty value and behaviour is exactly as before.
"""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from dataclasses import dataclass, field

__all__ = [
    "Caller",
    "CallerLogFilter",
    "audit_fields",
    "binding_prefix",
    "current_caller",
    "install_log_filter",
]


@dataclass(frozen=True, slots=True)
class Caller:
    """The identity behind a validated access token. Never holds the token itself."""

    issuer: str | None
    subject: str | None
    client_id: str
    tenant: str | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)

    def describe(self) -> str:
        """For log lines: names the caller, never the credential."""
        return (
            f"iss={json.dumps(self.issuer)} sub={json.dumps(self.subject)} "
            f"client_id={json.dumps(self.client_id)} tenant={json.dumps(self.tenant)}"
        )


current_caller: ContextVar[Caller | None] = ContextVar("channel_mcp_caller", default=None)


def audit_fields() -> dict[str, dict[str, str | None]]:
    """The `caller` member of an audit line, or nothing when no caller is authenticated."""
    caller = current_caller.get()
    if caller is None:
        return {}
    return {
        "caller": {
            "issuer": caller.issuer,
            "subject": caller.subject,
            "client_id": caller.client_id,
            "tenant": caller.tenant,
        }
    }


def binding_prefix() -> str:
    """Mixed into a confirmation's binding, so that a confirmation sealed for one caller does not match
    the same call made by another. Empty without a caller, which keeps stdio bindings unchanged."""
    caller = current_caller.get()
    if caller is None:
        return ""
    return json.dumps([caller.issuer, caller.subject, caller.client_id, caller.tenant]) + "\n"


class CallerLogFilter(logging.Filter):
    """Appends the caller to every log record written while serving an authenticated request, so that a
    line such as "tool X failed" says whose call it was. Names only: the token is never in a Caller."""

    def filter(self, record: logging.LogRecord) -> bool:
        caller = current_caller.get()
        if caller is not None and not getattr(record, "channel_mcp_caller", False):
            record.msg, record.args = f"{record.getMessage()} [caller {caller.describe()}]", None
            record.channel_mcp_caller = True
        return True


def install_log_filter() -> None:
    """Adds `CallerLogFilter` to channel-mcp's stderr handler (after its redactor), once."""
    for handler in logging.getLogger().handlers:
        if getattr(handler, "_channel_mcp", False) and not any(isinstance(f, CallerLogFilter) for f in handler.filters):
            handler.addFilter(CallerLogFilter())
