"""The references channel-mcp is measured against, each doing the same upstream GET as `imbrace_get_channel`.

    python benchmarks/_peers.py sdk --port P --upstream URL [--default-deps]
    python benchmarks/_peers.py floor --port P --upstream URL
    python benchmarks/_peers.py wrapper --upstream URL

- `sdk`: the SDK's documented way. A bare `MCPServer` with one tool that GETs the channel with a shared
  `httpx.AsyncClient` and returns the decoded JSON, served by
  `streamable_http_app(stateless_http=True, json_response=True)` under `uvicorn.run` with uvicorn's
  defaults. With `--default-deps`, the packages that `pip install mcp` does not bring (uvloop, httptools,
  sniffio, orjson: whichever are outside the `mcp` distribution's dependency closure) cannot be imported,
  so uvicorn's "auto" choices and httpcore's probes behave as they do on an SDK-only install.
- `floor`: no MCP at all. One Starlette endpoint that reads the POSTed JSON-RPC body, does the same GET
  with channel-mcp's own upstream client (`channel_mcp.upstream.Upstream`: httpx's request model over
  `channel_mcp.wire`, the code every channel-mcp tool's GET runs) and headers, and answers
  `{"jsonrpc", "id", "result"}` as JSON; served on channel-mcp's own HTTP stack (`serve_app`: its uvicorn
  settings, protocol class and event loop), so channel-mcp's distance to it is the MCP layer alone.
- `wrapper` (stdio): the naive one-tool wrapper a developer writes in five minutes: a bare `MCPServer`,
  the same GET in one tool, `server.run()` over stdio.
"""

from __future__ import annotations

import argparse
import importlib.abc
import importlib.machinery
import json
import os
import re
import sys
from collections.abc import Sequence
from importlib import metadata
from types import ModuleType
from typing import Any

OPTIONAL_SPEEDUPS = ("uvloop", "httptools", "sniffio", "orjson")
"""Packages that change how fast an HTTP server or httpx runs when importable."""


def sdk_closure(root: str = "mcp") -> set[str]:
    """Normalised names of the distributions `pip install <root>` installs (no extras)."""
    seen: set[str] = set()
    todo = [root]
    while todo:
        name = re.sub(r"[-_.]+", "-", todo.pop()).lower()
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for spec in requires:
            requirement, _, marker = spec.partition(";")
            if "extra" in marker:
                continue
            if marker.strip() and not _marker_holds(marker):
                continue
            todo.append(re.split(r"[\s\[<>=!~(]", requirement.strip(), maxsplit=1)[0])
    return seen


def _marker_holds(marker: str) -> bool:
    try:
        from packaging.markers import Marker
    except ImportError:  # no packaging: keep the requirement (errs on the side of a faster peer)
        return True
    return bool(Marker(marker).evaluate())


class _Absent(importlib.abc.MetaPathFinder):
    """Makes the named top-level packages unimportable, as on an install that lacks them."""

    def __init__(self, names: Sequence[str]) -> None:
        self.names = frozenset(names)

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname.partition(".")[0] in self.names:
            raise ModuleNotFoundError(f"No module named {fullname!r} (absent from the SDK's dependencies)")
        return None


def sdk_default_deps() -> list[str]:
    """Block the optional speed-ups that the SDK does not install; returns their names."""
    closure = sdk_closure()
    absent = [name for name in OPTIONAL_SPEEDUPS if name not in closure]
    sys.meta_path.insert(0, _Absent(absent))
    for name in absent:
        sys.modules.pop(name, None)
    return absent


def _upstream_headers() -> dict[str, str]:
    return {"x-api-key": os.environ.get("IMBRACE_API_KEY", "sandbox-key"), "accept": "application/json"}


def channel_path(channel_id: str) -> str:
    return f"/channel-service/v1/channels/{channel_id}"


def build_sdk_server(upstream: str) -> Any:
    import httpx
    from mcp.server.mcpserver import MCPServer

    server = MCPServer("sdk-peer")
    client: httpx.AsyncClient | None = None

    @server.tool()
    async def imbrace_get_channel(channel_id: str) -> dict[str, Any]:
        """Get one channel by id."""
        nonlocal client
        if client is None:
            client = httpx.AsyncClient(base_url=upstream, headers=_upstream_headers())
        response = await client.get(channel_path(channel_id))
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        return data

    return server


def run_sdk(upstream: str, port: int) -> None:
    import uvicorn

    app = build_sdk_server(upstream).streamable_http_app(stateless_http=True, json_response=True)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def build_floor_app(upstream: str) -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    from channel_mcp.upstream import Upstream

    # channel-mcp's upstream client (the lean wire under httpx's request model): the same GET, the same code.
    client = Upstream(provider="imbrace", label="iMBRACE", base_url=upstream, headers=_upstream_headers())

    async def call(request: Request) -> Response:
        message = json.loads(await request.body())
        data = await client.request("GET", channel_path(message["params"]["arguments"]["channel_id"]))
        return JSONResponse(
            {"jsonrpc": "2.0", "id": message["id"], "result": {"structuredContent": data, "isError": False}}
        )

    async def ready(_: Request) -> Response:
        return JSONResponse({"status": "ready"})

    return Starlette(routes=[Route("/mcp", call, methods=["POST"]), Route("/readyz", ready, methods=["GET"])])


def run_floor(upstream: str, port: int) -> None:
    """The floor app under channel-mcp's own uvicorn set-up (the function `channel-mcp serve` uses)."""
    from channel_mcp.config import Settings
    from channel_mcp.serving.http_app import serve_app

    settings = Settings(imbrace_api_key="sandbox-key", imbrace_gateway_url=upstream)
    sys.exit(serve_app(build_floor_app(upstream), settings, host="127.0.0.1", port=port))


def run_wrapper(upstream: str) -> None:
    build_sdk_server(upstream).run()


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("kind", choices=["sdk", "floor", "wrapper"])
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--upstream", required=True)
    p.add_argument("--default-deps", action="store_true", help="sdk: only what `pip install mcp` brings")
    args = p.parse_args(argv)
    if args.default_deps:
        sdk_default_deps()
    if args.kind == "sdk":
        run_sdk(args.upstream, args.port)
    elif args.kind == "floor":
        run_floor(args.upstream, args.port)
    else:
        run_wrapper(args.upstream)


if __name__ == "__main__":
    main()
