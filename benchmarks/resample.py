"""Resampling 10 s at common and odd rates: time and peak memory, our resampler vs torchaudio's.

Each case runs in its own process; its peak resident memory (VmHWM) is read from /proc, and the
process is killed past 6 GB (torchaudio's polyphase filter at odd ratios gets there). Also runs
``codec-explorer encode`` (rvq-lab, 24 kHz) on 10 s of noise at each rate. Prints a table.

    .venv/bin/python benchmarks/resample.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import memwatch  # noqa: E402

RATES = (44100, 44101, 47999, 767957)
BOUND_MB = 6000
CHILD = """
import sys, time, numpy as np
rate, how = int(sys.argv[1]), sys.argv[2]
x = np.random.default_rng(0).standard_normal((1, 10 * rate)).astype(np.float32) * 0.1
import torch, torchaudio.functional as AF
from explorer.core.audio import resample
t = time.perf_counter()
if how == "ours":
    resample(x, rate, 24000)
else:
    AF.resample(torch.from_numpy(x), rate, 24000)
print(f"{time.perf_counter() - t:.3f}")
"""
BASE = """
import numpy as np, torch, torchaudio.functional
from explorer.core.audio import resample
x = np.random.default_rng(0).standard_normal((1, 10 * int(__import__('sys').argv[1]))).astype(np.float32) * 0.1
"""


def main() -> None:
    print(f"{'rate (Hz)':>10} {'resampler':<22} {'seconds':>8} {'peak MB':>8} {'extra MB':>9}  note")
    for rate in RATES:
        base = memwatch.watch([sys.executable, "-c", BASE, str(rate)], BOUND_MB).peak_mb
        for how in ("ours", "torchaudio"):
            w = memwatch.watch([sys.executable, "-c", CHILD, str(rate), how], BOUND_MB, timeout_s=240)
            secs = w.stdout.strip() if w.returncode == 0 else "-"
            name = "ours (polyphase/soxr)" if how == "ours" else "torchaudio.resample"
            failed = "" if w.returncode == 0 or w.killed else "failed: " + (w.stderr.strip().splitlines() or ["?"])[-1][:90]
            print(f"{rate:>10} {name:<22} {secs:>8} {w.peak_mb:>8.0f} {w.peak_mb - base:>9.0f}  {w.killed or failed}", flush=True)
    print()
    print(f"{'rate (Hz)':>10} {'encode 10 s (rvq-lab)':<22} {'seconds':>8} {'peak MB':>8}")
    with tempfile.TemporaryDirectory() as d:
        for rate in RATES:
            wav = Path(d) / f"noise{rate}.wav"
            subprocess.run(["sox", "-R", "-n", "-r", str(rate), "-c", "1", str(wav), "synth", "10", "pinknoise", "vol", "0.3"], check=True)
            w = memwatch.cli("encode", str(wav), "-c", "rvq-lab", "-o", str(Path(d) / "t.npz"), bound_mb=BOUND_MB, timeout_s=240)
            print(f"{rate:>10} {'exit ' + str(w.returncode):<22} {w.seconds:>8.2f} {w.peak_mb:>8.0f}  {w.killed or ''}", flush=True)


if __name__ == "__main__":
    main()
