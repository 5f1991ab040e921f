"""Per codec: encode/decode speed on 10 s of audio, the engine's overhead over the bare package,
the time from an edit to decoded audio, and peak memory.

    .venv/bin/python benchmarks/engine.py [--device cpu|cuda] [--seconds 10] [--codecs a,b]

Each codec runs in its own process (so peak memory is its own), loads once, warms up once, then
times the median of ``--repeats`` runs. Where pretrained weights are missing (always, offline),
random weights of the real architecture are written to a temporary cache first: the timings are
those of the real networks. RTF = seconds of compute per second of audio (below 1 is faster
than real time).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench_home import isolated_env, speech_clip, timer

ROOT = Path(__file__).resolve().parent.parent


def bare_package_roundtrip(engine, audio):  # type: ignore[no-untyped-def]
    """Encode and decode with the package's own public API, as a user of the package would."""
    codec, fam, n = engine.codec, engine.info.family, engine.info.default_codebooks
    x = audio[None].to(codec.device)
    t0 = time.perf_counter()
    if fam == "encodec":
        codec.model.set_target_bandwidth(n * 10 * engine.info.latent_frame_rate / 1000)
        frames = codec.model.encode(x)
        t1 = time.perf_counter()
        codec.model.decode(frames)
    elif fam == "dac":
        z, *_ = codec.model.encode(codec.model.preprocess(x, engine.info.sample_rate), n_quantizers=n)
        t1 = time.perf_counter()
        codec.model.decode(z)
    elif fam == "snac":
        codes = codec.model.encode(x)
        t1 = time.perf_counter()
        codec.model.decode(codes)
    elif fam == "mimi":
        codec.model.set_num_codebooks(n)
        codes = codec.model.encode(x)
        t1 = time.perf_counter()
        codec.model.decode(codes)
    elif fam == "speechtokenizer":
        codes = codec.model.encode(x, n_q=n)
        t1 = time.perf_counter()
        codec.model.decode(codes)
    else:
        block = codec.encode(audio, n)
        t1 = time.perf_counter()
        codec.decode_latent(codec.contributions(block.codes).sum(0), {})
    return t1 - t0, time.perf_counter() - t1


def one(name: str, device: str, seconds: float, repeats: int) -> dict[str, object]:
    import numpy as np
    import torch

    sys.path.insert(0, str(ROOT / "tests"))
    import random_weights
    from explorer.codecs.registry import load_codec, weights_available
    from explorer.core.audio import convert
    from explorer.core.device import describe_device, resolve_device
    from explorer.core.edits import Edits
    from explorer.services.engine import Engine

    random_weights_used = False
    if name != "rvq-lab" and not weights_available(name):
        random_weights.ensure(name)
        random_weights_used = True
    dev = resolve_device(device)
    t = time.perf_counter()
    engine = Engine(load_codec(name, dev))
    load_s = time.perf_counter() - t
    info = engine.info
    clip = speech_clip(ROOT, seconds)
    native = convert(clip, info.sample_rate, info.channels)
    timed = timer(dev)

    engine.decode(engine.encode(clip))
    enc_t, dec_t, edit_t, bare_e, bare_d = [], [], [], [], []
    for i in range(repeats):
        te, enc = timed(lambda: engine.encode(native))
        td, _ = timed(lambda: engine.decode_native(enc, Edits()))
        tm, _ = timed(lambda: engine.decode_native(enc, Edits(mute=frozenset({i % enc.n_codebooks}))))
        pad = int(np.ceil(native.frames / info.pad_multiple) * info.pad_multiple)
        audio = torch.from_numpy(np.pad(native.samples, ((0, 0), (0, pad - native.frames))))
        with torch.inference_mode():
            be, bd = bare_package_roundtrip(engine, audio)
        enc_t.append(te), dec_t.append(td), edit_t.append(tm), bare_e.append(be), bare_d.append(bd)
    med = statistics.median
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "codec": name, "device": describe_device(dev), "threads": torch.get_num_threads(), "seconds": seconds,
        "load_s": load_s, "encode_rtf": med(enc_t) / seconds, "decode_rtf": med(dec_t) / seconds,
        "overhead_encode_pct": 100 * (med(enc_t) / med(bare_e) - 1),
        "overhead_decode_pct": 100 * (med(dec_t) / med(bare_d) - 1),
        "edit_to_audio_s": med(edit_t), "peak_rss_mb": peak,
        "gpu_peak_mb": torch.cuda.max_memory_allocated() / 2**20 if dev.type == "cuda" else None,
        "random_weights": random_weights_used,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--codecs", default="rvq-lab,encodec-24khz,encodec-48khz,dac-44khz,dac-24khz,dac-16khz,snac-24khz,snac-32khz,snac-44khz,mimi,speechtokenizer")
    ap.add_argument("--one", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.device, args.seconds, args.repeats)))
        return
    env = isolated_env()
    rows = []
    for name in args.codecs.split(","):
        p = subprocess.run([sys.executable, __file__, "--one", name, "--device", args.device, "--seconds", str(args.seconds),
                            "--repeats", str(args.repeats)], capture_output=True, text=True, env=env)
        if p.returncode != 0:
            print(f"{name}: failed\n{p.stderr[-2000:]}", file=sys.stderr)
            continue
        rows.append(json.loads(p.stdout.strip().splitlines()[-1]))
        r = rows[-1]
        print(f"{name}: done ({r['encode_rtf']:.3f} / {r['decode_rtf']:.3f})", file=sys.stderr)
    if not rows:
        return
    print(f"\nDevice: {rows[0]['device']}, torch threads: {rows[0]['threads']}, clip: {args.seconds:g} s of speech"
          + (" (random weights of the real architectures)" if any(r["random_weights"] for r in rows) else ""))
    print("\n| codec | encode RTF | decode RTF | engine overhead enc / dec | edit to audio (s) | peak RSS (MB) |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['codec']} | {r['encode_rtf']:.3f} | {r['decode_rtf']:.3f} | {r['overhead_encode_pct']:+.1f}% / "
              f"{r['overhead_decode_pct']:+.1f}% | {r['edit_to_audio_s']:.2f} | {r['peak_rss_mb']:.0f} |")


if __name__ == "__main__":
    main()
