"""Several codecs on one clip: measured facts side by side (Qt-free; the CLI, window and tests share it).

A codec is named ``NAME`` or ``NAME@N``: N codebooks for a token codec, N kbps for Opus (a packet
codec has no codebooks; its bitrate is its setting). Every bitrate in a row is measured, Opus's from
its packets' sizes; a token count that does not apply (Opus has no tokens) is n/a, never 0.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable, Iterable, Mapping

from explorer.codecs.base import CodecInfo
from explorer.codecs.registry import entry
from explorer.core.output import write_table
from explorer.core.audio import Clip
from explorer.core.edits import Edits
from explorer.core.provenance import provenance, write_sidecar
from explorer.services.engine import Encoding, Engine, Progress, report, within
from explorer.services.session import Engines
from explorer.core.metrics import Quality, reconstruction_quality, rounded
from explorer.core.perceptual import SlowQuality
from explorer.services import scoring


@dataclass(frozen=True)
class CompareRow:
    """One codec's measured values on the clip; every number is computed here, none copied from docs."""

    codec: str
    sample_rate: int
    frame_rates_hz: str
    codebooks: int
    tokens_per_second: float | None
    """None for a codec without tokens (Opus)."""
    bitrate_kbps: float
    si_sdr_db: float | None
    mel_distance: float | None
    stoi: float | None
    pesq: float | None
    pesq_nb: float | None
    visqol: float | None
    encode_seconds: float
    decode_seconds: float


@dataclass
class Compared:
    row: CompareRow
    encoding: Encoding
    reconstruction: Clip
    quality: Quality
    slow: SlowQuality

    def reasons(self) -> dict[str, str]:
        """Why each metric column of :attr:`row` that is None does not apply, by column key."""
        columns = {"si_sdr_db": self.quality.reason("si_sdr"), "mel_distance": self.quality.reason("mel_distance"),
                   "stoi": self.quality.reason("stoi"), **{k: self.slow.reason(k) for k in ("pesq", "pesq_nb", "visqol")}}
        if self.row.tokens_per_second is None:
            columns["tokens_per_second"] = f"{self.encoding.info.spoken} has no tokens: it codes the waveform in packets"
        return {column: why for column, why in columns.items() if why}

    def note_lines(self) -> list[str]:
        """One line per metric that does not apply (:meth:`Noted.note_lines` of both sets of metrics)."""
        return self.quality.note_lines() + self.slow.note_lines()


COLUMN_LABELS = {
    "key": "key", "codec": "codec", "sample_rate": "sample rate (Hz)", "frame_rates_hz": "frame rate (Hz)",
    "codebooks": "codebooks", "tokens_per_second": "tokens/s", "bitrate_kbps": "bitrate (kbps)", "kbps": "kbps heard",
    "si_sdr_db": "SI-SDR (dB)", "mel_distance": "mel distance", "stoi": "STOI", "pesq": "PESQ (wide band)",
    "pesq_nb": "PESQ (narrow band)", "visqol": "ViSQOL", "encode_seconds": "encode (s)",
    "decode_seconds": "decode (s)", "randomized": "randomized", "tokens": "tokens", "si_sdr_vs_a_db": "SI-SDR vs A (dB)",
    "si_sdr_vs_b_db": "SI-SDR vs B (dB)", "stoi_vs_a": "STOI vs A", "stoi_vs_b": "STOI vs B",
    "tokens_in_10s": "tokens in 10 s", "frames_in_10s": "frames in 10 s", "bits_per_code": "bits per code",
    "nominal_kbps": "nominal kbps", "snr_db": "SNR (dB)", "mse": "MSE", "stages": "stages", "quantizer": "quantizer",
    "family": "codec",
}
"""How a reader sees the columns of the comparison's and the experiments' tables (the CSV files keep the keys)."""


def column_label(key: str) -> str:
    """``si_sdr_db`` as ``SI-SDR (dB)``: :data:`COLUMN_LABELS`, or the key with spaces for underscores."""
    return COLUMN_LABELS.get(key, key.replace("_", " "))


def frame_rates_text(info: CodecInfo, n_codebooks: int) -> str:
    """``75``, ``12.5`` or SNAC 24 kHz's ``46.88/23.44/11.72``: the first ``n_codebooks``' frame rates in Hz
    (a packet codec's packets per second: Opus's ``50``)."""
    rates = info.frame_rates(n_codebooks) if info.tokens else [info.latent_frame_rate]
    return "/".join(f"{round(r, 2):g}" for r in rates)


def tokens_per_second(enc: Encoding) -> float:
    """Tokens a language model would see per second of audio: every code of every codebook."""
    return sum(len(c) for c in enc.codes) / enc.duration


