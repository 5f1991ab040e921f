"""rvq-lab quality per number of codebooks on held-out audio, and its speed.

    python benchmarks/rvq_lab_ladder.py [--weights codebooks.npz]

Prints a table (bitrate, SI-SDR, STOI, mel distance per 1, 2, 4, 8, 16, 32 codebooks) for audio
the codebooks never saw, then encode and decode speed on one CPU thread.
"""

from __future__ import annotations

import argparse
import time

import torch

from explorer.codecs.registry import load_codec
from explorer.codecs.rvqlab_train import held_out
from explorer.core.edits import Edits
from explorer.services.engine import Engine
from explorer.core.metrics import quality

LADDER = (1, 2, 4, 8, 16, 32)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--weights", default=None)
    args = ap.parse_args()
    torch.set_num_threads(1)
    engine = Engine(load_codec("rvq-lab", torch.device("cpu"), args.weights))
    for label, clip in held_out().items():
        enc = engine.encode(clip)
        print(f"\n{label}, {clip.duration:.1f} s")
        print("| codebooks | kbps | SI-SDR (dB) | STOI | mel distance |")
        print("|---:|---:|---:|---:|---:|")
        for n in LADDER:
            if n > enc.n_codebooks:
                break
            out = engine.decode(enc, Edits(keep=n))
            q = quality(clip.samples, out.samples, clip.sample_rate)
            kbps = enc.bitrate * n / enc.n_codebooks / 1000
            print(f"| {n} | {kbps:.2f} | {q.si_sdr:.2f} | {q.stoi:.3f} | {q.mel_distance:.3f} |")
    clip = held_out()["speech (pt, female)"]
    reps = 5
    t = time.perf_counter()
    for _ in range(reps):
        enc = engine.encode(clip)
    t_enc = (time.perf_counter() - t) / reps
    t = time.perf_counter()
    for _ in range(reps):
        engine.decode(enc, Edits())
    t_dec = (time.perf_counter() - t) / reps
    print(f"\nspeed on 1 CPU thread, {clip.duration:.1f} s clip, 32 codebooks: "
          f"encode {clip.duration / t_enc:.0f}x real time, decode {clip.duration / t_dec:.0f}x real time")


if __name__ == "__main__":
    main()
