"""PESQ and ViSQOL (explorer.core.perceptual.slow_quality): time per clip, and how long each holds the GIL.

rvq-lab (built in, no download) reconstructs the bundled speech and music, repeated to 10 s and 60 s.
Each metric is timed on its own after one warm-up call (the first call in a process also imports
numba and loads its cached kernels: about 2 s more). A thread that wakes every 5 ms records the
longest gap in its wake-ups: how long the GUI thread would stall while the metric runs beside it.

    PYTHONPATH=. .venv/bin/python benchmarks/slow_metrics.py
"""

from __future__ import annotations

import threading
import time

import numpy as np

from explorer.codecs.registry import load_codec
from explorer.core.audio import Clip, load_audio
from explorer.core.perceptual import SLOW_METRICS, slow_quality
from explorer.core.resources import resource
from explorer.services.engine import Engine


class Ticker:
    """A thread that wakes every 5 ms; :meth:`worst` is its longest gap since :meth:`reset`."""

    def __init__(self) -> None:
        self.gap, self.last, self.running = 0.0, time.perf_counter(), True
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while self.running:
            time.sleep(0.005)
            now = time.perf_counter()
            self.gap, self.last = max(self.gap, now - self.last), now

    def reset(self) -> None:
        self.gap, self.last = 0.0, time.perf_counter()

    def worst(self) -> float:
        return self.gap


def repeated(name: str, seconds: float) -> Clip:
    clip = load_audio(resource("clips", name))
    n = int(seconds * clip.sample_rate)
    return Clip(np.tile(clip.samples, (1, n // clip.frames + 1))[:, :n], clip.sample_rate)


def main() -> None:
    import torch

    engine = Engine(load_codec("rvq-lab", torch.device("cpu")))
    ticker = Ticker()
    print(f"{'clip':<22} {'metric':<8} {'value':>6} {'seconds':>8} {'GIL held (s)':>12}")
    for name, seconds in (("speech_en.wav", 10.0), ("music_pluck.wav", 10.0), ("speech_en.wav", 60.0)):
        clip = repeated(name, seconds)
        out = engine.decode(engine.encode(clip))
        slow_quality(clip, out)  # warm-up: imports, numba's cached kernels
        for metric in SLOW_METRICS:
            ticker.reset()
            t = time.perf_counter()
            q = slow_quality(clip, out, metrics=(metric,))
            took, held = time.perf_counter() - t, ticker.worst()
            value = getattr(q, metric)
            print(f"{name + f' {seconds:g} s':<22} {metric:<8} {'n/a' if value is None else f'{value:.2f}':>6} "
                  f"{took:>8.2f} {held:>12.2f}", flush=True)
        ticker.reset()
        q = slow_quality(clip, out)
        print(f"{name + f' {seconds:g} s':<22} {'all':<8} {'':>6} {q.seconds:>8.2f} {ticker.worst():>12.2f}", flush=True)
    ticker.running = False


if __name__ == "__main__":
    main()
