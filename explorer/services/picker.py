"""Which codec? The lesson's rule of thumb for a task, beside numbers measured in this run.

:data:`TASKS` holds each task's rule of thumb and the codecs it names. :func:`measure` encodes and
decodes the first :data:`CLIP_SECONDS` of a clip with each codec asked for (any registry name, so a
codec added to the registry is measured too), on the device asked for, and measures what the rules
talk about: tokens per second and kbps counted from the encoding, wide-band PESQ and ViSQOL
(:func:`explorer.core.perceptual.slow_quality`, through :func:`explorer.services.compare.compare_one`)
and the real-time factor of encode plus decode. Before the timed run each codec encodes and decodes
:data:`WARM_UP_SECONDS` once, so the factor leaves out first-call costs (kernel loading, allocation).

A codec whose weights are not on this computer is not downloaded: its row says so and how to get them.
A codec that fails gets a row saying why, and the others are still measured. Qt-free: the window runs
:func:`measure` on the classroom tools' worker.
"""

from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass
from typing import Sequence

from explorer.codecs.registry import CODEC_NAMES, entry, weights_available
from explorer.codecs.weights import placement_hint, reason
from explorer.core.audio import Clip
from explorer.core.errors import CancelledError, CodecError, ExplorerError
from explorer.core.metrics import Noted, fmt, rounded
from explorer.services.compare import Compared, compare_one, tokens_per_second
from explorer.services.engine import Engine, Progress, report, within
from explorer.services.session import Engines

log = logging.getLogger(__name__)

CLIP_SECONDS = 5.0
"""Only the clip's start is measured: DAC 44 kHz decodes slower than real time on a CPU, and every codec runs."""
WARM_UP_SECONDS = 1.0
"""Encoded and decoded once, untimed, before the timed run."""


@dataclass(frozen=True)
class Task:
    """A job a codec is chosen for: its title, the lesson's rule of thumb, and the codecs the rule names."""

    title: str
    rule: str
    codecs: tuple[str, ...]


TASKS = {
    "lm-speech": Task(
        "A language model over speech",
        "Mimi or SpeechTokenizer: codebook 0 of each is distilled from a self-supervised speech model (WavLM, "
        "HuBERT), so it carries the words, and their low frame rates (12.5 Hz and 50 Hz) keep the sequences a "
        "language model must predict short.",
        ("mimi", "speechtokenizer")),
    "music": Task(
        "Music generation",
        "A full-band, multi-codebook acoustic codec of the kind music generators use (MusicGen's EnCodec 32 kHz): "
        "here DAC 44 kHz or EnCodec 48 kHz. Music needs the whole band and the detail the later codebooks carry, "
        "not a semantic codebook.",
        ("dac-44khz", "encodec-48khz")),
    "fidelity": Task(
        "Highest-fidelity reconstruction",
        "DAC 44 kHz with all its codebooks: it codes the full band, to 22 kHz, and was trained on speech, music "
        "and general sound alike, so it is the one to try first when the output must sound like the input.",
        ("dac-44khz",)),
    "duplex": Task(
        "Streaming full duplex",
        "Mimi: it is causal, codes 80 ms frames (12.5 Hz) as the audio arrives, and was built to carry both "
        "sides of a conversation at once for Moshi.",
        ("mimi",)),
    "compression": Task(
        "Compression",
        "A classic codec: at 6–20 kbps Opus still gives more quality per bit than the neural codecs at the same "
        "bitrate. Neural codecs win below about 3 kbps, where Opus does not go (SNAC 24 kHz at 0.98 kbps, "
        "Mimi at 1.1 kbps).",
        ("opus", "snac-24khz", "mimi")),
}
"""The tasks the picker asks about, by key, in the order it offers them."""


def task(key: str) -> Task:
    """The task ``key`` of :data:`TASKS`.

    Raises
    ------
    CodecError
        For a key that is not one.
    """
    try:
        return TASKS[key]
    except KeyError:
        raise CodecError(f"Unknown task '{key}'; choose one of: {', '.join(TASKS)}.") from None


def advice(key: str) -> str:
    """The lesson's rule of thumb for task ``key``, in one or two sentences."""
    return task(key).rule


MEASURED, MISSING, FAILED = "measured", "weights missing", "failed"
"""A row's status."""


@dataclass(frozen=True)
class Row(Noted):
    """One codec's numbers on the clip; a number that does not apply is None and ``notes`` says why,
    by column (``("pesq", "PESQ is defined for speech ...")``). ``note`` is the row's remark for the reader."""

    codec: str
    licence: str
    status: str
    tokens_per_second: float | None = None
    kbps: float | None = None
    pesq: float | None = None
    visqol: float | None = None
    rtf: float | None = None
    note: str = ""
    notes: tuple[tuple[str, str], ...] = ()

    def cell(self, column: str) -> str:
        """Column ``column`` as the table shows it: the number, or ``n/a`` (never ``nan``); an unstated licence says so."""
        digits = {"tokens_per_second": ".0f", "kbps": ".2f", "pesq": ".2f", "visqol": ".2f", "rtf": ".3f"}
        value = getattr(self, column)
        if column in digits:
            return fmt(value, digits[column])
        return str(value) if value or column != "licence" else "not stated"


