"""Guided experiments: short scripts of steps, each with a narration, a sound and measured numbers.

Each experiment is a pure function of engines and clips returning an :class:`Experiment`; the
window narrates it step by step in a side panel and plays each step's sound, the CLI writes it to a
folder. What a codec cannot show (a semantic codebook on a codec without one) is explained in the
narration, not hidden.

The bitrate ladder carries reference points: Opus at 6, 12 and 20 kbps (:data:`REFERENCE_KBPS`), measured
on the same clip with the same metrics, so a token codec's climb can be read against the codec the
world uses. They are kept apart from the ladder's own rows (:attr:`Experiment.references`): plotted
as points beside the ladder's line, never joined to it. The experiments themselves edit tokens, so a
codec without tokens (Opus) cannot run one and is refused in one sentence.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np


from explorer.codecs.base import CodecInfo
from explorer.core.audio import Clip, convert
from explorer.core.types import FloatArray
from explorer.services.compare import frame_rates_text, tokens_per_second
from explorer.core.edits import Edits
from explorer.services.engine import Engine
from explorer.services.session import CodecChoice, Engines, open_engine
from explorer.core.errors import CodecError
from explorer.core.metrics import Quality, align, fmt, mono_readers, reconstruction_quality, rounded
from explorer.services.scoring import slow
from explorer.core.provenance import CodecRun, provenance, provenance_text, sidecar_path, write_sidecar


@dataclass
class Step:
    label: str
    narration: str
    audio: Clip | None = None
    edits: Edits | None = None
    """The edits ``audio`` was decoded under."""


@dataclass
class Experiment:
    name: str
    title: str
    intro: str
    steps: list[Step] = field(default_factory=list)
    table: list[dict[str, Any]] = field(default_factory=list)
    conclusion: str = ""
    series: tuple[str, str] | None = None
    """How to plot the table when it is not STOI and SI-SDR per step: (metric column, grouping column),
    the metric against ``kbps`` on a log axis, one line per group (the exercises' error-vs-bitrate curves)."""
    codecs: list[CodecRun] = field(default_factory=list)
    """The codecs that ran it (:meth:`Engine.describe`), for its provenance."""

    def provenance(self, steps: list[Step] | None = None) -> dict[str, Any]:
        """The provenance record of ``steps`` (default: all of them): the codecs and the steps' edits."""
        return provenance(self.codecs, [s.edits for s in (self.steps if steps is None else steps) if s.edits is not None])
    references: list[dict[str, Any]] = field(default_factory=list)
    """Measured points of a reference codec (the ladder's Opus), with the table's metrics and a ``codec``
    and ``kbps_setting``: shown beside the steps' rows, never as one of them."""



REFERENCE_CODEC = "opus"
REFERENCE_KBPS = (6, 12, 20)
"""The bitrate settings at which the ladder measures Opus: its floor, a typical speech call and
near-transparent wide-band speech."""


def _measured(engine: Engine, clip: Clip, enc: Any, edits: Edits, pesq: bool = False) -> tuple[Clip, dict[str, float | None]]:
    """Decode with ``edits`` and measure (with wide-band PESQ too when ``pesq``: about a second more)."""
    out = engine.decode(enc, edits)
    q = _measurable(reconstruction_quality(clip, out))
    kbps = enc.heard_bitrate(edits) / 1000
    m = {"kbps": round(float(kbps), 3), "si_sdr_db": rounded(q.si_sdr, 2), "stoi": rounded(q.stoi, 4),
         "mel_distance": rounded(q.mel_distance, 4)}
    if pesq:
        m["pesq"] = rounded(slow(clip, out, delay=q.delay_samples, metrics=("pesq",)).pesq, 3)
    return out, m


def _measurable(q: Quality) -> Quality:
    """The experiments compare intelligibility: a clip without a measurable STOI cannot be narrated."""
    if q.stoi is None:
        raise CodecError(f"STOI is not available on this clip ({q.reason('stoi')}); the experiment compares "
                         "intelligibility, so choose a clip with speech in it.")
    return q


def bitrate_ladder(engine: Engine, clip: Clip, reference: Engine | None = None) -> Experiment:
    """Keep the first 1, 2, 4, 8, ... codebooks: quality against bitrate; with Opus at
    :data:`REFERENCE_KBPS` as reference points when ``reference`` (an Opus engine) is given."""
    enc = engine.encode(clip, engine.info.max_codebooks)
    n = enc.n_codebooks
    counts = doublings(n)
    exp = Experiment("ladder", f"Bitrate ladder: {engine.info.name}",
                     "A residual quantizer refines in stages: each codebook codes what the ones before it missed. "
                     "Keep only the first N and listen to the quality climb with the bitrate.", codecs=[engine.describe()])
    for k in counts:
        edits = Edits(keep=k)
        out, m = _measured(engine, clip, enc, edits, pesq=True)
        exp.table.append({"codebooks": k, **m})
        exp.steps.append(Step(f"first {k}", f"First {k} of {n} codebooks: {m['kbps']:.2f} kbps, STOI {m['stoi']:.2f}, "
                                           f"SI-SDR {fmt(m['si_sdr_db'], '.1f', ' dB')}, PESQ {fmt(m['pesq'], '.2f')}.", out, edits))
    exp.conclusion = _ladder_conclusion(exp.table)
    if reference is not None:
        _add_references(exp, reference, clip)
    return exp


def _add_references(exp: Experiment, reference: Engine, clip: Clip) -> None:
    """Opus at each of :data:`REFERENCE_KBPS`: a step to hear, a reference row, a sentence in the conclusion."""
    name = reference.info.spoken
    exp.intro += (f" For reference, {name} (which codes the waveform in 20 ms packets, no tokens) is measured at "
                  f"{', '.join(map(str, REFERENCE_KBPS))} kbps on the same clip.")
    for kbps in REFERENCE_KBPS:
        out, m = _measured(reference, clip, reference.encode(clip, kbps=kbps), Edits(), pesq=True)
        exp.references.append({"codec": reference.info.name, "kbps_setting": kbps, **m})
        exp.steps.append(Step(f"{name} {kbps} kbps", f"Reference: {name} at {kbps} kbps (measured {m['kbps']:.2f} kbps): "
                                                     f"STOI {m['stoi']:.2f}, SI-SDR {fmt(m['si_sdr_db'], '.1f', ' dB')}, "
                                                     f"PESQ {fmt(m['pesq'], '.2f')}.", out))
    exp.conclusion += f" {name} for reference: " + ", ".join(
        f"STOI {r['stoi']:.2f} and PESQ {fmt(r['pesq'], '.2f')} at {r['kbps']:.2f} kbps" for r in exp.references) + "."


CLEAR_STOI = 0.05
"""A STOI difference below this is narrated as small: the two randomizations hurt alike."""


def _drop(before: float | None, after: float | None) -> float | None:
    return None if before is None or after is None else before - after


def _ladder_conclusion(table: list[dict[str, Any]]) -> str:
    """From the first to the last step, and whether the first doubling bought more STOI than the last."""
    first, last = table[0], table[-1]
    text = (f"From {first['kbps']:.2f} to {last['kbps']:.2f} kbps, STOI went from {first['stoi']:.2f} to "
            f"{last['stoi']:.2f}" + (f" and PESQ from {first['pesq']:.2f} to {last['pesq']:.2f}"
                                     if first.get("pesq") is not None and last.get("pesq") is not None else ""))
    if len(table) < 3:
        return text + "."
    gain_first, gain_last = table[1]["stoi"] - first["stoi"], last["stoi"] - table[-2]["stoi"]
    return text + (f": the first doubling added {gain_first:.2f} STOI, the last {gain_last:.2f}; "
                   + ("the first codebooks buy the most." if gain_first > gain_last else "here the later codebooks still pay."))


def semantic_vs_acoustic(engine: Engine, clip: Clip) -> Experiment:
    """Randomize the first (or semantic) codebook, then the last: which one carries the words?

    The narration follows the codec: only a codec that marks a codebook as semantic
    (:attr:`CodecInfo.semantic_codebooks`) is said to keep the words in one; on the others codebook 0
    is the coarsest acoustic stage, and the conclusion says what its randomization cost, STOI and SI-SDR.
    """
    info = engine.info
    enc = engine.encode(clip)
    last = enc.n_codebooks - 1
    semantic = bool(info.semantic_codebooks)
    first = min(info.semantic_codebooks) if semantic else 0
    exp = Experiment("semantic", f"Semantic vs acoustic: {info.name}",
                     "Replace one codebook's tokens with random ones and listen: if the words dissolve but the voice "
                     "remains, that codebook carried the content.", codecs=[engine.describe()])
    if not semantic:
        exp.intro += (f" {info.name} marks no codebook as semantic (Mimi and SpeechTokenizer distil one from a speech model), so here "
                      "codebook 0 is simply the coarsest acoustic stage: expect it to hurt everything, not just the words.")
    out, m = _measured(engine, clip, enc, Edits())
    exp.table.append({"randomized": "none", **m})
    exp.steps.append(Step("unchanged", f"Unchanged: STOI {m['stoi']:.2f}, SI-SDR {fmt(m['si_sdr_db'], '.1f', ' dB')}.", out, Edits()))
    for k, what in ((first, "semantic" if semantic else "coarsest acoustic"), (last, "last acoustic")):
        edits = Edits(randomize=frozenset({k}))
        out, m = _measured(engine, clip, enc, edits)
        role = f", {info.role(k)}" if info.roles else ""
        exp.table.append({"randomized": f"codebook {k} ({what})", **m})
        exp.steps.append(Step(f"random {k}", f"Codebook {k} ({what}{role}) randomized: STOI {m['stoi']:.2f}, "
                                             f"SI-SDR {fmt(m['si_sdr_db'], '.1f', ' dB')}.", out, edits))
    exp.conclusion = _semantic_conclusion(exp.table, info.name, semantic, first, last)
    return exp


def _semantic_conclusion(table: list[dict[str, Any]], name: str, semantic: bool, first: int, last: int) -> str:
    """What the three measured rows show, in the codec's own terms (see :func:`semantic_vs_acoustic`)."""
    base, a, b = table
    stoi_a, stoi_b = base["stoi"] - a["stoi"], base["stoi"] - b["stoi"]
    sdr_a, sdr_b = _drop(base["si_sdr_db"], a["si_sdr_db"]), _drop(base["si_sdr_db"], b["si_sdr_db"])
    measured = (f"Randomizing codebook {first} cost {stoi_a:.2f} STOI and {fmt(sdr_a, '.1f', ' dB')} SI-SDR; "
                f"codebook {last} cost {stoi_b:.2f} STOI and {fmt(sdr_b, '.1f', ' dB')} SI-SDR. ")
    if abs(stoi_a - stoi_b) < CLEAR_STOI:
        return measured + f"The difference in intelligibility is small here (under {CLEAR_STOI:g} STOI)."
    if semantic:
        return measured + ("Intelligibility lives in the semantic codebook." if stoi_a > stoi_b else
                           "Here the last acoustic codebook mattered more to intelligibility than the semantic one.")
    if stoi_a < stoi_b:
        return measured + f"On {name} the last stage mattered more than the coarsest one."
    both = sdr_a is not None and sdr_b is not None and sdr_a > sdr_b
    return measured + (f"{name} has no semantic codebook: codebook {first} is its coarsest acoustic stage, so it carries "
                       + ("the most of everything, the waveform (SI-SDR) as well as the words (STOI)"
                          if both else "the most intelligibility") +
                       ", which shows the order of the residual stages, not a split between words and voice.")


def frame_rates(engines: list[Engine], clip: Clip) -> Experiment:
    """Tokens per second of each codec on the same clip, the sequence length a language model sees, and
    the nominal bitrate those tokens make (a bitrate means little without its codebook count)."""
    exp = Experiment("frame-rates", "Frame rates and sequence length",
                     "A language model over audio tokens predicts one token at a time. The codec's frame rate and "
                     "codebook count set how long 10 seconds of audio is as a sequence, and with the bits per code "
                     "(log2 of the codebook size) its bitrate: codebooks x frame rate x bits. A bitrate quoted without "
                     "its codebook count is ambiguous.", codecs=[engine.describe() for engine in engines])
    for engine in engines:
        enc = engine.encode(clip)
        info = engine.info
        tps = tokens_per_second(enc)
        frames_10s = 10 * info.frame_rates(enc.n_codebooks)[0]
        exp.table.append({"codec": info.name, "frame_rates_hz": frame_rates_text(info, enc.n_codebooks), "codebooks": enc.n_codebooks,
                          "bits_per_code": round(math.log2(info.codebook_size), 2),
                          "nominal_kbps": round(info.bitrate(enc.n_codebooks) / 1000, 3),
                          "tokens_per_second": round(tps, 1), "tokens_in_10s": int(round(10 * tps)),
                          "frames_in_10s": int(round(frames_10s))})
        exp.steps.append(Step(info.name, f"{info.name}: {bitrate_text(info, enc.n_codebooks)}. {tps:.0f} tokens per second, so "
                                         f"10 s is {10 * tps:.0f} tokens flattened, or {frames_10s:.0f} steps if a model "
                                         "predicts each frame's codebooks together."))
    if exp.table:
        lo = min(exp.table, key=lambda r: r["tokens_per_second"])
        hi = max(exp.table, key=lambda r: r["tokens_per_second"])
        exp.conclusion = f"{lo['codec']} needs the shortest sequences ({lo['tokens_in_10s']} tokens for 10 s), {hi['codec']} the longest ({hi['tokens_in_10s']})."
    return exp


def bitrate_text(info: CodecInfo, n: int) -> str:
    """``8 of 32 codebooks at 12.5 Hz, 11 bits a code: 1.10 kbps (all 32: 4.40 kbps)``: where a bitrate comes from.

    The codebooks' frame rates are listed when they differ (SNAC's scales), and the figure for all the
    codebooks is added when fewer are used, so two published figures of one codec are never mixed up.
    """
    of = f" of {info.max_codebooks}" if n < info.max_codebooks else ""
    text = (f"{n}{of} codebooks at {frame_rates_text(info, n)} Hz, {math.log2(info.codebook_size):g} bits a code: "
            f"{info.bitrate(n) / 1000:.2f} kbps")
    return text + (f" (all {info.max_codebooks}: {info.bitrate(info.max_codebooks) / 1000:.2f} kbps)" if of else "")


def transplant(engine: Engine, a: Clip, b: Clip, keep: int = 1) -> Experiment:
    """Clip A's first ``keep`` codebooks with clip B's others (one codec): whose words, whose voice?"""
    info = engine.info
    rate = a.sample_rate
    b = convert(b, rate, a.channels)
    n = min(a.frames, b.frames)
    a, b = Clip(a.samples[:, :n], rate), Clip(b.samples[:, :n], rate)
    ea, eb = engine.encode(a), engine.encode(b)
    if not 1 <= keep < ea.n_codebooks:
        raise CodecError(f"keep must be between 1 and {ea.n_codebooks - 1} codebooks for {info.name}; got {keep}.")
    exp = Experiment("transplant", f"Codebook transplant: {info.name}",
                     f"Both clips are encoded with {info.name}. The mix takes the first {keep} codebook(s) from A and the "
                     "rest from B. If the early codebooks carry content and the late ones timbre, you hear A's words in B's voice.",
                     codecs=[engine.describe()])
    meta = ea.meta()
    for label, first, rest in (("A", ea, ea), ("B", eb, eb), (f"A[:{keep}] + B[{keep}:]", ea, eb), (f"B[:{keep}] + A[{keep}:]", eb, ea)):
        codes = [first.codes[k] if k < keep else rest.codes[k] for k in range(ea.n_codebooks)]
        enc = engine.from_tokens(codes, meta)
        out = engine.decode(enc)
        qa, qb = _measurable(reconstruction_quality(a, out)), _measurable(reconstruction_quality(b, out))
        exp.table.append({"tokens": label, "si_sdr_vs_a_db": rounded(qa.si_sdr, 2), "si_sdr_vs_b_db": rounded(qb.si_sdr, 2),
                          "stoi_vs_a": rounded(qa.stoi, 4), "stoi_vs_b": rounded(qb.stoi, 4)})
        exp.steps.append(Step(label, f"{label}: STOI against A {qa.stoi:.2f}, against B {qb.stoi:.2f}.", out, Edits()))
    mix = exp.table[2]
    exp.conclusion = (f"The mix is closer to {'A' if mix['stoi_vs_a'] > mix['stoi_vs_b'] else 'B'} in intelligibility "
                      f"(STOI {mix['stoi_vs_a']:.2f} vs A, {mix['stoi_vs_b']:.2f} vs B).")
    return exp


def doublings(n: int) -> list[int]:
    """1, 2, 4, 8, ... codebooks up to ``n`` (and ``n`` itself): the steps of a ladder."""
    return sorted({min(n, 2 ** i) for i in range(n.bit_length() + 1)})


def mse(clip: Clip, out: Clip, delay: int) -> float:
    """Mean squared error of ``out`` against ``clip`` (both mixed to mono), ``out`` shifted back by ``delay``."""
    ref, est = mono_readers(clip, out)
    a, b = align(ref(0, clip.frames), est(0, out.frames), delay)
    return float(np.mean((a.astype(np.float64) - b) ** 2)) if a.size else 0.0


def toy_residual_quantizer(signal: FloatArray, stages: int, bits: int = 2) -> list[FloatArray]:
    """A scalar residual quantizer: each stage rounds what the stages before it missed to one of
    ``2**bits`` levels, on a grid ``2**bits`` times finer than the stage before.

    Returns the reconstruction after 1, 2, ..., ``stages`` stages. The first grid spans the signal's
    peak, so every stage's residual fits in one step of the grid before it: the error shrinks by a
    factor ``2**bits`` a stage (about 6 dB per bit), the textbook result the neural codecs' learned
    vector quantizers improve on.
    """
    levels = 2 ** bits
    step = 2 * max(float(np.max(np.abs(signal))), 1e-9) / levels
    recon = np.zeros_like(signal, dtype=np.float64)
    out = []
    for _ in range(stages):
        residual = signal - recon
        q = np.clip(np.floor(residual / step), -levels // 2, levels // 2 - 1)
        recon = recon + (q + 0.5) * step
        out.append(recon.copy())
        step /= levels
    return out


def _snr_db(signal: FloatArray, error_power: float) -> float | None:
    power = float(np.mean(np.square(signal, dtype=np.float64)))
    return None if power == 0 or error_power == 0 else 10 * math.log10(power / error_power)


TOY_STAGES = 8
TOY_BITS = 2


def exercise_easy(engine: Engine, clip: Clip) -> Experiment:
    """Exercise (easy): a toy scalar + residual quantizer on the clip, error against the number of
    stages; then rvq-lab's learned stages kept one more at a time, the same measure."""
    exp = Experiment("exercise-easy", "Exercise (easy): error against the number of residual stages",
                     f"Quantize the waveform with a {TOY_BITS}-bit scalar quantizer, then quantize what it missed with another, "
                     "and again: residual quantization. Each toy stage costs "
                     f"{TOY_BITS} bits a sample and should cut the error power about {4 ** TOY_BITS}x ({6.02 * TOY_BITS:.0f} dB). "
                     f"Then {engine.info.name}'s learned stages do the same job with {engine.info.codebook_size}-code vector "
                     "quantizers, at a small fraction of the bits.", codecs=[engine.describe()])
    mono = convert(clip, clip.sample_rate, 1).samples[0].astype(np.float64)
    for k, recon in enumerate(toy_residual_quantizer(mono, TOY_STAGES, TOY_BITS), 1):
        err = float(np.mean((mono - recon) ** 2))
        snr = _snr_db(mono, err)
        kbps = k * TOY_BITS * clip.sample_rate / 1000
        exp.table.append({"quantizer": f"toy scalar ({TOY_BITS} bits a stage)", "stages": k, "kbps": round(kbps, 3),
                          "mse": float(f"{err:.4g}"), "snr_db": rounded(snr, 2)})
        exp.steps.append(Step(f"toy {k}", f"Toy quantizer, {k} stage{'s' * (k > 1)} ({kbps:.0f} kbps): "
                                          f"SNR {fmt(snr, '.1f', ' dB')}.", Clip(recon[None, :].astype(np.float32), clip.sample_rate)))
    enc = engine.encode(clip, engine.info.max_codebooks)
    n = enc.n_codebooks
    for k in doublings(n):
        edits = Edits(keep=k)
        out = engine.decode(enc, edits)
        q = reconstruction_quality(clip, out)
        err = mse(clip, out, q.delay_samples)
        snr = _snr_db(mono, err)
        kbps = enc.heard_bitrate(edits) / 1000
        exp.table.append({"quantizer": engine.info.name, "stages": k, "kbps": round(kbps, 3), "mse": float(f"{err:.4g}"),
                          "snr_db": rounded(snr, 2)})
        exp.steps.append(Step(f"{engine.info.name} {k}", f"{engine.info.name}, first {k} of {n} codebooks ({kbps:.2f} kbps): "
                                                          f"SNR {fmt(snr, '.1f', ' dB')}.", out, edits))
    exp.conclusion = _easy_conclusion(exp.table, engine.info)
    exp.series = ("snr_db", "quantizer")
    return exp


def _easy_conclusion(table: list[dict[str, Any]], info: CodecInfo) -> str:
    toy = [r for r in table if r["quantizer"] != info.name]
    learned = [r for r in table if r["quantizer"] == info.name]
    gains = [b["snr_db"] - a["snr_db"] for a, b in zip(toy, toy[1:]) if a["snr_db"] is not None and b["snr_db"] is not None]
    text = (f"Each toy stage bought {np.mean(gains):.1f} dB on average ({TOY_BITS} bits a sample, "
            f"{toy[0]['kbps']:.0f} kbps a stage). " if gains else "")
    if toy and toy[0]["snr_db"] is not None and toy[0]["snr_db"] < 0:
        text += ("Its first stage alone is worse than silence (SNR below 0 dB): its levels sit at half-steps, so even "
                 "the quiet parts come out a quarter of the peak loud; the next stage corrects that. ")
    best = max(learned, key=lambda r: r["snr_db"] if r["snr_db"] is not None else -math.inf)
    return text + (f"{info.name} reached {fmt(best['snr_db'], '.1f', ' dB')} with {best['stages']} stages at "
                   f"{best['kbps']:.1f} kbps: learned vector codebooks spend bits where the sound is, and a waveform SNR "
                   "undersells them, since they aim at what the ear hears.")


MEDIUM_CODEBOOKS = (1, 4, 8, 32)


def exercise_medium(engine: Engine, clip: Clip, reference: Engine | None = None) -> Experiment:
    """Exercise (medium): the codec at 1, 4, 8 and 32 codebooks, PESQ and MSE against bitrate, beside
    ``reference`` (a classic codec: Opus) at :data:`REFERENCE_KBPS`, its bitrate measured from its packets."""
    info = engine.info
    exp = Experiment("exercise-medium", f"Exercise (medium): {info.name} at 1, 4, 8, 32 codebooks, PESQ and MSE against bitrate",
                     "Keep the first 1, 4, 8 and 32 codebooks and measure PESQ (perceived quality, 1 to 4.5) and the mean "
                     "squared error against the bitrate; a classic codec at similar bitrates is the yardstick.",
                     codecs=[engine.describe()] + ([reference.describe()] if reference is not None else []))
    enc = engine.encode(clip, info.max_codebooks)
    counts = sorted({min(k, enc.n_codebooks) for k in MEDIUM_CODEBOOKS})
    runs: list[tuple[str, Engine, Any, Edits, int | None]] = [(f"{info.name}@{k}", engine, enc, Edits(keep=k), None)
                                                             for k in counts]
    if reference is not None:
        runs += [(f"{reference.info.name}@{kbps}", reference, None, Edits(), kbps) for kbps in REFERENCE_KBPS]
    for label, coder, coded, edits, kbps in runs:
        coded = coded if kbps is None else coder.encode(clip, kbps=kbps)
        out = coder.decode(coded, edits)
        bps = coded.heard_bitrate(edits)  # a packet codec's: measured from its packets
        q = reconstruction_quality(clip, out)
        pesq = slow(clip, out, delay=q.delay_samples, metrics=("pesq",))
        err = mse(clip, out, q.delay_samples)
        row: dict[str, Any] = {"codec": label, "family": label.partition("@")[0], "kbps": round(bps / 1000, 3), "pesq": rounded(pesq.pesq, 3), "mse": float(f"{err:.4g}"),
               "si_sdr_db": rounded(q.si_sdr, 2)}
        exp.table.append(row)
        why = "" if pesq.pesq is not None else f" ({pesq.reason('pesq')})"
        exp.steps.append(Step(label, f"{label}: {row['kbps']:.2f} kbps, PESQ {fmt(row['pesq'], '.2f')}{why}, MSE {err:.3g}.", out,
                              edits if kbps is None else None))
    exp.conclusion = _medium_conclusion(exp.table, info.name)
    exp.series = ("pesq", "family")
    return exp


def _medium_conclusion(table: list[dict[str, Any]], name: str) -> str:
    ours = [r for r in table if r["codec"].startswith(name + "@")]
    refs = [r for r in table if not r["codec"].startswith(name + "@")]
    first, last = ours[0], ours[-1]
    text = (f"From {first['kbps']:.2f} to {last['kbps']:.2f} kbps, PESQ went from {fmt(first['pesq'], '.2f')} to "
            f"{fmt(last['pesq'], '.2f')} and MSE from {first['mse']:.3g} to {last['mse']:.3g}.")
    for ref in refs:
        near = min(ours, key=lambda r: abs(r["kbps"] - ref["kbps"]))
        if ref["pesq"] is not None and near["pesq"] is not None:
            better = ref["codec"] if ref["pesq"] > near["pesq"] else near["codec"]
            text += (f" {ref['codec']} at {ref['kbps']:.1f} kbps: PESQ {ref['pesq']:.2f} against {near['codec']}'s "
                     f"{near['pesq']:.2f} at {near['kbps']:.1f} kbps ({better} is better here).")
    return text


HARD_CODEBOOKS = (0, 7)


def exercise_hard(engines: list[Engine], clip: Clip) -> Experiment:
    """Exercise (hard): codebook 0 randomized against codebook 7 randomized, on each semantic codec."""
    exp = Experiment("exercise-hard", "Exercise (hard): codebook 0 or codebook 7 randomized, on "
                     + " and ".join(e.info.name for e in engines),
                     "Mimi and SpeechTokenizer distil their codebook 0 from a self-supervised speech model (WavLM, HuBERT): "
                     "it should carry the words. Randomize codebook 0, then codebook 7, and compare what each costs in "
                     "intelligibility (STOI) and quality (PESQ).", codecs=[e.describe() for e in engines])
    conclusions = []
    for engine in engines:
        info = engine.info
        enc = engine.encode(clip)
        base_out, base = _measured(engine, clip, enc, Edits(), pesq=True)
        rows = [{"codec": info.name, "randomized": "none", **base}]
        exp.steps.append(Step(f"{info.name} unchanged", f"{info.name} unchanged: STOI {base['stoi']:.2f}, "
                                                        f"PESQ {fmt(base['pesq'], '.2f')}.", base_out, Edits()))
        ks = sorted({min(k, enc.n_codebooks - 1) for k in HARD_CODEBOOKS})
        for k in ks:
            edits = Edits(randomize=frozenset({k}))
            out, m = _measured(engine, clip, enc, edits, pesq=True)
            rows.append({"codec": info.name, "randomized": f"codebook {k} ({info.role(k)})", **m})
            exp.steps.append(Step(f"{info.name} random {k}", f"{info.name}, codebook {k} ({info.role(k)}) randomized: "
                                                             f"STOI {m['stoi']:.2f}, PESQ {fmt(m['pesq'], '.2f')}.", out, edits))
        exp.table.extend(rows)
        if len(rows) == 3:
            conclusions.append(_semantic_conclusion(rows, info.name, bool(info.semantic_codebooks), ks[0], ks[1]))
    exp.conclusion = " ".join(conclusions)
    return exp


def run(name: str, engines: list[Engine], clip: Clip, other: Clip | None = None, keep: int = 1,
        reference: Engine | None = None) -> Experiment:
    """Experiment ``name`` (a key of :data:`EXPERIMENTS`) on ``clip``: ``engines[0]`` runs it, all of
    them for frame-rates; the transplant's clip B is ``other`` (default: the bundled German speech);
    the ladder's reference points come from ``reference`` (default: Opus, opened here)."""
    for engine in engines:
        if not engine.info.tokens:
            raise CodecError(f"{engine.info.spoken} has no tokens, and the experiments edit tokens: pick a token codec "
                             f"(the bitrate ladder shows {engine.info.spoken} beside it as a reference).")
    for c in (clip, other):
        if c is not None and c.duration < MIN_SECONDS:
            raise CodecError(f"The experiments need at least {MIN_SECONDS:g} s of audio to measure intelligibility; "
                             f"this clip is {c.duration:.2f} s. Choose a longer clip.")
    if name == "ladder":
        return bitrate_ladder(engines[0], clip, reference or _opus())
    if name == "semantic":
        return semantic_vs_acoustic(engines[0], clip)
    if name == "frame-rates":
        return frame_rates(engines, clip)
    if name == "exercise-easy":
        return exercise_easy(engines[0], clip)
    if name == "exercise-medium":
        return exercise_medium(engines[0], clip, reference or _opus())
    if name == "exercise-hard":
        return exercise_hard(engines, clip)
    if name == "transplant":
        from explorer.core.audio import load_audio
        from explorer.core.resources import resource

        return transplant(engines[0], clip, other or load_audio(resource("clips", "speech_de.wav")), keep)
    raise CodecError(f"Unknown experiment '{name}': choose one of {', '.join(EXPERIMENTS)}.")


def _opus() -> Engine:
    """The reference codec, opened for one experiment (libopus: no model, nothing to share with a thread)."""
    return open_engine(CodecChoice(REFERENCE_CODEC, device="cpu"))


MIN_SECONDS = 1.0
"""Shorter clips leave STOI without enough frames to tell one step from another."""

EXPERIMENTS = {
    "ladder": "Bitrate ladder: keep the first 1, 2, 4, 8, ... codebooks, beside Opus",
    "semantic": "Semantic vs acoustic: randomize codebook 0, then the last",
    "frame-rates": "Frame rates: tokens per second and sequence length per codec",
    "transplant": "Codebook transplant: A's first codebooks with B's others",
    "exercise-easy": "Exercise (easy): a toy residual quantizer, error against the number of stages (with rvq-lab)",
    "exercise-medium": "Exercise (medium): EnCodec at 1, 4, 8, 32 codebooks, PESQ and MSE against bitrate, Opus beside",
    "exercise-hard": "Exercise (hard): Mimi and SpeechTokenizer, codebook 0 randomized against codebook 7",
}

DEFAULT_CODECS = {
    "exercise-easy": ["rvq-lab"],
    "exercise-medium": ["encodec-24khz"],
    "exercise-hard": ["mimi", "speechtokenizer"],
}
"""The codecs an exercise names; the other experiments run on the codec chosen (frame-rates: on all)."""


def codecs_for(name: str, chosen: str, usable: list[str]) -> list[str]:
    """The codecs experiment ``name`` runs on in the window: ``chosen`` (the codec box's), all ``usable``
    ones for frame-rates, and for an exercise the codecs it names whose weights are here. The medium
    exercise falls back to ``chosen`` when EnCodec's weights are missing (its title names the codec);
    the hard one cannot: without Mimi or SpeechTokenizer there is no semantic codebook to randomize."""
    if name == "frame-rates":
        return usable
    wanted = [c for c in DEFAULT_CODECS.get(name, [chosen]) if c in usable]
    if wanted:
        return wanted
    if name == "exercise-hard":
        raise CodecError("The hard exercise needs Mimi's or SpeechTokenizer's weights, and neither is on this computer: "
                         "see Help > Getting weights.")
    return [chosen]


def run_named(engines: Engines, name: str, codecs: list[str], device: str, clip: Clip) -> Experiment:
    """:func:`run` with the codecs named ``codecs``, taken from ``engines`` on ``device`` (Opus, the ladder's
    reference, from ``engines`` too)."""
    reference = engines.named(REFERENCE_CODEC, "cpu") if name == "ladder" else None
    return run(name, [engines.named(c, device) for c in codecs], clip, reference=reference)


def narration(exp: Experiment) -> str:
    """The experiment as text: title, introduction, numbered steps, conclusion."""
    lines = [exp.title, "", exp.intro, ""] + [f"{i}. {step.narration}" for i, step in enumerate(exp.steps, 1)]
    return "\n".join(lines + ["", exp.conclusion, ""])


def write_experiment(exp: Experiment, folder: Path, inputs: Iterable[str | os.PathLike[str] | None] = ()) -> list[Path]:
    """Write the narration (``narration.txt``, ending with the provenance), the table (``table.csv``) and each
    step's sound, the table and each sound with its provenance sidecar; returns the files."""
    from explorer.core.audio import save_audio
    from explorer.core.output import prepare_folder, write_table, write_text

    inputs = list(inputs)
    prepare_folder(folder)
    record = exp.provenance()
    written = [folder / "narration.txt"]
    write_text(written[0], narration(exp) + "\n" + provenance_text(record), inputs)
    for i, step in enumerate(exp.steps, 1):
        if step.audio is not None:
            path = folder / f"{i:02d}-{''.join(ch if ch.isalnum() else '-' for ch in step.label).strip('-')}.wav"
            save_audio(path, step.audio, inputs=inputs)
            write_sidecar(path, exp.provenance([step]), inputs)
            written += [path, sidecar_path(path)]
    if exp.table:
        table = folder / "table.csv"
        write_table(table, exp.table, inputs=inputs)
        write_sidecar(table, record, inputs)
        written += [table, sidecar_path(table)]
    if exp.references:
        references = folder / "references.csv"
        write_table(references, exp.references, inputs=inputs)
        write_sidecar(references, record, inputs)
        written += [references, sidecar_path(references)]
    if exp.name == "ladder":
        from explorer.core.output import write_bytes
        from explorer.services.report import figure_png, ladder_figure

        write_bytes(folder / "ladder.png", figure_png(ladder_figure(exp.title, exp.table, exp.references)), inputs)
        written.append(folder / "ladder.png")
    return written
