"""PESQ and ViSQOL: what listeners would rate a reconstruction, predicted; seconds per clip, not milliseconds.

Both give a mean opinion score (MOS-LQO, 1 = bad … 5 = excellent):

- **PESQ** (ITU-T P.862, the `pesq` package: the ITU reference C code): wide band (P.862.2) at 16 kHz
  is ``pesq``; narrow band (P.862 with the P.862.1 mapping) at 8 kHz is ``pesq_nb``. PESQ is defined
  for speech, so on a clip that is not speech both are n/a and the note says so.
- **ViSQOL** v3 (`visqol-python`, a pure-Python port of Google's C++ with its models bundled): speech
  mode at 16 kHz on speech, audio mode at 48 kHz on everything else. Speech mode maps similarity to MOS
  with the polynomial (C++ ``--use_lattice_model=false``), chosen explicitly so that every computer
  gives the same number whatever else is installed.

:func:`slow_quality` prepares the signals as the fast metrics do (:mod:`explorer.core.metrics`): both
mixed to mono, the reconstruction shifted back by the delay found by cross-correlation (±50 ms),
cut to their common length, then resampled to each metric's rate. A clip is measured in blocks of at
least :data:`BLOCK_SECONDS`, whose scores are averaged weighted by length: P.862's C code allocates
for the whole signal on its stack (four minutes of 16 kHz audio crash the process with a segmentation
fault; two minutes pass), and memory stays bounded. Blocks where the original is silent are left out.

Whether a clip is speech, when the caller does not say: :func:`speech_judgement`.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import TYPE_CHECKING, Callable, Literal

import numpy as np

from explorer.core.audio import Clip, resample
from explorer.core.metrics import SILENCE, Mono, Noted, aligned_span, cut_blocks, delay_excerpt, mono_readers, streamed_delay
from explorer.core.types import FloatArray

if TYPE_CHECKING:
    from visqol import VisqolApi

PESQ_WB_RATE, PESQ_NB_RATE = 16_000, 8_000
VISQOL_SPEECH_RATE, VISQOL_AUDIO_RATE = 16_000, 48_000
BLOCK_SECONDS = 20.0
"""Blocks of at least this long (up to twice) are scored one at a time."""
PESQ_MIN_SECONDS = 0.25
"""The pesq package refuses less ("Buffer needs to be at least 1/4 of a second long")."""
VISQOL_MIN_SECONDS = 1.0
"""ViSQOL's audio mode needs 45 spectrum frames (about 1 s); its speech mode fails below about 0.7 s."""

PESQ_TOO_SHORT = f"too short for PESQ, needs ≥ {PESQ_MIN_SECONDS:g} s"
PESQ_SILENT = "the original is silent: PESQ needs speech to compare"
VISQOL_SILENT = "the original is silent: ViSQOL has nothing to compare"
QUIET_RECONSTRUCTION = "the reconstruction is silent where the original has sound: {} compares two sounds and scores no silence"

_LOCK = threading.Lock()
"""One slow metric at a time, in the whole process: P.862's C code keeps its state in globals, and the
numba kernels under ViSQOL run on numba's 'workqueue' threads, which abort when two Python threads
launch parallel kernels at once."""


@dataclass(frozen=True)
class SlowQuality(Noted):
    """PESQ and ViSQOL of a reconstruction (MOS-LQO, 1..5); a metric that does not apply is None and
    ``notes`` says why. ``visqol_mode`` is ``"speech"`` or ``"audio"``; ``seconds`` is how long they took."""

    pesq: float | None
    pesq_nb: float | None
    visqol: float | None
    visqol_mode: str
    speech: bool
    delay_samples: int
    seconds: float
    notes: tuple[tuple[str, str], ...] = ()

    def to_dict(self) -> dict[str, float | str | None]:
        """The values for the ``metrics`` object of ``--json`` (None where a metric does not apply)."""
        return {"pesq": self.pesq, "pesq_nb": self.pesq_nb, "visqol": self.visqol, "visqol_mode": self.visqol_mode}


Score = tuple[float | None, str | None]
"""A metric's value, or None and why."""


