"""Start-up: time from spawning the process to the `tools/list` answer over stdio, against the SDK floor.

The floor is `floor_server.py`: a bare `MCPServer` with one tool from the same SDK. The client writes
`initialize`, `notifications/initialized` and `tools/list` as soon as the process is spawned (the pipe
holds them) and the clock stops when the `tools/list` response line arrives. Variants run interleaved,
in a shuffled order each round, so that machine noise hits them alike; the ratio is of the medians.

A breakdown follows: `-X importtime` self times grouped by package (median of several runs), minus the
floor's, and the in-process phases after the imports (settings, `build_server`, the first `tools/list`).
"""

from __future__ import annotations

import json
import random
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from _common import (
    BENCH_DIR,
    PYTHON,
    Row,
    channel_mcp_cmd,
    clean_env,
    compile_like_an_install,
    finish,
    handshake,
    median,
    parser,
    print_table,
    rpc,
    sched_seconds,
    verdict,
)

GOAL = 1.0  # issue 18: no slower to start than a bare SDK server
VARIANTS: dict[str, tuple[list[str], dict[str, str]]] = {
    "floor": ([PYTHON, str(BENCH_DIR / "floor_server.py")], {}),
    "floor, GC paused": ([PYTHON, str(BENCH_DIR / "floor_server.py"), "--gc-paused"], {}),
    "serve --sandbox": (channel_mcp_cmd("serve", "--sandbox"), {}),
    "serve (keys)": (channel_mcp_cmd("serve"), {"IMBRACE_API_KEY": "x", "BIRD_ACCESS_KEY": "y"}),
}
REQUESTS = handshake() + rpc(1, "tools/list")


@dataclass
class Sample:
    initialize: float  # seconds from spawn to the initialize answer
    tools_list: float  # ... to the tools/list answer
    cpu: float  # on-CPU seconds of the server by then
    runqueue: float  # seconds the server was ready but waiting for a CPU (machine contention)
    tools: int


def spawn_to_tools_list(cmd: Sequence[str], env: Mapping[str, str]) -> Sample:
    started = time.perf_counter()
    proc = subprocess.Popen(
        list(cmd), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=dict(env)
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(REQUESTS)
    proc.stdin.flush()
    initialized = 0.0
    try:
        while True:
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError(f"{' '.join(cmd)} exited with {proc.wait()} before answering tools/list")
            msg = json.loads(line)
            if msg.get("id") == 0:
                initialized = time.perf_counter() - started
            elif msg.get("id") == 1:
                elapsed = time.perf_counter() - started
                cpu, runqueue = sched_seconds(proc.pid)
                return Sample(initialized, elapsed, cpu, runqueue, len(msg["result"]["tools"]))
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)
        proc.stdout.close()


# ------------------------------------------------------------------------------------------------ breakdown

_IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")
_GROUPS = {
    "mcp": "mcp SDK",
    "mcp_types": "mcp SDK",
    "pydantic": "pydantic",
    "pydantic_core": "pydantic",
    "annotated_types": "pydantic",
    "typing_inspection": "pydantic",
    "pydantic_settings": "pydantic-settings (+dotenv)",
    "dotenv": "pydantic-settings (+dotenv)",
    "httpx": "httpx (+httpcore, h11, pygments for its CLI)",
    "httpcore": "httpx (+httpcore, h11, pygments for its CLI)",
    "h11": "httpx (+httpcore, h11, pygments for its CLI)",
    "pygments": "httpx (+httpcore, h11, pygments for its CLI)",
    "starlette": "starlette, uvicorn, sse",
    "uvicorn": "starlette, uvicorn, sse",
    "sse_starlette": "starlette, uvicorn, sse",
    "python_multipart": "starlette, uvicorn, sse",
    "multipart": "starlette, uvicorn, sse",
}


def _group(module: str) -> str:
    if module.startswith("channel_mcp.sandbox"):
        return "channel_mcp.sandbox"
    top = module.split(".")[0]
    if top == "channel_mcp":
        parts = module.split(".")
        return ".".join(parts[:2]) if len(parts) > 1 and parts[1] in ("tools", "imbrace", "bird") else module
    if top in _GROUPS:
        return _GROUPS[top]
    if top in sys.stdlib_module_names or top.startswith("_"):
        return "stdlib"
    return "other third-party"


def import_profile(cmd: Sequence[str], env: Mapping[str, str], runs: int) -> dict[str, float]:
    """Median self import time (ms) per module over `runs` runs of the whole start-up."""
    per_run: list[dict[str, int]] = []
    for _ in range(runs):
        done = subprocess.run(
            [cmd[0], "-X", "importtime", *cmd[1:]], input=REQUESTS, capture_output=True, env=dict(env), check=True
        )
        modules: dict[str, int] = {}
        for line in done.stderr.decode(errors="replace").splitlines():
            m = _IMPORT_LINE.match(line)
            if m:
                modules[m[4]] = int(m[1])
        per_run.append(modules)
    names = set().union(*per_run)
    return {n: statistics.median(r.get(n, 0) for r in per_run) / 1000 for n in names}


def only_ours(ours: dict[str, float], floor: dict[str, float]) -> dict[str, float]:
    """Import time of the modules the floor does not load, grouped; shared modules are the same work."""
    groups: dict[str, float] = {}
    for module, ms in ours.items():
        if module not in floor:
            groups[_group(module)] = groups.get(_group(module), 0.0) + ms
    return groups


