"""Spectrograms for display: float32 dB, time-major, with a floor instead of -inf."""

from __future__ import annotations

import numpy as np
import torch

from explorer.core.types import FloatArray

FLOOR_DB = -100.0


def spectrogram_db(samples: FloatArray, sample_rate: int, n_fft: int = 1024, hop: int | None = None) -> FloatArray:
    """Magnitude spectrogram of the channel mean in dBFS, shaped ``[frames, n_fft // 2 + 1]``.

    Row-major and C-contiguous so an image item can show it without copying; hop defaults to
    a quarter window.
    """
    hop = hop or n_fft // 4
    mono = samples.mean(axis=0) if samples.ndim == 2 else samples
    x = torch.from_numpy(np.ascontiguousarray(mono, dtype=np.float32))
    if len(x) < n_fft:
        x = torch.nn.functional.pad(x, (0, n_fft - len(x)))
    window = torch.hann_window(n_fft)
    with torch.inference_mode():
        # scaled so a full-scale sine reads 0 dB
        spec = torch.stft(x, n_fft, hop, window=window, return_complex=True).abs() * (2.0 / window.sum())
    db = 20 * torch.log10(spec.clamp_min(10 ** (FLOOR_DB / 20)))
    out: FloatArray = np.ascontiguousarray(db.T.numpy(), dtype=np.float32)
    return out


class StreamingSpectrogram:
    """:func:`spectrogram_db` column by column as mono audio arrives (live mode).

    Keeps the last ``n_fft - hop`` samples between calls, so the columns equal those of the whole
    signal's spectrogram (without the centre padding).
    """

    def __init__(self, n_fft: int = 512, hop: int = 256) -> None:
        self.n_fft = n_fft
        self.hop = hop
        self.window = np.hanning(n_fft + 1)[:-1].astype(np.float32)
        self.scale = np.float32(2.0 / self.window.sum())
        self.tail: FloatArray = np.zeros(0, np.float32)

    def push(self, mono: FloatArray) -> FloatArray:
        """New columns ``[frames, n_fft // 2 + 1]`` in dBFS for ``mono`` samples."""
        x = np.concatenate([self.tail, np.asarray(mono, np.float32)])
        count = max(0, (len(x) - self.n_fft) // self.hop + 1)
        self.tail = x[count * self.hop:]
        if count == 0:
            return np.zeros((0, self.n_fft // 2 + 1), np.float32)
        idx = np.arange(self.n_fft)[None, :] + self.hop * np.arange(count)[:, None]
        mag = np.abs(np.fft.rfft(x[idx] * self.window, axis=1)) * self.scale
        out: FloatArray = (20 * np.log10(np.maximum(mag, 10 ** (FLOOR_DB / 20)))).astype(np.float32)
        return out


FREQUENCY_SCALES = ("linear", "log", "mel")
"""How a spectrogram's frequency axis is drawn: evenly in Hz, in octaves (from :data:`LOG_MIN_HZ`), or in mels."""
LOG_MIN_HZ = 30.0
"""The log scale's lowest frequency: below it a log axis spends its height on nothing audible."""
DISPLAY_ROWS = 384
"""Rows of a spectrogram remapped onto the log or mel scale."""


def _warp(f: FloatArray | float, scale: str) -> FloatArray:
    f = np.asarray(f, np.float64)
    if scale == "log":
        out: FloatArray = np.log2(np.maximum(f, LOG_MIN_HZ))
    elif scale == "mel":
        out = 2595.0 * np.log10(1.0 + f / 700.0)
    else:
        out = f
    return out


def _unwarp(v: FloatArray, scale: str) -> FloatArray:
    if scale == "log":
        out: FloatArray = 2.0 ** v
    elif scale == "mel":
        out = 700.0 * (10.0 ** (v / 2595.0) - 1.0)
    else:
        out = v
    return out


def scale_position(freqs: FloatArray | float, scale: str, nyquist: float) -> FloatArray:
    """Where frequencies ``freqs`` (Hz) sit on ``scale``, as a fraction 0..1 of the axis up to ``nyquist``."""
    lo, hi = _warp(LOG_MIN_HZ if scale == "log" else 0.0, scale), _warp(nyquist, scale)
    out: FloatArray = (_warp(freqs, scale) - lo) / (hi - lo)
    return out


def remap(db: FloatArray, nyquist: float, scale: str, rows: int = DISPLAY_ROWS) -> FloatArray:
    """A ``[frames, bins]`` spectrogram (bins evenly from 0 to ``nyquist``) resampled onto ``rows`` rows
    evenly spaced on ``scale`` (linear: unchanged), by linear interpolation between bins."""
    if scale == "linear":
        return db
    bins = db.shape[1]
    lo, hi = _warp(LOG_MIN_HZ if scale == "log" else 0.0, scale), _warp(nyquist, scale)
    at = np.clip(_unwarp(np.linspace(lo, hi, rows), scale) / nyquist * (bins - 1), 0, bins - 1)
    i = np.minimum(at.astype(np.int64), bins - 2)
    w = (at - i).astype(np.float32)
    out: FloatArray = np.ascontiguousarray(db[:, i] * (1 - w) + db[:, i + 1] * w, dtype=np.float32)
    return out


def frequency_ticks(scale: str, nyquist: float) -> list[tuple[float, str]]:
    """Axis ticks for ``scale``: (position as a fraction of the axis, label), at round frequencies."""
    marks = [50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000]
    if scale == "linear":
        step = 1000 if nyquist <= 8000 else 2000 if nyquist <= 12000 else 5000
        marks = list(range(0, int(nyquist) + 1, step))
    shown = [f for f in marks if (LOG_MIN_HZ if scale == "log" else 0) <= f <= nyquist]
    return [(float(scale_position(f, scale, nyquist)), f"{f / 1000:g}k" if f >= 1000 else f"{f}") for f in shown]