def pesq_score(reference: FloatArray, estimate: FloatArray, sample_rate: int, band: Literal["wb", "nb"] = "wb") -> Score:
    """PESQ of aligned 1-D signals at ``sample_rate``: wide band (``"wb"``, at 16 kHz) or narrow band
    (``"nb"``, at 8 kHz), resampled there first. None and why when PESQ finds nothing to score."""
    from pesq import NoUtterancesError, PesqError, pesq

    if band == "wb" and sample_rate < PESQ_WB_RATE:
        return None, f"the original is sampled at {sample_rate} Hz: wide-band PESQ needs 16 kHz (see narrow band)"
    if len(reference) < PESQ_MIN_SECONDS * sample_rate:
        return None, PESQ_TOO_SHORT
    if not np.any(np.abs(reference) > SILENCE):
        return None, PESQ_SILENT
    if not np.any(np.abs(estimate) > SILENCE):
        return None, QUIET_RECONSTRUCTION.format("PESQ")
    rate = PESQ_WB_RATE if band == "wb" else PESQ_NB_RATE
    r, e = (resample(x[None], sample_rate, rate)[0].astype(np.float64) for x in (reference, estimate))
    try:
        with _LOCK:
            value = float(pesq(rate, r, e, band))
    except NoUtterancesError:
        return None, "PESQ found no utterance in the original (too quiet or no speech)"
    except (PesqError, ValueError) as exc:  # its C code's errors; a NaN it made inside is a ValueError
        text = exc.args[0] if exc.args else exc
        return None, f"PESQ could not score it: {text.decode(errors='replace') if isinstance(text, bytes) else text}"
    return (value, None) if math.isfinite(value) else (None, "PESQ gave no finite score")


@lru_cache(maxsize=2)
def _visqol(mode: str) -> VisqolApi:
    from visqol import VisqolApi

    api = VisqolApi()
    api.create(mode=mode, use_lattice_model=False)  # the polynomial speech mapper; audio mode ignores the choice
    return api


def visqol_score(reference: FloatArray, estimate: FloatArray, sample_rate: int, speech: bool) -> Score:
    """ViSQOL of aligned 1-D signals at ``sample_rate``: speech mode (16 kHz) or audio mode (48 kHz),
    resampled there first. None and why when the audio is too short or silent."""
    if len(reference) < VISQOL_MIN_SECONDS * sample_rate:
        return None, f"too short for ViSQOL, needs ≥ {VISQOL_MIN_SECONDS:g} s"
    if not np.any(np.abs(reference) > SILENCE):
        return None, VISQOL_SILENT
    if not np.any(np.abs(estimate) > SILENCE):
        return None, QUIET_RECONSTRUCTION.format("ViSQOL")
    rate = VISQOL_SPEECH_RATE if speech else VISQOL_AUDIO_RATE
    r, e = (resample(x[None], sample_rate, rate)[0].astype(np.float64) for x in (reference, estimate))
    try:
        with _LOCK, np.errstate(all="ignore"):
            value = float(_visqol("speech" if speech else "audio").measure_from_arrays(r, e, rate).moslqo)
    except (ValueError, IndexError) as exc:  # how visqol-python says a signal is too short for its patches
        return None, f"ViSQOL could not score it: {exc}"
    return (value, None) if math.isfinite(value) else (None, "ViSQOL gave no finite score")


class _Mean:
    """A length-weighted mean of block scores. A block where the original is silent is left out; any
    other block without a score leaves the whole metric without one (and its reason is the metric's)."""

    def __init__(self) -> None:
        self.total, self.weight = 0.0, 0
        self.why, self.failed = "no part of the clip could be scored", False

    def add(self, score: Score, length: int, silent_original: bool) -> None:
        value, why = score
        if value is not None:
            self.total, self.weight = self.total + value * length, self.weight + length
        elif not self.failed:
            self.why, self.failed = why or "it could not be scored", not silent_original

    def value(self) -> float | None:
        return None if self.failed or not self.weight else self.total / self.weight


SLOW_METRICS = ("pesq", "pesq_nb", "visqol")
"""What :func:`slow_quality` measures, unless asked for fewer."""


