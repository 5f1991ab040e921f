"""Streaming real-time factor and latency per codec, fed 10 s of speech block by block.

    .venv/bin/python benchmarks/live.py [--codecs rvq-lab,mimi,...]

RTF = compute time per block / block duration (below 1 keeps up). End-to-end latency estimate =
algorithmic latency (block + look-ahead) + the median compute time of a block (+ the device buffers,
which depend on the sound card and are not included).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

from bench_home import isolated_env

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--codecs", default="rvq-lab,mimi,encodec-24khz,snac-24khz,dac-16khz")
    args = ap.parse_args()
    os.environ.update(isolated_env())
    sys.path.insert(0, str(ROOT / "tests"))
    import numpy as np
    import torch

    import random_weights
    from explorer.codecs.registry import load_codec
    from explorer.core.audio import convert, load_audio
    from explorer.core.engine import Engine
    from explorer.core.live import MimiLive, live_codec

    speech = load_audio(ROOT / "resources" / "clips" / "speech_en.wav")
    print(f"torch threads: {torch.get_num_threads()}, 10 s of speech fed one block at a time\n")
    print("| codec | block (ms) | algorithmic latency (ms) | median RTF | p95 RTF | est. end-to-end (ms) |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in args.codecs.split(","):
        if name != "rvq-lab":
            random_weights.ensure(name)
        engine = Engine(load_codec(name, torch.device("cpu")))
        rate = engine.info.sample_rate
        x = convert(speech, rate, engine.info.channels).samples
        x = np.tile(x, (1, int(np.ceil(10 * rate / x.shape[1]))))[:, : 10 * rate]
        live = live_codec(engine)
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
        med = statistics.median(rtf)
        print(f"| {name} | {1000 * block_s:.0f} | {1000 * live.latency / rate:.0f} | {med:.2f} | "
              f"{rtf[int(0.95 * len(rtf))]:.2f} | {1000 * (live.latency / rate + med * block_s):.0f} |")


if __name__ == "__main__":
    main()