PHASES = r"""
import gc, sys, time, json
gc.disable()  # as `channel-mcp serve` does over stdio
t0 = time.perf_counter()
import anyio
from mcp.server.mcpserver import MCPServer  # the floor's imports
t1 = time.perf_counter()
from channel_mcp.cli import parser, settings_from
settings = settings_from(parser().parse_args(sys.argv[1:]))
t2 = time.perf_counter()
from channel_mcp.server import build_server
t3 = time.perf_counter()
server = build_server(settings)
t4 = time.perf_counter()
from channel_mcp.deps import build_deps
deps = build_deps(settings)
t5 = time.perf_counter()
async def first_list():
    return [t.model_dump(by_alias=True, exclude_none=True, mode="json") for t in await server.list_tools()]
anyio.run(first_list)
t6 = time.perf_counter()
print(json.dumps({
    "SDK imports (floor's)": t1 - t0,
    "cli + config + Settings()": t2 - t1,
    "import server, tools, clients": t3 - t2,
    "build_server (schemas, resources)": t4 - t3,
    "build_deps (lifespan)": t5 - t4,
    "first tools/list (dump)": t6 - t5,
}))
"""


def phases(args: Sequence[str], env: Mapping[str, str], runs: int) -> dict[str, float]:
    samples: list[dict[str, float]] = []
    for _ in range(runs):
        done = subprocess.run([PYTHON, "-c", PHASES, *args], capture_output=True, env=dict(env), check=True, text=True)
        samples.append(json.loads(done.stdout))
    return {k: median([s[k] for s in samples]) for k in samples[0]}


def main(argv: Sequence[str] | None = None) -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, help="interleaved rounds (default 25, quick 3)")
    p.add_argument("--no-breakdown", action="store_true", help="only the end-to-end comparison")
    args = p.parse_args(argv)
    rounds = args.rounds or (3 if args.quick else 25)
    profile_runs = 1 if args.quick else 5
    compile_like_an_install()
    envs = {name: clean_env(extra) for name, (_, extra) in VARIANTS.items()}
    samples: dict[str, list[Sample]] = {name: [] for name in VARIANTS}
    for name, (cmd, _) in VARIANTS.items():  # warm the page cache and bytecode
        spawn_to_tools_list(cmd, envs[name])
    order = list(VARIANTS)
    for _ in range(rounds):
        random.shuffle(order)
        for name in order:
            samples[name].append(spawn_to_tools_list(VARIANTS[name][0], envs[name]))

    def med(name: str, field: str) -> float:
        return median([getattr(s, field) for s in samples[name]])

    floor, floor_cpu = med("floor", "tools_list"), med("floor", "cpu")
    rows = [
        Row(
            "startup",
            "floor: spawn -> tools/list",
            f"{floor * 1000:.0f} ms",
            note=f"{rounds} rounds, median; on-CPU {floor_cpu * 1000:.0f} ms, "
            f"waiting for a CPU {med('floor', 'runqueue') * 1000:.0f} ms",
            key=True,
        )
    ]
    like = med("floor, GC paused", "tools_list")
    rows.append(
        Row(
            "startup",
            "floor, GC paused at start-up like channel-mcp",
            f"{like * 1000:.0f} ms",
            note=f"{like / floor:.2f}x floor: the share of the gain below that any MCPServer could have",
            key=True,
        )
    )
    for name in VARIANTS:
        if name.startswith("floor"):
            continue
        value, cpu = med(name, "tools_list"), med(name, "cpu")
        ratio = value / floor
        paired = median([s.tools_list / f.tools_list for s, f in zip(samples[name], samples["floor"], strict=True)])
        rows.append(
            Row(
                "startup",
                f"{name}: spawn -> tools/list",
                f"{ratio:.2f}x floor",
                f"<= {GOAL:.2f}x",
                verdict(ratio <= GOAL),
                f"{value * 1000:.0f} ms (+{(value - floor) * 1000:.0f}), {samples[name][0].tools} tools, "
                f"initialize at {med(name, 'initialize') * 1000:.0f} ms; paired-ratio median {paired:.2f}; "
                f"{value / like:.2f}x the GC-paused floor",
            )
        )
        rows.append(
            Row(
                "startup",
                f"{name}: on-CPU time to tools/list",
                f"{cpu / floor_cpu:.2f}x floor",
                note=f"{cpu * 1000:.0f} ms (+{(cpu - floor_cpu) * 1000:.0f}); less sensitive to machine load "
                f"than the wall clock (waited for a CPU {med(name, 'runqueue') * 1000:.0f} ms)",
                key=True,
            )
        )
    finish(rows, args, "Start-up (stdio)")
    if args.no_breakdown:
        return

    # Breakdown: where the extra time over the floor goes.
    floor_imports = import_profile(VARIANTS["floor, GC paused"][0], envs["floor"], profile_runs)
    for name in ("serve --sandbox", "serve (keys)"):
        ours = only_ours(import_profile(VARIANTS[name][0], envs[name], profile_runs), floor_imports)
        ranked = sorted(ours.items(), key=lambda kv: -kv[1])
        breakdown = [Row("imports", group, f"{ms:.1f} ms") for group, ms in ranked if ms >= 0.1]
        breakdown.append(Row("imports", "total", f"{sum(ours.values()):.1f} ms", note="under -X importtime"))
        print_table(
            breakdown,
            f"Imports {name} adds to the floor's (modules the floor does not load; -X importtime self times, "
            f"median of {profile_runs})",
        )
        phase_args = ["serve", "--sandbox"] if "sandbox" in name else ["serve"]
        measured = phases(phase_args, envs[name], profile_runs)
        print_table(
            [Row("phases", k, f"{v * 1000:.1f} ms") for k, v in measured.items()],
            f"In-process phases for {name} (no importtime overhead, median of {profile_runs})",
        )


if __name__ == "__main__":
    main()
