"""One live session: capture → resample → stream-encode/decode → monitor, and record the take.

Call :meth:`LiveRun.poll` repeatedly from one worker thread (the CLI's loop; later the window's
worker). It never blocks on the audio threads. :meth:`LiveRun.stop` always writes what was captured
(input, reconstruction, tokens) when a folder was given, also when the input device vanished.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from explorer.audio_io.capture import Capture
from explorer.audio_io.monitor import Monitor
from explorer.core.audio import Clip, StreamResampler, save_audio
from explorer.core.edits import Edits
from explorer.core.engine import Encoding, Engine
from explorer.core.errors import ExplorerError
from explorer.core.live import LiveCodec, MimiLive, live_codec
from explorer.core.tokens import save_tokens
from explorer.core.types import FloatArray, IntArray

log = logging.getLogger(__name__)

SILENT_DEVICE_SECONDS = 1.5
"""No input for this long while running means the input device has gone."""


@dataclass
class LiveStats:
    seconds: float = 0.0
    compute: float = 0.0
    steps: int = 0
    late_steps: int = 0

    @property
    def rtf(self) -> float:
        return self.compute / self.seconds if self.seconds else 0.0


@dataclass
class LiveRun:
    engine: Engine
    record: Path | None = None
    monitor: str = "reconstruction"
    edits: Edits = field(default_factory=Edits)
    input_device: int | None = None
    output_device: int | None = None

    def __post_init__(self) -> None:
        self.capture = Capture(seconds=30)
        self.out = Monitor()
        self.live: LiveCodec = live_codec(self.engine, edits=self.edits)
        self.stats = LiveStats()
        self.inputs: list[FloatArray] = []
        self.outputs: list[FloatArray] = []
        self.codes: list[list[IntArray]] = []
        self.device_lost = False
        self._last_input = time.perf_counter()

    def start(self) -> None:
        info = self.engine.info
        self.capture.open(self.input_device)
        self.to_codec = StreamResampler(self.capture.rate, info.sample_rate, 1)
        if self.monitor != "off":
            try:
                self.out.open(self.output_device)
            except ExplorerError as exc:
                log.warning("%s", exc)
                self.monitor = "off"
        rate_in = info.sample_rate if self.monitor == "reconstruction" else self.capture.rate
        self.to_output = StreamResampler(rate_in, self.out.rate or rate_in, 1)
        self._last_input = time.perf_counter()

    def set_edits(self, edits: Edits) -> None:
        self.edits = edits
        self.live.edits = edits

    def poll(self) -> bool:
        """Process what arrived; False once the input device has stopped delivering audio."""
        ring = self.capture.ring
        if ring is None:
            return False
        block = ring.take()
        now = time.perf_counter()
        if block.shape[1] == 0:
            if now - self._last_input > SILENT_DEVICE_SECONDS:
                self.device_lost = True
                return False
            return True
        self._last_input = now
        self.inputs.append(block)
        x = self.to_codec.push(block[:1])
        t = time.perf_counter()
        steps = self.live.push(x)
        spent = time.perf_counter() - t
        rate = self.engine.info.sample_rate
        for s in steps:
            self.codes.append(s.codes)
            self.outputs.append(s.audio)
            self.stats.steps += 1
            if spent / len(steps) > self.live.block / rate:
                self.stats.late_steps += 1
            if self.monitor == "reconstruction":
                self.out.write(self.to_output.push(s.audio[:1]))
        if self.monitor == "input":
            self.out.write(self.to_output.push(block[:1]))
        self.stats.seconds += x.shape[1] / rate
        self.stats.compute += spent
        return True

    def stop(self) -> Path | None:
        """Write the take (if recording), then close the devices. Returns the folder written."""
        try:
            return self._save()
        finally:
            self.capture.close()
            self.out.close()
            if isinstance(self.live, MimiLive):
                self.live.close()

    def _save(self) -> Path | None:
        if self.record is None or not self.inputs:
            return None
        info = self.engine.info
        self.record.mkdir(parents=True, exist_ok=True)
        captured = np.concatenate(self.inputs, axis=1)
        save_audio(self.record / "input.wav", Clip(captured, self.capture.rate))
        if self.outputs:
            recon = np.concatenate(self.outputs, axis=1)
            save_audio(self.record / "reconstruction.wav", Clip(recon, info.sample_rate))
            codes = [np.concatenate([c[k] for c in self.codes]) for k in range(len(self.codes[0]))]
            frames = len(codes[0]) * info.stride(0)
            samples = frames * info.hop_length
            enc = Encoding(info, codes, [{"frames": frames}], info.sample_rate, samples, samples)
            save_tokens(self.record / "tokens.npz", codes, enc.meta(self.edits))
        return self.record

    @property
    def latency_ms(self) -> float:
        """Algorithmic latency plus the average compute time of a step, in milliseconds."""
        rate = self.engine.info.sample_rate
        per_step = self.stats.compute / self.stats.steps if self.stats.steps else 0.0
        return 1000 * (self.live.latency / rate + per_step)
