"""What the token grid and the codebook panel show, extracted from an encoding as plain numpy.

A codec without tokens (Opus) gives a grid of no codebooks; it keeps its packet count and measured
bitrate, so the views can say in one line why there is nothing to draw (:meth:`GridData.no_tokens`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from explorer.codecs.base import CodecInfo
from explorer.core.edits import Edits, heard_bitrate
from explorer.services.engine import Encoding, packet_ms
from explorer.core.metrics import CodebookStats
from explorer.core.types import AnyArray, IntArray
from explorer.services.token_stats import GridColours


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
    packets: int = 0
    """A packet codec's packet count (0 for token codecs, and live, where packets are not counted)."""
    colours: GridColours | None = None
    """The similarity palettes and per-cell energies (None: not computed, live mode and Opus)."""

    @classmethod
    def of(cls, enc: Encoding, stats: list[CodebookStats], colours: GridColours | None = None) -> "GridData":
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
            packets=len(enc.packets.data) if enc.packets is not None else 0,
            colours=colours,
        )

    @classmethod
    def live(cls, info: CodecInfo, n_codebooks: int) -> "GridData":
        """What the codebook panel shows in live mode: the roles and nominal bitrates, no tokens yet."""
        stats = [CodebookStats(math.nan, math.nan, c.bitrate) for c in info.codebooks(n_codebooks)]
        empty: list[IntArray] = [np.zeros(0, np.int64) for _ in range(n_codebooks)]
        step = [info.hop_length * info.stride(k) / info.sample_rate for k in range(n_codebooks)]
        return cls(info, empty, [np.zeros(0) for _ in range(n_codebooks)], step, stats, 0.0,
                   sum(st.bitrate for st in stats), ("live",))

    @property
    def n_codebooks(self) -> int:
        return len(self.codes)

    def no_tokens(self) -> str:
        """Why a codec without tokens shows no grid, in one line ('' for a token codec): with the packets
        and the measured bitrate once there is an encoding."""
        info = self.info
        if info.tokens:
            return ""
        text = f"{info.spoken} has no tokens: it codes the waveform in {packet_ms(info)} ms packets"
        return text + (f" ({self.packets} packets, measured {self.bitrate / 1000:.2f} kbps)" if self.packets else "")

    def heard_bitrate(self, edits: Edits) -> float:
        """Bits per second of the codebooks ``edits`` lets through (muted and unkept ones cost nothing);
        a codec without tokens: its measured bitrate."""
        if not self.info.tokens:
            return self.bitrate
        return heard_bitrate([s.bitrate for s in self.stats], edits)
