"""benchmarks/device_check.sh, the one script a GPU machine runs, runs here on the CPU, so it cannot rot."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_device_check_runs_on_the_cpu_and_prints_its_table():
    script = ROOT / "benchmarks" / "device_check.sh"
    assert os.access(script, os.X_OK)
    p = subprocess.run([str(script), "--device", "cpu", "--codecs", "rvq-lab", "--seconds", "2"],
                       capture_output=True, text=True, timeout=600, cwd=ROOT, env={**os.environ, "PYTHON": sys.executable})
    assert p.returncode == 0, p.stderr[-2000:]
    row = [line for line in p.stdout.splitlines() if line.startswith("| rvq-lab |")]
    assert row and "n/a (CPU: fp32 only)" in row[0], p.stdout
    assert "| codec | decode RTF | edit to first block (ms) |" in p.stdout
