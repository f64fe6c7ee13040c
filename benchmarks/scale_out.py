"""Scale-out: calls/s and CPU per call with 1, 2 and 3 replicas behind haproxy, and what a 16-core node would carry.

One upstream `channel-mcp sandbox` process; three `channel-mcp serve --transport http` replicas (stateless,
JSON responses) pointed at it; one haproxy (the Debian package, run in the foreground as a child of this
process, from a config generated in a temporary directory) with one loopback frontend per set-up: 1, 2 or
3 replicas, `mode http`, roundrobin, `http-reuse always`, a fixed `maxconn`, and a health check on the
replicas' `/readyz` (shared between the set-ups with `track`). The set-ups are measured in alternating,
shuffled rounds; each phase is a fixed number of `imbrace_get_channel` calls on the seeded channel (or
fewer, if a time cap ends it first) from 32 concurrent clients (asyncio tasks in this process, one
keep-alive connection each, raw HTTP/1.1).

CPU per call comes from /proc: the replicas that served the phase, plus haproxy. The sandbox upstream and
the load generator share this machine's cores but are not counted: in a fleet they are elsewhere. The
16-core figure is an estimate: 16 CPU-seconds per second divided by that CPU per call, assuming it stays
flat as cores are added; a replica is one Python process, so it carries at most about one core.

Needs haproxy (`apt-get install haproxy`); the benchmark never installs it. Every process it starts is
stopped on the way out, on error, Ctrl-C or SIGTERM, and dies with it if it is killed (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import math
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from _common import (
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
    wait_http,
)

BENCH = "scale-out"
REPLICAS = (1, 2, 3)
NODE_CORES = 16
MAXCONN = 256  # haproxy's cap per frontend (global: 4x); the load is 32 connections
CALL_TIMEOUT = 30.0  # seconds; a call taking longer fails the run instead of hanging it
INSTALL_HINT = "apt-get install haproxy"


def haproxy_path() -> str | None:
    """haproxy on PATH, else Debian's /usr/sbin/haproxy (not on a non-root user's PATH); None if absent."""
    found = shutil.which("haproxy")
    if found:
        return found
    debian = Path("/usr/sbin/haproxy")
    return str(debian) if debian.is_file() and os.access(debian, os.X_OK) else None


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM when this benchmark dies, even by SIGKILL (Linux prctl)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


# ------------------------------------------------------------------------------------------------ processes


@contextlib.contextmanager
def replicas(upstream: str, count: int) -> Iterator[list[tuple[int, int]]]:
    """`count` stateless HTTP replicas pointed at `upstream` (as http_throughput starts them): (port, pid) pairs."""
    with contextlib.ExitStack() as stack:
        started: list[tuple[int, subprocess.Popen[bytes]]] = []
        for _ in range(count):
            port = free_port()
            proc = subprocess.Popen(
                channel_mcp_cmd("serve", "--transport", "http", "--port", str(port)),
                env=clean_env(sandbox_env(upstream)),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                preexec_fn=_die_with_parent,  # no threads exist yet; the hook is one prctl call
            )
            stack.callback(stop, proc)
            started.append((port, proc))
        for port, proc in started:
            wait_http(f"http://127.0.0.1:{port}/readyz", proc=proc)
        yield [(port, proc.pid) for port, proc in started]


@dataclass
class Haproxy:
    pid: int
    frontends: dict[int, int]  # replica count -> frontend port
    stats_socket: Path

    def stats(self) -> dict[tuple[str, str], dict[str, str]]:
        """`show stat` from the stats socket: (proxy, server) -> CSV fields."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(5)
            s.connect(str(self.stats_socket))
            s.sendall(b"show stat\n")
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        lines = data.decode().strip().splitlines()
        header = lines[0].lstrip("# ").split(",")
        table: dict[tuple[str, str], dict[str, str]] = {}
        for line in lines[1:]:
            fields = dict(zip(header, line.split(","), strict=False))
            table[(fields["pxname"], fields["svname"])] = fields
        return table

    def served(self, count: int) -> list[int]:
        """Requests each server of the `count`-replica backend has answered so far."""
        table = self.stats()
        return [int(table[(f"n{count}", f"r{i + 1}")]["stot"]) for i in range(count)]


