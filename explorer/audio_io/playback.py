"""A player for two aligned tracks (A: the original, B: the reconstruction).

The PortAudio callback only copies samples from already-decoded buffers into the device's buffer:
no allocation (preallocated scratch arrays), no locks, no logging, no torch. Everything it reads is
swapped in by whole-object assignment from the GUI thread, which is atomic under the GIL. A new
reconstruction is swapped in at the playhead with a short linear crossfade; when the buffers run
out the callback writes silence. Playing A or B keeps the same position.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

import numpy as np

from explorer.audio_io.streams import close_stream, open_stream
from explorer.core.audio import resample
from explorer.core.types import FloatArray

log = logging.getLogger(__name__)

MAX_BLOCK = 8192


class Player:
    """Plays ``[channels, n]`` float32 tracks at their own sample rate on one output device."""

    def __init__(self) -> None:
        self.rate = 0
        self.clip_rate = 0
        self._raw: dict[str, FloatArray] = {}
        self.channels = 0
        self.tracks: dict[str, FloatArray] = {}
        self.source = "reconstruction"
        self.position = 0
        self.volume = 1.0
        self.loop: tuple[int, int] | None = None
        self.playing = False
        self.frames_delivered = 0
        self.underruns = 0
        self._fade_from: FloatArray | None = None
        self._fade_left = 0
        self._fade_len = 1
        self._stream: Any = None
        self._scratch = np.zeros((MAX_BLOCK, 2), dtype=np.float32)
        self._ramp = np.zeros((MAX_BLOCK, 1), dtype=np.float32)
        self._steps = np.arange(MAX_BLOCK, dtype=np.float32)[:, None]

    # ------------------------------------------------------------ GUI thread
    def load(self, original: FloatArray, rate: int) -> None:
        """Set the original track at ``rate`` (the reconstruction starts as a copy of it)."""
        self.stop()
        self.clip_rate = rate
        if not self.is_open:
            self.rate = rate
            self.channels = min(2, original.shape[0])
        self._raw = {"original": original, "reconstruction": original}
        self.tracks = {name: self._prepare(x) for name, x in self._raw.items()}
        self.position = 0

    def _prepare(self, samples: FloatArray) -> FloatArray:
        """Frame-major ``[n, channels]`` copy at the stream's rate for the callback."""
        x = samples[: self.channels] if samples.shape[0] >= self.channels else np.repeat(samples, self.channels, axis=0)
        if self.rate != self.clip_rate:
            x = resample(x, self.clip_rate, self.rate)
        return np.ascontiguousarray(x.T, dtype=np.float32)

    def set_reconstruction(self, samples: FloatArray, crossfade: float = 0.03) -> None:
        """Swap in a new reconstruction at the playhead, crossfading from the old one."""
        self._raw = {**self._raw, "reconstruction": samples}
        new = self._prepare(samples)
        if self.playing and self.source == "reconstruction":
            self._fade_len = max(1, int(crossfade * self.rate))
            self._fade_from = self.tracks.get("reconstruction")
            self._fade_left = self._fade_len
        self.tracks = {**self.tracks, "reconstruction": new}

    def splice_reconstruction(self, start: int, samples: FloatArray, crossfade: float = 0.03) -> None:
        """Replace the reconstruction from clip sample ``start`` on (decode-from-playhead-first)."""
        merged = self._raw["reconstruction"].copy()
        end = min(merged.shape[1], start + samples.shape[1])
        merged[:, start:end] = samples[: merged.shape[0], : end - start]
        self.set_reconstruction(merged, crossfade)

    def open(self, device: int | None = None, blocksize: int = 512) -> None:
        """Open a stereo output stream on ``device`` (None: the default) at the device's own rate.

        Tracks are resampled to that rate. Raises ExplorerError when no stream can be opened.
        """
        self.close()
        position = self.seconds

        def make_callback(rate: int, channels: int) -> Callable[..., None]:
            self.rate, self.channels = rate, channels
            if self._raw:
                self.tracks = {name: self._prepare(x) for name, x in self._raw.items()}
            self.position = int(position * rate)
            return self._callback

        self._stream, _, _ = open_stream("output", device, 2, blocksize, make_callback,
                                         "Audio output could not be opened ({}); playback is off, everything else works.")

    def close(self) -> None:
        self.playing = False
        if self._stream is not None:
            close_stream(self._stream, "output")
            self._stream = None

    @property
    def is_open(self) -> bool:
        return self._stream is not None

    def play(self) -> None:
        self.playing = True

    def pause(self) -> None:
        self.playing = False

    def stop(self) -> None:
        self.playing = False
        self.position = self.loop[0] if self.loop else 0

    def seek(self, seconds: float) -> None:
        n = len(self.tracks.get("original", ()))
        self.position = int(min(max(0.0, seconds * self.rate), max(0, n - 1)))

    @property
    def seconds(self) -> float:
        return self.position / self.rate if self.rate else 0.0

    def set_loop(self, start: float | None, end: float | None = None) -> None:
        """Loop between two times in seconds, or stop looping with ``None``."""
        self.loop = None if start is None or end is None or end <= start else (int(start * self.rate), int(end * self.rate))

    # ------------------------------------------------------------ audio thread
    def _callback(self, outdata: Any, frames: int, time: Any, status: Any) -> None:
        if status.output_underflow:
            self.underruns += 1
        track = self.tracks.get(self.source) if self.playing else None
        if track is None or frames > MAX_BLOCK:
            outdata.fill(0)
            return
        pos = self.position
        end = len(track)
        if self.loop is not None:
            lo, hi = self.loop
            if pos >= hi or pos < lo:
                pos = lo
            end = min(end, hi)
        n = max(0, min(frames, end - pos))
        out = outdata[:n]
        np.multiply(track[pos: pos + n], self.volume, out=out)
        old = self._fade_from
        if old is not None and self._fade_left > 0 and n > 0:
            m = min(n, self._fade_left, len(old) - pos)
            if m > 0:
                ramp = self._ramp[:m]
                done = self._fade_len - self._fade_left
                np.add(self._steps[:m], np.float32(done), out=ramp)
                np.divide(ramp, np.float32(self._fade_len), out=ramp)
                scratch = self._scratch[:m, : self.channels]
                np.subtract(1.0, ramp, out=ramp)
                np.multiply(old[pos: pos + m], ramp, out=scratch)
                np.multiply(scratch, self.volume, out=scratch)
                np.subtract(1.0, ramp, out=ramp)
                np.multiply(out[:m], ramp, out=out[:m])
                np.add(out[:m], scratch, out=out[:m])
            self._fade_left -= m
            if self._fade_left <= 0:
                self._fade_from = None
        outdata[n:].fill(0)
        self.frames_delivered += n
        pos += n
        if self.loop is not None and pos >= end:
            pos = self.loop[0]
        elif pos >= len(track):
            self.playing = False
            pos = 0
        self.position = pos
