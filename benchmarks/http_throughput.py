"""HTTP throughput: CPU per call, calls/s, p50/p99 at 1, 8 and 32 clients, against the SDK peer and the floor.

The references (see `_peers.py`), each doing the same upstream GET as `imbrace_get_channel`:
- the SDK peer: a bare `MCPServer` tool under `streamable_http_app(stateless_http=True, json_response=True)`
  and `uvicorn.run`, with the SDK's default dependencies (what `pip install mcp` installs: no uvloop,
  httptools or sniffio), and the same peer again with every package channel-mcp installs importable;
- the floor: no MCP, a plain Starlette endpoint doing the GET and answering JSON, on channel-mcp's own
  HTTP stack (its uvicorn settings, protocol and event loop).
The figure that matters is server CPU per call (user + system, from /proc/<pid>/stat over the phase): on
a shared machine calls/s and latency move with the neighbours' load, CPU per call much less. channel-mcp
is measured at both protocol revisions (2025-11-25 with its born-ready stateless handshake, and the
self-contained 2026-07-28 requests).

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
import os
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
    BENCH_DIR,
    MODERN,
    PYTHON,
    TOOL,
    Connection,
    Row,
    Target,
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
    verdict,
    wait_http,
    wait_port,
)

CONCURRENCY = (1, 8, 32)
PEER_GOAL = 0.6  # channel-mcp's CPU per call at most this times the SDK peer's (SDK default dependencies)
FLOOR_GOAL = 1.3  # ... and at most this times the no-MCP floor's on the same HTTP stack
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


@dataclass
class Phase:
    calls: int
    elapsed: float
    latencies: list[float]
    cpu: dict[str, float]  # CPU seconds used during the phase, per process role


async def phase(targets: Sequence[Target], clients: int, seconds: float, pids: dict[str, int]) -> Phase:
    """`clients` tasks calling as fast as they can for `seconds`."""
    latencies: list[float] = []
    deadline = 0.0

    async def client(index: int) -> None:
        # Each client holds one connection per port and alternates ports call by call: round robin.
        conns = [Connection(target) for target in targets]
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

    warm = [Connection(target) for target in targets]  # connections and lazy paths warmed before the clock
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


@dataclass
class Figures:
    """One set-up at one concurrency, over all its rounds."""

    rate: float  # calls/s
    cpu: float  # server CPU seconds per call (median over the rounds)
    upstream_cpu: float  # the sandbox's CPU seconds per call (the same GET for everyone)
    p50: float
    p99: float
    calls: int
    busy: str


def figures(phases: list[Phase], role: str) -> Figures:
    calls = sum(ph.calls for ph in phases)
    elapsed = sum(ph.elapsed for ph in phases)
    latencies = [x for ph in phases for x in ph.latencies]
    shares = {r: sum(ph.cpu[r] for ph in phases) / elapsed for r in phases[0].cpu}
    busy = ", ".join(f"{r} {share:.0%}" for r, share in shares.items() if share >= 0.005)
    return Figures(
        rate=calls / elapsed,
        cpu=median([ph.cpu[role] / max(1, ph.calls) for ph in phases]),
        upstream_cpu=median([ph.cpu["sandbox"] / max(1, ph.calls) for ph in phases]),
        p50=median(latencies),
        p99=percentile(latencies, 99),
        calls=calls,
        busy=busy,
    )


def _row(label: str, f: Figures) -> Row:
    note = (
        f"{f.rate:.0f} calls/s, p50 {f.p50 * 1000:.1f} ms, p99 {f.p99 * 1000:.1f} ms; {f.calls} calls; "
        f"sandbox {f.upstream_cpu * 1000:.2f} ms/call; CPU: {f.busy}"
    )
    return Row("http", label, f"{f.cpu * 1000:.2f} ms CPU/call", note=note, key=True)


@contextmanager
def server(cmd: Sequence[str], port: int, env: Mapping[str, str] | None = None) -> Iterator[int]:
    """A reference server from _peers.py on `port`; yields its pid once it accepts connections."""
    proc = subprocess.Popen(
        list(cmd), env=clean_env(env), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=BENCH_DIR
    )
    try:
        wait_port(port, proc=proc)
        yield proc.pid
    finally:
        stop(proc)


def peer_cmd(kind: str, port: int, upstream: str, *flags: str) -> list[str]:
    return [PYTHON, str(BENCH_DIR / "_peers.py"), kind, "--port", str(port), "--upstream", upstream, *flags]


CHANNEL_MCP = "channel-mcp"
CHANNEL_MCP_MODERN = f"channel-mcp, {MODERN}"
PEER = "SDK peer, SDK defaults"
PEER_OURS = "SDK peer, our deps"
FLOOR = "floor, our stack"


def main(argv: Sequence[str] | None = None) -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, help="length of one measured phase (default 2, quick 0.3)")
    p.add_argument("--rounds", type=int, help="interleaved rounds per concurrency level (default 3, quick 1)")
    args = p.parse_args(argv)
    seconds = args.seconds or (0.3 if args.quick else 2.0)
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

        ports = {name: free_port() for name in (PEER, PEER_OURS, FLOOR)}
        with (
            sandbox_process() as upstream,
            replicas(upstream.url, 2) as plain,
            replicas(upstream.url, 1, token_env) as token,
            replicas(upstream.url, 1, oauth_env) as oauth,
            server(peer_cmd("sdk", ports[PEER], upstream.url, "--default-deps"), ports[PEER]) as peer_pid,
            server(peer_cmd("sdk", ports[PEER_OURS], upstream.url), ports[PEER_OURS]) as peer_ours_pid,
            server(peer_cmd("floor", ports[FLOOR], upstream.url), ports[FLOOR]) as floor_pid,
        ):
            oauth_port = oauth[0][0]
            bearer = f"Bearer {idp.mint(f'http://127.0.0.1:{oauth_port}/mcp')}"
            setups: dict[str, list[Target]] = {
                CHANNEL_MCP: [Target(plain[0][0])],
                CHANNEL_MCP_MODERN: [Target(plain[0][0], version=MODERN)],
                PEER: [Target(ports[PEER])],
                PEER_OURS: [Target(ports[PEER_OURS])],
                FLOOR: [Target(ports[FLOOR])],
                "2 replicas": [Target(plain[0][0]), Target(plain[1][0])],
                "token": [Target(token[0][0], f"Bearer {HTTP_TOKEN}")],
                "oauth": [Target(oauth_port, bearer)],
            }
            pids = {
                "sandbox": upstream.pid,
                **{f"replica {i + 1}": pid for i, (_, pid) in enumerate(plain)},
                "token replica": token[0][1],
                "oauth replica": oauth[0][1],
                PEER: peer_pid,
                PEER_OURS: peer_ours_pid,
                FLOOR: floor_pid,
            }
            results = asyncio.run(run(setups, pids, seconds, rounds))
        jwks_fetches = len(idp.jwks_fetches)
    roles = {
        CHANNEL_MCP: "replica 1",
        CHANNEL_MCP_MODERN: "replica 1",
        PEER: PEER,
        PEER_OURS: PEER_OURS,
        FLOOR: FLOOR,
        "token": "token replica",
        "oauth": "oauth replica",
    }
    rows: list[Row] = []
    for clients in CONCURRENCY:
        who = f"{clients} client{'s' if clients > 1 else ''}"
        got = {name: figures(results[(clients, name)], role) for name, role in roles.items()}
        for name in (CHANNEL_MCP, CHANNEL_MCP_MODERN, PEER, PEER_OURS, FLOOR):
            rows.append(_row(f"{who}, {name}", got[name]))
        ours, peer, floor = got[CHANNEL_MCP], got[PEER], got[FLOOR]
        for name, reference, goal in ((PEER, peer, PEER_GOAL), (FLOOR, floor, FLOOR_GOAL)):
            ratio = ours.cpu / reference.cpu
            modern = got[CHANNEL_MCP_MODERN].cpu / reference.cpu
            rows.append(
                Row(
                    "http",
                    f"{who}: CPU per call / {name}",
                    f"{ratio:.2f}x",
                    f"<= {goal:.2f}x",
                    verdict(ratio <= goal),
                    f"{ours.cpu * 1000:.2f} vs {reference.cpu * 1000:.2f} ms; calls/s {ours.rate:.0f} vs "
                    f"{reference.rate:.0f}; p50 {ours.p50 * 1000:.1f} vs {reference.p50 * 1000:.1f} ms, "
                    f"p99 {ours.p99 * 1000:.1f} vs {reference.p99 * 1000:.1f} ms; at {MODERN}: {modern:.2f}x",
                )
            )
        same = ours.cpu / got[PEER_OURS].cpu
        rows.append(
            Row(
                "http",
                f"{who}: CPU per call / {PEER_OURS}",
                f"{same:.2f}x",
                note=f"{ours.cpu * 1000:.2f} vs {got[PEER_OURS].cpu * 1000:.2f} ms: the SDK's way with the same "
                "packages installed",
                key=True,
            )
        )
        two = figures(results[(clients, "2 replicas")], "replica 1")
        rows.append(
            Row(
                "http",
                f"{who}: 2 replicas / 1",
                f"{two.rate / ours.rate:.2f}x calls/s",
                note=f"{two.rate:.0f} vs {ours.rate:.0f} calls/s; p99 {two.p99 * 1000:.1f} vs {ours.p99 * 1000:.1f} ms",
                key=True,
            )
        )
        tok, oau = got["token"], got["oauth"]
        rows.append(
            Row(
                "http",
                f"{who}: oauth / token",
                f"{oau.rate / tok.rate:.2f}x calls/s",
                note=f"goal >= 0.90; replica CPU per call: token {tok.cpu * 1000:.2f} ms, "
                f"oauth {oau.cpu * 1000:.2f} ms; JWKS fetched {jwks_fetches} time(s) in the run",
                key=True,
            )
        )
    load = os.getloadavg()
    finish(
        rows,
        args,
        f"HTTP throughput ({TOOL}, stateless JSON, one sandbox upstream; load average {load[0]:.2f} at the end)",
    )


if __name__ == "__main__":
    main()
