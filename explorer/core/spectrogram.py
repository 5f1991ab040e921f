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
