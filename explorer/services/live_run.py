"""One live session: capture → resample → stream-encode/decode → monitor, and record the take.

Call :meth:`LiveRun.poll` repeatedly from one worker thread (the CLI's loop, or the window's live
worker). It never blocks on the audio threads. :meth:`LiveRun.stop` always writes what was captured
(input, reconstruction, tokens) when a folder was given, also when the input device vanished; while
running, :class:`TakeWriter` keeps the take on disk up to the last second, so even a kill loses little.

When compute cannot keep up (DAC on a CPU), audio waits in the capture ring and each poll finds more
of it. Beyond ``max_backlog`` seconds the oldest whole blocks are dropped unprocessed: the take keeps
every captured sample, the reconstruction gets silence there and the tokens ``-1`` (not computed),
the monitor plays on without waiting, and ``stats.skipped_seconds`` says how much was dropped.
"""

from __future__ import annotations

import logging
import statistics
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from explorer.audio_io.capture import Capture
from explorer.audio_io.monitor import Monitor
from explorer.audio_io.streams import same_device
from explorer.audio_io.take import TakeWriter
from explorer.core.audio import StreamResampler
from explorer.core.edits import Edits
from explorer.services.engine import Encoding, Engine
from explorer.core.errors import ExplorerError
from explorer.services.live import LiveCodec, MimiLive, live_codec
from explorer.core.provenance import provenance
from explorer.core.spectrogram import StreamingSpectrogram
from explorer.core.tokens import save_tokens
from explorer.core.types import FloatArray, IntArray

log = logging.getLogger(__name__)

SILENT_DEVICE_SECONDS = 1.5
"""No input for this long while running means the input device has gone."""
MONITOR_MODES = ("reconstruction", "input", "off")
MONITOR_SLACK = 0.04
"""Seconds the monitor may queue beyond one step's audio; more is cut so latency cannot creep up
(an underrun plays silence and would otherwise delay everything after it for good)."""


@dataclass
class LiveStats:
    seconds: float = 0.0
    """Audio processed (at the codec's rate), skipped blocks included."""
    encode: float = 0.0
    decode: float = 0.0
    steps: int = 0
    late_steps: int = 0
    skipped_steps: int = 0
    skipped_seconds: float = 0.0
    monitor_cut: float = 0.0
    """Seconds of monitor audio cut to keep its latency bounded."""
    latencies: deque[float] = field(default_factory=lambda: deque(maxlen=50))
    """Recent input-to-output latencies in seconds, one per step."""

    @property
    def compute(self) -> float:
        return self.encode + self.decode

    @property
    def rtf(self) -> float:
        return self.compute / self.seconds if self.seconds else 0.0

    @property
    def behind(self) -> bool:
        """Compute cannot keep up: blocks are being dropped."""
        return self.skipped_steps > 0


@dataclass
class ViewChunk:
    """New columns for the live views, plain numpy (safe to hand to the GUI thread)."""

    first_frame: int
    codes: list[IntArray]
    """Per codebook, the new frames; ``-1`` where a block was dropped."""
    edits: Edits
    input_db: FloatArray
    output_db: FloatArray


