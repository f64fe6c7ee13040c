"""Run every benchmark and print one summary table (what `make bench` runs).

Each benchmark runs in its own process, one after the other (they would disturb each other's timings
if run at once), prints its detailed tables as it goes, and hands its rows back as JSON. The summary
lists every measure that has a goal, and the key informational ones, with the machine it ran on.
Exit status 1 if a benchmark failed to run (not if a goal is missed: that is a finding, not a crash).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from _common import BENCH_DIR, PYTHON, Row, machine, parser, print_table
from scale_out import haproxy_path

BENCHMARKS = ("tool_list", "startup", "call_overhead", "memory", "http_throughput", "sandbox_scale", "scale_out")


def main(argv: Sequence[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--only", help="comma-separated benchmarks to run (default: all)")
    p.add_argument("--all-rows", action="store_true", help="summary with every row, not only the key ones")
    args = p.parse_args(argv)
    names = [n.strip() for n in args.only.split(",")] if args.only else list(BENCHMARKS)
    unknown = sorted(set(names) - set(BENCHMARKS))
    if unknown:
        p.error(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    info = machine()
    started = time.perf_counter()
    rows: list[Row] = []
    failed: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            out = Path(tmp) / f"{name}.json"
            cmd = [PYTHON, str(BENCH_DIR / f"{name}.py"), "--json", str(out)] + (["--quick"] if args.quick else [])
            print(f"\n# {name}", flush=True)
            if name == "scale_out" and haproxy_path() is None:  # opt-in: runs only where haproxy is installed
                rows.append(Row("scale-out", "skipped: needs haproxy", "apt-get install haproxy", key=True))
                continue
            t0 = time.perf_counter()
            done = subprocess.run(cmd, cwd=BENCH_DIR.parent, check=False)
            if done.returncode != 0 or not out.exists():
                failed.append(name)
                rows.append(Row(name, "benchmark failed to run", f"exit {done.returncode}", verdict="FAIL"))
                continue
            rows.extend(Row(**r) for r in json.loads(out.read_text(encoding="utf-8")))
            print(f"({name}: {time.perf_counter() - t0:.0f} s)", flush=True)
    summary = rows if args.all_rows else [r for r in rows if r.in_summary or r.verdict == "FAIL"]
    load = os.getloadavg()
    title = (
        f"Summary{' (--quick: small counts, not for judging)' if args.quick else ''} - "
        f"{info['nproc']} x {info['cpu']}, Python {info['python']}, {info['os']}, "
        f"load average at end {load[0]:.2f}, {time.perf_counter() - started:.0f} s"
    )
    print_table(summary, title)
    if args.json:
        Path(args.json).write_text(json.dumps([r.__dict__ for r in summary], indent=1), encoding="utf-8")
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
