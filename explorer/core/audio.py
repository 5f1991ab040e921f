"""Audio clips: reading, writing, resampling and channel conversion.

A :class:`Clip` carries its own sample rate; nothing in the project assumes one. Files are read with
soundfile (torchaudio 2.9 no longer reads files); resampling uses torchaudio's band-limited sinc
resampler, run block by block so a long clip never needs more than a few blocks of extra memory.
"""

from __future__ import annotations

import math
import os
from typing import Any, Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import torchaudio.functional as AF

from explorer.core.types import FloatArray
from explorer.core.atomic import atomic_write
from explorer.core.errors import AudioError, CancelledError


@dataclass(frozen=True)
class Clip:
    """Audio as float32 samples shaped ``[channels, frames]`` with its sample rate.

    ``notes`` records what was done to the audio on the way in (resampled, mixed down, repaired),
    so the UI and the CLI can say what was converted.
    """

    samples: FloatArray
    sample_rate: int
    notes: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.samples.ndim != 2:
            raise AudioError(f"Audio must be shaped [channels, frames]; got shape {self.samples.shape}.")
        if self.sample_rate <= 0:
            raise AudioError(f"Sample rate must be positive; got {self.sample_rate}.")

    @property
    def channels(self) -> int:
        return int(self.samples.shape[0])

    @property
    def frames(self) -> int:
        return int(self.samples.shape[1])

    @property
    def duration(self) -> float:
        return self.frames / self.sample_rate


MIN_RATE, MAX_RATE = 1000, 768_000
"""Sample rates outside this range are not audio we can encode: the header is probably damaged."""
MEMORY_BUDGET = 1_200_000_000
"""Bytes of float32 samples one clip may take; longer files are mixed to mono while reading, then refused."""
READ_BLOCK_SECONDS = 30.0


def load_audio(path: str | os.PathLike[str], progress: Callable[[float, str], bool | None] | None = None) -> Clip:
    """Read an audio file (WAV, FLAC, OGG, MP3, ... whatever libsndfile reads) block by block.

    ``progress(fraction, "Reading")`` is called after each 30 s block (a 2-hour file shows progress).
    A file that would take more than :data:`MEMORY_BUDGET` bytes is mixed to mono while it is read
    (noted); beyond that it is refused with a way out.

    Raises
    ------
    AudioError
        With a one-sentence reason when the file is missing, unreadable, not audio, empty, has an
        impossible sample rate, or is too long to hold.
    """
    p = Path(path)
    denied = f"'{p}' cannot be read: permission denied (check the file's and its folders' permissions)."
    try:
        if not p.exists():
            raise AudioError(f"No file at '{p}'.")
        if p.is_dir():
            raise AudioError(f"'{p}' is a folder, not an audio file.")
        if not os.access(p, os.R_OK):
            raise PermissionError(p)
    except PermissionError:
        raise AudioError(denied) from None
    notes: list[str] = []
    try:
        with sf.SoundFile(str(p)) as f:
            rate, channels, frames = int(f.samplerate), int(f.channels), int(f.frames)
            _check_header(p.name, rate, channels, frames)
            mono = frames * channels * 4 > MEMORY_BUDGET and channels > 1
            if frames * (1 if mono else channels) * 4 > MEMORY_BUDGET:
                hours = frames / rate / 3600
                raise AudioError(f"'{p.name}' is {hours:.1f} h at {rate} Hz: more than Codec Explorer holds in memory "
                                 f"({MEMORY_BUDGET // 10**6} MB of samples, about {MEMORY_BUDGET / 4 / rate / 60:.0f} min at this rate). "
                                 f"Cut it first, e.g. sox '{p.name}' part.wav trim 0 30:00")
            if mono:
                notes.append(f"mixed {channels} channels to mono while reading, to fit in memory")
            samples, nonfinite, clipped = _read_blocks(f, frames, rate, mono, progress)
    except PermissionError:
        raise AudioError(denied) from None
    except (sf.LibsndfileError, RuntimeError, ValueError, TypeError, OverflowError, MemoryError, EOFError, OSError) as exc:
        # libsndfile says "does not exist or is not a regular file" for any file it cannot recognise
        reason = "not a format it recognises" if "not a regular file" in str(exc) else str(exc)
        raise AudioError(f"'{p.name}' could not be read as audio ({reason}); it may be corrupt or in an unsupported format.") from exc
    if samples.shape[1] == 0:
        raise AudioError(f"'{p.name}' holds no audio samples.")
    if samples.shape[1] < frames:
        notes.append(f"the file ends early: read {samples.shape[1] / rate:.2f} s of the {frames / rate:.2f} s its header announces")
    if nonfinite:
        notes.append(f"replaced {nonfinite} NaN or infinite samples with silence")
    if clipped > 0.001 * samples.size:
        notes.append(f"{100 * clipped / samples.size:.1f}% of the samples are at full scale: the recording is clipped")
    return Clip(samples, rate, tuple(notes))


