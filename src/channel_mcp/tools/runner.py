"""The tool runner: `execute` is the one place that runs a declared tool (see `tools.declare`).

It validates arguments (nothing is sent when they are wrong), asks for confirmation before destructive
calls (`tools.confirm`), runs the handler against the lifespan's clients, turns every failure into an
`isError` result the model can act on, and cleans and bounds what goes back (masked secrets, no
invisible format characters, at most `max_result_chars`, via `fitting`). Writes are audited and
invalidate the listing cache.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any, cast

from mcp_types import CallToolResult, InputRequiredResult, TextContent
from pydantic import BaseModel, ValidationError

from channel_mcp.audit import AuditRecord
from channel_mcp.deps import Deps
from channel_mcp.errors import (
    AuthError,
    BadRequestError,
    ChannelMCPError,
    CircuitOpenError,
    ConfigError,
    InputError,
    NotFoundError,
    RateLimitError,
    ResponseError,
    ShapeError,
    UpstreamError,
)
from channel_mcp.fitting import fit, to_data
from channel_mcp.masking import clean, redact
from channel_mcp.tools._hints import not_found
from channel_mcp.tools.confirm import Confirmer, confirm_destructive
from channel_mcp.tools.declare import ToolSpec
from channel_mcp.upstream import Exchange, exchanges, sent_writes

logger = logging.getLogger("channel_mcp.tools")


# Error texts are capped far below max_result_chars: an error is a sentence or two to act on, and an
# argument list of any size must not turn into an answer of that size.
ERROR_CHARS = 2_000
# A validation error names this many problems, then says how many more there were.
MAX_PROBLEMS = 5


def _result(text: str, structured: dict[str, Any] | None = None, *, error: bool = False) -> CallToolResult:
    if error and len(text) > ERROR_CHARS:
        text = text[: ERROR_CHARS - 30].rstrip() + " … (error text cut)"
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=structured, is_error=error)


def validation_message(spec: ToolSpec[Any, Any], exc: ValidationError) -> str:
    problems = []
    for err in exc.errors(include_input=False, include_url=False)[:MAX_PROBLEMS]:
        where = ".".join(_short(str(p)) for p in err["loc"][:6])
        msg = err["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown argument"
        problems.append(f"{where}: {msg}" if where else msg)
    return _invalid(spec, problems, exc.error_count())


def _invalid(spec: ToolSpec[Any, Any], problems: list[str], total: int) -> str:
    more = f" (and {total - len(problems)} more problems)" if total > len(problems) else ""
    return f"Invalid arguments for {spec.name}: " + "; ".join(problems) + more + ". Nothing was sent."


def _short(name: str, width: int = 40) -> str:
    """An argument name as it may be quoted back: one line, no control characters, not too long."""
    name = "".join(ch if ch.isprintable() else "?" for ch in name[:width])
    return name if len(name) < width else name + "…"


_KNOWN: dict[type[BaseModel], frozenset[str]] = {}


def _known_arguments(model: type[BaseModel]) -> frozenset[str]:
    known = _KNOWN.get(model)
    if known is None:
        names = set(model.model_fields)
        names.update(f.alias for f in model.model_fields.values() if f.alias)
        known = _KNOWN[model] = frozenset(names)
    return known


def unknown_arguments_message(spec: ToolSpec[Any, Any], arguments: dict[str, Any]) -> str | None:
    """The refusal for unknown arguments, counted without validating: pydantic would build one error per
    unknown name (60,000 for a 1 MB request), and only the first few are ever shown."""
    known = _known_arguments(spec.input_model)
    unknown = [name for name in arguments if name not in known]
    if not unknown:
        return None
    shown = [f"{_short(str(name))}: unknown argument" for name in unknown[:MAX_PROBLEMS]]
    return _invalid(spec, shown, len(unknown))


def error_message(spec: ToolSpec[Any, Any], exc: ChannelMCPError, args: BaseModel | None) -> str:
    """The one place that turns an exception into text the model can act on. Never a trace, never a secret."""
    if isinstance(exc, InputError):
        return f"Invalid arguments for {spec.name}: {exc} Nothing was sent."
    if isinstance(exc, ConfigError):
        return f"{spec.name} is not configured: {exc}"
    if not isinstance(exc, UpstreamError):
        return f"{spec.name} failed: {exc}"
    text = exc.message if exc.message.endswith((".", "!", "?")) else exc.message + "."
    if isinstance(exc, AuthError):
        return f"{text} The key's value is never shown."
    if isinstance(exc, NotFoundError):
        return not_found(spec.provider, args, spec.lists_with)  # per-argument hints: see _hints.ID_HINTS
    if isinstance(exc, CircuitOpenError):
        return text  # already says for how long
    if isinstance(exc, RateLimitError):
        wait = exc.retry_after
        when = f"Retry after {max(1, math.ceil(wait))} s." if wait is not None else "Wait a few seconds, then retry."
        return f"{text} {when}"
    if exc.maybe_applied:
        check = spec.verify_with or spec.lists_with
        return (
            f"{text} The request may have been applied even though it failed: do not simply repeat it. "
            f"Call {check} first to see whether it happened, then retry only if it did not."
        )
    if isinstance(exc, BadRequestError):
        return f"{text} Fix the arguments and try again."
    if isinstance(exc, ShapeError):
        # A permanent mismatch between the API and its documents: retrying gets the same answer.
        return (
            f"{text} The answer had an unexpected shape, so nothing could be read from it; repeating the call "
            "will get the same answer. Tell the user the provider's API answered differently from its documents."
        )
    if isinstance(exc, ResponseError) and exc.status is not None:
        return text  # the transport's text already says what to do (wait for the gateway, or ask for less)
    return f"{text} This is likely transient: try again shortly."


async def execute(
    spec: ToolSpec[Any, Any], arguments: dict[str, Any], deps: Deps, confirmer: Confirmer | None
) -> CallToolResult | InputRequiredResult:
    """Run one tool call end to end. `confirmer` asks the user (elicitation) and may be None."""
    started = time.monotonic()
    if isinstance(arguments, dict) and (refusal := unknown_arguments_message(spec, arguments)) is not None:
        return _result(refusal, error=True)
    try:
        args = spec.input_model.model_validate(arguments)
    except ValidationError as exc:
        return _result(validation_message(spec, exc), error=True)
    call = _Call()
    tokens = exchanges.set(call.trace), sent_writes.set(call.sent)
    try:
        return await _run(spec, args, deps, confirmer, call, started)
    except BaseException as exc:
        if spec.annotations.read_only or not call.sent:
            if not isinstance(exc, Exception):
                raise
            logger.exception("tool %s crashed", spec.name)
            nothing = "" if spec.annotations.read_only else " Nothing was sent."
            return _result(
                f"{spec.name} failed with an internal error; it has been logged.{nothing} Try again.", error=True
            )
        # The one rule for writes: once a request has left, no failure of ours may say "try again".
        message = _after_send(spec, args, deps, call, started, exc)
        if not isinstance(exc, Exception):
            raise  # a cancelled call stays cancelled; it has been audited
        return _result(message, error=True)
    finally:
        sent_writes.reset(tokens[1])
        exchanges.reset(tokens[0])


@dataclass(slots=True)
class _Call:
    """What one call has done so far, for the after-send rule in `execute`."""

    trace: list[Exchange] = field(default_factory=list)
    # Non-GET requests that have left (see http.sent_writes): from the first one on, the write may have happened.
    sent: list[str] = field(default_factory=list)
    outcome: str = "not-needed"  # the confirmation outcome, for the audit line
    audited: bool = False


def after_send_message(spec: ToolSpec[Any, Any], what: str) -> str:
    """Text for a write whose request was sent and whose outcome we then lost. Idempotent writes (updates,
    deletes) cannot duplicate anything, so they say so instead of forbidding a repeat; a create must be
    checked first, because repeating it makes a second object."""
    check = spec.verify_with or spec.lists_with
    head = f"{spec.name} was sent to the provider, but {what}, so its outcome is unknown. It may have been applied"
    if spec.annotations.idempotent:
        return f"{head}: check with {check} before retrying (repeating it cannot create a duplicate)."
    return (
        f"{head}: do not simply repeat it. List/check with {check} first to see whether it happened, "
        "and retry only if it did not."
    )


def _after_send(
    spec: ToolSpec[Any, Any], args: BaseModel, deps: Deps, call: _Call, started: float, exc: BaseException
) -> str:
    if isinstance(exc, Exception):
        logger.error("tool %s failed after its request was sent", spec.name, exc_info=exc)
        message = after_send_message(spec, "handling the answer failed with an internal error (logged)")
    else:
        logger.info("tool %s was cancelled after its request was sent", spec.name)
        message = after_send_message(spec, "the call was cancelled before its answer was read")
    if not call.audited:
        call.audited = True
        try:
            _audit(deps, spec, args, call.outcome, call.trace, started, message)
        except Exception:
            logger.exception("could not write the audit line for %s", spec.name)
    try:
        deps.cache.invalidate(spec.provider)
    except Exception:
        logger.exception("could not invalidate the cache after %s", spec.name)
    return message


def _audit(
    deps: Deps,
    spec: ToolSpec[Any, Any],
    args: BaseModel,
    outcome: str,
    trace: list[Exchange],
    started: float,
    error: str | None,
) -> None:
    """The audit line for one write: what was asked, what was decided, what the last request got."""
    last = trace[-1] if trace else None
    record = AuditRecord(
        tool=spec.name,
        arguments=args.model_dump(mode="json", exclude_none=True),
        secret_args=spec.secret_args,
        outcome=outcome,
        error=error,
        duration_ms=round((time.monotonic() - started) * 1000, 1),
        status=last.status if last else None,
        request_id=last.request_id if last else None,
        attempts=len(trace),
    )
    deps.audit_write(record)


async def _run(
    spec: ToolSpec[Any, Any], args: BaseModel, deps: Deps, confirmer: Confirmer | None, call: _Call, started: float
) -> CallToolResult | InputRequiredResult:
    secrets = [*deps.secret_values, *_secret_inputs(spec, args)]
    if spec.annotations.destructive:
        call.outcome, refusal = await confirm_destructive(spec, args, deps, confirmer)
        call.trace.clear()  # the name lookup is not part of the audited write
        if isinstance(refusal, InputRequiredResult):
            return refusal  # the question goes to the user; the client retries with the answer
        if refusal is not None:
            _audit(deps, spec, args, call.outcome, [], started, refusal)
            call.audited = True
            return _result(refusal, error=True)
    try:
        out = await spec.handler(deps, args)
    except ChannelMCPError as exc:
        if call.sent and not spec.annotations.read_only and not isinstance(exc, UpstreamError):
            # Not the provider's answer but our own refusal after a write left ("Nothing was sent" would
            # be false): the after-send rule in `execute` reports it.
            raise
        if isinstance(exc, ResponseError) and not (spec.annotations.read_only or spec.annotations.idempotent):
            exc.maybe_applied = True  # the server answered, unreadably: the create may well have happened
        message = redact(error_message(spec, exc, args), secrets)
        logger.info("tool %s failed: %s", spec.name, type(exc).__name__)
        if not spec.annotations.read_only:
            _audit(deps, spec, args, call.outcome, call.trace, started, message)
            call.audited = True
            if isinstance(exc, UpstreamError) and exc.maybe_applied:
                deps.cache.invalidate(spec.provider)
        return _result(message, error=True)

    data, start = to_data(out)
    data = cast(dict[str, Any], clean(data, secrets))
    if deps.sandbox:
        data["sandbox"] = True
    data, text = fit(data, deps.max_result_chars, start=start)
    result = _result(text, data)
    if not spec.annotations.read_only:
        _audit(deps, spec, args, call.outcome, call.trace, started, None)
        call.audited = True
        deps.cache.invalidate(spec.provider)
    return result


def _secret_inputs(spec: ToolSpec[Any, Any], args: BaseModel) -> list[str]:
    values: list[str] = []
    for name in spec.secret_args:
        value = getattr(args, name, None)
        if isinstance(value, str):
            values.append(value)
        elif isinstance(value, dict):
            values.extend(str(v) for v in value.values() if isinstance(v, str | int) and len(str(v)) >= 4)
    return values