def slow_quality(original: Clip, reconstruction: Clip, speech: bool | None = None, delay: int | None = None,
                 metrics: tuple[str, ...] = SLOW_METRICS) -> SlowQuality:
    """PESQ (wide and narrow band) and ViSQOL of ``reconstruction`` against ``original``.

    Parameters
    ----------
    original, reconstruction
        The input and the codec's output, at the same rate (the engine returns its output at the
        input's rate); the original is mixed to the reconstruction's channels, then both to mono.
    speech
        Whether the clip is speech: PESQ applies only to speech, and ViSQOL runs in speech mode on it.
        None: judged from the original (:func:`speech_judgement`).
    delay
        The reconstruction's delay in samples when already known (:attr:`Quality.delay_samples`);
        None: found here the same way.
    metrics
        Which of :data:`SLOW_METRICS` to measure; the others are None, noted as not measured.

    Returns
    -------
    SlowQuality
        The scores, with a note for each one that does not apply, and the time they took.
    """
    t0 = time.perf_counter()
    ref, est = mono_readers(original, reconstruction)
    rate = original.sample_rate
    if delay is None:
        delay = streamed_delay(ref, est, original.frames, reconstruction.frames, rate)
    span = aligned_span(delay, original.frames, reconstruction.frames)
    not_speech = f"{PESQ_IS_FOR_SPEECH}, and the clip was marked as not speech"
    if speech is None:
        speech, not_speech = speech_judgement(ref, original.frames, rate)
    scorers = _scorers(rate, speech, metrics, not_speech)
    reasons = {name: why for name, why in scorers.items() if isinstance(why, str)}
    means = _block_means(ref, est, span, int(BLOCK_SECONDS * rate),
                         {name: score for name, score in scorers.items() if not isinstance(score, str)})
    values = {name: means[name].value() if name in means else None for name in SLOW_METRICS}
    notes = tuple((name, reasons[name] if name in reasons else means[name].why) for name in SLOW_METRICS if values[name] is None)
    return SlowQuality(pesq=values["pesq"], pesq_nb=values["pesq_nb"], visqol=values["visqol"],
                       visqol_mode="speech" if speech else "audio", speech=speech, delay_samples=delay,
                       seconds=time.perf_counter() - t0, notes=notes)


Scorer = Callable[[FloatArray, FloatArray], Score]


def _scorers(rate: int, speech: bool, metrics: tuple[str, ...], not_speech: str) -> dict[str, Scorer | str]:
    """For each of :data:`SLOW_METRICS`, what scores a block at ``rate``, or why nothing does."""
    scorers: dict[str, Scorer | str] = {
        "pesq": partial(pesq_score, sample_rate=rate, band="wb") if speech else not_speech,
        "pesq_nb": partial(pesq_score, sample_rate=rate, band="nb") if speech else not_speech,
        "visqol": partial(visqol_score, sample_rate=rate, speech=speech),
    }
    return {name: scorer if name in metrics else "not measured here" for name, scorer in scorers.items()}


def _block_means(ref: Mono, est: Mono, span: tuple[int, int, int], block: int, scorers: dict[str, Scorer]) -> dict[str, _Mean]:
    """Each scorer's length-weighted mean over blocks of at least ``block`` samples of the aligned signals
    (``span``: where they start in the reference and the estimate, and their common length)."""
    shift_ref, shift_est, length = span
    means = {name: _Mean() for name in scorers}
    for start, end in cut_blocks(length, block):
        r, e = ref(start + shift_ref, end + shift_ref), est(start + shift_est, end + shift_est)
        silent = not np.any(np.abs(r) > SILENCE)
        for name, score in scorers.items():
            means[name].add(score(r, e), end - start, silent)
    return means


PESQ_IS_FOR_SPEECH = "PESQ is defined for speech (ITU-T P.862)"

JUDGE_RATE = 16_000
FRAME, HOP = 640, 160
"""40 ms frames every 10 ms at :data:`JUDGE_RATE`."""
SYLLABLE_FRAMES = 5
"""A voiced stretch of at least 50 ms counts (shorter ones are mostly the flicker of chords and noise)."""
VOICED_MIN, GLIDE_MIN, SYLLABLE_MAX_SECONDS = 0.2, 0.3, 0.4
"""Speech: at least 20 % of its sound is voiced stretches; in them the pitch glides (moves 0.3–8 % per
10 ms) in at least 30 % of the steps; their median lasts at most 0.4 s. Measured on espeak-ng voices
(English, German, French; low, high, slow, fast; with noise at 0 dB SNR or music beneath): 33–90 %
voiced, glides 41–75 %, medians 0.10–0.26 s. Plucked strings, chords, tones and noise: glides 0–24 %
or nothing voiced; a tone with vibrato glides but holds for seconds."""