def haproxy_config(frontends: dict[int, int], servers: Sequence[int], stats_socket: Path) -> str:
    """One frontend and backend per set-up; the health checks live in the 3-replica backend, the others track them."""
    most = max(frontends)
    lines = [
        "global",
        f"    maxconn {MAXCONN * 4}",
        "    nbthread 1",
        f"    stats socket {stats_socket} mode 600 level user",
        "",
        "defaults",
        "    mode http",
        "    option http-keep-alive",
        "    timeout connect 5s",
        "    timeout client 30s",
        "    timeout server 30s",
        "    timeout http-keep-alive 10s",
        "",
    ]
    for count, port in sorted(frontends.items()):
        lines += [
            f"frontend f{count}",
            f"    bind 127.0.0.1:{port}",
            f"    maxconn {MAXCONN}",
            f"    default_backend n{count}",
            "",
            f"backend n{count}",
            "    balance roundrobin",
            "    http-reuse always",  # stateless replicas, no per-connection auth: any idle connection will do
        ]
        if count == most:
            lines += [
                "    option httpchk",
                "    http-check send meth GET uri /readyz",
                "    http-check expect status 200",
            ]
        for i, server_port in enumerate(servers[:count]):
            check = "check inter 2s fall 2 rise 1" if count == most else f"track n{most}/r{i + 1}"
            lines.append(f"    server r{i + 1} 127.0.0.1:{server_port} {check}")
        lines.append("")
    return "\n".join(lines)


@contextlib.contextmanager
def haproxy(executable: str, servers: Sequence[int]) -> Iterator[Haproxy]:
    with tempfile.TemporaryDirectory(prefix="scale-out-") as tmp:
        frontends = {count: free_port() for count in REPLICAS}
        stats_socket = Path(tmp) / "stats.sock"
        config = Path(tmp) / "haproxy.cfg"
        config.write_text(haproxy_config(frontends, servers, stats_socket), encoding="utf-8")
        log = Path(tmp) / "haproxy.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(  # -db: foreground, no daemon, no master process: one pid to read
                [executable, "-db", "-f", str(config)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,  # no threads exist yet; the hook is one prctl call
            )
        try:
            try:
                for port in frontends.values():
                    wait_http(f"http://127.0.0.1:{port}/healthz", timeout=20, proc=proc)
                lb = Haproxy(proc.pid, frontends, stats_socket)
                deadline = time.monotonic() + 20
                while not all(
                    lb.stats()[(f"n{max(REPLICAS)}", f"r{i + 1}")]["status"].startswith("UP")
                    for i in range(max(REPLICAS))
                ):
                    if time.monotonic() > deadline:
                        raise RuntimeError("haproxy's health checks did not mark every replica UP within 20 s")
                    time.sleep(0.1)
            except (RuntimeError, OSError) as exc:
                tail = log.read_text(encoding="utf-8", errors="replace")[-2000:]
                raise RuntimeError(f"haproxy did not come up: {exc}\n{tail}") from exc
            yield lb
        finally:
            stop(proc)


# ------------------------------------------------------------------------------------------------ load


@dataclass
class Phase:
    calls: int
    elapsed: float
    latencies: list[float]
    replicas: list[float]  # CPU seconds of each replica in the set-up during the phase
    haproxy: float
    sandbox: float
    load_generator: float
    served: list[int]  # requests each replica answered during the phase (haproxy's counters)
    capped: bool  # stopped by the time cap before all its calls were made


