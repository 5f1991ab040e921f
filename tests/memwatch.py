"""Run a command in a subprocess and measure its peak resident memory (VmHWM), killing it past a bound.

An address-space limit cannot bound a test's memory (CUDA torch maps 4.6 GB at import), so the
child's ``/proc/PID/status`` is polled instead: a blow-up fails the test, not the machine.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass


@dataclass
class Watched:
    returncode: int
    stdout: str
    stderr: str
    peak_mb: float
    killed: str | None
    seconds: float


def _hwm_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def watch(args: list[str], bound_mb: float, timeout_s: float = 300.0, env: dict[str, str] | None = None) -> Watched:
    """Run ``args``; poll its VmHWM every 20 ms; SIGKILL it past ``bound_mb`` or ``timeout_s``."""
    t0 = time.perf_counter()
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env or os.environ.copy())
    peak, killed = 0.0, None
    out_chunks: list[str] = []
    while p.poll() is None:
        peak = max(peak, _hwm_mb(p.pid))
        if peak > bound_mb:
            killed = f"peak {peak:.0f} MB passed the bound of {bound_mb:.0f} MB"
        elif time.perf_counter() - t0 > timeout_s:
            killed = f"still running after {timeout_s:.0f} s"
        if killed:
            p.send_signal(signal.SIGKILL)
            break
        time.sleep(0.02)
    out, err = p.communicate()
    out_chunks.append(out)
    return Watched(p.wait(), "".join(out_chunks), err, peak, killed, time.perf_counter() - t0)


def cli(*args: str, bound_mb: float, timeout_s: float = 300.0) -> Watched:
    """``python -m explorer ARGS`` under :func:`watch`."""
    return watch([sys.executable, "-m", "explorer", *args], bound_mb, timeout_s)
