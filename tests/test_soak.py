"""The bounded soak (`benchmarks/soak.py --quick`): a few hundred calls to the HTTP server with faults injected.

Runs the benchmark as a script, as a user would, and reads its JSON report.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOAK = ROOT / "benchmarks" / "soak.py"


@pytest.mark.slow
def test_quick_soak_has_no_crashes_and_only_injected_errors() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IMBRACE_", "BIRD_", "CHANNEL_MCP_"))}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, str(SOAK), "--quick", "--json", "--calls", "400"],
        capture_output=True,
        timeout=60,
        env=env,
        cwd=ROOT,
        check=False,
    )
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stdout.decode()[-3000:] + done.stderr.decode()[-3000:]
    report = json.loads(done.stdout.decode().strip().splitlines()[-1])
    assert report["passed"] is True
    assert report["calls"] == 400
    assert report["crashes"] == 0, report["crash_examples"]
    assert report["incorrect"] == 0, report["incorrect_examples"]
    assert report["duplicate_creates"] == 0, report["duplicate_examples"]
    assert report["server_exit_status"] == 0  # a clean, graceful stop on SIGTERM
    # Faults were really injected, and most calls still succeeded thanks to the retries.
    assert report["injected_rate"] >= 0.02
    assert report["ok"] >= 0.95 * report["calls"]
    assert report["creates"] > 0 and report["by_tool"].get("imbrace_delete_channel", 0) > 0
    rss = report["rss_kb"]
    assert rss["start"] > 0 and rss["end"] < rss["start"] + 100_000  # no runaway growth in a short run
    assert elapsed < 30
