"""What the token grid and the codebook panel show, extracted from an encoding as plain numpy."""

from __future__ import annotations

from dataclasses import dataclass

from explorer.codecs.base import CodecInfo
from explorer.core.engine import Encoding
from explorer.core.metrics import CodebookStats
from explorer.core.types import AnyArray, IntArray


@dataclass(frozen=True)
class GridData:
    info: CodecInfo
    codes: list[IntArray]
    times: list[AnyArray]
    step: list[float]
    stats: list[CodebookStats]
    duration: float
    bitrate: float
    notes: tuple[str, ...]

    @classmethod
    def of(cls, enc: Encoding, stats: list[CodebookStats]) -> "GridData":
        info = enc.info
        return cls(
            info=info,
            codes=[c.copy() for c in enc.codes],
            times=[enc.frame_times(k) for k in range(enc.n_codebooks)],
            step=[info.hop_length * info.stride(k) / info.sample_rate for k in range(enc.n_codebooks)],
            stats=stats,
            duration=enc.duration,
            bitrate=enc.bitrate,
            notes=enc.notes,
        )

    @property
    def n_codebooks(self) -> int:
        return len(self.codes)
