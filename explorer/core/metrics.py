"""Quality and token statistics between an input and its reconstruction.

Signal metrics first align the reconstruction to the reference by the lag (within ±50 ms) that
maximises their cross-correlation, since some codecs delay their output; the lag is reported.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np

from explorer.core.audio import Clip, convert
from explorer.core.types import FloatArray, IntArray
import torch
import torchaudio

MAX_LAG_SECONDS = 0.05
MEL_SCALES = ((256, 32), (512, 64), (1024, 80), (2048, 128))


@dataclass(frozen=True)
class Quality:
    si_sdr: float
    mel_distance: float
    stoi: float
    delay_samples: int

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def _mono(x: FloatArray) -> FloatArray:
    return x.mean(axis=0) if x.ndim == 2 else x


def estimate_delay(reference: FloatArray, estimate: FloatArray, max_lag: int) -> int:
    """The lag d (|d| <= max_lag) such that ``estimate[t + d]`` best matches ``reference[t]``."""
    n = min(len(reference), len(estimate))
    if n == 0 or max_lag == 0:
        return 0
    size = 1 << math.ceil(math.log2(2 * n))
    spec = np.fft.rfft(estimate[:n], size) * np.conj(np.fft.rfft(reference[:n], size))
    corr = np.fft.irfft(spec, size)
    lags = np.concatenate([np.arange(0, max_lag + 1), np.arange(-max_lag, 0)])
    values = np.concatenate([corr[: max_lag + 1], corr[size - max_lag:]])
    if not np.any(values):
        return 0
    return int(lags[int(np.argmax(values))])


def align(reference: FloatArray, estimate: FloatArray, delay: int) -> tuple[FloatArray, FloatArray]:
    """Shift ``estimate`` back by ``delay`` samples and cut both to their common length (last axis)."""
    if delay > 0:
        estimate = estimate[..., delay:]
    elif delay < 0:
        reference = reference[..., -delay:]
    n = min(reference.shape[-1], estimate.shape[-1])
    return reference[..., :n], estimate[..., :n]


def si_sdr(reference: FloatArray, estimate: FloatArray) -> float:
    """Scale-invariant signal-to-distortion ratio in dB (higher is better)."""
    r = reference.astype(np.float64).ravel()
    e = estimate.astype(np.float64).ravel()
    r = r - r.mean()
    e = e - e.mean()
    energy = float(np.dot(r, r))
    if energy == 0.0:
        return float("nan")
    target = np.dot(e, r) / energy * r
    noise = e - target
    return float(10 * np.log10((np.dot(target, target) + 1e-20) / (np.dot(noise, noise) + 1e-20)))


@lru_cache(maxsize=16)
def _mel(sample_rate: int, n_fft: int, n_mels: int) -> torchaudio.transforms.MelSpectrogram:
    return torchaudio.transforms.MelSpectrogram(
        sample_rate=sample_rate, n_fft=n_fft, hop_length=n_fft // 4, n_mels=n_mels, power=1.0, center=True
    )


def mel_distance(reference: FloatArray, estimate: FloatArray, sample_rate: int) -> float:
    """Multi-scale mel distance: mean L1 of log10 mel magnitudes over four resolutions (lower is better)."""
    r = torch.from_numpy(np.ascontiguousarray(reference, dtype=np.float32))
    e = torch.from_numpy(np.ascontiguousarray(estimate, dtype=np.float32))
    total = 0.0
    with torch.inference_mode():
        for n_fft, n_mels in MEL_SCALES:
            mel = _mel(sample_rate, n_fft, n_mels)
            a = torch.log10(mel(r).clamp_min(1e-5))
            b = torch.log10(mel(e).clamp_min(1e-5))
            total += float((a - b).abs().mean())
    return total / len(MEL_SCALES)


def stoi(reference: FloatArray, estimate: FloatArray, sample_rate: int) -> float:
    """Short-time objective intelligibility (0..1, higher is better), via pystoi."""
    from pystoi import stoi as _stoi

    if len(reference) < sample_rate // 4:
        return float("nan")
    return float(_stoi(reference.astype(np.float64), estimate.astype(np.float64), sample_rate, extended=False))


def quality(reference: FloatArray, estimate: FloatArray, sample_rate: int) -> Quality:
    """All signal metrics for ``[channels, n]`` (or 1-D) audio at ``sample_rate``, delay-aligned."""
    ref_m, est_m = _mono(reference), _mono(estimate)
    delay = estimate_delay(ref_m, est_m, int(MAX_LAG_SECONDS * sample_rate))
    ref_a, est_a = align(ref_m, est_m, delay)
    return Quality(
        si_sdr=si_sdr(ref_a, est_a),
        mel_distance=mel_distance(ref_a, est_a, sample_rate),
        stoi=stoi(ref_a, est_a, sample_rate),
        delay_samples=delay,
    )


def reconstruction_quality(original: Clip, reconstruction: Clip) -> Quality:
    """:func:`quality` of ``reconstruction`` against ``original`` mixed to its channels, at the input's rate."""
    reference = convert(original, original.sample_rate, reconstruction.channels)
    return quality(reference.samples, reconstruction.samples, original.sample_rate)


@dataclass(frozen=True)
class CodebookStats:
    entropy_bits: float
    utilization: float
    bitrate: float

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def codebook_stats(codes: list[IntArray], codebook_size: int, duration: float) -> list[CodebookStats]:
    """Per codebook: token entropy in bits, the share of its codes used, and its bits per second."""
    out = []
    bits = math.log2(codebook_size)
    for row in codes:
        counts = np.bincount(row, minlength=codebook_size)
        p = counts[counts > 0] / max(1, len(row))
        entropy = float(-(p * np.log2(p)).sum()) if len(row) else 0.0
        out.append(CodebookStats(entropy, float((counts > 0).sum() / codebook_size), len(row) * bits / duration))
    return out
