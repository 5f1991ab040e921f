"""Streaming real-time factor and latency per codec, at its smallest stable block.

    .venv/bin/python benchmarks/live.py [--codecs rvq-lab,mimi,...] [--seconds 6]

Part 1 feeds 10 s of speech block by block, for block sizes from small to large, and keeps the
smallest whose 95th-percentile RTF (compute / block duration) stays below 0.9: the smallest stable
block. Estimated latency there = algorithmic (block + look-ahead) + median compute.

Part 2 (when a JACK server runs, e.g. under scripts/test.sh or `jackd -d dummy`) runs the real
live path at that block: PortAudio capture from the dummy device → resample → codec → monitor
output, for ``--seconds``, and prints the measured input-to-output latency (median of the steps:
algorithmic + compute + monitor queue + the devices' own latency) and the late and dropped blocks.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench_home import isolated_env

ROOT = Path(__file__).resolve().parent.parent
BLOCKS = (0.04, 0.08, 0.16, 0.32, 0.64)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--codecs", default="rvq-lab,mimi,encodec-24khz,snac-24khz,dac-16khz")
    ap.add_argument("--seconds", type=float, default=6.0)
    args = ap.parse_args()
    os.environ.update(isolated_env())
    sys.path.insert(0, str(ROOT / "tests"))
    import numpy as np
    import torch

    import random_weights
    from explorer.services.live_run import LiveRun
    from explorer.codecs.registry import load_codec
    from explorer.core.audio import convert, load_audio
    from explorer.services.engine import Engine
    from explorer.services.live import MimiLive, live_codec

    speech = load_audio(ROOT / "resources" / "clips" / "speech_en.wav")
    print(f"torch threads: {torch.get_num_threads()}, 10 s of speech fed one block at a time\n")
    print("| codec | smallest stable block (ms) | algorithmic latency (ms) | median RTF | p95 RTF | est. latency (ms) |")
    print("|---|---:|---:|---:|---:|---:|")
    stable: dict[str, float] = {}
    engines = {}
    for name in args.codecs.split(","):
        if name != "rvq-lab":
            random_weights.ensure(name)
        engine = engines[name] = Engine(load_codec(name, torch.device("cpu")))
        rate = engine.info.sample_rate
        x = convert(speech, rate, engine.info.channels).samples
        x = np.tile(x, (1, int(np.ceil(10 * rate / x.shape[1]))))[:, : 10 * rate]
        for block_seconds in BLOCKS:
            live = live_codec(engine, block_seconds=block_seconds)
            times = []
            try:
                for i in range(0, x.shape[1], live.block):
                    t = time.perf_counter()
                    steps = live.push(x[:, i: i + live.block])
                    if steps:
                        times.append((time.perf_counter() - t) / len(steps))
            finally:
                if isinstance(live, MimiLive):
                    live.close()
            block_s = live.block / rate
            rtf = sorted(t / block_s for t in times[2:])
            med, p95 = statistics.median(rtf), rtf[int(0.95 * len(rtf))]
            if p95 < 0.9 or block_seconds == BLOCKS[-1]:
                break
        ok = p95 < 0.9
        if ok:
            stable[name] = block_seconds
        print(f"| {name} | {1000 * block_s:.0f}{'' if ok else ' (none keeps up)'} | {1000 * live.latency / rate:.0f} | "
              f"{med:.2f} | {p95:.2f} | {1000 * (live.latency / rate + med * block_s):.0f} |")

    if subprocess.run(["jack_lsp"], capture_output=True).returncode != 0:
        print("\nNo JACK server: skipping the measured run through real audio streams.")
        return
    print(f"\nMeasured through PortAudio on the JACK dummy device ({args.seconds:.0f} s each, monitor on):\n")
    print("| codec | block (ms) | measured latency median (ms) | p90 (ms) | RTF | late blocks | dropped blocks |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, block_seconds in stable.items():
        run = LiveRun(engines[name], block_seconds=block_seconds)
        run.start()
        t0 = time.perf_counter()
        try:
            while time.perf_counter() - t0 < args.seconds and run.poll():
                time.sleep(0.01)
        finally:
            run.stop()
        lat = sorted(run.stats.latencies)
        s = run.stats
        print(f"| {name} | {1000 * block_seconds:.0f} | {1000 * statistics.median(lat):.0f} | {1000 * lat[int(0.9 * len(lat))]:.0f} | "
              f"{s.rtf:.2f} | {s.late_steps}/{s.steps} | {s.skipped_steps} |")


if __name__ == "__main__":
    main()
