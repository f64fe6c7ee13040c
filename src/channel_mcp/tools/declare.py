"""Tool declaration: a tool is one declared `ToolSpec` (name, annotations, input and output models, handler).

Each toolset module declares its tools through one `Toolset`: `toolset.tool(name=..., input=..., output=...,
handler=...)` is generic in the input and output models, so mypy strict rejects a handler (or a
`describe_target`) wired to the wrong input model, or returning something other than the output model
(tests/test_typing.py proves the check fires).

Also the schemas as published: compact, strict-client friendly, generated at build time into schemas.json.
Running a tool is `tools.runner`; nothing here does I/O beyond reading schemas.json.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar, cast

from mcp_types import ToolAnnotations
from pydantic import BaseModel, ConfigDict, model_validator

from channel_mcp.deps import Deps

I = TypeVar("I", bound=BaseModel)  # noqa: E741
O = TypeVar("O", bound=BaseModel)  # noqa: E741
Provider = Literal["imbrace", "bird"]


class ToolInput(BaseModel):
    """Base of every input model: unknown arguments are refused, and values never echo into errors."""

    # defer_build: validators are built on a model's first use, not for every tool at start-up.
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


@dataclass(frozen=True, slots=True, kw_only=True)
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
        so start-up does not generate two JSON schemas per tool. tests/test_registry.py fails if it drifts."""
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


class Toolset:
    """One toolset's declarations: the fields its tools share, and its tools in declaration order."""

    def __init__(self, *, name: str, provider: Provider, lists_with: str) -> None:
        self.name = name
        self.provider: Provider = provider
        # The listing tool named in 404 errors, unless a tool names its own.
        self.lists_with = lists_with
        self._tools: list[ToolSpec[Any, Any]] = []

    @property
    def tools(self) -> list[ToolSpec[Any, Any]]:
        """The declared tools, in declaration order (a copy: the registry, not callers, owns the list)."""
        return list(self._tools)

    def tool(
        self,
        *,
        name: str,
        title: str,
        description: str,
        annotations: Annotations,
        input: type[I],
        output: type[O],
        handler: Callable[[Deps, I], Awaitable[O]],
        describe_target: Callable[[Deps, I], Awaitable[str]] | None = None,
        secret_args: tuple[str, ...] = (),
        verify_with: str | None = None,
        lists_with: str | None = None,
    ) -> ToolSpec[I, O]:
        """Declare one tool of this toolset. `I` and `O` are bound by `input` and `output` first, then the
        handler is checked against them (mypy infers callable arguments in a second pass), so a mismatch
        is an error, not a widened type. Creates (neither read-only nor idempotent) default to checking
        `lists_with` before any retry of an ambiguous failure."""
        if verify_with is None and not annotations.read_only and not annotations.idempotent:
            verify_with = lists_with or self.lists_with
        if any(t.name == name for t in self._tools):
            raise ValueError(f"{self.name}: tool {name!r} is declared twice")
        spec = ToolSpec(
            name=name,
            title=title,
            description=description,
            toolset=self.name,
            provider=self.provider,
            annotations=annotations,
            input_model=input,
            output_model=output,
            handler=handler,
            lists_with=lists_with or self.lists_with,
            describe_target=describe_target,
            secret_args=secret_args,
            verify_with=verify_with,
        )
        self._tools.append(spec)
        return spec


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
