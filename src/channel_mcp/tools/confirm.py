"""Confirmation before destructive calls: the question, the binding to the exact call, and the MCP side.

`confirm_destructive` decides; `ContextConfirmer` asks through MCP elicitation when the client can. On
2026-07-28 and later the question travels as an `InputRequiredResult` and the answer comes back on the
client's retry (bound to the same call by `request_state`, which the SDK seals); on older revisions it is
a standalone `elicitation/create` request in the middle of the call. Clients that cannot elicit must
pass `confirm: true`.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any, Literal, Protocol

from mcp.server.elicitation import render_elicitation_schema
from mcp.server.mcpserver import Context
from mcp_types import ElicitRequest, ElicitRequestFormParams, ElicitResult, InputRequiredResult
from mcp_types.version import is_version_at_least
from pydantic import BaseModel, Field

from channel_mcp.caller import binding_prefix
from channel_mcp.deps import Deps
from channel_mcp.errors import ChannelMCPError
from channel_mcp.tools.declare import ToolSpec

logger = logging.getLogger("channel_mcp.confirm")


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


class ContextConfirmer:
    """Asks the user through MCP elicitation when the client declared that capability (see the module text)."""

    def __init__(self, ctx: Context[Any, Any]) -> None:
        self.ctx = ctx

    def can_ask(self) -> bool:
        try:
            caps = self.ctx.client_capabilities
        except (ValueError, RuntimeError, AttributeError):
            return False
        elicitation = caps.elicitation if caps is not None else None
        return elicitation is not None and (elicitation.form is not None or elicitation.url is None)

    async def ask(self, message: str, binding: str) -> Literal["accept", "decline", "cancel"] | InputRequiredResult:
        version = self.ctx.protocol_version
        if version is not None and is_version_at_least(version, "2026-07-28"):
            answer = (self.ctx.input_responses or {}).get("confirm")
            if answer is None or self.ctx.request_state != binding:
                schema = render_elicitation_schema(ConfirmAnswer)
                request = ElicitRequest(params=ElicitRequestFormParams(message=message, requested_schema=schema))
                return InputRequiredResult(input_requests={"confirm": request}, request_state=binding)
            result = ElicitResult.model_validate(answer.model_dump() if hasattr(answer, "model_dump") else answer)
            if result.action == "accept":
                return "accept" if (result.content or {}).get("confirm") is True else "decline"
            return result.action
        outcome = await self.ctx.elicit(message, ConfirmAnswer)
        if outcome.action == "accept":
            data = getattr(outcome, "data", None)
            return "accept" if isinstance(data, ConfirmAnswer) and data.confirm else "decline"
        return "decline" if outcome.action == "decline" else "cancel"
