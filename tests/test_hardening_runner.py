"""Issue 15, the tool-runner part: no "try again" after a write was sent, bounded structures both ways,
bounded error answers, control characters refused in names and ids, and a lean audit log.

Everything goes through the real MCP in-memory client against respx routes, on both protocol
revisions where the protocol matters (`legacy` is 2025-11-25, the default is 2026-07-28)."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import respx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp_types import CallToolResult

from channel_mcp import upstream as outbound
from channel_mcp.fitting import fit
from channel_mcp.tools import runner
from channel_mcp.tools._args import MAX_DEPTH, MAX_ITEMS
from channel_mcp.upstream import MAX_ANSWER_DEPTH, bound_json
from tests.conftest import IMBRACE, connect, envelope, make_settings, paged

CHANNELS = f"{IMBRACE}/v1/channels"
MODES = pytest.mark.parametrize("mode", ["legacy", "auto"], ids=["2025-11-25", "2026-07-28"])


def nested(depth: int, leaf: Any = "x") -> Any:
    """`depth` levels of {"a": ...} around `leaf`, built without recursion."""
    value = leaf
    for _ in range(depth):
        value = {"a": value}
    return value


def depth_of(value: Any) -> int:
    depth = 0
    while isinstance(value, dict) and "a" in value:
        value, depth = value["a"], depth + 1
    return depth


def text_of(result: Any) -> str:
    return str(result.content[0].text)


def audit_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


# ---------------------------------------------------------------------------------------------- after the send


def _boom(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("injected failure")


class _FailingAudit:
    def __init__(self, real: Any) -> None:
        self.real, self.calls = real, 0

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        self.calls += 1
        if self.calls == 1:
            raise OSError("disk full")
        self.real(*args, **kwargs)


# Each step that runs after the create's POST has left, as `module attribute` to break.
STEPS = [
    (outbound, "bound_json"),  # decoding the answer, inside the transport
    (runner, "to_data"),  # dumping the output model
    (runner, "clean"),  # masking
    (runner, "fit"),  # fitting to the result budget
    (runner, "_result"),  # building the result (the first call only: the error result must still be built)
]


@pytest.mark.parametrize(("module", "step"), STEPS, ids=[s for _, s in STEPS])
async def test_a_failure_after_the_send_never_says_try_again_and_is_audited(
    tmp_path: Path, upstream: respx.MockRouter, monkeypatch: pytest.MonkeyPatch, module: Any, step: str
) -> None:
    audit = tmp_path / "audit.jsonl"
    route = upstream.post(CHANNELS).respond(200, json=envelope({"id": "ch_new", "name": "N"}))
    if step == "_result":
        real = runner._result
        calls: list[int] = []

        def first_fails(*args: Any, **kwargs: Any) -> Any:
            calls.append(1)
            if len(calls) == 1:
                raise RuntimeError("injected failure")
            return real(*args, **kwargs)

        monkeypatch.setattr(module, step, first_fails)
    else:
        monkeypatch.setattr(module, step, _boom)
    async with connect(make_settings(audit_log=audit)) as c:
        result = await c.call_tool("imbrace_create_channel", {"type": "web", "name": "N"})
    text = text_of(result)
    assert route.call_count == 1, "never re-sent"
    assert result.is_error
    assert "try again" not in text.lower() and "may have been applied" in text
    assert "imbrace_list_channels" in text
    assert "injected" not in text and "Traceback" not in text
    (line,) = audit_lines(audit)
    assert line["tool"] == "imbrace_create_channel" and line["ok"] is False
    assert "may have been applied" in line["error"] and line["attempts"] == 1


async def test_a_failing_audit_write_after_the_send_is_retried_once_and_never_says_try_again(
    tmp_path: Path, upstream: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    from channel_mcp.deps import Deps

    audit = tmp_path / "audit.jsonl"
    upstream.post(CHANNELS).respond(200, json=envelope({"id": "ch_new", "name": "N"}))
    failing = _FailingAudit(Deps.audit_write)
    monkeypatch.setattr(Deps, "audit_write", lambda self, *a, **k: failing(self, *a, **k))
    async with connect(make_settings(audit_log=audit)) as c:
        result = await c.call_tool("imbrace_create_channel", {"type": "web", "name": "N"})
    assert result.is_error and "try again" not in text_of(result).lower()
    assert "may have been applied" in text_of(result)
    (line,) = audit_lines(audit)
    assert line["ok"] is False


async def test_an_idempotent_write_says_it_may_have_been_applied_and_cannot_duplicate(
    upstream: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    upstream.put(f"{CHANNELS}/ch_1").respond(200, json=envelope({"id": "ch_1", "name": "N"}))
    monkeypatch.setattr(runner, "to_data", _boom)
    async with connect(make_settings()) as c:
        result = await c.call_tool("imbrace_update_channel", {"channel_id": "ch_1", "name": "N"})
    text = text_of(result)
    assert result.is_error and "may have been applied" in text and "cannot create a duplicate" in text
    assert "try again" not in text.lower()


async def test_a_crash_before_anything_was_sent_may_say_try_again(
    upstream: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    route = upstream.post(CHANNELS).respond(200, json=envelope({"id": "ch_new"}))
    from channel_mcp.imbrace.client import ChannelResource

    monkeypatch.setattr(ChannelResource, "create", _boom)
    async with connect(make_settings()) as c:
        result = await c.call_tool("imbrace_create_channel", {"type": "web", "name": "N"})
    assert not route.called
    assert result.is_error and "Nothing was sent. Try again." in text_of(result)


@MODES
async def test_a_call_cancelled_after_the_send_is_audited(tmp_path: Path, mode: str) -> None:
    audit = tmp_path / "audit.jsonl"
    started = anyio.Event()

    async def hang(request: httpx.Request) -> httpx.Response:
        started.set()
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    with respx.mock(assert_all_called=False) as router:
        router.post(CHANNELS).mock(side_effect=hang)
        async with connect(make_settings(audit_log=audit, timeout=30.0), mode=mode) as c:
            with anyio.fail_after(10):
                async with anyio.create_task_group() as tg:
                    tg.start_soon(c.call_tool, "imbrace_create_channel", {"type": "web", "name": "N"})
                    await started.wait()
                    tg.cancel_scope.cancel()
                # The server learns of the cancel asynchronously in legacy mode; the audit line is the signal.
                while not audit_lines(audit):  # noqa: ASYNC110
                    await anyio.sleep(0.01)
    (line,) = audit_lines(audit)
    assert line["tool"] == "imbrace_create_channel" and line["ok"] is False
    assert "cancelled" in line["error"] and "may have been applied" in line["error"]


# ---------------------------------------------------------------------------------------------- bounded inputs


async def test_the_measured_case_a_deep_config_is_refused_before_anything_is_sent(upstream: respx.MockRouter) -> None:
    """The issue sent 256+ levels over HTTP; the SDK's own client cannot serialise that deep, so the protocol
    case uses 200 levels and the runner is also driven directly with 5,000 (validation must not recurse)."""
    from channel_mcp.deps import build_deps
    from channel_mcp.tools import ALL_TOOLS

    route = upstream.post(CHANNELS).respond(200, json=envelope({"id": "ch_new"}))
    async with connect(make_settings()) as c:
        result = await c.call_tool("imbrace_create_channel", {"type": "web", "name": "N", "config": nested(200)})
    text = text_of(result)
    assert result.is_error and f"nested more than {MAX_DEPTH} levels" in text and text.endswith("Nothing was sent.")
    spec = next(s for s in ALL_TOOLS if s.name == "imbrace_create_channel")
    deps = build_deps(make_settings())
    try:
        direct = await runner.execute(spec, {"type": "web", "name": "N", "config": nested(5_000)}, deps, None)
    finally:
        await deps.aclose()
    assert isinstance(direct, CallToolResult) and direct.is_error and "nested more than" in text_of(direct)
    assert not route.called


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        (nested(MAX_DEPTH + 1), "nested more than"),
        ({f"k{i}": i for i in range(MAX_ITEMS + 1)}, "more than 1000 entries"),
        ({"k": [0] * (MAX_ITEMS + 1)}, "more than 1000 entries"),
        ({"k": "x" * 10_001}, "string over"),
        ({"k" * 300: 1}, "key over"),
        ({f"k{i}": list(range(900)) for i in range(12)}, "values in all"),
    ],
    ids=["deep", "wide object", "wide list", "long string", "long key", "too many values"],
)
async def test_oversized_config_is_refused(upstream: respx.MockRouter, config: Any, problem: str) -> None:
    route = upstream.post(CHANNELS).respond(200, json=envelope({"id": "ch_new"}))
    async with connect(make_settings()) as c:
        result = await c.call_tool("imbrace_create_channel", {"type": "web", "name": "N", "config": config})
    assert not route.called and result.is_error and problem in text_of(result), text_of(result)


async def test_a_config_at_the_depth_cap_is_sent_and_echoed_whole(upstream: respx.MockRouter) -> None:
    config = nested(MAX_DEPTH - 1)  # the object itself is level 1
    route = upstream.post(CHANNELS).respond(200, json=envelope({"id": "ch_new", "name": "N", "config": config}))
    async with connect(make_settings()) as c:
        result = await c.call_tool("imbrace_create_channel", {"type": "web", "name": "N", "config": config})
    assert route.called and not result.is_error, text_of(result)
    assert (result.structured_content or {})["config"] == config


@pytest.mark.parametrize(
    ("tool", "args"),
    [
        ("imbrace_create_web_channel", {"name": "shop\x1b[2J"}),
        ("imbrace_create_web_channel", {"name": "two\nlines"}),
        ("imbrace_create_web_channel", {"name": "nul\x00"}),
        ("imbrace_create_web_channel", {"name": "c1\x9b31m"}),
        ("imbrace_create_email_channel", {"email": "a\x00b@example.com"}),
        ("imbrace_create_email_channel", {"email": "a\x1b@example.com"}),
        ("imbrace_update_contact", {"contact_id": "ct_1", "phone": "+8490\x00"}),
        ("imbrace_update_contact", {"contact_id": "ct_1", "name": "Tab\there"}),
        ("imbrace_create_facebook_channel", {"page_id": "p1", "credential_id": "cred\x001"}),
        ("imbrace_create_facebook_channel", {"page_id": "p\x7f1", "credential_id": "cred_1"}),
        ("imbrace_mark_notifications_read", {"notification_ids": ["n1", "n\x1b2"]}),
        ("imbrace_mark_notifications_read", {"notification_ids": [f"n{i}" for i in range(MAX_ITEMS + 1)]}),
        ("imbrace_update_credential", {"credential_id": "cred_1", "credentials": nested(40)}),
        ("imbrace_search_contacts", {"q": "ann\x00"}),
        ("imbrace_create_web_channel", {"name": "x" * 2001}),
    ],
)
async def test_control_characters_and_oversized_input_are_refused_and_nothing_is_sent(
    upstream: respx.MockRouter, tool: str, args: dict[str, Any]
) -> None:
    catch_all = upstream.route().respond(200, json=envelope({"id": "x"}))
    async with connect(make_settings()) as c:
        result = await c.call_tool(tool, args)
    text = text_of(result)
    assert result.is_error and text.startswith(f"Invalid arguments for {tool}:") and text.endswith("Nothing was sent.")
    assert not catch_all.called
    assert "\x1b" not in text and "\x00" not in text


# ---------------------------------------------------------------------------------------------- bounded answers


def test_bound_json_cuts_deep_and_wide_and_keeps_small_answers_as_they_are() -> None:
    small = {"data": [{"id": "a", "config": nested(10)}]}
    assert bound_json(small) is small  # nothing copied in the common case
    cut = bound_json(nested(10_000))
    assert depth_of(cut) == MAX_ANSWER_DEPTH
    marker = nested(0, cut)
    for _ in range(MAX_ANSWER_DEPTH):
        marker = marker["a"]
    assert isinstance(marker, str) and "nested deeper than" in marker
    wide = bound_json({"k": list(range(10_000))})
    assert wide["k"] == list(range(outbound.MAX_ANSWER_ITEMS)) and "5000 more items in k" in wide["k_cut"]
    bare = bound_json(list(range(10_000)))
    assert len(bare) == outbound.MAX_ANSWER_ITEMS + 1 and "5000 more items" in bare[-1]
    keys = bound_json({f"k{i}": i for i in range(6_000)})
    assert len(keys) == outbound.MAX_ANSWER_ITEMS + 1 and "1000 more keys" in keys["…"]


async def test_an_unpaged_list_wider_than_the_budget_is_cut_and_still_reads(upstream: respx.MockRouter) -> None:
    pages = [{"id": f"p{i}", "name": f"Page {i}"} for i in range(6_000)]
    upstream.get(f"{CHANNELS}/_facebook/credential/cred_1").respond(200, json=envelope(pages))
    async with connect(make_settings()) as c:
        result = await c.call_tool("imbrace_list_facebook_pages", {"credential_id": "cred_1"})
    assert not result.is_error, text_of(result)
    items = (result.structured_content or {})["items"]
    assert 0 < len(items) <= outbound.MAX_ANSWER_ITEMS and items[0]["_id"] == "p0"  # pages carry the documented _id


@MODES
@pytest.mark.parametrize("depth", [300, 10_000])
async def test_a_stored_deep_record_does_not_break_get_or_list(
    upstream: respx.MockRouter, mode: str, depth: int
) -> None:
    # Written as text: json.dumps itself cannot encode 10,000 levels.
    config = '{"a":' * depth + '"x"' + "}" * depth
    record = '{"id":"ch_deep","name":"Deep","config":' + config + "}"
    json_type = {"content-type": "application/json"}
    upstream.get(f"{CHANNELS}/ch_deep").respond(200, text='{"success":true,"data":' + record + "}", headers=json_type)
    upstream.get(CHANNELS).respond(200, text='{"success":true,"data":[' + record + "]}", headers=json_type)
    async with connect(make_settings(), mode=mode) as c:
        one = await c.call_tool("imbrace_get_channel", {"channel_id": "ch_deep"})
        many = await c.call_tool("imbrace_list_channels", {})
    assert not one.is_error, text_of(one)
    assert not many.is_error, text_of(many)
    assert "cut by channel-mcp" in text_of(one) and "cut by channel-mcp" in text_of(many)
    assert (one.structured_content or {})["id"] == "ch_deep"


def deep_or_wide() -> st.SearchStrategy[Any]:
    """Objects from shallow to far past the caps, in depth and in width."""
    leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5))
    deep = st.tuples(st.integers(1, 3 * MAX_ANSWER_DEPTH), leaf, st.sampled_from(["a", "b"])).map(
        lambda t: nested(t[0], t[1]) if t[2] == "a" else _nested_lists(t[0], t[1])
    )
    wide = st.integers(0, 2 * outbound.MAX_ANSWER_ITEMS).map(lambda n: {f"k{i}": i for i in range(n)})
    # (a bare scalar is not an object: config and credentials are objects on both sides)
    return st.one_of(deep, wide, st.dictionaries(st.text(max_size=3), leaf, max_size=5))


def _nested_lists(depth: int, leaf: Any) -> Any:
    value: Any = leaf
    for _ in range(depth):
        value = [value]
    return {"a": value}


@pytest.mark.slow
@MODES
@settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(value=deep_or_wide())
async def test_deep_and_wide_structures_in_and_out_through_the_protocol(mode: str, value: Any) -> None:
    """As config and credentials arguments: accepted whole or refused with nothing sent. As an upstream
    answer: a bounded, well-formed result. Never an internal error."""
    with respx.mock(assert_all_called=False) as router:
        post = router.post(CHANNELS).respond(200, json=envelope({"id": "ch_1", "name": "N", "config": value}))
        put = router.put(f"{CHANNELS}/credentials/cred_1").respond(
            200, json=envelope({"id": "cred_1", "name": "C", "credentials": value})
        )
        router.get(f"{CHANNELS}/credentials/cred_1").respond(
            200, json=envelope({"id": "cred_1", "name": "C", "credentials": value, "config": value})
        )
        router.get(f"{CHANNELS}/ch_1").respond(200, json=envelope({"id": "ch_1", "config": value}))
        router.get(CHANNELS).respond(200, json=paged([{"id": "ch_1", "config": value}]))
        async with connect(make_settings(), mode=mode) as c:
            created = await c.call_tool("imbrace_create_channel", {"type": "web", "name": "N", "config": value})
            cred = await c.call_tool("imbrace_update_credential", {"credential_id": "cred_1", "credentials": value})
            got = await c.call_tool("imbrace_get_channel", {"channel_id": "ch_1"})
            listed = await c.call_tool("imbrace_list_channels", {})
            credential = await c.call_tool("imbrace_get_credential", {"credential_id": "cred_1"})
        for result, route in ((created, post), (cred, put)):
            text = text_of(result)
            assert "internal error" not in text and len(text) <= 100_000
            if result.is_error:
                assert text.endswith("Nothing was sent.") or "give name or credentials" in text, text
                assert not route.called
        for result in (got, listed, credential):
            assert not result.is_error, text_of(result)
            assert len(text_of(result)) <= 100_000


# ---------------------------------------------------------------------------------------------- bounded errors


async def test_sixty_thousand_unknown_arguments_get_a_small_answer(upstream: respx.MockRouter) -> None:
    args: dict[str, Any] = {f"unknown_argument_{i:05d}": "x" for i in range(60_000)}
    args["name"] = "N"
    async with connect(make_settings()) as c:
        started = time.perf_counter()
        result = await c.call_tool("imbrace_create_web_channel", args)
        del started  # measured by hand for the README, not asserted: no timed assertions
    text = text_of(result)
    assert result.is_error and len(text) < 1_000, len(text)
    assert "and 59995 more problems" in text and text.endswith("Nothing was sent.")


async def test_many_validation_problems_are_listed_a_few_at_a_time(upstream: respx.MockRouter) -> None:
    async with connect(make_settings()) as c:
        result = await c.call_tool("imbrace_list_contact_conversations", {"contact_id": 1, "channel_types": ["x"] * 8})
    text = text_of(result)
    assert result.is_error and text.count(": ") <= 6 and "more problems" in text
    assert len(text) <= runner.ERROR_CHARS


def test_a_wide_object_inside_a_result_is_cut_to_the_budget() -> None:
    data = {"id": "cred_1", "credentials": {f"k{i}": i for i in range(20_000)}}
    cut, text = fit(data, 100_000)
    assert len(text) <= 100_000 and cut["truncated"] is True and "more keys" in cut["credentials"]["…"]
    assert cut["id"] == "cred_1"
    many, text = fit({f"field{i}": "v" * 30 for i in range(20_000)}, 100_000)
    assert len(text) <= 100_000 and many["truncated"] is True


def test_every_error_text_is_capped() -> None:
    result = runner._result("x" * 1_000_000, error=True)
    assert len(text_of(result)) <= runner.ERROR_CHARS and text_of(result).endswith("(error text cut)")
    assert len(text_of(runner._result("y" * 5_000))) == 5_000  # results have their own budget (fit)


# ---------------------------------------------------------------------------------------------- audit log


async def test_uploads_are_audited_as_size_and_digest_and_long_values_are_cut(
    tmp_path: Path, upstream: respx.MockRouter
) -> None:
    audit = tmp_path / "audit.jsonl"
    content = b"id,name\n" + b"1,Ann\n" * 50_000
    upstream.post(f"{IMBRACE}/v1/contacts/_fileupload").respond(200, json=envelope({"url": "https://f.test/a.csv"}))
    upstream.post(CHANNELS).respond(200, json=envelope({"id": "ch_1", "name": "N"}))
    async with connect(make_settings(audit_log=audit)) as c:
        up = await c.call_tool(
            "imbrace_upload_contact_file",
            {"filename": "contacts.csv", "content_base64": base64.b64encode(content).decode()},
        )
        assert not up.is_error, text_of(up)
        await c.call_tool("imbrace_create_channel", {"type": "web", "name": "N", "config": {"long": "z" * 5_000}})
    upload, create = audit_lines(audit)
    assert upload["arguments"]["filename"] == "contacts.csv"
    assert upload["arguments"]["content_base64"] == {
        "bytes": len(content),
        "sha256": hashlib.sha256(content).hexdigest(),
    }
    assert len(json.dumps(upload)) < 1_000
    long = create["arguments"]["config"]["long"]
    assert long.startswith("z" * 200) and long.endswith("[cut: 5000 characters]") and len(long) < 300


async def test_our_own_refusal_after_the_send_does_not_claim_nothing_was_sent(
    upstream: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    from channel_mcp.errors import InputError

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise InputError("late refusal.")

    route = upstream.post(CHANNELS).respond(200, json=envelope({"id": "ch_new", "name": "N"}))
    monkeypatch.setattr(outbound, "bound_json", refuse)
    async with connect(make_settings()) as c:
        result = await c.call_tool("imbrace_create_channel", {"type": "web", "name": "N"})
    assert route.call_count == 1 and result.is_error
    assert "Nothing was sent" not in text_of(result) and "may have been applied" in text_of(result)
