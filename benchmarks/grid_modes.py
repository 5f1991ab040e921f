"""Switching the token grid's colouring on a long clip: how long the GUI thread is busy.

rvq-lab (32 codebooks at 75 Hz) encodes the bundled speech repeated to ``--minutes`` (default 10:
45,000 frames, 1.44 million cells). The worker's part (the similarity palettes, once per model, and
the per-cell energies) is timed first; then each mode switch on the GUI thread, the first time (its
cell colours are made and cached) and again (only the edits' marks and the redraw), and a mute that
re-marks the grid in the energy mode. The window's budget for a stall is 50 ms.

    PYTHONPATH=. .venv/bin/python benchmarks/grid_modes.py [--minutes 10]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    args = ap.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import torch

    torch.set_num_threads(2)
    from PySide6.QtWidgets import QApplication

    from explorer.core.audio import Clip, load_audio
    from explorer.core.edits import Edits
    from explorer.core.metrics import codebook_stats
    from explorer.core.resources import resource
    from explorer.services.session import CodecChoice, open_engine
    from explorer.services.token_stats import grid_colours
    from explorer.ui.grid_data import GridData
    from explorer.ui.views import GRID_MODES, TimeViews

    app = QApplication.instance() or QApplication([])
    speech = load_audio(resource("clips", "speech_en.wav"))
    reps = int(np.ceil(args.minutes * 60 / speech.duration))
    clip = Clip(np.tile(speech.samples, (1, reps))[:, : int(args.minutes * 60 * speech.sample_rate)], speech.sample_rate)
    engine = open_engine(CodecChoice("rvq-lab", device="cpu"))
    t = time.perf_counter()
    enc = engine.encode(clip)
    t_enc = time.perf_counter() - t
    t = time.perf_counter()
    colours = grid_colours(engine, enc)
    t_first = time.perf_counter() - t
    t = time.perf_counter()
    colours = grid_colours(engine, enc)
    t_again = time.perf_counter() - t
    grid = GridData.of(enc, codebook_stats(enc.codes, engine.info.codebook_size, enc.duration), colours)
    views = TimeViews()
    views.resize(1400, 800)
    views.show()
    app.processEvents()
    views.show_grid(grid, Edits())
    app.processEvents()
    cells = sum(len(c) for c in enc.codes)
    print(f"rvq-lab, {clip.duration / 60:.1f} min: {enc.n_codebooks} codebooks, {cells:,} cells; encode {t_enc:.1f} s")
    print(f"worker: grid colours {t_first * 1000:.0f} ms with the palettes (once per model), {t_again * 1000:.0f} ms after")
    print("\n| switch to | first time (ms) | again (ms) |\n|---|---:|---:|")
    first: dict[str, float] = {}
    for rounds in range(2):
        for mode in GRID_MODES[1:] + GRID_MODES[:1]:
            t = time.perf_counter()
            views.set_grid_mode(mode)
            app.processEvents()
            elapsed = (time.perf_counter() - t) * 1000
            if rounds == 0:
                first[mode] = elapsed
            else:
                print(f"| {mode} | {first[mode]:.0f} | {elapsed:.0f} |")
    views.set_grid_mode("energy")
    t = time.perf_counter()
    views.mark_edits(Edits(mute=frozenset({3})))
    app.processEvents()
    print(f"\nmute one codebook in the energy mode: {(time.perf_counter() - t) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
