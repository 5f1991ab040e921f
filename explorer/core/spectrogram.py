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
