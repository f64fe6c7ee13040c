"""Property tests over every tool's arguments, generated from its advertised input schema.

* Schema-valid arguments, against the sandbox: every call ends in a well-formed `CallToolResult`
  (a success whose structured content matches the tool's output schema, or an actionable `isError`);
  nothing escapes as an exception or the internal-error catch-all; destructive tools delete nothing
  without `confirm: true`.
* Schema-valid arguments against an upstream that answers anything at all (any status, any JSON):
  still a well-formed result.
* Schema-invalid arguments (wrong types, unknown keys, missing required keys, out-of-range values):
  an `isError` "Invalid arguments ... Nothing was sent." and not one request on the network.

Calls go straight to `execute()` for speed; a smaller deterministic sample also runs through the MCP
protocol. The strategy builder covers the schema subset the tools use (object/properties/required,
string min/max/pattern/enum, integer min/max, boolean, array items min/max, free-form object).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jsonschema
import pytest
import respx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp_types import CallToolResult, TextContent

from channel_mcp.deps import Deps, build_deps
from channel_mcp.sandbox import SANDBOX_API_KEY
from channel_mcp.sandbox.app import create_app
from channel_mcp.tools import ALL_TOOLS
from channel_mcp.tools.declare import ToolSpec
from channel_mcp.tools.runner import execute
from tests.conftest import assert_no_secrets, connect, finished, make_settings
from tests.contract import CONTRACT

FUZZ = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
ID_LIKE = st.from_regex(r"[A-Za-z0-9_\-.:]{1,24}", fullmatch=True)
# Ids that exist in the sandbox's seed data, so that schema-valid calls also reach the success path.
SEEDS: dict[str, list[str]] = {
    "channel_id": ["ch_web_001", "ch_facebook_001", "ch_whatsapp_001", "b12d0000-0000-4000-8000-000000000001"],
    "credential_id": ["cred_fb_001", "cred_fb_002"],
    "page_id": ["pg_1003", "pg_1004"],
    "workflow_id": ["wf_001", "wf_004"],
    "team_id": ["tm_001", "tm_004"],
    "contact_id": ["ct_0001", "ct_0012", "bc000000-0000-4000-8000-000000000001"],
    "conversation_id": ["cv_0001_1"],
    "notification_id": ["nt_0001", "nt_0012"],
    "notification_ids": ["nt_0001", "nt_0012"],
    "workspace_id": ["sandbox-workspace"],
}
# Values some arguments must have beyond what their schema says (checked by validators, kept out of the
# schema to save tokens); mixed with free text so that both the refusal and the success paths are hit.
HINTS: dict[str, st.SearchStrategy[Any]] = {
    "email": st.emails(),
    "phone": st.from_regex(r"\+[1-9][0-9]{6,14}", fullmatch=True),
    "content_base64": st.binary(max_size=64).map(lambda b: base64.b64encode(b).decode()),
    "sort": st.sampled_from(["name", "-name", "email", "-id"]),
    "page_token": st.just(""),
}
JSON_LEAF = st.none() | st.booleans() | st.integers(-(2**31), 2**31) | st.text(max_size=20)
JSON_VALUE = st.recursive(
    JSON_LEAF,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


# ---------------------------------------------------------------------------------------------- schema -> strategy


def valid(schema: dict[str, Any], name: str = "") -> st.SearchStrategy[Any]:
    """Values that satisfy `schema` (the subset the tool schemas use)."""
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if isinstance(kind, list):  # an optional, nullable as ["integer", "null"]: null means omitted
        (kind,) = [k for k in kind if k != "null"]
        return st.none() | valid({**schema, "type": kind}, name)
    if kind == "string":
        lo, hi = schema.get("minLength", 0), schema.get("maxLength")
        if "pattern" in schema:
            strategy = st.from_regex(schema["pattern"], fullmatch=True)
        elif name.endswith(("_id", "_ids")):
            # Ids are free strings in the schema; mix realistic ones in so that calls also get through.
            seeds = st.sampled_from(SEEDS.get(name, ["x_001"]))
            strategy = seeds | seeds | ID_LIKE | st.text(min_size=lo, max_size=30)
        else:
            strategy = st.text(min_size=lo, max_size=min(hi or 40, 40))
        if name in HINTS:
            strategy = HINTS[name] | strategy
        return strategy.filter(lambda s: lo <= len(s) and (hi is None or len(s) <= hi))
    if kind == "integer":
        return st.integers(min_value=schema.get("minimum", -(10**6)), max_value=schema.get("maximum", 10**6))
    if kind == "number":
        return st.floats(schema.get("minimum"), schema.get("maximum"), allow_nan=False, allow_infinity=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "array":
        lo = schema.get("minItems", 0)
        return st.lists(
            valid(schema.get("items", {}), name), min_size=lo, max_size=max(lo, min(schema.get("maxItems", 4), 4))
        )
    if kind == "object":
        properties = schema.get("properties")
        if properties is None:
            return st.dictionaries(st.text(max_size=10), JSON_VALUE, max_size=4)
        required = set(schema.get("required", ()))
        return st.fixed_dictionaries(
            {k: valid(v, k) for k, v in properties.items() if k in required},
            optional={k: valid(v, k) for k, v in properties.items() if k not in required},
        )
    return JSON_VALUE


# Values of the wrong JSON type that pydantic's lax mode cannot coerce either ("5" -> 5 and 1 -> True are
# accepted by design: a forgiving reading of an agent's arguments, checked separately below).
WRONG: dict[str, list[Any]] = {
    "string": [123, 4.5, True, [], ["a"], {"a": 1}],
    "integer": ["five", 1.5, [], [1], {"a": 1}],
    "number": ["five", [], {"a": 1}],
    "boolean": ["maybe", 2, 0.5, [], {}, {"a": True}],
    "array": ["a,b", 5, {"a": 1}, True],
    "object": ["{}", 5, [1, 2], True],
}


def base_type(schema: dict[str, Any]) -> Any:
    """The JSON type of a property, without the `null` that optionals add."""
    kind = schema.get("type")
    return next((k for k in kind if k != "null"), None) if isinstance(kind, list) else kind


def out_of_range(schema: dict[str, Any]) -> list[Any]:
    """Values of the right type that the schema still refuses."""
    bad: list[Any] = []
    if "enum" in schema:
        bad.append("not-" + str(schema["enum"][0]))
    if "minimum" in schema:
        bad.append(schema["minimum"] - 1)
    if "maximum" in schema:
        bad.append(schema["maximum"] + 1)
    if schema.get("minLength", 0) > 0:
        bad.append("")
    if "maxLength" in schema:
        bad.append("x" * (schema["maxLength"] + 1))
    if "pattern" in schema:
        bad.extend(s for s in (" ", "\n", "@@", "a b c") if not re.search(schema["pattern"], s))
    if schema.get("minItems", 0) > 0:
        bad.append([])
    if "maxItems" in schema:
        bad.append(["x"] * (schema["maxItems"] + 1))
    return bad


@st.composite
def invalid(draw: st.DrawFn, schema: dict[str, Any]) -> dict[str, Any]:
    """Arguments that break the schema in one way: a wrong type, an unknown key, a missing key, a bad value."""
    args = dict(draw(valid(schema)))
    properties: dict[str, Any] = schema.get("properties", {})
    required = list(schema.get("required", ()))
    ways = ["unknown key"]
    if required:
        ways.append("missing required")
    typed = [k for k, v in properties.items() if base_type(v) in WRONG]
    if typed:
        ways.append("wrong type")
    ranged = [k for k, v in properties.items() if out_of_range(v)]
    if ranged:
        ways.append("out of range")
    way = draw(st.sampled_from(ways))
    if way == "unknown key":
        key = draw(st.text(min_size=1, max_size=12).filter(lambda k: k not in properties))
        args[key] = draw(JSON_VALUE)
    elif way == "missing required":
        del args[draw(st.sampled_from(required))]
    elif way == "wrong type":
        key = draw(st.sampled_from(typed))
        args[key] = draw(st.sampled_from(WRONG[base_type(properties[key])]))
    else:
        key = draw(st.sampled_from(ranged))
        args[key] = draw(st.sampled_from(out_of_range(properties[key])))
    return args


# ---------------------------------------------------------------------------------------------- checks


def well_formed(spec: ToolSpec[Any, Any], result: Any) -> str:
    assert isinstance(result, CallToolResult), type(result)
    assert len(result.content) == 1 and isinstance(result.content[0], TextContent)
    text = result.content[0].text
    assert text and "Traceback" not in text
    assert "internal error" not in text, f"{spec.name} crashed: {text}"
    assert_no_secrets(result.model_dump_json(), f"a fuzzed {spec.name} result")
    if result.is_error:
        assert result.structured_content is None
        assert len(text) < 3000
    else:
        assert isinstance(result.structured_content, dict)
        assert json.loads(text) == result.structured_content
        jsonschema.validate(result.structured_content, spec.output_schema())
    return text


def refused(spec: ToolSpec[Any, Any], result: Any) -> None:
    text = well_formed(spec, result)
    assert result.is_error, text
    assert text.startswith(f"Invalid arguments for {spec.name}: ") and text.endswith("Nothing was sent."), text


def tool_ids() -> list[Any]:
    return [pytest.param(spec, id=spec.name) for spec in ALL_TOOLS]


@pytest.fixture
async def sandbox_deps() -> AsyncIterator[tuple[Deps, Any]]:
    app = create_app(api_key=SANDBOX_API_KEY)
    deps = build_deps(make_settings(sandbox=True))
    for client in (deps.imbrace_client, deps.bird_client):
        assert client is not None
        client.upstream.transport = httpx.ASGITransport(app=app)
    yield deps, app
    await deps.aclose()
    app.state.store.close()


@pytest.fixture
async def respx_deps() -> AsyncIterator[Deps]:
    deps = build_deps(make_settings())
    for client in (deps.imbrace_client, deps.bird_client):
        assert client is not None
        client.upstream.policy.max_retries = 0  # the answers are random; retries would only repeat them
        client.upstream.breaker.threshold = 10**9
    yield deps
    await deps.aclose()


# ---------------------------------------------------------------------------------------------- properties


def test_every_tool_schema_is_in_the_supported_subset() -> None:
    supported = {"type", "properties", "required", "description", "enum", "default", "minLength", "maxLength"}
    supported |= {"pattern", "minimum", "maximum", "items", "minItems", "maxItems", "additionalProperties"}

    def walk(schema: dict[str, Any]) -> None:
        assert set(schema) <= supported, set(schema) - supported
        for sub in schema.get("properties", {}).values():
            walk(sub)
        if "items" in schema:
            walk(schema["items"])

    assert {spec.name for spec in ALL_TOOLS} == set(CONTRACT)
    for spec in ALL_TOOLS:
        walk(spec.input_schema())


@pytest.mark.parametrize("spec", tool_ids())
@FUZZ
@given(data=st.data())
async def test_schema_valid_arguments_against_the_sandbox(
    sandbox_deps: tuple[Deps, Any], spec: ToolSpec[Any, Any], data: st.DataObject
) -> None:
    deps, app = sandbox_deps
    args = data.draw(valid(spec.input_schema()), label="arguments")
    app.state.requests.clear()
    result = finished(await execute(spec, args, deps, None))
    text = well_formed(spec, result)
    if spec.annotations.destructive and args.get("confirm") is not True:
        # Refused by the argument checks (e.g. a control character in an id) is fine too: nothing is sent.
        assert result.is_error and ("Nothing was deleted" in text or text.endswith("Nothing was sent."))
        assert all(method == "GET" for method, _ in app.state.requests), app.state.requests
    if text.endswith("Nothing was sent."):
        assert not app.state.requests


@st.composite
def any_answer(draw: st.DrawFn) -> httpx.Response:
    status = draw(st.sampled_from([200, 200, 200, 201, 204, 400, 401, 404, 409, 429, 500, 503]))
    body = draw(
        st.one_of(
            JSON_VALUE.map(lambda v: json.dumps(v).encode()),
            st.fixed_dictionaries({"success": st.booleans(), "data": JSON_VALUE}).map(lambda v: json.dumps(v).encode()),
            st.fixed_dictionaries({"results": st.lists(JSON_VALUE, max_size=3)}).map(lambda v: json.dumps(v).encode()),
            st.binary(max_size=40),
            st.just(b"<html>oops</html>"),
        )
    )
    ctype = draw(st.sampled_from(["application/json", "text/html", "text/csv", "application/octet-stream"]))
    return httpx.Response(status, content=body, headers={"content-type": ctype})


@pytest.mark.parametrize("spec", tool_ids())
@settings(FUZZ, max_examples=20)
@given(data=st.data())
async def test_schema_valid_arguments_against_any_answer(
    respx_deps: Deps, spec: ToolSpec[Any, Any], data: st.DataObject
) -> None:
    args = data.draw(valid(spec.input_schema()), label="arguments")
    answer = data.draw(any_answer(), label="answer")
    with respx.mock(assert_all_called=False) as router:
        router.route().mock(side_effect=lambda request: answer)
        result = await execute(spec, args, respx_deps, None)
    well_formed(spec, result)


@pytest.mark.parametrize("spec", tool_ids())
@FUZZ
@given(data=st.data())
async def test_schema_invalid_arguments_never_reach_the_network(
    respx_deps: Deps, spec: ToolSpec[Any, Any], data: st.DataObject
) -> None:
    args = data.draw(invalid(spec.input_schema()), label="arguments")
    with respx.mock(assert_all_called=False) as router:
        route = router.route().respond(200, json={"success": True, "data": {}})
        result = await execute(spec, args, respx_deps, None)
    refused(spec, result)
    assert route.call_count == 0


@pytest.mark.parametrize(
    ("tool", "args"),
    [
        ("imbrace_list_contacts", {"limit": "5"}),
        ("imbrace_update_channel", {"channel_id": "ch_1", "active": "yes"}),
        ("imbrace_list_contacts", {"limit": True}),
    ],
)
async def test_lax_coercions_that_are_accepted_by_design(respx_deps: Deps, tool: str, args: dict[str, Any]) -> None:
    """Agents often quote numbers; pydantic's lax mode reads "5" as 5 and "yes" as true. Documented, not a hole."""
    spec = next(s for s in ALL_TOOLS if s.name == tool)
    with respx.mock(assert_all_called=False) as router:
        route = router.route().respond(200, json={"success": True, "data": []})
        await execute(spec, args, respx_deps, None)
    assert route.call_count == 1