def _check_header(name: str, rate: int, channels: int, frames: int) -> None:
    if not MIN_RATE <= rate <= MAX_RATE:
        raise AudioError(f"'{name}' says its sample rate is {rate} Hz; audio needs {MIN_RATE} to {MAX_RATE} Hz, "
                         "so the file is probably damaged.")
    if not 1 <= channels <= 64:
        raise AudioError(f"'{name}' says it has {channels} channels; up to 64 can be read.")
    if frames < 0:
        raise AudioError(f"'{name}' announces a negative length; the file is damaged.")


def _read_blocks(f: Any, frames: int, rate: int, mono: bool,
                 progress: Callable[[float, str], bool | None] | None) -> tuple[FloatArray, int, int]:
    """Read every block into one preallocated ``[channels, frames]`` array (growing only if the header
    undercounts), silencing NaN and infinite samples on the way; returns the samples and how many
    samples were not finite and how many at full scale (counted per block: no full-size temporaries)."""
    nonfinite = clipped = 0
    channels = 1 if mono else int(f.channels)
    out = np.empty((channels, max(frames, 0)), np.float32)
    pos = 0
    block = max(1, int(READ_BLOCK_SECONDS * rate))
    for data in f.blocks(blocksize=block, dtype="float32", always_2d=True):
        chunk = data.mean(axis=1, keepdims=True).T if mono else data.T
        bad = ~np.isfinite(chunk)
        if bad.any():
            nonfinite += int(bad.sum())
            chunk = np.where(bad, np.float32(0.0), chunk)
        clipped += int(np.count_nonzero(np.abs(chunk) >= 0.999))
        n = chunk.shape[1]
        if pos + n > out.shape[1]:
            out = np.concatenate([out[:, :pos], np.empty((channels, pos + n - out.shape[1] + block), np.float32)], axis=1)
        out[:, pos: pos + n] = chunk
        pos += n
        if progress is not None and frames > 0 and progress(min(1.0, pos / frames), "Reading") is False:
            raise CancelledError("Reading was cancelled.")
    result: FloatArray = np.ascontiguousarray(out[:, :pos])
    return result, nonfinite, clipped


def save_audio(path: str | os.PathLike[str], clip: Clip, subtype: str = "FLOAT") -> None:
    """Write ``clip`` atomically: to a temporary file beside ``path``, then renamed over it."""
    p = Path(path)
    if not p.parent.is_dir():
        raise AudioError(f"Cannot write '{p}': folder '{p.parent}' does not exist.")
    try:
        with atomic_write(p) as tmp:
            sf.write(str(tmp), clip.samples.T, clip.sample_rate, subtype=subtype, format=_format_for(p))
    except (sf.LibsndfileError, RuntimeError, ValueError, TypeError, OSError) as exc:
        raise AudioError(f"Could not write '{p}': {exc}") from exc


def _format_for(path: Path) -> str:
    ext = path.suffix.lower().lstrip(".") or "wav"
    return {"wav": "WAV", "flac": "FLAC", "ogg": "OGG"}.get(ext, "WAV")


