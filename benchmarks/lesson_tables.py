"""The lesson's four tables, reproduced by the app on the bundled speech, printed as Markdown.

1. The codecs: sample rate, frame rates, codebooks and nominal bitrate (from the models built).
2. Quality against bitrate, Opus as the yardstick: measured kbps, PESQ, ViSQOL, STOI (``compare``).
3. Sequence length: tokens per second and in 10 s (the ``frame-rates`` experiment).
4. Semantic vs acoustic: codebook 0 or 7 randomized (the ``exercise-hard`` experiment, and rvq-lab).

rvq-lab and Opus are the real thing; every other codec runs its real architecture with random weights
(no machine here can download pretrained ones), so its quality columns are those of noise and only its
facts (rates, codebooks, bitrates, tokens) are the published ones. With real weights in the caches,
run with ``--real`` to keep the caches as they are and get the real numbers.

    PYTHONPATH=. .venv/bin/python benchmarks/lesson_tables.py [--real]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from bench_home import isolated_env

ROOT = Path(__file__).resolve().parent.parent

QUALITY = [("opus", 6), ("opus", 12), ("opus", 20), ("rvq-lab", 8), ("rvq-lab", 32), ("encodec-24khz", 8),
           ("dac-16khz", 12), ("snac-24khz", None), ("snac-44khz", None), ("mimi", 8), ("mimi", 32), ("speechtokenizer", 8)]
"""The quality table's rows: the lesson's codecs near its bitrates (NAME, codebooks or Opus kbps)."""
PUBLISHED_PESQ = {"opus@20": "4.0", "encodec-24khz@8": "3.2", "dac-16khz@12": "3.5", "mimi@32": "3.1"}
"""The lesson's quality table (its figures as it gives them: Opus 20 kbps, EnCodec 6 kbps, DAC 6 kbps,
Mimi 4.4 kbps; its SNAC 3 kbps matches no released SNAC model, so it has no row)."""


def cell(value: object, spec: str = ".2f") -> str:
    from explorer.core.metrics import fmt

    return fmt(value, spec) if isinstance(value, (float, int)) or value is None else str(value)


def _numeric(text: str) -> bool:
    try:
        float(text.split()[0].split("/")[0])
        return True
    except (ValueError, IndexError):
        return text in ("", "n/a", "–")


def table(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown table; columns of numbers align right."""
    align = ["---:" if i and all(_numeric(r[i]) for r in rows) else "---" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def facts() -> str:
    from explorer.codecs.registry import CODEC_NAMES, entry
    from explorer.services.compare import frame_rates_text

    rows = []
    for name in CODEC_NAMES:
        info = entry(name).info()
        if not info.tokens:
            rows.append([name, f"{info.sample_rate}", f"{info.latent_frame_rate:g} packets", "none", "–",
                         f"{info.default_kbps} (setting)", info.licence])
            continue
        n = info.default_codebooks
        rows.append([name, f"{info.sample_rate}", frame_rates_text(info, n), f"{n} of {info.max_codebooks}",
                     f"{info.codebook_size}", f"{info.bitrate(n) / 1000:.2f}", info.licence])
    return table(["codec", "sample rate (Hz)", "frame rate (Hz)", "codebooks", "entries", "kbps", "licence"], rows)


def quality(engines, clip) -> str:  # type: ignore[no-untyped-def]
    from explorer.services.compare import compare_named

    rows = []
    for r in compare_named(engines, QUALITY, "cpu", clip):
        row = r.row
        rows.append([row.codec, f"{row.bitrate_kbps:.2f}", cell(row.pesq), cell(row.visqol), cell(row.stoi, ".3f"),
                     PUBLISHED_PESQ.get(row.codec, "")])
    return table(["codec", "kbps (measured)", "PESQ", "ViSQOL", "STOI", "lesson's PESQ"], rows)


def sequences(engines, clip) -> str:  # type: ignore[no-untyped-def]
    from explorer.codecs.registry import CODEC_NAMES, entry
    from explorer.services.experiments import frame_rates

    names = [n for n in CODEC_NAMES if entry(n).info().tokens]
    exp = frame_rates([engines.named(n, "cpu") for n in names], clip)
    rows = [[r["codec"], r["frame_rates_hz"], str(r["codebooks"]), f"{r['nominal_kbps']:.2f}", f"{r['tokens_per_second']:.0f}",
             str(r["tokens_in_10s"]), str(r["frames_in_10s"])] for r in exp.table]
    return table(["codec", "frame rate (Hz)", "codebooks", "kbps", "tokens/s", "tokens in 10 s", "frames in 10 s"], rows)


def semantic(engines, clip) -> str:  # type: ignore[no-untyped-def]
    from explorer.services.experiments import exercise_hard

    exp = exercise_hard([engines.named(n, "cpu") for n in ("mimi", "speechtokenizer", "rvq-lab")], clip)
    rows = [[r["codec"], r["randomized"], cell(r["stoi"], ".3f"), cell(r["pesq"]), cell(r["si_sdr_db"], ".1f")] for r in exp.table]
    return table(["codec", "randomized", "STOI", "PESQ", "SI-SDR (dB)"], rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--real", action="store_true", help="use the weights in this computer's caches, write no random ones")
    args = ap.parse_args()
    if not args.real:
        os.environ.update(isolated_env())
    sys.path.insert(0, str(ROOT / "tests"))
    import torch

    torch.set_num_threads(2)
    from explorer.core.audio import load_audio
    from explorer.core.resources import resource
    from explorer.services.session import Engines

    if not args.real:
        import random_weights

        for name in ("encodec-24khz", "dac-16khz", "snac-24khz", "snac-44khz", "mimi", "speechtokenizer", "encodec-48khz",
                     "dac-24khz", "dac-44khz", "snac-32khz"):
            random_weights.ensure(name)
    clip = load_audio(resource("clips", "speech_en.wav"))
    engines = Engines()
    t = time.perf_counter()
    weights = "real weights from this computer's caches" if args.real else "rvq-lab and Opus real, the others random weights"
    print(f"Bundled speech (speech_en.wav, {clip.duration:.1f} s), CPU, {weights}.\n")
    for title, make in (("1. The codecs", lambda: facts()), ("2. Quality against bitrate", lambda: quality(engines, clip)),
                        ("3. Sequence length", lambda: sequences(engines, clip)),
                        ("4. Semantic vs acoustic", lambda: semantic(engines, clip))):
        print(f"#### {title}\n\n{make()}\n", flush=True)
    print(f"({time.perf_counter() - t:.0f} s)")


if __name__ == "__main__":
    main()