# ---------------------------------------------------------------------------------------------- through the protocol


def sample(strategy: st.SearchStrategy[Any], n: int) -> list[Any]:
    """A deterministic handful of examples, drawn by running hypothesis itself (no `.example()`)."""
    drawn: list[Any] = []

    @settings(max_examples=n, deadline=None, derandomize=True, database=None)
    @given(strategy)
    def collect(value: Any) -> None:
        drawn.append(value)

    collect()
    return drawn[:n]


@pytest.mark.slow
async def test_a_sample_through_the_mcp_protocol() -> None:
    """Five valid and five invalid argument sets per tool, each as a real `tools/call`."""
    app = create_app(api_key=SANDBOX_API_KEY)
    cases = []
    for spec in ALL_TOOLS:
        schema = spec.input_schema()
        cases += [(spec, args, True) for args in sample(valid(schema), 5)]
        cases += [(spec, args, False) for args in sample(invalid(schema), 5)]

    def factory(settings: Any) -> Deps:
        deps = build_deps(settings)
        for client in (deps.imbrace_client, deps.bird_client):
            assert client is not None
            client.upstream.transport = httpx.ASGITransport(app=app)
        return deps

    try:
        async with connect(make_settings(sandbox=True), server_kwargs={"deps_factory": factory}) as client:
            for spec, args, is_valid in cases:
                app.state.requests.clear()
                result = await client.call_tool(spec.name, args)
                if is_valid:
                    well_formed(spec, result)
                else:
                    refused(spec, result)
                    assert not app.state.requests, (spec.name, args)
    finally:
        app.state.store.close()


# ---------------------------------------------------------------------------------------------- found by fuzzing


@pytest.mark.parametrize(
    "credentials",
    [{"pin": -100}, {"pin": 123456}, {"k": 'ab"cd\\ef-secret'}, {"": "tab\there-secret"}],
    ids=["negative number", "number", "quote and backslash", "control character"],
)
async def test_secret_inputs_that_json_escapes_or_numbers_are_redacted_without_crashing(
    sandbox_deps: tuple[Deps, Any], credentials: dict[str, Any]
) -> None:
    """A secret value was replaced inside the JSON text: a number broke the JSON (internal error), and a
    value JSON escapes (quote, backslash, control character) was not found there and came back in clear."""
    deps, _ = sandbox_deps
    spec = next(s for s in ALL_TOOLS if s.name == "imbrace_update_credential")
    result = finished(await execute(spec, {"credential_id": "cred_fb_001", "credentials": credentials}, deps, None))
    text = well_formed(spec, result)
    assert not result.is_error, text
    secret = next(iter(credentials.values()))
    assert str(secret) not in json.dumps(result.structured_content) and json.dumps(secret) not in text
    assert str(secret) not in text
