"""The `channel-mcp` command: serve (stdio or HTTP), sandbox, tools.

Kept light at import time: a stdio client waits for start-up, so heavy modules load only when needed.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from channel_mcp._version import __version__

NO_CREDENTIALS = (
    "channel-mcp: no provider is configured. Set IMBRACE_API_KEY (or IMBRACE_ACCESS_TOKEN) for iMBRACE, "
    "and/or BIRD_ACCESS_KEY for Bird; or try it with no account: channel-mcp serve --sandbox"
)


def _serve_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--transport", choices=["stdio", "http"], default="stdio", help="stdio (default) or http")
    p.add_argument("--host", default="127.0.0.1", help="HTTP bind address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="HTTP port (default 8000)")
    p.add_argument("--path", default="/mcp", help="HTTP endpoint path (default /mcp)")
    p.add_argument("--sandbox", action="store_true", default=None, help="use the built-in simulated APIs")
    p.add_argument("--toolsets", help="comma-separated toolsets to enable (env CHANNEL_MCP_TOOLSETS)")
    p.add_argument("--tools", help="comma-separated tool names to allow (env CHANNEL_MCP_TOOLS)")
    p.add_argument("--exclude-tools", help="comma-separated tool names to deny (env CHANNEL_MCP_EXCLUDE_TOOLS)")
    p.add_argument("--read-only", action="store_true", default=None, help="offer read-only tools only")
    p.add_argument("--timeout", type=float, help="seconds per upstream call, retries included (default 30)")
    p.add_argument("--log-level", help="DEBUG, INFO (default), WARNING, ERROR")


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="channel-mcp", description="MCP server for iMBRACE and Bird channels.")
    root.add_argument("--version", action="version", version=f"channel-mcp {__version__}")
    sub = root.add_subparsers(dest="command")
    serve = sub.add_parser("serve", help="run the MCP server (default: stdio)")
    _serve_flags(serve)
    tools = sub.add_parser("tools", help="print the tool table with approximate token cost")
    shape = tools.add_mutually_exclusive_group()
    shape.add_argument("--json", action="store_true", help="machine-readable output")
    shape.add_argument("--markdown", action="store_true", help="the README's tool table, as Markdown")
    doctor = sub.add_parser("doctor", help="check the configuration and reach each configured provider")
    doctor.add_argument("--sandbox", action="store_true", default=None, help="check against the built-in sandbox")
    sandbox = sub.add_parser("sandbox", help="serve the simulated iMBRACE + Bird APIs over HTTP")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8900)
    sandbox.add_argument("--api-key", default="sandbox-key", help="key both providers accept (default sandbox-key)")
    sandbox.add_argument("--data", help="SQLite file that keeps the state across restarts")
    sandbox.add_argument("--fault-429", type=float, default=0.0, help="share of requests answered 429")
    sandbox.add_argument("--fault-5xx", type=float, default=0.0, help="share of requests answered 5xx")
    sandbox.add_argument("--latency-ms", type=float, default=0.0, help="added latency per request")
    sandbox.add_argument("--contacts", type=int, default=240, help="number of seeded contacts (default 240)")
    return root


def settings_from(args: argparse.Namespace) -> Any:
    from channel_mcp.config import Settings

    overrides = {
        key: value
        for key in ("sandbox", "toolsets", "tools", "exclude_tools", "read_only", "timeout", "log_level")
        if (value := getattr(args, key, None)) is not None
    }
    return Settings(**overrides)


def main(argv: Sequence[str] | None = None) -> None:
    args = parser().parse_args(argv)
    command = args.command or "serve"
    if command == "tools":
        _print_tools(as_json=args.json, as_markdown=args.markdown)
        return
    if command == "doctor":
        sys.exit(doctor(args))
    if command == "sandbox":
        from channel_mcp.sandbox import serve as serve_sandbox
        from channel_mcp.sandbox.faults import FaultConfig

        faults = FaultConfig(rate_429=args.fault_429, rate_5xx=args.fault_5xx, latency_ms=args.latency_ms)
        serve_sandbox(
            host=args.host,
            port=args.port,
            api_key=args.api_key,
            data_path=args.data,
            faults=faults,
            contacts=args.contacts,
        )
        return
    if args.command is None:
        args = parser().parse_args(["serve"])
    if args.transport == "stdio":
        # Start-up creates ~150k long-lived objects (SDK types, models, schemas) and little garbage; the cyclic
        # GC would rescan them over and over, ~10% of the time to the first tools/list. serve() turns it back
        # on once the server is built.
        gc.disable()
    sys.exit(serve(args))


def serve(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from channel_mcp.errors import ConfigError
    from channel_mcp.logs import configure_logging

    try:
        settings = settings_from(args)
    except ValidationError as exc:
        fields = ", ".join(
            ".".join(str(p) for p in e["loc"]) + ": " + e["msg"] for e in exc.errors(include_input=False)
        )
        print(f"channel-mcp: invalid configuration: {fields}", file=sys.stderr)
        return 2
    # With a tenants file (HTTP oauth mode) the keys are per tenant, and the deployment may hold none.
    if not (settings.imbrace_configured or settings.bird_configured or settings.tenants_file is not None):
        print(NO_CREDENTIALS, file=sys.stderr)
        return 2
    secrets = settings.secret_values()
    if settings.tenants_file is not None or settings.oauth_client_secret is not None:
        from channel_mcp.serving.tenants import tenant_secrets

        secrets += tenant_secrets(settings)
    configure_logging(settings.log_level, secrets)
    try:
        if args.transport == "http":
            gc.enable()
            from channel_mcp.serving.http_app import run_http

            return int(run_http(settings, host=args.host, port=args.port, path=args.path))
        from channel_mcp.server import build_server

        server = build_server(settings)
    except ConfigError as exc:
        print(f"channel-mcp: {exc}", file=sys.stderr)
        return 2
    import anyio

    # The start-up objects stay for the life of the process: frozen, later collections never rescan them
    # (the ~0.8 MB of garbage among them stays too).
    gc.freeze()
    gc.enable()
    from channel_mcp.serving.stdio import run_stdio

    with contextlib.suppress(KeyboardInterrupt):
        anyio.run(run_stdio, server, backend_options={"use_uvloop": _has_uvloop()})
    return 0


def _has_uvloop() -> bool:
    # uvloop trims the event loop's share of every call (where installed: not on Windows).
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return False
    return True


def doctor(args: argparse.Namespace) -> int:
    """Says what is configured (never the values) and whether each provider answers."""
    import anyio
    from pydantic import ValidationError

    from channel_mcp.errors import ChannelMCPError

    try:
        settings = settings_from(args)
    except ValidationError as exc:
        print(f"configuration: invalid ({', '.join(str(e['loc'][0]) for e in exc.errors())})")
        return 2
    for name in ("imbrace_api_key", "imbrace_access_token", "bird_access_key", "http_token"):
        env = "CHANNEL_MCP_HTTP_TOKEN" if name == "http_token" else name.upper()
        print(f"{env:<24} {'set' if getattr(settings, name) is not None else 'not set'}")
    print(f"{'mode':<24} {'sandbox' if settings.sandbox else 'live'}")
    if not (settings.imbrace_configured or settings.bird_configured):
        print(NO_CREDENTIALS)
        return 2

    async def check() -> int:
        from channel_mcp.deps import build_deps

        deps = build_deps(settings)
        failures = 0
        try:
            probes: list[tuple[str, Callable[[], Awaitable[object]]]] = []
            if deps.imbrace_client is not None:
                probes.append(("iMBRACE", deps.imbrace_client.channel.get_count))
            if deps.bird_client is not None:
                probes.append(("Bird", lambda: deps.bird.channels.list(limit=1)))
            for label, probe in probes:
                try:
                    await probe()
                    print(f"{label:<24} reachable")
                except ChannelMCPError as exc:
                    failures += 1
                    print(f"{label:<24} FAILED: {exc}")
        finally:
            await deps.aclose()
        return 1 if failures else 0

    return anyio.run(check)


def _print_tools(*, as_json: bool = False, as_markdown: bool = False) -> None:
    from channel_mcp.server import tool_table, tools_markdown

    if as_markdown:
        print(tools_markdown(), end="")
        return

    rows = tool_table()
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    print(f"{'tool':<38} {'toolset':<22} {'ann.':<8} {'tokens':>6}")
    for row in rows:
        print(f"{row['name']:<38} {row['toolset']:<22} {row['annotations']:<8} {row['tokens']:>6}")
    totals: dict[str, list[int]] = {}
    for row in rows:
        totals.setdefault(row["toolset"], []).append(row["tokens"])
    print()
    print(f"{'toolset':<22} {'tools':>5} {'tokens':>7} {'avg':>5}")
    for name, costs in totals.items():
        print(f"{name:<22} {len(costs):>5} {sum(costs):>7} {sum(costs) // len(costs):>5}")
    all_costs = [row["tokens"] for row in rows]
    print(f"{'all':<22} {len(all_costs):>5} {sum(all_costs):>7} {sum(all_costs) / len(all_costs):>5.1f}")
