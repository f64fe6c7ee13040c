"""HTTP throughput: tool calls per second and p99 at 1, 8 and 32 concurrent clients, 1 vs 2 replicas, token vs oauth.

Two `channel-mcp serve --transport http` processes (stateless, JSON responses) share one upstream
`channel-mcp sandbox` process, all on loopback. "1 replica" sends every call to the first; "2 replicas"
round-robins calls between both ports. The two set-ups are measured in alternating, shuffled rounds at
each concurrency level. Clients are asyncio tasks in this process, each with its own keep-alive
connection(s), speaking raw HTTP/1.1 (a lighter load generator than httpx, so that it is less of the
bottleneck). Everything shares the machine's cores: the load generator, the replicas and the sandbox.

Authentication: two more single replicas, one in token mode (CHANNEL_MCP_AUTH=token) and one in oauth
mode (CHANNEL_MCP_AUTH=oauth), measured in the same shuffled rounds. The oauth replica trusts a small
issuer served by this process (RFC 8414 metadata and a JWKS; the token is an RFC 9068 `at+jwt` signed
with RS256 by PyJWT), so the figure is the resource server's cost: discovery and the JWKS on the first
call, then the cached validated token on every later one.
"""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from _common import (
    PROTOCOL_VERSION,
    SEED_CHANNEL_ID,
    Row,
    channel_mcp_cmd,
    clean_env,
    cpu_seconds,
    finish,
    free_port,
    median,
    parser,
    percentile,
    sandbox_env,
    sandbox_process,
    stop,
    wait_http,
)

CONCURRENCY = (1, 8, 32)
TOOL = "imbrace_get_channel"
ARGUMENTS = {"channel_id": SEED_CHANNEL_ID}
HTTP_TOKEN = "bench-static-token-7f3a9c1e5b2d4f60"
SCOPES = "channels:read channels:write channels:delete"


@dataclass
class Issuer:
    """A minimal OAuth issuer on loopback: metadata and JWKS only; `mint` signs access tokens."""

    url: str
    mint: Callable[[str], str]
    jwks_fetches: list[int] = field(default_factory=list)