def resample(samples: FloatArray, rate_in: int, rate_out: int, block_seconds: float = 20.0) -> FloatArray:
    """Band-limited resampling of ``[channels, frames]`` audio, block by block.

    torchaudio's polyphase sinc resampler is shift-invariant by whole periods of the rate ratio
    (``rate_in / gcd`` input samples give ``rate_out / gcd`` output samples), so blocks cut on those
    periods, each with a margin of input on both sides, join into exactly the one-shot result.
    The output has ``ceil(frames * rate_out / rate_in)`` frames, as torchaudio's.
    """
    if rate_in == rate_out:
        return samples
    g = math.gcd(rate_in, rate_out)
    up, down = rate_out // g, rate_in // g
    n = samples.shape[1]
    out_len = math.ceil(n * up / down)
    periods = max(1, int(block_seconds * rate_in) // down)
    block_in = periods * down
    if n <= 2 * block_in:
        x = torch.from_numpy(np.ascontiguousarray(samples))
        one_shot: FloatArray = AF.resample(x, rate_in, rate_out).numpy()
        return one_shot
    margin_periods = math.ceil(256 / down) + 1
    margin = margin_periods * down
    out = np.empty((samples.shape[0], out_len), dtype=np.float32)
    for start in range(0, n, block_in):
        left = max(0, start - margin)
        right = min(n, start + block_in + margin)
        x = torch.from_numpy(np.ascontiguousarray(samples[:, left:right]))
        y = AF.resample(x, rate_in, rate_out).numpy()
        skip = (start - left) // down * up
        count = min(periods * up, out_len - start // down * up)
        out[:, start // down * up: start // down * up + count] = y[:, skip: skip + count]
    return out


class StreamResampler:
    """Resample a stream block by block; the joined output equals :func:`resample` of the whole.

    It holds back the last ``margin`` input periods until more input arrives (that is its latency,
    a few milliseconds) and cuts on whole periods of the rate ratio, as :func:`resample` does.
    """

    def __init__(self, rate_in: int, rate_out: int, channels: int) -> None:
        g = math.gcd(rate_in, rate_out)
        self.up, self.down = rate_out // g, rate_in // g
        self.rate_in, self.rate_out = rate_in, rate_out
        self.margin = (math.ceil(256 / self.down) + 1) * self.down
        self.buffer: FloatArray = np.zeros((channels, self.margin), np.float32)
        """Input not yet consumed; it starts with ``margin`` zeros standing for the time before the stream."""

    def push(self, x: FloatArray) -> FloatArray:
        if self.rate_in == self.rate_out:
            return x
        self.buffer = np.concatenate([self.buffer, x.astype(np.float32)], axis=1)
        ready = (self.buffer.shape[1] - 2 * self.margin) // self.down * self.down
        if ready <= 0:
            return np.zeros((self.buffer.shape[0], 0), np.float32)
        chunk = torch.from_numpy(np.ascontiguousarray(self.buffer[:, : ready + 2 * self.margin]))
        y = AF.resample(chunk, self.rate_in, self.rate_out).numpy()
        skip = self.margin // self.down * self.up
        out: FloatArray = y[:, skip: skip + ready // self.down * self.up]
        self.buffer = self.buffer[:, ready:]
        return out


def convert(clip: Clip, sample_rate: int, channels: int) -> Clip:
    """Return ``clip`` at ``sample_rate`` with ``channels`` channels, noting what changed.

    Mono codecs get the mean of all channels; stereo codecs get a mono clip on both sides, or the
    first two channels of a clip with more.
    """
    x = _mix(clip.samples, channels)
    if clip.sample_rate != sample_rate:
        x = resample(x, clip.sample_rate, sample_rate)
    return Clip(np.ascontiguousarray(x, dtype=np.float32), sample_rate, conversion_notes(clip, sample_rate, channels))


def _mix(x: FloatArray, channels: int) -> FloatArray:
    if x.shape[0] == channels:
        return x
    if channels == 1:
        mixed: FloatArray = x.mean(axis=0, keepdims=True)
        return mixed
    return np.repeat(x, channels, axis=0) if x.shape[0] == 1 else x[:channels]


def conversion_notes(clip: Clip, sample_rate: int, channels: int) -> tuple[str, ...]:
    """What :func:`convert` changes, in words, after the clip's own notes."""
    notes = list(clip.notes)
    if clip.channels != channels:
        if channels == 1:
            notes.append(f"mixed {clip.channels} channels down to mono")
        elif clip.channels == 1:
            notes.append(f"copied mono to {channels} channels")
        else:
            notes.append(f"kept the first {channels} of {clip.channels} channels")
    if clip.sample_rate != sample_rate:
        notes.append(f"resampled {clip.sample_rate} Hz to {sample_rate} Hz")
    return tuple(notes)


class ConvertedStream:
    """:func:`convert` of a clip, produced block by block as an encoder walks it in order.

    ``window(start, end)`` returns codec-rate samples (zero-padded past the end) equal to slicing
    the whole converted clip, while holding only what later windows still need: a 2-hour clip is
    never resampled into a second full-length copy. Windows must not start before earlier ones.
    """

    BLOCK_SECONDS = 10.0

    def __init__(self, clip: Clip, sample_rate: int, channels: int) -> None:
        self.clip, self.channels, self.sample_rate = clip, channels, sample_rate
        same = clip.sample_rate == sample_rate
        self.frames = clip.frames if same else math.ceil(clip.frames * sample_rate / clip.sample_rate)
        self.notes = conversion_notes(clip, sample_rate, channels)
        self._resampler = None if same else StreamResampler(clip.sample_rate, sample_rate, channels)
        self._read = 0
        self._buf: FloatArray = np.zeros((channels, 0), np.float32)
        self._start = 0

    def window(self, start: int, end: int) -> FloatArray:
        if start < self._start:
            raise ValueError("windows must not start before an earlier window's start")
        while self._start + self._buf.shape[1] < min(end, self.frames):
            self._produce()
        self._buf = self._buf[:, start - self._start:]
        self._start = start
        return np.ascontiguousarray(fit_length(self._buf[:, : end - start], end - start))

    def _produce(self) -> None:
        rate_in = self.clip.sample_rate
        x = _mix(self.clip.samples[:, self._read: self._read + int(self.BLOCK_SECONDS * rate_in)], self.channels)
        self._read += x.shape[1]
        y = x if self._resampler is None else self._resampler.push(x)
        if self._resampler is not None and self._read >= self.clip.frames:
            # the end: zeros stand for the time after the clip, as in the one-shot resampler
            tail = self._resampler.push(np.zeros((self.channels, 2 * self._resampler.margin + self._resampler.down), np.float32))
            y = np.concatenate([y, tail], axis=1)
        self._buf = np.concatenate([self._buf, y.astype(np.float32)], axis=1)[:, : self.frames - self._start]


def fit_length(samples: FloatArray, frames: int) -> FloatArray:
    """Trim or zero-pad ``[channels, n]`` samples to exactly ``frames`` frames."""
    n = samples.shape[1]
    if n >= frames:
        return samples[:, :frames]
    return np.pad(samples, ((0, 0), (0, frames - n)))
