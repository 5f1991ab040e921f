"""A player for two aligned tracks (A: the original, B: the reconstruction).

The PortAudio callback only copies samples from already-prepared buffers into the device's buffer:
no allocation (preallocated scratch arrays), no locks, no logging, no torch. What it plays is one
immutable :class:`Mix` (both tracks at the stream's rate, and the crossfade from the reconstruction
heard before), swapped in by one assignment from the GUI thread, so the callback never sees a new
track with an old fade. A new reconstruction arrives already prepared (:func:`prepare`, run on the
inference worker at the stream's :attr:`Player.format`) and is crossfaded in at the playhead.

The position has one writer, the callback: :meth:`Player.seek` and :meth:`Player.stop` post a
request that the next callback takes (while no stream runs, the request is the position). When the
buffers run out the callback writes silence. Playing A or B keeps the same position.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from time import perf_counter
from typing import Any, Callable

import numpy as np

from explorer.audio_io.streams import close_stream, open_stream
from explorer.core.audio import resample
from explorer.core.types import FloatArray

log = logging.getLogger(__name__)

MAX_BLOCK = 8192
CROSSFADE_SECONDS = 0.03


def prepare(samples: FloatArray, clip_rate: int, rate: int, channels: int) -> FloatArray:
    """``[channels, n]`` audio at ``clip_rate`` as the callback plays it: frame-major ``[n, channels]``
    float32 at ``rate`` (the stream's), mono repeated or extra channels dropped to ``channels``."""
    x = samples[:channels] if samples.shape[0] >= channels else np.repeat(samples[:1], channels, axis=0)
    if rate != clip_rate:
        x = resample(x, clip_rate, rate)
    return np.ascontiguousarray(x.T, dtype=np.float32)


class Fade:
    """A crossfade from the reconstruction heard before (``old``) over ``length`` frames.

    The GUI thread makes one and never touches it again; only the callback counts down :attr:`left`.
    """

    def __init__(self, old: FloatArray, length: int) -> None:
        self.old, self.length, self.left = old, length, length


@dataclass(frozen=True)
class Mix:
    """What the callback plays: both tracks prepared at the stream's rate, and the fade into ``reconstruction``."""

    original: FloatArray
    reconstruction: FloatArray
    fade: Fade | None = None

    def track(self, source: str) -> FloatArray:
        return self.original if source == "original" else self.reconstruction


@dataclass(frozen=True)
class Raw:
    """The tracks as given, at ``rate``: kept to prepare them again for another device."""

    original: FloatArray
    reconstruction: FloatArray
    rate: int


class Player:
    """Plays ``[channels, n]`` float32 tracks at their own sample rate on one output device."""

    def __init__(self) -> None:
        self.rate = 0
        self.channels = 0
        self._raw: Raw | None = None
        self._mix: Mix | None = None
        self.source = "reconstruction"
        self.volume = 1.0
        self.loop: tuple[int, int] | None = None
        self.span: tuple[int, int] | None = None
        """The selection (frames): a play that starts inside it stops at its end and goes back to its start."""
        self.playing = False
        self.frames_delivered = 0
        self.callbacks = 0
        """How many times the device asked for samples (playing or not): the output is alive while it grows."""
        self.underruns = 0
        self.new_sound_at = 0.0
        """``perf_counter()`` of the first callback that played a new reconstruction (written by the callback):
        the end of an edit's way to the ear, as the benchmarks time it."""
        self._heard_mix: Mix | None = None
        self._position = 0
        """Written by the callback only."""
        self._seek: tuple[int, int] = (0, 0)
        """(serial, frame): the latest seek, written by the GUI thread only."""
        self._served = 0
        """The serial of the last seek the callback took (written by the callback only)."""
        self._stream: Any = None
        self._scratch = np.zeros((MAX_BLOCK, 2), dtype=np.float32)
        self._ramp = np.zeros((MAX_BLOCK, 1), dtype=np.float32)
        self._steps = np.arange(MAX_BLOCK, dtype=np.float32)[:, None]

    # ------------------------------------------------------------ GUI thread
    @property
    def format(self) -> tuple[int, int]:
        """(rate, channels) the tracks must be prepared at."""
        return self.rate, self.channels

    @property
    def mix(self) -> Mix | None:
        return self._mix

    @property
    def clip_rate(self) -> int:
        return self._raw.rate if self._raw is not None else 0

    def load(self, original: FloatArray, rate: int) -> None:
        """Set the original track at ``rate`` (the reconstruction starts as the original)."""
        self.stop()
        if not self.is_open:
            self.rate = rate
            self.channels = min(2, original.shape[0])
        self._raw = Raw(original, original, rate)
        prepared = prepare(original, rate, self.rate, self.channels)
        self._mix = Mix(prepared, prepared)
        self._request_seek(0)

    def set_reconstruction(self, samples: FloatArray, prepared: FloatArray | None = None,
                           made_for: tuple[int, int] | None = None) -> None:
        """Swap in a new reconstruction (``[channels, n]`` at the clip's rate) at the playhead, crossfading
        from the one heard. ``prepared`` is the same audio already made by :func:`prepare` for the
        format ``made_for``; it is used when that is still the stream's format (else it is made here)."""
        if self._raw is None or self._mix is None:
            return
        self._raw = Raw(self._raw.original, samples, self._raw.rate)
        if prepared is None or made_for != self.format:
            prepared = prepare(samples, self._raw.rate, self.rate, self.channels)
        fade = None
        if self.playing and self.source == "reconstruction":
            fade = Fade(self._mix.reconstruction, max(1, int(CROSSFADE_SECONDS * self.rate)))
        self._mix = Mix(self._mix.original, prepared, fade)

    def open(self, device: int | None = None, blocksize: int = 512) -> None:
        """Open a stereo output stream on ``device`` (None: the default) at the device's own rate.

        Tracks are prepared again at that rate. Raises ExplorerError when no stream can be opened.
        """
        self.close()
        position = self.seconds

        def make_callback(rate: int, channels: int) -> Callable[..., None]:
            self.rate, self.channels = rate, channels
            raw = self._raw
            if raw is not None:
                self._mix = Mix(prepare(raw.original, raw.rate, rate, channels),
                                prepare(raw.reconstruction, raw.rate, rate, channels))
            self._request_seek(int(position * rate))
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

    @property
    def has_tracks(self) -> bool:
        return self._mix is not None

    def play(self) -> None:
        self.playing = True

    def pause(self) -> None:
        self.playing = False

    def stop(self) -> None:
        self.playing = False
        self._request_seek(self.loop[0] if self.loop else 0)

    def seek(self, seconds: float) -> None:
        n = len(self._mix.original) if self._mix is not None else 0
        self._request_seek(int(min(max(0.0, seconds * self.rate), max(0, n - 1))))

    def _request_seek(self, frame: int) -> None:
        self._seek = (self._seek[0] + 1, frame)

    @property
    def position(self) -> int:
        """The frame playing next (a seek not yet taken by the callback counts as done)."""
        serial, frame = self._seek
        return frame if serial != self._served else self._position

    @property
    def seconds(self) -> float:
        return self.position / self.rate if self.rate else 0.0

    def set_loop(self, start: float | None, end: float | None = None) -> None:
        """Loop between two times in seconds, or stop looping with ``None``."""
        self.loop = None if start is None or end is None or end <= start else (int(start * self.rate), int(end * self.rate))

    def set_span(self, start: float | None, end: float | None = None) -> None:
        """The selection in seconds (``None``: none): playing inside it stops at its end."""
        self.span = None if start is None or end is None or end <= start else (int(start * self.rate), int(end * self.rate))

    # ------------------------------------------------------------ audio thread
    def _callback(self, outdata: Any, frames: int, time: Any, status: Any) -> None:
        self.callbacks += 1
        if status.output_underflow:
            self.underruns += 1
        serial, frame = self._seek
        pos = frame if serial != self._served else self._position
        self._served = serial
        mix = self._mix
        track = mix.track(self.source) if mix is not None and self.playing else None
        if track is None or frames > MAX_BLOCK:
            outdata.fill(0)
            self._position = pos
            return
        end = len(track)
        span = self.span if self.loop is None else None
        if span is not None and not span[0] <= pos < span[1]:
            span = None  # playing from outside the selection plays on to the clip's end
        if self.loop is not None:
            lo, hi = self.loop
            if pos >= hi or pos < lo:
                pos = lo
            end = min(end, hi)
        elif span is not None:
            end = min(end, span[1])
        n = max(0, min(frames, end - pos))
        if mix is not self._heard_mix and self.source == "reconstruction" and n > 0:
            self._heard_mix = mix
            self.new_sound_at = perf_counter()
        out = outdata[:n]
        np.multiply(track[pos: pos + n], self.volume, out=out)
        fade = mix.fade if mix is not None and self.source == "reconstruction" else None
        if fade is not None and fade.left > 0 and n > 0:
            self._fade_in(fade, out, pos, n)
        outdata[n:].fill(0)
        self.frames_delivered += n
        pos += n
        if self.loop is not None and pos >= end:
            pos = self.loop[0]
        elif span is not None and pos >= end:
            self.playing = False
            pos = span[0]
        elif pos >= len(track):
            self.playing = False
            pos = 0
        self._position = pos

    def _fade_in(self, fade: Fade, out: FloatArray, pos: int, n: int) -> None:
        """Mix the first frames of ``out`` (the new reconstruction) with the old one, on a linear ramp."""
        m = min(n, fade.left, len(fade.old) - pos)
        if m > 0:
            ramp = self._ramp[:m]
            np.add(self._steps[:m], np.float32(fade.length - fade.left), out=ramp)
            np.divide(ramp, np.float32(fade.length), out=ramp)
            scratch = self._scratch[:m, : out.shape[1]]
            np.subtract(1.0, ramp, out=ramp)
            np.multiply(fade.old[pos: pos + m], ramp, out=scratch)
            np.multiply(scratch, self.volume, out=scratch)
            np.subtract(1.0, ramp, out=ramp)
            np.multiply(out[:m], ramp, out=out[:m])
            np.add(out[:m], scratch, out=out[:m])
        fade.left -= n