@dataclass
class LiveRun:
    engine: Engine
    record: Path | None = None
    monitor: str = "reconstruction"
    edits: Edits = field(default_factory=Edits)
    input_device: int | None = None
    output_device: int | None = None
    codebooks: int | None = None
    """Codebooks to produce (None: the codec's default)."""
    kbps: int | None = None
    """Opus's bitrate setting (None: its default); token codecs take none."""
    block_seconds: float | None = None
    """Audio per step (None: the codec's default, see :func:`live_codec`)."""
    views: bool = False
    """Also compute :class:`ViewChunk` s for a window (take them with :meth:`take_views`)."""
    max_backlog: float = 0.5

    def __post_init__(self) -> None:
        self.capture = Capture(seconds=30)
        self.out = Monitor()
        self.live: LiveCodec = live_codec(self.engine, self.codebooks, self.edits, self.block_seconds, self.kbps)
        self.stats = LiveStats()
        self.captured_frames = 0
        self.codes: list[list[IntArray]] = []
        self.take: TakeWriter | None = None
        self.device_lost = False
        self.monitor_error = ""
        self.edit_log: list[tuple[int, Edits]] = []
        """(first frame it could apply to, edits) for every change while running."""
        self.first_edits = self.edits
        self._views: list[ViewChunk] = []
        self._spec_in = StreamingSpectrogram()
        self._spec_out = StreamingSpectrogram()
        self._last_input = time.perf_counter()

    def start(self) -> None:
        """Open the devices; raises ExplorerError without an input (a missing output only turns monitoring off)."""
        info = self.engine.info
        self.capture.open(self.input_device)
        self.to_codec = StreamResampler(self.capture.rate, info.sample_rate, 1)
        if self.record is not None:
            self.take = TakeWriter(self.record, self.capture.rate, info.sample_rate, info.channels, self._write_tokens,
                                   self.provenance)
        try:
            self.out.open(self.output_device)
        except ExplorerError as exc:
            log.warning("%s", exc)
            self.monitor_error = str(exc)
            self.monitor = "off"
        out_rate = self.out.rate or info.sample_rate
        self._resamplers = {"reconstruction": StreamResampler(info.sample_rate, out_rate, 1),
                            "input": StreamResampler(self.capture.rate, out_rate, 1)}
        self._last_input = time.perf_counter()

    @property
    def feedback_risk(self) -> bool:
        """Monitoring plays on the device that captures: speakers would feed back into the microphone."""
        return self.monitor != "off" and same_device(self.input_device, self.output_device)

    def set_edits(self, edits: Edits) -> None:
        """Apply ``edits`` from the next block on (any thread: the value is immutable)."""
        if edits != self.edits:
            self.edit_log.append((self.live.frame, edits))
        self.edits = edits
        self.live.edits = edits

    def set_monitor(self, mode: str) -> None:
        if mode not in MONITOR_MODES:
            raise ExplorerError(f"Unknown monitor mode '{mode}': use one of {', '.join(MONITOR_MODES)}.")
        self.monitor = mode if self.out.ring is not None else "off"

    def poll(self) -> bool:
        """Process what arrived; False once the input device has stopped delivering audio."""
        ring = self.capture.ring
        if ring is None:
            return False
        block = ring.take()
        taken = time.perf_counter()
        if block.shape[1] == 0:
            if taken - self._last_input > SILENT_DEVICE_SECONDS:
                self.device_lost = True
                return False
            return True
        self._last_input = taken
        self.captured_frames += block.shape[1]
        if self.monitor == "input":
            self._to_monitor(self._resamplers["input"].push(block[:1]), block.shape[1] / self.capture.rate)
        rate = self.engine.info.sample_rate
        x = self.to_codec.push(block[:1])
        self.stats.seconds += x.shape[1] / rate
        first_frame = self.live.frame
        kept, codes, audio = self._drop_backlog(x)
        steps = self.live.push(kept)
        for s in steps:
            codes.append(s.codes)
            audio.append(s.audio)
            self.stats.steps += 1
            self.stats.encode += s.encode_seconds
            self.stats.decode += s.decode_seconds
            if s.encode_seconds + s.decode_seconds > self.live.block / rate:
                self.stats.late_steps += 1
            ahead = self.out.queued / self.out.rate if self.out.rate else 0.0
            if self.monitor == "reconstruction":
                self._to_monitor(self._resamplers["reconstruction"].push(s.audio[:1]), self.live.block / rate)
            self._note_latency(taken, ahead)
        self.codes += codes
        if self.take is not None:
            self.take.add(block, audio)
        if self.views:
            new = [np.concatenate([c[k] for c in codes]) for k in range(self.live.n)] if codes else []
            out = np.concatenate([a[0] for a in audio]) if audio else np.zeros(0, np.float32)
            self._views.append(ViewChunk(first_frame, new, self.live.edits, self._spec_in.push(x[0]), self._spec_out.push(out)))
        return True

    def _to_monitor(self, audio: FloatArray, step_seconds: float) -> None:
        """Queue ``audio`` (at the device's rate) for the monitor, keeping the queue within bounds."""
        limit = int((step_seconds + MONITOR_SLACK) * self.out.rate)
        excess = self.out.queued + audio.shape[1] - limit
        if excess > 0:
            self.stats.monitor_cut += min(excess, audio.shape[1]) / self.out.rate
            audio = audio[:, excess:]
        self.out.write(audio)

    def _drop_backlog(self, x: FloatArray) -> tuple[FloatArray, list[list[IntArray]], list[FloatArray]]:
        """Drop whole blocks from the front of ``x`` when more than ``max_backlog`` seconds waited.

        Returns the samples still to process, and the dropped span's codes (-1) and audio (silence)."""
        info = self.engine.info
        block = self.live.block
        if x.shape[1] <= max(3 * block, self.max_backlog * info.sample_rate):
            return x, [], []
        drop = (x.shape[1] - block) // block * block
        self.live.skip(drop)
        self.stats.skipped_steps += drop // block
        self.stats.skipped_seconds += drop / info.sample_rate
        frames = drop // self.live.hop
        gap: list[IntArray] = [np.full(frames // info.stride(k), -1, np.int64) for k in range(self.live.n)]
        return x[:, drop:], [gap], [np.zeros((info.channels, drop), np.float32)]

    def _note_latency(self, taken: float, ahead: float) -> None:
        """Input-to-output latency of the step just done: waiting for the block (algorithmic), compute
        since the audio was taken, the monitor audio queued ahead of it, and both devices' own latency."""
        rate = self.engine.info.sample_rate
        self.stats.latencies.append(self.live.latency / rate + (time.perf_counter() - taken) + ahead
                                    + self.capture.latency + self.out.latency)

    def take_views(self) -> list[ViewChunk]:
        out, self._views = self._views, []
        return out

    def stop(self) -> Path | None:
        """Finish the take (if recording), then close the devices. Returns the take's folder."""
        try:
            if self.take is None:
                return None
            self.take.close()
            return self.record if self.captured_frames else None
        finally:
            self.capture.close()
            self.out.close()
            if isinstance(self.live, MimiLive):
                self.live.close()

    def _write_tokens(self, path: Path) -> None:
        """The take's tokens so far, written atomically (the take writer calls this once a second); none
        for a codec without tokens (Opus: its take is the input and the reconstruction)."""
        info = self.engine.info
        if not self.codes or not info.tokens:
            return
        codes = [np.concatenate([c[k] for c in self.codes]) for k in range(len(self.codes[0]))]
        frames = len(codes[0]) * info.stride(0)
        samples = frames * info.hop_length
        enc = Encoding(info, codes, [{"frames": frames}], info.sample_rate, samples, samples, weights=self.engine.weights_id)
        meta = enc.meta(self.edits)
        meta["live_skipped_seconds"] = round(self.stats.skipped_seconds, 3)
        meta["provenance"] = self.provenance()
        save_tokens(path, codes, meta)

    def provenance(self) -> dict[str, Any]:
        """The take's provenance record: every edits value it ran under, in order."""
        return provenance([self.engine.describe()], [self.first_edits] + [edits for _, edits in self.edit_log])

    @property
    def latency_ms(self) -> float:
        """Median measured input-to-output latency in milliseconds (the algorithmic latency before any step)."""
        if self.stats.latencies:
            return 1000 * statistics.median(self.stats.latencies)
        return 1000 * self.live.latency / self.engine.info.sample_rate


FEEDBACK_WARNING = ("Input and output are the same device: monitoring through speakers will feed back into "
                    "the microphone. Use headphones, or set the monitor to off.")


def live_status(run: LiveRun) -> str:
    """One line of measured figures, the same in the window and on the command line."""
    s = run.stats
    seconds = s.seconds or 1.0
    text = (f"{s.seconds:6.1f} s  latency ~{run.latency_ms:.0f} ms  RTF encode {s.encode / seconds:.2f} "
            f"decode {s.decode / seconds:.2f}  late {s.late_steps}/{s.steps}  "
            f"overruns {run.capture.ring.overruns if run.capture.ring else 0}  underruns {run.out.underruns}")
    if s.behind:
        text += (f"  FALLING BEHIND: {run.engine.info.name} is too slow on {run.engine.codec.device}; "
                 f"dropped {s.skipped_seconds:.1f} s ({s.skipped_steps} blocks)")
    return text