LABELS = {"codec": "codec", "licence": "licence (weights)", "tokens_per_second": "tokens/s", "kbps": "kbps",
          "pesq": "PESQ (wide band)", "visqol": "ViSQOL", "rtf": "real-time factor", "note": "note"}
"""The table's columns (:class:`Row` fields), in order, and how a reader sees them."""


def excerpt(clip: Clip, seconds: float) -> Clip:
    """The first ``seconds`` of ``clip`` (all of it when shorter)."""
    n = min(clip.frames, round(seconds * clip.sample_rate))
    return clip if n == clip.frames else Clip(clip.samples[:, :n], clip.sample_rate, clip.notes)


def measure(engines: Engines, names: Sequence[str], device: str, clip: Clip, progress: Progress | None = None,
            seconds: float = CLIP_SECONDS) -> list[Row]:
    """Measure each codec of ``names`` on the first ``seconds`` of ``clip`` on ``device``: one :class:`Row` each.

    Parameters
    ----------
    engines
        The calling thread's loaded codecs (codecs are loaded into it as needed).
    names
        Registry names, in the order of the rows.
    device
        ``auto``, ``cpu``, ``cuda``...: where every codec runs (the real-time factor is of this device).
    clip
        The clip; only its start is used (:func:`excerpt`).
    progress
        Hears (fraction of all the codecs, what is happening); answering False cancels.

    Raises
    ------
    CancelledError
        When ``progress`` answers False; the rows measured so far are dropped.
    """
    clip = excerpt(clip, seconds)
    rows = []
    for i, name in enumerate(names):
        rows.append(_row(engines, name, device, clip, within(progress, i / len(names), (i + 1) / len(names))))
    report(progress, 1.0, "Measured")
    return rows


def _row(engines: Engines, name: str, device: str, clip: Clip, progress: Progress | None) -> Row:
    """:func:`measure_one`, or a row saying why codec ``name`` could not be measured."""
    try:
        return measure_one(engines, name, device, clip, progress)
    except CancelledError:
        raise
    except ExplorerError as exc:
        message = str(exc)
    except Exception as exc:  # noqa: BLE001 - one codec's failure is that row's note; the log has it in full
        log.error("%s", traceback.format_exc())
        message = reason(exc)
    try:
        licence = entry(name).info().licence
    except ExplorerError:
        licence = ""
    return Row(name, licence, FAILED, note=f"failed: {message}")


def measure_one(engines: Engines, name: str, device: str, clip: Clip, progress: Progress | None = None) -> Row:
    """Codec ``name``'s row on all of ``clip``: measured, or, without its weights here, how to get them."""
    e = entry(name)
    info = e.info()
    spec = e.weights_spec()
    if spec is not None and not weights_available(name):
        return Row(name, info.licence, MISSING, note=f"Its weights are not on this computer: {placement_hint(spec)}.")
    report(progress, 0.0, f"Loading {name}")
    engine = engines.named(name, device)
    report(progress, 0.05, f"Warming up {name}")
    engine.decode(engine.encode(excerpt(clip, WARM_UP_SECONDS)))
    return _measured(engine, clip, compare_one(engine, clip, progress=within(progress, 0.1, 1.0)))


def _measured(engine: Engine, clip: Clip, c: Compared) -> Row:
    """The row of one comparison (:func:`compare_one`): tokens and bits counted from its codes, the scores, the timing."""
    info, enc = engine.info, c.encoding
    tokens = tokens_per_second(enc)
    notes = [(k, why) for k in ("pesq", "visqol") if (why := c.slow.reason(k))]
    if not tokens:
        notes.append(("tokens_per_second", "it makes no tokens: a classic codec codes bits, not tokens"))
    remarks = [f"{enc.n_codebooks} of {info.max_codebooks} codebooks"] if enc.n_codebooks else []
    remarks += [f"ViSQOL in {c.slow.visqol_mode} mode"] if c.slow.visqol is not None else []
    remarks += [f"{LABELS[k]} n/a: {why}" for k, why in notes]
    return Row(info.name, info.licence, MEASURED,
               tokens_per_second=rounded(tokens, 1) if tokens else None,
               kbps=rounded(enc.bitrate / 1000, 3),
               pesq=rounded(c.slow.pesq, 3), visqol=rounded(c.slow.visqol, 3),
               rtf=rounded((c.row.encode_seconds + c.row.decode_seconds) / clip.duration, 4),
               note="; ".join(remarks), notes=tuple(notes))


def summary(key: str, rows: Sequence[Row]) -> str:
    """What this run measured of the codecs task ``key``'s rule names, one clause each (or why there is no number)."""
    by_name = {r.codec: r for r in rows}
    parts = []
    for name in task(key).codecs:
        r = by_name.get(name)
        if r is None:
            parts.append(f"{name}: not measured (not among this build's codecs)" if name not in CODEC_NAMES
                         else f"{name}: not measured in this run")
        elif r.status != MEASURED:
            parts.append(f"{name}: {r.status}")
        else:
            parts.append(f"{name}: {r.cell('kbps')} kbps, {r.cell('tokens_per_second')} tokens/s, PESQ {r.cell('pesq')}, "
                         f"ViSQOL {r.cell('visqol')}, real-time factor {r.cell('rtf')}")
    return "Measured here: " + "; ".join(parts) + "."
