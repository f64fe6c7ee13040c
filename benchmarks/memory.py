"""Memory: RSS of the stdio server after `tools/list` and after 10,000 tool calls (goal: < 10% growth).

The server is `channel-mcp serve` pointed at a `channel-mcp sandbox` process (so the simulated
account's own memory is not counted), called with a mix of reads, an idempotent write and calls that
fail with 404, eight in flight at a time. RSS comes from /proc/<pid>/status. The growth after the first
few hundred calls (connection pools, lazily built validators) is shown apart from the steady state, where
a leak would show. The embedded sandbox (`serve --sandbox`) is measured the same way for information:
there the simulated account lives in the same process.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator, Sequence
from typing import Any

from _common import (
    Row,
    StdioServer,
    call_tool,
    channel_mcp_cmd,
    clean_env,
    finish,
    parser,
    rss_kib,
    sandbox_env,
    sandbox_process,
    verdict,
)

GOAL = 0.10
WINDOW = 8  # requests in flight


def workload(server: StdioServer) -> Iterator[tuple[str, dict[str, Any]]]:
    page = server.call("imbrace_list_contacts", {"limit": 20})["structuredContent"]["items"]
    contacts = [c["id"] for c in page]
    channels = [c["id"] for c in server.call("imbrace_list_channels", {})["structuredContent"]["items"]]
    queries = ["nguyen", "li", "smith", "@example", "+84", "tran", "wang", "zzz-no-match"]
    for i in itertools.count():
        contact = contacts[i % len(contacts)]
        channel = channels[i % len(channels)]
        yield from (
            ("imbrace_count_channels", {}),
            ("imbrace_get_channel", {"channel_id": channel}),
            ("imbrace_list_channels", {"limit": 10}),
            ("imbrace_list_contacts", {"limit": 20, "skip": (i * 20) % 200}),
            ("imbrace_search_contacts", {"q": queries[i % len(queries)]}),
            ("imbrace_get_contact", {"contact_id": contact}),
            ("imbrace_update_contact", {"contact_id": contact, "name": f"Memory Probe {i % 7}"}),
            ("imbrace_list_notifications", {"limit": 10}),
            ("bird_list_channels", {"limit": 10}),
            ("imbrace_get_channel", {"channel_id": f"ch_missing_{i % 50}"}),  # 404: the error path
        )


def run_calls(server: StdioServer, calls: Iterator[tuple[str, dict[str, Any]]], count: int) -> int:
    """Send `count` calls, WINDOW at a time; returns how many answered with isError."""
    errors = 0
    sent = 0
    while sent < count:
        batch = []
        for name, arguments in itertools.islice(calls, min(WINDOW, count - sent)):
            msg_id = server.next_id
            server.next_id += 1
            batch.append(msg_id)
            server.stdin.write(call_tool(msg_id, name, arguments))
        server.stdin.flush()
        pending = set(batch)
        while pending:
            line = server.stdout.readline()
            if not line:
                raise RuntimeError("server exited")
            msg = json.loads(line)
            if msg.get("id") in pending:
                pending.discard(msg["id"])
                if "error" in msg:
                    raise RuntimeError(str(msg["error"]))
                errors += bool(msg["result"].get("isError"))
        sent += len(batch)
    return errors


def measure(cmd: Sequence[str], env: dict[str, str], total: int, warm: int) -> dict[str, Any]:
    server = StdioServer(cmd, env)
    try:
        server.request("tools/list")
        after_list = rss_kib(server.proc.pid)
        calls = workload(server)
        errors = run_calls(server, calls, warm)
        after_warm = rss_kib(server.proc.pid)
        errors += run_calls(server, calls, total - warm)
        after_all = rss_kib(server.proc.pid)
        return {"list": after_list, "warm": after_warm, "all": after_all, "errors": errors}
    finally:
        server.close()


def rows_for(label: str, m: dict[str, Any], total: int, warm: int, *, goal: bool) -> list[Row]:
    growth = m["all"] / m["list"] - 1
    steady = m["all"] / m["warm"] - 1
    return [
        Row(
            "memory",
            f"{label}: RSS growth over {total:,} calls",
            f"{growth:+.1%}",
            f"< {GOAL:.0%}" if goal else "",
            verdict(growth < GOAL) if goal else "",
            f"{m['list'] / 1024:.1f} MiB after tools/list -> {m['warm'] / 1024:.1f} MiB after {warm} calls "
            f"-> {m['all'] / 1024:.1f} MiB; {m['errors']} calls were 404s by design",
            key=True,
        ),
        Row(
            "memory",
            f"{label}: growth after warm-up ({warm:,} -> {total:,})",
            f"{steady:+.1%}",
            note="steady state: where a leak would show",
            key=True,
        ),
    ]


def main(argv: Sequence[str] | None = None) -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--calls", type=int, help="total calls (default 10000, quick 300)")
    args = p.parse_args(argv)
    total = args.calls or (300 if args.quick else 10_000)
    warm = min(500, total // 3)
    with sandbox_process() as upstream:
        remote = measure(channel_mcp_cmd("serve"), clean_env(sandbox_env(upstream.url)), total, warm)
    embedded = measure(channel_mcp_cmd("serve", "--sandbox"), clean_env(), total, warm)
    rows = rows_for("serve (keys) -> sandbox process", remote, total, warm, goal=True)
    rows += rows_for("serve --sandbox (embedded, info)", embedded, total, warm, goal=False)
    finish(rows, args, "Memory (stdio server RSS)")


if __name__ == "__main__":
    main()
