"""Run the sandbox over HTTP with uvicorn: in the foreground (``channel-mcp sandbox``) or in a
background thread (tests, benchmarks)."""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from channel_mcp.sandbox.account import SANDBOX_API_KEY, sandbox_env
from channel_mcp.sandbox.faults import FaultConfig

if TYPE_CHECKING:
    from starlette.applications import Starlette

__all__ = ["RunningSandbox", "banner", "serve", "serve_in_thread"]


def _client_host(host: str) -> str:
    # A wildcard bind address is not something a client can connect to.
    if host in ("0.0.0.0", ""):  # noqa: S104 - comparing, not binding
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    if ":" in host and not host.startswith("["):
        return f"[{host}]"
    return host


def banner(
    host: str, port: int, api_key: str, *, data_path: str | None = None, faults: FaultConfig | None = None
) -> str:
    url = f"http://{_client_host(host)}:{port}"
    lines = [f"channel-mcp sandbox listening on {url} (fake iMBRACE channel-service + Bird Channels)"]
    lines.append("State: " + (f"SQLite file {data_path}" if data_path else "in memory (lost on exit)"))
    if faults is not None and faults.active:
        lines.append(
            f"Faults: 429 rate {faults.rate_429}, 5xx rate {faults.rate_5xx}, latency {faults.latency_ms} ms, "
            f"Retry-After {faults.retry_after}s, seed {faults.seed}"
        )
    lines.append("Point channel-mcp at it with:")
    lines.extend(f"  {key}={value}" for key, value in sandbox_env(url, api_key).items())
    lines.append("Or the official SDK:")
    lines.append(f'  AsyncImbraceClient(gateway="{url}", api_key="{api_key}")')
    return "\n".join(lines)


def serve(
    *,
    host: str = "127.0.0.1",
    port: int = 8900,
    api_key: str = SANDBOX_API_KEY,
    data_path: str | None = None,
    faults: FaultConfig | None = None,
    contacts: int = 240,
    stream: TextIO | None = None,
) -> None:
    """Print the connection settings to stderr, then serve until interrupted."""
    import uvicorn

    from channel_mcp.sandbox.app import create_app

    app = create_app(api_key=api_key, data_path=data_path, faults=faults, contacts=contacts)
    out = stream if stream is not None else sys.stderr
    print(banner(host, port, api_key, data_path=data_path, faults=faults), file=out, flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", lifespan="on", ws="none")


@dataclass(frozen=True)
class RunningSandbox:
    url: str
    app: Starlette

    @property
    def env(self) -> dict[str, str]:
        return sandbox_env(self.url, self.app.state.api_key)


@contextmanager
def serve_in_thread(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    app: Starlette | None = None,
    api_key: str = SANDBOX_API_KEY,
    data_path: str | None = None,
    faults: FaultConfig | None = None,
    contacts: int = 240,
    startup_timeout: float = 10.0,
) -> Iterator[RunningSandbox]:
    """Serve over real HTTP from a daemon thread; ``port=0`` picks a free port.

    Binds the socket itself (no race for the port) and creates it with ``IPPROTO_TCP`` so that
    asyncio turns on ``TCP_NODELAY``: a socket made with proto 0 gets Nagle plus delayed ACKs
    and every request takes ~40 ms.
    """
    import uvicorn

    from channel_mcp.sandbox.app import create_app

    if app is None:
        app = create_app(api_key=api_key, data_path=data_path, faults=faults, contacts=contacts)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.bind((host, port))
        bound_port = sock.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", ws="none"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="sandbox", daemon=True)
        thread.start()
        deadline = time.monotonic() + startup_timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                raise RuntimeError("sandbox server did not start")
            time.sleep(0.005)
        try:
            yield RunningSandbox(url=f"http://{_client_host(host)}:{bound_port}", app=app)
        finally:
            server.should_exit = True
            thread.join(timeout=startup_timeout)
    finally:
        sock.close()