@contextmanager
def issuer() -> Iterator[Issuer]:
    import jwt
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    public.update(kid="bench-1", alg="RS256", use="sig")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    fetches: list[int] = []
    documents = {
        "/.well-known/oauth-authorization-server": {
            "issuer": url,
            "jwks_uri": f"{url}/jwks",
            "token_endpoint": f"{url}/token",
        },
        "/jwks": {"keys": [public]},
    }

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            doc = documents.get(self.path)
            if self.path == "/jwks":
                fetches.append(1)
            body = json.dumps(doc).encode() if doc is not None else b"{}"
            self.send_response(200 if doc is not None else 404)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return None

    def mint(audience: str) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {"iss": url, "sub": "bench", "client_id": "bench", "aud": audience, "scope": SCOPES}
        claims.update(iat=now, exp=now + 3600)
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "bench-1", "typ": "at+jwt"})

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Issuer(url=url, mint=mint, jwks_fetches=fetches)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@contextmanager
def replicas(
    upstream: str, count: int, extra_env: Callable[[int], Mapping[str, str]] | None = None
) -> Iterator[list[tuple[int, int]]]:
    """`count` HTTP replicas pointed at `upstream`; yields (port, pid) pairs. `extra_env(port)` adds settings."""
    ports = [free_port() for _ in range(count)]
    procs = [
        subprocess.Popen(
            channel_mcp_cmd("serve", "--transport", "http", "--port", str(port)),
            env=clean_env({**sandbox_env(upstream), **(extra_env(port) if extra_env else {})}),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for port in ports
    ]
    try:
        for port, proc in zip(ports, procs, strict=True):
            wait_http(f"http://127.0.0.1:{port}/readyz", proc=proc)
        yield [(port, proc.pid) for port, proc in zip(ports, procs, strict=True)]
    finally:
        for proc in procs:
            stop(proc)


class Connection:
    """One keep-alive HTTP/1.1 connection posting MCP requests."""

    def __init__(self, port: int, authorization: str | None = None) -> None:
        self.port = port
        self.auth_line = f"authorization: {authorization}\r\n" if authorization else ""
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.next_id = 1

    async def call(self) -> None:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        body = json.dumps(
            {
                "jsonrpc": "2.0",
                "id": self.next_id,
                "method": "tools/call",
                "params": {"name": TOOL, "arguments": ARGUMENTS},
            }
        ).encode()
        self.next_id += 1
        head = (
            f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\ncontent-type: application/json\r\n"
            f"accept: application/json, text/event-stream\r\nmcp-protocol-version: {PROTOCOL_VERSION}\r\n"
            f"{self.auth_line}content-length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode() + body)
        status_line = await self.reader.readline()
        headers: dict[str, str] = {}
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            key, _, value = line.decode("latin-1").partition(":")
            headers[key.strip().lower()] = value.strip()
        if "content-length" in headers:
            payload = await self.reader.readexactly(int(headers["content-length"]))
        else:  # chunked
            chunks = []
            while size := int((await self.reader.readline()).strip() or b"0", 16):
                chunks.append(await self.reader.readexactly(size))
                await self.reader.readline()
            await self.reader.readline()
            payload = b"".join(chunks)
        if not status_line.startswith(b"HTTP/1.1 200") or b'"isError":false' not in payload:
            raise RuntimeError(f"call failed: {status_line!r} {payload[:300]!r}")
        if headers.get("connection", "").lower() == "close":
            await self.close()

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            await self.writer.wait_closed()
            self.writer = None


@dataclass
class Phase:
    calls: int
    elapsed: float
    latencies: list[float]
    cpu: dict[str, float]  # CPU seconds used during the phase, per process role


Target = tuple[int, str | None]  # a replica's port and the Authorization header value it needs


async def phase(targets: Sequence[Target], clients: int, seconds: float, pids: dict[str, int]) -> Phase:
    """`clients` tasks calling as fast as they can for `seconds`."""
    latencies: list[float] = []
    deadline = 0.0

    async def client(index: int) -> None:
        # Each client holds one connection per port and alternates ports call by call: round robin.
        conns = [Connection(port, auth) for port, auth in targets]
        turn = index % len(conns)
        try:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                await conns[turn].call()
                latencies.append(time.perf_counter() - started)
                turn = (turn + 1) % len(conns)
        finally:
            for conn in conns:
                await conn.close()

    warm = [Connection(port, auth) for port, auth in targets]  # connections and lazy paths warmed before the clock
    for conn in warm:
        for _ in range(3):
            await conn.call()
        await conn.close()
    cpu_before = {role: cpu_seconds(pid) for role, pid in pids.items()}
    own_before = time.process_time()
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(*(client(i) for i in range(clients)))
    elapsed = time.perf_counter() - started
    cpu = {role: cpu_seconds(pid) - cpu_before[role] for role, pid in pids.items()}
    cpu["load generator"] = time.process_time() - own_before
    return Phase(len(latencies), elapsed, latencies, cpu)


async def run(
    setups: dict[str, list[Target]], pids: dict[str, int], seconds: float, rounds: int
) -> dict[tuple[int, str], list[Phase]]:
    results: dict[tuple[int, str], list[Phase]] = {}
    for clients in CONCURRENCY:
        for _ in range(rounds):
            order = list(setups)
            random.shuffle(order)
            for name in order:
                results.setdefault((clients, name), []).append(await phase(setups[name], clients, seconds, pids))
    return results


def _row(label: str, phases: list[Phase]) -> tuple[float, Row]:
    calls = sum(ph.calls for ph in phases)
    elapsed = sum(ph.elapsed for ph in phases)
    latencies = [x for ph in phases for x in ph.latencies]
    roles = phases[0].cpu.keys()
    cpu = {role: sum(ph.cpu[role] for ph in phases) / elapsed for role in roles}
    busy = ", ".join(f"{role} {share:.0%}" for role, share in cpu.items() if share >= 0.005)
    rate = calls / elapsed
    note = (
        f"p50 {median(latencies) * 1000:.1f} ms, p99 {percentile(latencies, 99) * 1000:.1f} ms; "
        f"{calls} calls; CPU: {busy}"
    )
    return rate, Row("http", label, f"{rate:.0f} calls/s", note=note, key=True)


def main(argv: Sequence[str] | None = None) -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, help="length of one measured phase (default 3, quick 0.3)")
    p.add_argument("--rounds", type=int, help="alternating rounds per concurrency level (default 3, quick 1)")
    args = p.parse_args(argv)
    seconds = args.seconds or (0.3 if args.quick else 3.0)
    rounds = args.rounds or (1 if args.quick else 3)

    with issuer() as idp:

        def token_env(port: int) -> dict[str, str]:
            return {"CHANNEL_MCP_AUTH": "token", "CHANNEL_MCP_HTTP_TOKEN": HTTP_TOKEN}

        def oauth_env(port: int) -> dict[str, str]:
            resource = f"http://127.0.0.1:{port}/mcp"
            return {
                "CHANNEL_MCP_AUTH": "oauth",
                "CHANNEL_MCP_OAUTH_ISSUER": idp.url,
                "CHANNEL_MCP_RESOURCE_URL": resource,
            }

        with (
            sandbox_process() as upstream,
            replicas(upstream.url, 2) as plain,
            replicas(upstream.url, 1, token_env) as token,
            replicas(upstream.url, 1, oauth_env) as oauth,
        ):
            oauth_port = oauth[0][0]
            bearer = f"Bearer {idp.mint(f'http://127.0.0.1:{oauth_port}/mcp')}"
            setups: dict[str, list[Target]] = {
                "1 replica": [(plain[0][0], None)],
                "2 replicas": [(plain[0][0], None), (plain[1][0], None)],
                "token": [(token[0][0], f"Bearer {HTTP_TOKEN}")],
                "oauth": [(oauth_port, bearer)],
            }
            pids = {
                "sandbox": upstream.pid,
                **{f"replica {i + 1}": pid for i, (_, pid) in enumerate(plain)},
                "token replica": token[0][1],
                "oauth replica": oauth[0][1],
            }
            results = asyncio.run(run(setups, pids, seconds, rounds))
        jwks_fetches = len(idp.jwks_fetches)
    rows: list[Row] = []
    for clients in CONCURRENCY:
        who = f"{clients} client{'s' if clients > 1 else ''}"
        rates: dict[str, float] = {}
        for name in ("1 replica", "2 replicas"):
            rates[name], row = _row(f"{who}, {name}", results[(clients, name)])
            rows.append(row)
        rows.append(Row("http", f"{who}: 2 replicas / 1", f"{rates['2 replicas'] / rates['1 replica']:.2f}x", key=True))
        for name in ("token", "oauth"):
            rates[name], row = _row(f"{who}, 1 replica, {name} auth", results[(clients, name)])
            rows.append(row)
        ratio = rates["oauth"] / rates["token"]
        # CPU per call of the replica itself: steadier than calls/s on a machine shared with other work.
        per_call = {
            name: sum(ph.cpu[f"{name} replica"] for ph in results[(clients, name)])
            / max(1, sum(ph.calls for ph in results[(clients, name)]))
            for name in ("token", "oauth")
        }
        rows.append(
            Row(
                "http",
                f"{who}: oauth / token",
                f"{ratio:.2f}x",
                note=f"goal >= 0.90; replica CPU per call: token {per_call['token'] * 1000:.2f} ms, "
                f"oauth {per_call['oauth'] * 1000:.2f} ms; JWKS fetched {jwks_fetches} time(s) in the run",
                key=True,
            )
        )
    finish(rows, args, f"HTTP throughput ({TOOL}, stateless JSON, one sandbox upstream)")


if __name__ == "__main__":
    main()