async def phase(
    lb: Haproxy, count: int, pids: Sequence[int], sandbox_pid: int, calls: int, clients: int, cap: float
) -> Phase:
    """`calls` tool calls through the `count`-replica frontend from `clients` connections, or fewer after `cap` s."""
    port = lb.frontends[count]
    warm = Connection(Target(port))  # every replica's connection pool and lazy paths warmed before the clock
    for _ in range(2 * count):
        await asyncio.wait_for(warm.call(), CALL_TIMEOUT)
    await warm.close()
    latencies: list[float] = []
    remaining = calls
    deadline = math.inf

    async def client() -> None:
        nonlocal remaining
        conn = Connection(Target(port))
        try:
            while remaining > 0 and time.perf_counter() < deadline:
                remaining -= 1
                started = time.perf_counter()
                await asyncio.wait_for(conn.call(), CALL_TIMEOUT)
                latencies.append(time.perf_counter() - started)
        finally:
            await conn.close()

    served_before = lb.served(count)
    cpu_before = [cpu_seconds(pid) for pid in pids]
    haproxy_before, sandbox_before = cpu_seconds(lb.pid), cpu_seconds(sandbox_pid)
    own_before = time.process_time()
    started = time.perf_counter()
    deadline = started + cap
    await asyncio.gather(*(client() for _ in range(clients)))
    elapsed = time.perf_counter() - started
    own = time.process_time() - own_before
    return Phase(
        calls=len(latencies),
        elapsed=elapsed,
        latencies=latencies,
        replicas=[cpu_seconds(pid) - before for pid, before in zip(pids, cpu_before, strict=True)],
        haproxy=cpu_seconds(lb.pid) - haproxy_before,
        sandbox=cpu_seconds(sandbox_pid) - sandbox_before,
        load_generator=own,
        served=[after - before for after, before in zip(lb.served(count), served_before, strict=True)],
        capped=remaining > 0,
    )


async def run(
    lb: Haproxy, pids: Sequence[int], sandbox_pid: int, calls: int, clients: int, rounds: int, cap: float
) -> dict[int, list[Phase]]:
    results: dict[int, list[Phase]] = {count: [] for count in REPLICAS}
    for _ in range(rounds):
        order = list(REPLICAS)
        random.shuffle(order)
        for count in order:
            results[count].append(await phase(lb, count, pids[:count], sandbox_pid, calls, clients, cap))
    return results


# ------------------------------------------------------------------------------------------------ report


@dataclass
class Figures:
    rate: float
    replica_cpu: float  # CPU seconds per call, all replicas of the set-up together
    haproxy_cpu: float

    @property
    def cpu(self) -> float:
        return self.replica_cpu + self.haproxy_cpu


def _rows(count: int, phases: list[Phase], clients: int) -> tuple[Figures, list[Row]]:
    calls = sum(ph.calls for ph in phases)
    elapsed = sum(ph.elapsed for ph in phases)
    latencies = [x for ph in phases for x in ph.latencies]
    replica_cpu = sum(sum(ph.replicas) for ph in phases)
    per_replica = [sum(ph.replicas[i] for ph in phases) / elapsed for i in range(count)]
    served = [sum(ph.served[i] for ph in phases) for i in range(count)]
    figures = Figures(calls / elapsed, replica_cpu / calls, sum(ph.haproxy for ph in phases) / calls)
    sandbox = sum(ph.sandbox for ph in phases) / calls
    load = sum(ph.load_generator for ph in phases) / calls
    who = f"{count} replica{'s' if count > 1 else ''}"
    busy = ", ".join(f"{share:.0%}" for share in per_replica)
    capped = sum(ph.capped for ph in phases)
    cut = f" ({capped} of {len(phases)} phases cut short by the time cap)" if capped else ""
    return figures, [
        Row(
            BENCH,
            f"{who} behind haproxy, {clients} clients",
            f"{figures.rate:.0f} calls/s",
            note=f"p50 {median(latencies) * 1000:.1f} ms, p99 {percentile(latencies, 99) * 1000:.1f} ms; "
            f"{calls} calls{cut}; requests per replica {'/'.join(map(str, served))}; replica CPU busy {busy}",
            key=True,
        ),
        Row(
            BENCH,
            f"{who}: CPU per call (replicas + haproxy)",
            f"{figures.cpu * 1000:.2f} ms",
            note=f"replicas {figures.replica_cpu * 1000:.2f} ms + haproxy {figures.haproxy_cpu * 1000:.2f} ms; "
            f"not counted: sandbox upstream {sandbox * 1000:.2f} ms, load generator {load * 1000:.2f} ms",
            key=True,
        ),
    ]


