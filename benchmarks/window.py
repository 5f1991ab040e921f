"""The window's responsiveness: first paint, the 10-minute token grid, edit-to-sound, GUI stalls.

    .venv/bin/python benchmarks/window.py [--codecs rvq-lab,encodec-24khz,mimi]

Runs offscreen (or on $DISPLAY). Plays through the default output device when there is one (the
JACK dummy driver here). Codecs without pretrained weights get random weights of the real
architecture in a temporary cache, as in benchmarks/engine.py.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

from bench_home import isolated_env

T_START = time.perf_counter()
ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--codecs", default=None, help="comma-separated registry names (default: every one)")
    args = ap.parse_args()
    os.environ.update(isolated_env())
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen" if not os.environ.get("DISPLAY") else "xcb")
    sys.path.insert(0, str(ROOT / "tests"))
    import numpy as np
    from PySide6.QtCore import QElapsedTimer, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    import random_weights
    from explorer.core.audio import Clip, load_audio, save_audio
    from explorer.core.edits import Edits
    from explorer.ui.grid_data import GridData
    from explorer.services.session import open_engine
    from explorer.ui.window import MainWindow

    from explorer.codecs.registry import CODEC_NAMES

    codecs = args.codecs.split(",") if args.codecs else list(CODEC_NAMES)
    t_imported = time.perf_counter()
    app = QApplication.instance() or QApplication([])
    settings = QSettings(str(Path(os.environ["HOME"]) / "bench.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings)
    painted: list[float] = []
    window.show()
    while not painted:
        app.processEvents()
        if window.views.viewport().isVisible():
            window.views.viewport().repaint()
            painted.append(time.perf_counter())
    print(f"start to first paint: {painted[0] - T_START:.2f} s (imports {t_imported - T_START:.2f} s, window {painted[0] - t_imported:.2f} s)")

    def wait(predicate, timeout=300.0):  # type: ignore[no-untyped-def]
        t = time.perf_counter()
        while not predicate():
            app.processEvents()
            time.sleep(0.002)
            if time.perf_counter() - t > timeout:
                raise TimeoutError

    # ---- the 10-minute grid
    speech = load_audio(ROOT / "resources" / "clips" / "speech_en.wav")
    reps = int(np.ceil(600 / speech.duration))
    long_clip = Clip(np.tile(speech.samples, reps)[:, : 600 * speech.sample_rate], speech.sample_rate)
    engine = open_engine(window.codec_bar.choice())
    enc = engine.encode(long_clip)
    grid = GridData.of(enc, [])
    t = time.perf_counter()
    window.views.show_grid(grid, Edits())
    window.views.wave.setXRange(0, 600, padding=0)
    window.views.viewport().repaint()
    print(f"10-minute grid ({grid.n_codebooks} x {len(grid.codes[0])} cells): first render {1000 * (time.perf_counter() - t):.0f} ms")
    for label, span in (("zoomed to 20 s", 20.0), ("whole 10 minutes", 600.0)):
        frames = []
        for i in range(40):
            start = (i * 13.7) % (600 - span) if span < 600 else 0.0
            t = time.perf_counter()
            window.views.wave.setXRange(start, start + span, padding=0)
            window.views.viewport().repaint()
            frames.append(time.perf_counter() - t)
        print(f"  pan frame time, {label}: median {1000 * statistics.median(frames):.1f} ms, "
              f"p95 {1000 * sorted(frames)[int(0.95 * len(frames))]:.1f} ms")

    # ---- edit to sound, and the GUI thread's longest stall during a decode
    ten = Clip(np.tile(speech.samples, 2)[:, : 10 * speech.sample_rate], speech.sample_rate)
    path = Path(os.environ["HOME"]) / "ten.wav"
    save_audio(path, ten)
    heard_by = "the first output callback that plays it" if window.player.is_open else "the GUI (no output device)"
    print(f"\nmute click to new sound: to {heard_by}")
    print("\n| codec | mute click to new sound (ms) | full decode (s) | longest GUI stall during decode (ms) |")
    print("|---|---:|---:|---:|")
    for name in codecs:
        if name != "rvq-lab":
            random_weights.ensure(name)
        window.codec_bar.select(name)
        done = {"n": 0}
        window.reconstruction_ready.connect(lambda: done.__setitem__("n", done["n"] + 1))
        if window.transport.original is None:
            window.open_file(path)
        else:
            window._encode()
        wait(lambda: done["n"] >= 1 and window.grid is not None and window.grid.info.name == name)
        if not window.grid.info.tokens:
            print(f"| {name} | n/a (no codebooks to mute) | {window.decoded.seconds:.2f} | n/a |")
            window.reconstruction_ready.disconnect()
            continue
        if window.player.is_open:
            window.player.seek(3.0)  # the playhead inside the clip, as while listening
            window.player.play()
            wait(lambda: window.player.seconds > 3.05)
        stall = {"max": 0.0}
        clock = QElapsedTimer()
        clock.start()

        def tick() -> None:
            stall["max"] = max(stall["max"], clock.restart())

        ticker = QTimer(interval=5, timeout=tick)
        ticker.start()
        clock.restart()
        before = done["n"]
        window.edit_to_sound_ms = None
        heard: list[float] = []
        clicked = time.perf_counter()

        def first_heard() -> bool:
            if not heard and window.player.new_sound_at > clicked:
                heard.append(window.player.new_sound_at)
            return done["n"] > before and (bool(heard) or not window.player.is_open)

        window.panel.toggle(1, "mute")
        wait(first_heard)
        ticker.stop()
        to_sound = 1000 * (heard[0] - clicked) if heard else window.edit_to_sound_ms
        full = window.decoded.seconds
        window.player.pause()
        window.model.set_edits(window.model.cleared())
        wait(lambda: done["n"] > before + 1)
        window.reconstruction_ready.disconnect()
        print(f"| {name} | {'n/a' if to_sound is None else f'{to_sound:.0f}'} | {full:.2f} | {max(0.0, stall['max'] - 5):.0f} |")
    window.close()
    sys.stdout.flush()
    os._exit(0)  # skip interpreter teardown: PySide objects destroyed in arbitrary order can crash it


if __name__ == "__main__":
    main()