def _voicing(x: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Per 10 ms of ``x`` (at :data:`JUDGE_RATE`): whether it sounds (within 40 dB of the loudest frame),
    whether it is voiced (normalised autocorrelation above 0.5 at a lag of 60–400 Hz), and that pitch in Hz."""
    n = 1 + (len(x) - FRAME) // HOP
    window = np.hanning(FRAME)
    frames = x[np.arange(FRAME)[None] + HOP * np.arange(n)[:, None]] * window
    db = 10 * np.log10((frames ** 2).sum(axis=1) + 1e-20)
    sounding = db > db.max() - 40
    corr = np.fft.irfft(np.abs(np.fft.rfft(frames, 2 * FRAME, axis=1)) ** 2, axis=1)[:, :FRAME]
    bias = np.fft.irfft(np.abs(np.fft.rfft(window, 2 * FRAME)) ** 2)[:FRAME]
    corr = corr / (corr[:, :1] + 1e-20) / (bias / bias[0])
    lo, hi = JUDGE_RATE // 400, JUDGE_RATE // 60
    voiced = sounding & (corr[:, lo:hi].max(axis=1) > 0.5)
    return sounding, voiced, JUDGE_RATE / (corr[:, lo:hi].argmax(axis=1) + lo)


def speech_judgement(reference: Mono, n: int, sample_rate: int) -> tuple[bool, str]:
    """Whether the first ``n`` samples of ``reference`` sound like speech, and if not, why, in words.

    Judged on :func:`delay_excerpt` (at most 30 s): speech is voiced in syllable-long stretches
    whose pitch glides, between unvoiced sounds and pauses (:data:`VOICED_MIN`, :data:`GLIDE_MIN`,
    :data:`SYLLABLE_MAX_SECONDS`); music holds its notes' pitch, noise has none.
    """
    excerpt = delay_excerpt(reference, n, sample_rate)
    x = reference(excerpt.start, excerpt.stop)
    if len(x) < PESQ_MIN_SECONDS * sample_rate or not np.any(np.abs(x) > SILENCE):
        return False, PESQ_TOO_SHORT if len(x) < PESQ_MIN_SECONDS * sample_rate else PESQ_SILENT
    sounding, voiced, pitch = _voicing(resample(x[None], sample_rate, JUDGE_RATE)[0].astype(np.float64))
    edges = np.flatnonzero(np.diff(np.concatenate([[0], voiced.astype(np.int8), [0]])))
    runs = [(a, b) for a, b in zip(edges[::2], edges[1::2]) if b - a >= SYLLABLE_FRAMES]
    share = sum(b - a for a, b in runs) / max(1, int(sounding.sum()))
    steps = np.concatenate([np.abs(np.diff(pitch[a:b])) / pitch[a + 1:b] for a, b in runs]) if runs else np.zeros(0)
    glide = float(((steps > 0.003) & (steps < 0.08)).mean()) if len(steps) else 0.0
    median = float(np.median([b - a for a, b in runs])) * HOP / JUDGE_RATE if runs else 0.0
    if share < VOICED_MIN:
        why = f"{share:.0%} of its sound is voiced (speech: ≥ {VOICED_MIN:.0%})"
    elif glide < GLIDE_MIN:
        why = f"its pitch glides in {glide:.0%} of voiced steps (speech: ≥ {GLIDE_MIN:.0%}), as held notes do"
    elif median > SYLLABLE_MAX_SECONDS:
        why = f"its voiced stretches last {median:.1f} s at the median (speech's syllables: ≤ {SYLLABLE_MAX_SECONDS:g} s)"
    else:
        return True, ""
    return False, f"{PESQ_IS_FOR_SPEECH}, and this does not sound like speech: {why}"
