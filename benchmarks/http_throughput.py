"""HTTP throughput: tool calls per second and p99 at 1, 8 and 32 concurrent clients, 1 vs 2 replicas.

Two `channel-mcp serve --transport http` processes (stateless, JSON responses) share one upstream
`channel-mcp sandbox` process, all on loopback. "1 replica" sends every call to the first; "2 replicas"
round-robins calls between both ports. The two set-ups are measured in alternating, shuffled rounds at
each concurrency level. Clients are asyncio tasks in this process, each with its own keep-alive
connection(s), speaking raw HTTP/1.1 (a lighter load generator than httpx, so that it is less of the
bottleneck). Everything shares the machine's cores: the load generator, the replicas and the sandbox.
"""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

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


@contextmanager
def replicas(upstream: str, count: int) -> Iterator[list[tuple[int, int]]]:
    """`count` HTTP replicas pointed at `upstream`; yields (port, pid) pairs."""
    ports = [free_port() for _ in range(count)]
    procs = [
        subprocess.Popen(
            channel_mcp_cmd("serve", "--transport", "http", "--port", str(port)),
            env=clean_env(sandbox_env(upstream)),
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

    def __init__(self, port: int) -> None:
        self.port = port
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
            f"content-length: {len(body)}\r\n\r\n"
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


async def phase(ports: Sequence[int], clients: int, seconds: float, pids: dict[str, int]) -> Phase:
    """`clients` tasks calling as fast as they can for `seconds`."""
    latencies: list[float] = []
    deadline = 0.0

    async def client(index: int) -> None:
        # Each client holds one connection per port and alternates ports call by call: round robin.
        conns = [Connection(port) for port in ports]
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

    warm = [Connection(port) for port in ports]  # connections and lazy paths warmed before the clock
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
    replica_ports: list[tuple[int, int]], sandbox_pid: int, seconds: float, rounds: int
) -> dict[tuple[int, int], list[Phase]]:
    ports = [port for port, _ in replica_ports]
    pids = {"sandbox": sandbox_pid, **{f"replica {i + 1}": pid for i, (_, pid) in enumerate(replica_ports)}}
    setups = {1: ports[:1], 2: ports[:2]}
    results: dict[tuple[int, int], list[Phase]] = {}
    for clients in CONCURRENCY:
        for _ in range(rounds):
            order = list(setups)
            random.shuffle(order)
            for count in order:
                results.setdefault((clients, count), []).append(await phase(setups[count], clients, seconds, pids))
    return results


def main(argv: Sequence[str] | None = None) -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, help="length of one measured phase (default 3, quick 0.3)")
    p.add_argument("--rounds", type=int, help="alternating rounds per concurrency level (default 3, quick 1)")
    args = p.parse_args(argv)
    seconds = args.seconds or (0.3 if args.quick else 3.0)
    rounds = args.rounds or (1 if args.quick else 3)
    with sandbox_process() as upstream, replicas(upstream.url, 2) as replica_ports:
        results = asyncio.run(run(replica_ports, upstream.pid, seconds, rounds))
    rows: list[Row] = []
    for clients in CONCURRENCY:
        rates: dict[int, float] = {}
        for count in (1, 2):
            phases = results[(clients, count)]
            calls = sum(ph.calls for ph in phases)
            elapsed = sum(ph.elapsed for ph in phases)
            latencies = [x for ph in phases for x in ph.latencies]
            roles = phases[0].cpu.keys()
            cpu = {role: sum(ph.cpu[role] for ph in phases) / elapsed for role in roles}
            busy = ", ".join(f"{role} {share:.0%}" for role, share in cpu.items() if share >= 0.005)
            rates[count] = calls / elapsed
            rows.append(
                Row(
                    "http",
                    f"{clients} client{'s' if clients > 1 else ''}, {count} replica{'s' if count > 1 else ''}",
                    f"{rates[count]:.0f} calls/s",
                    note=f"p50 {median(latencies) * 1000:.1f} ms, p99 {percentile(latencies, 99) * 1000:.1f} ms; "
                    f"{calls} calls; CPU: {busy}",
                    key=True,
                )
            )
        rows.append(
            Row(
                "http",
                f"{clients} client{'s' if clients > 1 else ''}: 2 replicas / 1",
                f"{rates[2] / rates[1]:.2f}x",
                key=True,
            )
        )
    finish(rows, args, f"HTTP throughput ({TOOL}, stateless JSON, one sandbox upstream)")


if __name__ == "__main__":
    main()