def parse_spec(text: str) -> tuple[str, int | None]:
    """``NAME`` or ``NAME@N`` (``rvq-lab@8``, ``opus@12``) as (name, N or None): N is codebooks, or Opus's kbps."""
    from explorer.core.errors import ExplorerError

    name, _, n = text.partition("@")
    try:
        return name, int(n) if n else None
    except ValueError:
        raise ExplorerError(f"'{text}': write a codec as NAME or NAME@N (codebooks, or kbps for Opus), "
                            "e.g. rvq-lab@8 or opus@12.") from None


def check_spec(spec: tuple[str, int | None]) -> tuple[str, int | None]:
    """``spec`` if its codec exists and, for Opus, its kbps is in range: refused before any codec loads."""
    name, n = spec
    info = entry(name).info()
    if not info.tokens:
        info.kbps_setting(n)
    return spec


SCORING_SHARE = 0.2
"""The share of :func:`compare_one`'s progress given to measuring: encoding and decoding share the rest."""


def compare_one(engine: Engine, clip: Clip, n_codebooks: int | None = None, speech: bool | None = None,
                progress: Progress | None = None) -> Compared:
    """Encode and decode ``clip`` with ``engine`` and measure everything (``speech``: see :func:`slow_quality`);
    ``n_codebooks`` is the kbps setting for a packet codec (Opus).

    ``progress`` hears of the encode, the decode and the measuring in turn; its answering False cancels.
    """
    coded = (1 - SCORING_SHARE) / 2
    t = time.perf_counter()
    tokens = engine.info.tokens
    enc = engine.encode(clip, n_codebooks if tokens else None, within(progress, 0.0, coded),
                        kbps=None if tokens else n_codebooks)
    t_enc = time.perf_counter() - t
    t = time.perf_counter()
    out = engine.decode(enc, progress=within(progress, coded, 2 * coded))
    t_dec = time.perf_counter() - t
    report(progress, 2 * coded, f"Measuring {engine.info.name}")
    q = reconstruction_quality(clip, out)
    slow = scoring.slow(clip, out, speech, q.delay_samples)
    row = CompareRow(
        codec=engine.info.name if n_codebooks is None else f"{engine.info.name}@{n_codebooks}",
        sample_rate=engine.info.sample_rate,
        frame_rates_hz=frame_rates_text(engine.info, enc.n_codebooks),
        codebooks=enc.n_codebooks,
        tokens_per_second=round(tokens_per_second(enc), 2) if tokens else None,
        bitrate_kbps=round(enc.bitrate / 1000, 3),
        si_sdr_db=rounded(q.si_sdr, 2),
        mel_distance=rounded(q.mel_distance, 4),
        stoi=rounded(q.stoi, 4),
        pesq=rounded(slow.pesq, 3),
        pesq_nb=rounded(slow.pesq_nb, 3),
        visqol=rounded(slow.visqol, 3),
        encode_seconds=round(t_enc, 3),
        decode_seconds=round(t_dec, 3),
    )
    return Compared(row, enc, out, q, slow)


def compare(engines: list[tuple[Engine, int | None]], clip: Clip,
            progress: Callable[[int, int, str], None] | None = None, speech: bool | None = None) -> list[Compared]:
    """Encode and decode ``clip`` with each (engine, codebooks) and measure it (:func:`compare_one`)."""
    out = []
    for i, (engine, n) in enumerate(engines):
        if progress:
            progress(i, len(engines), engine.info.name)
        out.append(compare_one(engine, clip, n, speech))
    return out


def compare_named(engines: Engines, specs: list[tuple[str, int | None]], device: str, clip: Clip) -> list[Compared]:
    """:func:`compare` with the codecs named in ``specs`` (name, codebooks), taken from ``engines`` on ``device``."""
    return compare([(engines.named(name, device), n) for name, n in specs], clip)


def comparison_provenance(results: list[Compared]) -> dict[str, Any]:
    """The comparison's provenance record: every codec compared, each decoded without edits."""
    return provenance([r.encoding.source for r in results if r.encoding.source is not None], [Edits()])


def write_csv(rows: list[CompareRow], path: str | os.PathLike[str], inputs: Iterable[str | os.PathLike[str] | None] = (),
              record: Mapping[str, Any] | None = None) -> None:
    """One row per codec, with a header (a metric that does not apply is an empty cell), by the output policy;
    with ``record`` (:func:`comparison_provenance`), its provenance sidecar beside it."""
    inputs = list(inputs)
    write_table(path, [asdict(r) for r in rows], list(CompareRow.__dataclass_fields__), inputs)
    if record is not None:
        write_sidecar(path, record, inputs)
