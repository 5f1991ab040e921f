"""Switching the token grid's colouring on a long clip: how long the GUI thread is busy.

rvq-lab (32 codebooks at 75 Hz) encodes the bundled speech repeated to ``--minutes`` (default 10:
45,000 frames, 1.44 million cells). The worker's part (the similarity palettes, once per model, and
the per-cell energies) is timed first; then each mode switch on the GUI thread, the first time (its
cell colours are made and cached) and again (only the edits' marks and the redraw), and a mute that
re-marks the grid in the energy mode; last, a paint stroke across 1,000 cells made of real mouse
events (each move's handling, then the release that turns the stroke into an edit and redraws the
grid with it). The window's budget for a stall is 50 ms.

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
    paint_stroke(app, views, grid)


def paint_stroke(app: object, views: object, grid: object) -> None:
    """Paint across 1,000 cells (a diagonal over 4 rows, about 250 frames in each) with 200 mouse moves; time each event."""
    from dataclasses import replace

    from PySide6.QtCore import QEvent, QPointF, Qt
    from PySide6.QtGui import QMouseEvent

    from explorer.core.edits import Edits

    edits = [Edits()]

    def commit(paint: tuple[object, ...]) -> None:  # what the window does with a stroke: a new edit, the grid re-marked
        edits[0] = replace(edits[0], paint=edits[0].paint + paint)
        views.mark_edits(edits[0])  # type: ignore[attr-defined]

    views.paint_tool.painted.connect(commit)  # type: ignore[attr-defined]
    views.paint_tool.mode = "mute"  # type: ignore[attr-defined]
    views.set_grid_mode("similarity")  # type: ignore[attr-defined]
    views.wave.setXRange(0, 20, padding=0)  # type: ignore[attr-defined]
    app.processEvents()  # type: ignore[attr-defined]
    n = grid.n_codebooks  # type: ignore[attr-defined]
    vb = views.grid.getViewBox()  # type: ignore[attr-defined]
    target = views.viewport()  # type: ignore[attr-defined]
    seconds = 1000 / 75  # a diagonal over 4 rows: about 250 frames in each, at 75 Hz
    path = [(1.0 + seconds * i / 199, n - 0.5 - 3.98 * i / 199) for i in range(200)]
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    times: list[float] = []

    def send(kind: QEvent.Type, x: float, y: float, button: Qt.MouseButton, buttons: Qt.MouseButton) -> None:
        at = QPointF(views.mapFromScene(vb.mapViewToScene(QPointF(x, y))))  # type: ignore[attr-defined]
        t = time.perf_counter()
        from PySide6.QtWidgets import QApplication

        QApplication.sendEvent(target, QMouseEvent(kind, at, target.mapToGlobal(at), button, buttons, Qt.KeyboardModifier.NoModifier))
        app.processEvents()  # type: ignore[attr-defined]
        times.append((time.perf_counter() - t) * 1000)

    send(QEvent.Type.MouseButtonPress, *path[0], left, left)
    for x, y in path[1:]:
        time.sleep(0.012)  # pyqtgraph drops moves closer than 10 ms (its mouseRateLimit): a real mouse's pace
        send(QEvent.Type.MouseMove, x, y, none, left)
    move_ms = list(times[1:])
    send(QEvent.Type.MouseButtonRelease, *path[-1], left, none)
    cells = sum(p.last - p.first for p in edits[0].paint)
    print(f"\npaint stroke: {cells:,} cells in {len(edits[0].paint)} runs, {len(move_ms)} mouse moves")
    print("\n| step | median (ms) | longest (ms) |\n|---|---:|---:|")
    print(f"| a mouse move while painting | {np.median(move_ms):.1f} | {max(move_ms):.1f} |")
    print(f"| the release: the stroke becomes an edit, the grid is re-marked | {times[-1]:.1f} | {times[-1]:.1f} |")


if __name__ == "__main__":
    main()