def estimate(figures: dict[int, Figures]) -> Row:
    """What a 16-core node would carry, from the CPU per call of the largest set-up measured."""
    base = figures[max(REPLICAS)]
    rate = NODE_CORES / base.cpu
    replica_cores = rate * base.replica_cpu
    replica_count = math.ceil(replica_cores)  # a replica is one Python process: at most about one core
    haproxy_cores = rate * base.haproxy_cpu
    low, high = (NODE_CORES / max(f.cpu for f in figures.values()), NODE_CORES / min(f.cpu for f in figures.values()))
    return Row(
        BENCH,
        f"{NODE_CORES}-core node (estimate)",
        f"~{rate:,.0f} calls/s",
        note=f"{NODE_CORES} / {base.cpu * 1000:.2f} ms CPU per call ({max(REPLICAS)} replicas' figure; "
        f"{low:,.0f}-{high:,.0f} from the 1-{max(REPLICAS)} replica figures): {replica_cores:.1f} cores of replicas, "
        f"so {replica_count} replicas (one Python process carries at most ~1 core), plus {haproxy_cores:.1f} "
        "core(s) of haproxy; no headroom, upstream and clients elsewhere, CPU per call assumed flat with more cores",
        key=True,
    )


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")  # so that every `finally` runs and stops its processes


def main(argv: Sequence[str] | None = None) -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--calls", type=int, help="tool calls per measured phase (default 1200, quick 150)")
    p.add_argument("--cap", type=float, help="a phase stops after this many seconds (default 10, quick 4)")
    p.add_argument("--rounds", type=int, help="alternating rounds of the 1/2/3-replica set-ups (default 3, quick 1)")
    p.add_argument("--clients", type=int, default=32, help="concurrent clients (default 32)")
    p.add_argument("--haproxy", help="haproxy executable (default: haproxy on PATH, else /usr/sbin/haproxy)")
    args = p.parse_args(argv)
    calls = args.calls or (150 if args.quick else 1200)
    cap = args.cap or (4.0 if args.quick else 10.0)
    rounds = args.rounds or (1 if args.quick else 3)
    executable = args.haproxy or haproxy_path()
    if executable is None or shutil.which(executable) is None:
        where = f"{executable} is not an executable" if executable else "haproxy is not on PATH nor in /usr/sbin"
        sys.exit(
            f"scale_out needs haproxy, and {where}. Install it with `{INSTALL_HINT}` (Debian/Ubuntu, as root) "
            "and run again; this benchmark installs nothing itself."
        )
    signal.signal(signal.SIGTERM, _interrupt)
    load_before = os.getloadavg()[0]
    with sandbox_process() as upstream, replicas(upstream.url, max(REPLICAS)) as started:
        ports = [port for port, _ in started]
        pids = [pid for _, pid in started]
        with haproxy(executable, ports) as lb:
            results = asyncio.run(run(lb, pids, upstream.pid, calls, args.clients, rounds, cap))
    load = os.getloadavg()
    rows: list[Row] = []
    figures: dict[int, Figures] = {}
    for count in REPLICAS:
        figures[count], more = _rows(count, results[count], args.clients)
        rows.extend(more)
    for count in REPLICAS[1:]:
        rows.append(
            Row(BENCH, f"{count} replicas / 1, calls/s", f"{figures[count].rate / figures[1].rate:.2f}x", key=True)
        )
    rows.append(estimate(figures))
    rows.append(
        Row(
            BENCH,
            "machine",
            f"{os.cpu_count()} cores, load average {load_before:.2f} before, {load[0]:.2f} after",
            note="shared with the sandbox upstream and the load generator: calls/s is this machine's, "
            "CPU per call is the figure that carries over",
        )
    )
    title = f"Scale-out behind haproxy ({TOOL}, stateless JSON, one sandbox upstream, {args.clients} clients)"
    finish(rows, args, title)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM: the processes are already stopped by then
        print("scale_out: interrupted; every process it started has been stopped", file=sys.stderr)
        sys.exit(130)
