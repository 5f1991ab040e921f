"""Several codecs on one clip: measured facts side by side (Qt-free; the CLI, window and tests share it)."""

from __future__ import annotations

import csv
import os
import time
from dataclasses import asdict, dataclass
from typing import Callable

from explorer.core.audio import Clip
from explorer.core.atomic import atomic_write
from explorer.core.engine import Encoding, Engine
from explorer.core.metrics import reconstruction_quality


@dataclass(frozen=True)
class CompareRow:
    """One codec's measured values on the clip; every number is computed here, none copied from docs."""

    codec: str
    sample_rate: int
    frame_rates_hz: str
    codebooks: int
    tokens_per_second: float
    bitrate_kbps: float
    si_sdr_db: float
    mel_distance: float
    stoi: float
    encode_seconds: float
    decode_seconds: float


@dataclass
class Compared:
    row: CompareRow
    encoding: Encoding
    reconstruction: Clip


def tokens_per_second(enc: Encoding) -> float:
    """Tokens a language model would see per second of audio: every code of every codebook."""
    return sum(len(c) for c in enc.codes) / enc.duration


def parse_spec(text: str) -> tuple[str, int | None]:
    """``NAME`` or ``NAME@CODEBOOKS`` (``rvq-lab@8``) as (name, codebooks or None)."""
    from explorer.core.errors import ExplorerError

    name, _, n = text.partition("@")
    try:
        return name, int(n) if n else None
    except ValueError:
        raise ExplorerError(f"'{text}': write a codec as NAME or NAME@CODEBOOKS, e.g. rvq-lab@8.") from None


def compare_one(engine: Engine, clip: Clip, n_codebooks: int | None = None) -> Compared:
    t = time.perf_counter()
    enc = engine.encode(clip, n_codebooks)
    t_enc = time.perf_counter() - t
    t = time.perf_counter()
    out = engine.decode(enc)
    t_dec = time.perf_counter() - t
    q = reconstruction_quality(clip, out)
    info = engine.info
    rates = sorted({round(info.sample_rate / (info.hop_length * info.stride(k)), 2) for k in range(enc.n_codebooks)}, reverse=True)
    row = CompareRow(
        codec=engine.info.name if n_codebooks is None else f"{engine.info.name}@{n_codebooks}",
        sample_rate=engine.info.sample_rate,
        frame_rates_hz="/".join(f"{r:g}" for r in rates),
        codebooks=enc.n_codebooks,
        tokens_per_second=round(tokens_per_second(enc), 2),
        bitrate_kbps=round(enc.bitrate / 1000, 3),
        si_sdr_db=round(q.si_sdr, 2),
        mel_distance=round(q.mel_distance, 4),
        stoi=round(q.stoi, 4),
        encode_seconds=round(t_enc, 3),
        decode_seconds=round(t_dec, 3),
    )
    return Compared(row, enc, out)


def compare(engines: list[tuple[Engine, int | None]], clip: Clip,
            progress: Callable[[int, int, str], None] | None = None) -> list[Compared]:
    """Encode and decode ``clip`` with each (engine, codebooks) and measure it."""
    out = []
    for i, (engine, n) in enumerate(engines):
        if progress:
            progress(i, len(engines), engine.info.name)
        out.append(compare_one(engine, clip, n))
    return out


def write_csv(rows: list[CompareRow], path: str | os.PathLike[str]) -> None:
    """One row per codec, with a header; written atomically."""
    fields = list(asdict(rows[0]).keys()) if rows else [f for f in CompareRow.__dataclass_fields__]
    with atomic_write(path) as tmp, open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        for r in rows:
            w.writerow(asdict(r))
