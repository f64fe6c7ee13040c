"""Tool declarations are typed end to end: mypy strict rejects a handler wired to the wrong model.

`Toolset.tool(input=..., output=..., handler=...)` binds its input and output type variables from the
models and checks the handler (and `describe_target`) against them. Whether that check fires depends on
how mypy infers the call, so it is tested as mypy sees it: snippets declaring mis-wired tools must be
reported, naming the mismatch, and a correctly wired one must pass. If the declaration ever goes back
to `Any`, or starts to widen a mismatch into a common base class, this test fails.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

PRELUDE = """\
from __future__ import annotations

from typing import assert_type

from channel_mcp.deps import Deps
from channel_mcp.imbrace.models import Notification
from channel_mcp.models import ActionResult, Page
from channel_mcp.tools.declare import DESTRUCTIVE, RO, ToolInput, Toolset, ToolSpec


class ListIn(ToolInput):
    limit: int = 20


class MarkReadIn(ToolInput):
    notification_ids: list[str] | None = None


class DismissAllIn(ToolInput):
    confirm: bool = False


async def list_notifications(d: Deps, a: ListIn) -> Page[Notification]:
    return await d.imbrace.contacts.list_notifications(limit=a.limit, skip=0)


async def mark_read(d: Deps, a: MarkReadIn) -> ActionResult:
    return await d.imbrace.contacts.mark_notifications_read(a.notification_ids)


async def mark_all_read(d: Deps, a: ListIn) -> ActionResult:
    return await d.imbrace.contacts.mark_notifications_read(None)


async def dismiss_all(d: Deps, a: DismissAllIn) -> ActionResult:
    return await d.imbrace.contacts.dismiss_all_notifications()


async def describe_all(d: Deps, a: DismissAllIn) -> str:
    return "dismiss ALL notifications"


toolset = Toolset(name="imbrace_notifications", provider="imbrace", lists_with="imbrace_list_notifications")
"""

SNIPPETS = {
    # The issue's own example: a handler for DismissAllIn declared with MarkReadIn as its input.
    "wrong_input": """
toolset.tool(
    name="imbrace_dismiss_all_notifications",
    title="Dismiss all notifications",
    description="Dismiss every notification.",
    annotations=DESTRUCTIVE,
    input=MarkReadIn,
    output=ActionResult,
    handler=dismiss_all,  # WRONG
)
""",
    # A handler of the right input that returns ActionResult, declared as answering Page[Notification]
    # (a pydantic generic, as the output model of every list tool).
    "wrong_output": """
toolset.tool(
    name="imbrace_list_notifications",
    title="List notifications",
    description="List inbox notifications, newest first.",
    annotations=RO,
    input=ListIn,
    output=Page[Notification],
    handler=mark_all_read,  # WRONG
)
""",
    # The handler is right; the confirmation's description takes another input model.
    "wrong_describe_target": """
toolset.tool(
    name="imbrace_mark_notifications_read",
    title="Mark notifications read",
    description="Mark notifications read (all if no ids).",
    annotations=DESTRUCTIVE,
    input=MarkReadIn,
    output=ActionResult,
    handler=mark_read,
    describe_target=describe_all,  # WRONG
)
""",
    "right": """
listing = toolset.tool(
    name="imbrace_list_notifications",
    title="List notifications",
    description="List inbox notifications, newest first.",
    annotations=RO,
    input=ListIn,
    output=Page[Notification],
    handler=list_notifications,
)
assert_type(listing, ToolSpec[ListIn, Page[Notification]])
dismissing = toolset.tool(
    name="imbrace_dismiss_all_notifications",
    title="Dismiss all notifications",
    description="Dismiss every notification.",
    annotations=DESTRUCTIVE,
    input=DismissAllIn,
    output=ActionResult,
    handler=dismiss_all,
    describe_target=describe_all,
)
assert_type(dismissing, ToolSpec[DismissAllIn, ActionResult])
""",
}

# What each mis-wired snippet must be told: the argument, and both sides of the mismatch.
EXPECTED = {
    "wrong_input": ('Argument "handler"', "DismissAllIn", "MarkReadIn"),
    "wrong_output": ('Argument "handler"', "ActionResult", "Page[Notification]"),
    "wrong_describe_target": ('Argument "describe_target"', "DismissAllIn", "MarkReadIn"),
}

ERROR = re.compile(r"^(?P<file>[^:\n]+\.py):(?P<line>\d+): error: (?P<message>.*)$", re.MULTILINE)


@pytest.fixture(scope="module")
def mypy_errors(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple[int, str]]]:
    """One mypy run (strict, with the project's configuration and pydantic plugin) over every snippet."""
    where = tmp_path_factory.mktemp("typing")
    for name, body in SNIPPETS.items():
        (where / f"{name}.py").write_text(PRELUDE + textwrap.dedent(body), encoding="utf-8")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--cache-dir",
            str(where / ".mypy_cache"),
            "--no-error-summary",
            "--show-error-codes",
            *sorted(str(where / f"{name}.py") for name in SNIPPETS),
        ],
        capture_output=True,
        text=True,
        cwd=where,
        timeout=300,
        check=False,
    )
    assert done.returncode in (0, 1), done.stdout + done.stderr  # 2 would mean mypy itself failed
    errors: dict[str, list[tuple[int, str]]] = {name: [] for name in SNIPPETS}
    for match in ERROR.finditer(done.stdout):
        errors[Path(match["file"]).stem].append((int(match["line"]), match["message"]))
    return errors


def _line_of(name: str, marker: str) -> int:
    text = PRELUDE + textwrap.dedent(SNIPPETS[name])
    [line] = [i for i, row in enumerate(text.splitlines(), 1) if marker in row]
    return line


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_mypy_rejects_a_miswired_declaration(mypy_errors: dict[str, list[tuple[int, str]]], name: str) -> None:
    reported = mypy_errors[name]
    assert reported, f"mypy accepted the mis-wired {name} snippet: the declaration no longer type-checks"
    # Exactly the wrong line, for the reason given, naming both models.
    [(line, message)] = reported
    assert line == _line_of(name, "# WRONG"), reported
    for needle in EXPECTED[name]:
        assert needle in message, (needle, message)
    assert "[arg-type]" in message


@pytest.mark.slow
def test_mypy_accepts_a_correct_declaration(mypy_errors: dict[str, list[tuple[int, str]]]) -> None:
    # Also guards the snippets themselves: the mis-wired ones differ from this only where marked WRONG.
    assert mypy_errors["right"] == []
