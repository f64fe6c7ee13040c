"""The benchmarks still run: `run_all.py --quick` runs each one with small counts and prints its table.

No timing is asserted here (CI machines are noisy); `make bench` is where the numbers are read.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ("tool_list", "startup", "call_overhead", "memory", "http_throughput", "sandbox_scale", "scale_out")
BENCH_NAMES = {"tool-list", "startup", "call", "memory", "http", "sandbox"}


@pytest.mark.slow
def test_every_benchmark_runs_and_prints_its_table(tmp_path: Path) -> None:
    out = tmp_path / "rows.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run_all.py"), "--quick", "--all-rows", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    for name in BENCHMARKS:
        assert f"# {name}" in done.stdout
    assert "## Summary" in done.stdout
    rows = json.loads(out.read_text(encoding="utf-8"))
    assert {row["bench"] for row in rows} >= BENCH_NAMES
    assert all(row["verdict"] != "FAIL" for row in rows)
    assert all(row["value"] for row in rows)


def test_run_all_knows_every_benchmark_script() -> None:
    scripts = {p.stem for p in (ROOT / "benchmarks").glob("*.py") if not p.stem.startswith("_")}
    assert scripts - {"run_all", "floor_server", "soak"} == set(BENCHMARKS)
