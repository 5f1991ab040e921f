"""The engine on one device, without Qt: decode speed, edit to first block, half precision, live steps.

    benchmarks/device_check.sh [--device cpu|cuda] [--codecs a,b] [--seconds 10]

One table, a row per codec: the whole decode's real-time factor (RTF: seconds of compute per second
of audio), the time from an edit to the first block at the playhead (the engine's part of "mute
click to new sound": the edited latent and the 0.1 s block with its receptive-field context), the
quality cost of decoding in bfloat16 (SI-SDR of the bf16 decode against the fp32 one; CUDA only:
no lossy shortcut runs on the CPU), and the median and 90th percentile of one live step (an 80 ms
block encoded and decoded; Mimi through its streaming state). Random weights of the real
architectures are written first where pretrained ones are missing (always, offline), so the
timings are the real networks'. Each codec runs in its own process.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CODECS = "rvq-lab,encodec-24khz,mimi,speechtokenizer,snac-24khz,dac-16khz,dac-44khz"


def one(name: str, device: str, seconds: float) -> dict[str, object]:
    import numpy as np
    import torch

    sys.path.insert(0, str(ROOT / "tests"))
    import random_weights
    from bench_home import speech_clip, timer
    from explorer.codecs.registry import load_codec, weights_available
    from explorer.core.device import describe_device, resolve_device
    from explorer.core.edits import Edits
    from explorer.core.metrics import si_sdr
    from explorer.services.engine import Engine
    from explorer.services.live import live_codec

    if name != "rvq-lab" and not weights_available(name):
        random_weights.ensure(name)
    dev = resolve_device(device)
    engine = Engine(load_codec(name, dev))
    clip = speech_clip(ROOT, seconds)
    timed = timer(dev)

    enc = engine.encode(clip)
    full = engine.decode_native(enc, Edits())  # warm-up
    decode_s = statistics.median(timed(lambda: engine.decode_native(enc, Edits()))[0] for _ in range(2))
    first = [timed(lambda: engine.decode_span(enc, Edits(mute=frozenset({i % enc.n_codebooks})), 3.0, 0.1))[0]
             for i in range(5)]
    half = None
    if dev.type == "cuda":
        with torch.autocast("cuda", dtype=torch.bfloat16):
            low = engine.decode_native(enc, Edits())
        half = si_sdr(full, low)
    steps: list[float] = []
    if not engine.info.bidirectional:
        live = live_codec(engine, block_seconds=0.08)
        block = int(0.08 * engine.info.sample_rate)
        audio = np.tile(full[:1], (engine.info.channels, 1)).astype(np.float32)
        for i in range(min(40, audio.shape[1] // block)):
            t, _ = timed(lambda: live.push(audio[:, i * block: (i + 1) * block]))
            steps.append(t)
        steps = steps[3:]  # the first steps fill the context
    return {"codec": name, "device": describe_device(dev), "threads": torch.get_num_threads(),
            "decode_rtf": decode_s / seconds, "first_block_ms": 1000 * statistics.median(first), "bf16_si_sdr": half,
            "step_ms": 1000 * statistics.median(steps) if steps else None,
            "step_p90_ms": 1000 * sorted(steps)[int(0.9 * len(steps))] if steps else None}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--codecs", default=CODECS)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--one", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.device, args.seconds)))
        return
    from bench_home import isolated_env

    env = isolated_env()
    rows = []
    for name in args.codecs.split(","):
        p = subprocess.run([sys.executable, __file__, "--one", name, "--device", args.device, "--seconds", str(args.seconds)],
                           capture_output=True, text=True, env=env)
        if p.returncode != 0:
            print(f"| {name} | failed: {p.stderr.strip().splitlines()[-1][:200] if p.stderr.strip() else p.returncode} |")
            continue
        rows.append(json.loads(p.stdout.strip().splitlines()[-1]))
        print(f"{name}: done", file=sys.stderr)

    def ms(v: object) -> str:
        return "n/a (no live mode)" if v is None else f"{v:.1f}"

    if rows:
        print(f"\nDevice: {rows[0]['device']}, torch threads: {rows[0]['threads']}, {args.seconds:g} s of speech, "
              "random weights of the real architectures where pretrained ones are missing")
    print("\n| codec | decode RTF | edit to first block (ms) | bf16 vs fp32 SI-SDR (dB) | live step median / p90 (ms) |")
    print("|---|---:|---:|---:|---:|")
    for r in rows:
        half = "n/a (CPU: fp32 only)" if r["bf16_si_sdr"] is None else f"{r['bf16_si_sdr']:.1f}"
        live = ms(r["step_ms"]) if r["step_ms"] is None else f"{ms(r['step_ms'])} / {ms(r['step_p90_ms'])}"
        print(f"| {r['codec']} | {r['decode_rtf']:.3f} | {r['first_block_ms']:.0f} | {half} | {live} |")


if __name__ == "__main__":
    main()
