"""Quality and token statistics between an input and its reconstruction.

Signal metrics first align the reconstruction to the reference by the lag (within ±50 ms) that
maximises their cross-correlation, since some codecs delay their output; the lag is reported.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Callable

import numpy as np
import torch
import torchaudio

from explorer.core.audio import Clip, mix_channels, resample
from explorer.core.types import FloatArray, IntArray

MAX_LAG_SECONDS = 0.05
MEL_SCALES = ((256, 32), (512, 64), (1024, 80), (2048, 128))
BLOCK_SECONDS = 60.0
"""Long clips are measured in blocks of at least this long: memory stays bounded whatever the length."""
DELAY_EXCERPT_SECONDS = 30.0
"""The delay is estimated on this much audio (the loudest stretch), not on the whole clip."""
STOI_MIN_SECONDS = 0.4
"""pystoi needs 30 frames of 25.6 ms with 50 % overlap at 10 kHz: about 0.4 s."""
STOI_RATE = 10_000
"""STOI works at 10 kHz; we resample there ourselves (any rate, bounded cost) before calling pystoi."""
SILENCE = 1e-5
"""Peak below which a signal is treated as silent (STOI and SI-SDR do not apply to it)."""
SI_SDR_MIN_SAMPLES = 256


class Noted:
    """Metrics that say why: ``notes`` holds (field name, reason) pairs for each metric that is None,
    e.g. ``("stoi", "too short for STOI, needs ≥ 0.4 s")``."""

    notes: tuple[tuple[str, str], ...]

    def reason(self, name: str) -> str | None:
        """Why metric ``name`` is not available (None when it is)."""
        return next((why for field_name, why in self.notes if field_name == name), None)

    def note_lines(self) -> list[str]:
        """One line per metric that does not apply: ``"stoi: n/a (too short for STOI, needs ≥ 0.4 s)"``."""
        return [f"{name}: n/a ({why})" for name, why in self.notes]


@dataclass(frozen=True)
class Quality(Noted):
    """Signal metrics of a reconstruction; a metric that does not apply is None, and ``notes`` says why."""

    si_sdr: float | None
    mel_distance: float | None
    stoi: float | None
    delay_samples: int
    notes: tuple[tuple[str, str], ...] = ()

    def to_dict(self) -> dict[str, float | int | None]:
        """The values (None where a metric does not apply; see :meth:`note_lines` for why)."""
        return {"si_sdr": self.si_sdr, "mel_distance": self.mel_distance, "stoi": self.stoi, "delay_samples": self.delay_samples}


def fmt(value: float | None, spec: str, unit: str = "") -> str:
    """``value`` formatted with ``spec``, or ``n/a`` when it does not apply (never ``nan``)."""
    if value is None or not math.isfinite(value):
        return "n/a"
    text = format(value, spec)
    if float(text) == 0.0:
        text = text.lstrip("-")  # no "-0.00"
    return text + unit


def rounded(value: float | None, digits: int) -> float | None:
    """``round`` that keeps None (and turns a non-finite value into None)."""
    return None if value is None or not math.isfinite(value) else round(value, digits)


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


class _SiSdr:
    """SI-SDR accumulated block by block from sums, so a long clip needs no full-length temporaries."""

    def __init__(self) -> None:
        self.n = 0
        self.sr = self.se = self.srr = self.see = self.sre = 0.0

    def add(self, r: FloatArray, e: FloatArray) -> None:
        r64, e64 = r.astype(np.float64), e.astype(np.float64)
        self.n += len(r64)
        self.sr += float(r64.sum())
        self.se += float(e64.sum())
        self.srr += float(np.dot(r64, r64))
        self.see += float(np.dot(e64, e64))
        self.sre += float(np.dot(r64, e64))

    def value(self) -> float | None:
        if self.n < SI_SDR_MIN_SAMPLES:
            return None
        rr = self.srr - self.sr * self.sr / self.n
        ee = self.see - self.se * self.se / self.n
        re = self.sre - self.sr * self.se / self.n
        if rr <= SILENCE**2 * self.n or ee <= SILENCE**2 * self.n:
            return None  # a silent original or a silent reconstruction: the ratio means nothing
        target = re * re / rr
        noise = max(0.0, ee - target)
        value = float(10 * np.log10((target + 1e-20) / (noise + 1e-20)))
        return value if math.isfinite(value) else None


def si_sdr(reference: FloatArray, estimate: FloatArray) -> float | None:
    """Scale-invariant signal-to-distortion ratio in dB (higher is better); None for a silent reference."""
    acc = _SiSdr()
    acc.add(reference.ravel(), estimate.ravel())
    return acc.value()


@lru_cache(maxsize=16)
def _mel(sample_rate: int, n_fft: int, n_mels: int) -> torchaudio.transforms.MelSpectrogram:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torchaudio notes empty filterbank rows at low rates: expected
        return torchaudio.transforms.MelSpectrogram(
            sample_rate=sample_rate, n_fft=n_fft, hop_length=n_fft // 4, n_mels=n_mels, power=1.0, center=True
        )


MEL_MIN_SAMPLES = max(n for n, _ in MEL_SCALES)


def _mel_sums(reference: FloatArray, estimate: FloatArray, sample_rate: int) -> tuple[list[float], list[int]]:
    """Per mel scale: the summed L1 of log10 magnitudes and the number of values summed."""
    r = torch.from_numpy(np.ascontiguousarray(reference, dtype=np.float32))
    e = torch.from_numpy(np.ascontiguousarray(estimate, dtype=np.float32))
    sums, counts = [], []
    with torch.inference_mode():
        for n_fft, n_mels in MEL_SCALES:
            mel = _mel(sample_rate, n_fft, n_mels)
            a = torch.log10(mel(r).clamp_min(1e-5))
            b = torch.log10(mel(e).clamp_min(1e-5))
            sums.append(float((a - b).abs().sum()))
            counts.append(int(a.numel()))
    return sums, counts


def mel_distance(reference: FloatArray, estimate: FloatArray, sample_rate: int) -> float | None:
    """Multi-scale mel distance: mean L1 of log10 mel magnitudes over four resolutions (lower is better).

    None when the audio is shorter than the largest FFT (:data:`MEL_MIN_SAMPLES`).
    """
    if len(reference) < MEL_MIN_SAMPLES:
        return None
    sums, counts = _mel_sums(reference, estimate, sample_rate)
    return sum(s / c for s, c in zip(sums, counts)) / len(MEL_SCALES)


def stoi(reference: FloatArray, estimate: FloatArray, sample_rate: int) -> float | None:
    """Short-time objective intelligibility (0..1, higher is better), via pystoi.

    None when the audio is too short or too quiet for STOI (pystoi finds fewer than 30 frames with sound).
    """
    from pystoi import stoi as _stoi

    if len(reference) < STOI_MIN_SECONDS * sample_rate or not np.any(np.abs(reference) > SILENCE):
        return None
    if sample_rate != STOI_RATE:  # pystoi's own resample_poly builds a filter as long as the rate ratio's terms
        reference = resample(reference[None], sample_rate, STOI_RATE)[0]
        estimate = resample(estimate[None], sample_rate, STOI_RATE)[0]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = float(_stoi(reference.astype(np.float64), estimate.astype(np.float64), STOI_RATE, extended=False))
    if any("Not enough STFT frames" in str(w.message) for w in caught) or not math.isfinite(value):
        return None
    return value


def cut_blocks(n: int, size: int) -> list[tuple[int, int]]:
    """Cut ``n`` samples into blocks of at least ``size`` (the last one takes the remainder)."""
    count = max(1, n // max(1, size))
    edges = [i * size for i in range(count)] + [n]
    return list(zip(edges[:-1], edges[1:]))


def _loudest_excerpt(x: FloatArray, length: int) -> slice:
    """The ``length``-sample stretch of ``x`` around its loudest second (a cheap, streaming choice)."""
    if len(x) <= length:
        return slice(0, len(x))
    hop = max(1, length // 30)
    energy = [float(np.dot(x[i: i + hop], x[i: i + hop])) for i in range(0, len(x) - hop + 1, hop)]
    centre = int(np.argmax(energy)) * hop + hop // 2
    start = min(max(0, centre - length // 2), len(x) - length)
    return slice(start, start + length)


Mono = Callable[[int, int], FloatArray]
"""Returns the mono samples ``[start, end)`` of a signal, computed on demand."""


def delay_excerpt(reference: Mono, n: int, sample_rate: int) -> slice:
    """The :data:`DELAY_EXCERPT_SECONDS` of the first ``n`` samples that the delay is found on: the
    loudest stretch of a clip up to four blocks long, else its beginning (nothing long is read twice)."""
    if n <= 4 * BLOCK_SECONDS * sample_rate:
        return _loudest_excerpt(reference(0, n), int(DELAY_EXCERPT_SECONDS * sample_rate))
    return slice(0, int(DELAY_EXCERPT_SECONDS * sample_rate))


def streamed_delay(reference: Mono, estimate: Mono, n_ref: int, n_est: int, sample_rate: int) -> int:
    """The delay of ``estimate`` (:func:`estimate_delay`, within :data:`MAX_LAG_SECONDS`) on :func:`delay_excerpt`."""
    excerpt = delay_excerpt(reference, min(n_ref, n_est), sample_rate)
    return estimate_delay(reference(excerpt.start, excerpt.stop), estimate(excerpt.start, excerpt.stop),
                          int(MAX_LAG_SECONDS * sample_rate))


def aligned_span(delay: int, n_ref: int, n_est: int) -> tuple[int, int, int]:
    """Where the aligned signals start (reference, estimate) and their common length, for ``delay``."""
    shift_ref, shift_est = max(0, -delay), max(0, delay)
    return shift_ref, shift_est, max(0, min(n_ref - shift_ref, n_est - shift_est))


def streamed_quality(reference: Mono, estimate: Mono, n_ref: int, n_est: int, sample_rate: int) -> Quality:
    """Metrics of two mono signals read block by block (see :func:`quality`)."""
    delay = streamed_delay(reference, estimate, n_ref, n_est, sample_rate)
    shift_ref, shift_est, length = aligned_span(delay, n_ref, n_est)
    acc = _SiSdr()
    mel_sums, mel_counts = [0.0] * len(MEL_SCALES), [0] * len(MEL_SCALES)
    stoi_sum, stoi_weight = 0.0, 0
    for start, end in cut_blocks(length, int(BLOCK_SECONDS * sample_rate)):
        r = reference(start + shift_ref, end + shift_ref)
        e = estimate(start + shift_est, end + shift_est)
        acc.add(r, e)
        if end - start >= MEL_MIN_SAMPLES:
            sums, counts = _mel_sums(r, e, sample_rate)
            mel_sums = [a + b for a, b in zip(mel_sums, sums)]
            mel_counts = [a + b for a, b in zip(mel_counts, counts)]
        value = stoi(r, e, sample_rate)
        if value is not None:
            stoi_sum += value * (end - start)
            stoi_weight += end - start
    return _quality(acc.value(), mel_sums, mel_counts, stoi_sum, stoi_weight, delay, length, sample_rate)


def _quality(sdr: float | None, mel_sums: list[float], mel_counts: list[int], stoi_sum: float, stoi_weight: int,
             delay: int, length: int, sample_rate: int) -> Quality:
    notes = []
    if sdr is None:
        notes.append(("si_sdr", f"too short for SI-SDR, needs ≥ {SI_SDR_MIN_SAMPLES} samples" if length < SI_SDR_MIN_SAMPLES
                      else "the original or the reconstruction is silent (or overflows), so there is no ratio to take"))
    mel = sum(s / c for s, c in zip(mel_sums, mel_counts)) / len(MEL_SCALES) if all(mel_counts) else None
    if mel is None:
        notes.append(("mel_distance", f"too short for the mel distance, needs ≥ {MEL_MIN_SAMPLES / sample_rate:.2f} s"))
    elif not math.isfinite(mel):
        mel = None
        notes.append(("mel_distance", "the audio's values overflow the spectrogram (samples far beyond full scale)"))
    value = stoi_sum / stoi_weight if stoi_weight else None
    if value is None:
        short = length < STOI_MIN_SECONDS * sample_rate
        notes.append(("stoi", f"too short for STOI, needs ≥ {STOI_MIN_SECONDS} s" if short
                      else "too little sound for STOI: the original is (nearly) silent"))
    elif not math.isfinite(value):
        value = None
        notes.append(("stoi", "the audio's values overflow (samples far beyond full scale)"))
    return Quality(si_sdr=sdr, mel_distance=mel, stoi=value, delay_samples=delay, notes=tuple(notes))


def quality(reference: FloatArray, estimate: FloatArray, sample_rate: int) -> Quality:
    """All signal metrics for ``[channels, n]`` (or 1-D) audio at ``sample_rate``, delay-aligned.

    The delay is estimated on the loudest :data:`DELAY_EXCERPT_SECONDS`; SI-SDR accumulates over
    the whole length; the mel distance and STOI are computed per block of at least
    :data:`BLOCK_SECONDS` (frame-weighted), so memory does not grow with the clip's length.
    """
    ref_m, est_m = _mono(reference), _mono(estimate)
    return streamed_quality(lambda a, b: ref_m[a:b], lambda a, b: est_m[a:b], len(ref_m), len(est_m), sample_rate)


def reconstruction_quality(original: Clip, reconstruction: Clip) -> Quality:
    """:func:`quality` of ``reconstruction`` against ``original`` mixed to its channels, at the input's rate.

    Mono versions are made block by block, never as full-length copies of a long clip.
    """
    return streamed_quality(*mono_readers(original, reconstruction), original.frames, reconstruction.frames, original.sample_rate)


def mono_readers(original: Clip, reconstruction: Clip) -> tuple[Mono, Mono]:
    """Readers of the original (mixed to the reconstruction's channels, then to mono) and of the
    reconstruction in mono, block by block: never full-length copies of a long clip."""
    def ref(a: int, b: int) -> FloatArray:
        return _mono(mix_channels(original.samples[:, a:b], reconstruction.channels))

    def est(a: int, b: int) -> FloatArray:
        return _mono(reconstruction.samples[:, a:b])

    return ref, est


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
