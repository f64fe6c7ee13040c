"""The tool pattern: a tool is one declared `ToolSpec`; `execute` is the one place that runs it.

`execute` validates arguments (nothing is sent when they are wrong), asks for confirmation before
destructive calls, runs the handler against the lifespan's clients, turns every failure into an
`isError` result the model can act on, and cleans and bounds what goes back (masked secrets, no
invisible format characters, at most `max_result_chars`). Writes are audited and invalidate the
listing cache.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar, cast

from mcp_types import CallToolResult, InputRequiredResult, TextContent, ToolAnnotations
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

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
from channel_mcp.http import Exchange, exchanges, sent_writes
from channel_mcp.masking import clean, redact
from channel_mcp.models import Page
from channel_mcp.tools._hints import not_found

if TYPE_CHECKING:
    from channel_mcp.deps import Deps

logger = logging.getLogger("channel_mcp.tools")

I = TypeVar("I", bound=BaseModel)  # noqa: E741
O = TypeVar("O", bound=BaseModel)  # noqa: E741
Provider = Literal["imbrace", "bird"]


class ToolInput(BaseModel):
    """Base of every input model: unknown arguments are refused, and values never echo into errors."""

    # defer_build: validators are built on a model's first use, not for all 40 at start-up.
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True, defer_build=True)

    @model_validator(mode="before")
    @classmethod
    def _null_is_omitted(cls, data: Any) -> Any:
        """An argument given as null behaves exactly as if it were absent, defaults included: every optional
        is advertised as nullable, because strict clients (OpenAI's) must send every key and send null for
        the ones they mean to leave out. Unknown names are kept, so they are refused whatever their value."""
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if v is not None or k not in cls.model_fields}
        return data


@dataclass(frozen=True, slots=True)
class Annotations:
    """Required on every tool: no defaults, so nobody forgets to decide."""

    read_only: bool
    destructive: bool
    idempotent: bool

    def to_mcp(self, title: str) -> ToolAnnotations:
        return ToolAnnotations(
            title=title,
            read_only_hint=self.read_only,
            destructive_hint=self.destructive,
            idempotent_hint=self.idempotent,
            open_world_hint=True,
        )


RO = Annotations(read_only=True, destructive=False, idempotent=True)
WRITE = Annotations(read_only=False, destructive=False, idempotent=False)
WRITE_IDEM = Annotations(read_only=False, destructive=False, idempotent=True)
DESTRUCTIVE = Annotations(read_only=False, destructive=True, idempotent=True)


@dataclass(frozen=True, slots=True)
class ToolSpec(Generic[I, O]):
    name: str
    title: str
    description: str
    toolset: str
    provider: Provider
    annotations: Annotations
    input_model: type[I]
    output_model: type[O]
    handler: Callable[[Deps, I], Awaitable[O]]
    # The listing tool that shows valid ids, named in 404 errors.
    lists_with: str
    # For destructive tools: a one-line description of what will be destroyed (may fetch its name).
    describe_target: Callable[[Deps, I], Awaitable[str]] | None = None
    # Argument names whose values are secrets: write-only, masked in audit and redacted from output.
    secret_args: tuple[str, ...] = ()
    # Error hint for creates that may have happened.
    verify_with: str | None = None

    def published_schemas(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """Input and output schema as served: from the file generated at build time (see schemas.json),
        so start-up does not generate 80 JSON schemas. tests/test_registry.py fails if it drifts."""
        shipped = _shipped_schemas().get(self.name)
        if shipped is not None:
            return shipped["inputSchema"], shipped["outputSchema"]
        return self.input_schema(), self.output_schema()

    def input_schema(self) -> dict[str, Any]:
        """As the model says, plus what strict clients need to keep it honest: unknown arguments are refused
        (`additionalProperties: false`, from extra="forbid"), and every optional argument accepts null,
        which the server reads as omitted (see `ToolInput`)."""
        schema: dict[str, Any] = compact_schema(self.input_model.model_json_schema())
        schema["additionalProperties"] = False
        required = set(schema.get("required", ()))
        for name, prop in schema.get("properties", {}).items():
            if name not in required:
                nullable(prop)
        return schema

    def output_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = compact_schema(self.output_model.model_json_schema(mode="serialization"), inputs=False)
        return schema


SCHEMAS_FILE = Path(__file__).with_name("schemas.json")


@functools.cache
def _shipped_schemas() -> dict[str, dict[str, dict[str, Any]]]:
    try:
        with SCHEMAS_FILE.open(encoding="utf-8") as f:
            return cast(dict[str, dict[str, dict[str, Any]]], json.load(f))
    except (OSError, ValueError):
        return {}


def generate_schemas(specs: list[ToolSpec[Any, Any]]) -> str:
    """The contents of schemas.json for these tools."""
    data = {s.name: {"inputSchema": s.input_schema(), "outputSchema": s.output_schema()} for s in specs}
    return json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def toolset_factory(toolset: str, provider: Provider, lists_with: str) -> Callable[..., ToolSpec[Any, Any]]:
    """A `ToolSpec` constructor with one toolset's shared fields filled in. Creates (neither read-only nor
    idempotent) default to checking `lists_with` before any retry of an ambiguous failure."""

    def make(
        name: str, title: str, description: str, ann: Annotations, i: Any, o: Any, handler: Any, **kw: Any
    ) -> ToolSpec[Any, Any]:
        if not ann.read_only and not ann.idempotent:
            kw.setdefault("verify_with", lists_with)
        return ToolSpec(name, title, description, toolset, provider, ann, i, o, handler, lists_with, **kw)

    return make


def nullable(prop: dict[str, Any]) -> None:
    """Let `prop` accept null in the cheap form, `"type": ["integer", "null"]` rather than an `anyOf`; an
    enum lists null too, as strict converters require."""
    typ = prop.get("type")
    if isinstance(typ, str) and typ != "null":
        prop["type"] = [typ, "null"]
    elif isinstance(typ, list) and "null" not in typ:
        prop["type"] = [*typ, "null"]
    if isinstance(prop.get("enum"), list) and None not in prop["enum"]:
        prop["enum"] = [*prop["enum"], None]


def compact_schema(schema: Any, *, inputs: bool = True) -> Any:
    """Drop what costs tokens and says nothing: titles and `default: null`; for inputs also the `null`
    arm of optionals, an `anyOf` (`input_schema` marks optionals nullable in the cheaper type-array form).
    Outputs keep their nulls as they are: results do contain them."""
    if isinstance(schema, list):
        return [compact_schema(item, inputs=inputs) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    any_of = schema.get("anyOf")
    if inputs and isinstance(any_of, list):
        arms = [arm for arm in any_of if arm != {"type": "null"}]
        if len(arms) == 1 and len(arms) < len(any_of):
            merged = {k: v for k, v in schema.items() if k != "anyOf"}
            merged.update(arms[0])
            schema = merged
    for key, value in schema.items():
        if key == "title" and isinstance(value, str):
            continue
        if key == "default" and value is None:
            continue
        if key == "additionalProperties" and value is True:
            continue
        if key == "properties" and isinstance(value, dict):
            out[key] = {name: compact_schema(prop, inputs=inputs) for name, prop in value.items()}
        else:
            out[key] = compact_schema(value, inputs=inputs)
    return out


# ---------------------------------------------------------------------------------------------- running a tool


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


def to_data(out: BaseModel) -> tuple[dict[str, Any], int]:
    """Dump an output model compactly; returns the data and, for offset pages, where the page starts."""
    data = out.model_dump(mode="json", by_alias=True, exclude_none=True)
    for name, info in type(out).model_fields.items():
        if info.is_required() and name not in data:  # a required null says something: keep it
            data[name] = None
    start = 0
    if isinstance(out, Page) and out.next:
        for value in out.next.values():
            if isinstance(value, int):
                start = value - len(out.items)
    return data, start


def dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def fitting_prefix(data: dict[str, Any], items: list[Any], limit: int, room: int = 400) -> int:
    """How many leading `items` fit in `limit` characters of `data`, leaving `room` for a note."""
    lo, hi = 0, len(items)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if len(dumps({**data, "items": items[:mid]})) + room <= limit:
            lo = mid
        else:
            hi = mid - 1
    return lo


def fit(data: dict[str, Any], limit: int, *, start: int = 0) -> tuple[dict[str, Any], str]:
    """Cut a result to at most `limit` characters of JSON, saying what was left out and how to get it."""
    text = dumps(data)
    if len(text) <= limit:
        return data, text
    items = data.get("items")
    if isinstance(items, list) and items:
        kept = fitting_prefix(data, items, limit)
        cut = {**data, "items": items[:kept], "truncated": True}
        nxt = data.get("next") or {}
        key = next((k for k, v in nxt.items() if isinstance(v, int)), None)
        if key is not None or not nxt:
            key = key or "skip"
            cut["next"] = {key: start + kept}
            cut["has_more"] = True
            cut["note"] = (
                f"Only {kept} of {len(items)} items fit the result budget; continue with {key}={start + kept} "
                "or ask for a smaller limit."
            )
        else:
            cut["note"] = (
                f"Only {kept} of {len(items)} items fit the result budget; call again with limit={max(1, kept)} "
                "to read this page in smaller parts."
            )
        return cut, dumps(cut)
    trimmed = _trim(data, limit)
    trimmed["truncated"] = True
    trimmed["note"] = "Large values were shortened to fit the result budget."
    return trimmed, dumps(trimmed)


def _trim(data: dict[str, Any], limit: int) -> dict[str, Any]:
    budget = max(200, limit // 4)
    while True:
        out: dict[str, Any] = _shorten(data, budget, top=True)
        if len(dumps(out)) + 200 <= limit:
            return out
        if budget <= 50:
            return _leading_fields(out, limit)
        budget //= 2


def _shorten(value: Any, budget: int, *, top: bool = False) -> Any:
    if isinstance(value, str):
        return value if len(value) <= budget else value[:budget] + "…"
    if isinstance(value, list):
        return [_shorten(v, budget) for v in value[: max(1, budget // 20)]]
    if isinstance(value, dict):
        # Wide nested objects are cut like lists (a 4,000-key config went over the budget); the top level
        # keeps every field, since the output schema names them. Never fewer than 20 keys: small typed
        # objects nested in a result stay whole.
        pairs = list(value.items())
        keep = pairs if top else pairs[: max(20, budget // 20)]
        out = {k: _shorten(v, budget) for k, v in keep}
        if len(keep) < len(pairs):
            out["…"] = f"{len(pairs) - len(keep)} more keys"
        return out
    return value


def _leading_fields(out: dict[str, Any], limit: int) -> dict[str, Any]:
    """Last resort, for a top level with thousands of fields: the leading fields that fit."""
    kept: dict[str, Any] = {}
    size = 0
    for key, value in out.items():
        size += len(dumps({key: value}))  # over-counts by a brace per field: errs on the small side
        if size + 200 > limit:
            break
        kept[key] = value
    return kept


async def execute(
    spec: ToolSpec[Any, Any], arguments: dict[str, Any], deps: Deps, confirmer: Any
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
            deps.audit_write(spec, args, outcome=call.outcome, trace=call.trace, started=started, error=message)
        except Exception:
            logger.exception("could not write the audit line for %s", spec.name)
    try:
        deps.cache.invalidate(spec.provider)
    except Exception:
        logger.exception("could not invalidate the cache after %s", spec.name)
    return message


async def _run(
    spec: ToolSpec[Any, Any], args: BaseModel, deps: Deps, confirmer: Any, call: _Call, started: float
) -> CallToolResult | InputRequiredResult:
    secrets = [*deps.secret_values, *_secret_inputs(spec, args)]
    if spec.annotations.destructive:
        from channel_mcp.safety import confirm_destructive

        call.outcome, refusal = await confirm_destructive(spec, args, deps, confirmer)
        call.trace.clear()  # the name lookup is not part of the audited write
        if isinstance(refusal, InputRequiredResult):
            return refusal  # the question goes to the user; the client retries with the answer
        if refusal is not None:
            deps.audit_write(spec, args, outcome=call.outcome, trace=[], started=started, error=refusal)
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
            deps.audit_write(spec, args, outcome=call.outcome, trace=call.trace, started=started, error=message)
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
        deps.audit_write(spec, args, outcome=call.outcome, trace=call.trace, started=started, error=None)
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
