"""Per-codebook edits as plain, immutable data, and the pure functions that apply them.

An :class:`Edits` value says which codebooks are muted, soloed or randomized, how many to keep
(the bitrate ladder), with which seed, and optionally over which time range; and which single
cells were painted (:class:`Paint`: muted, randomized or set to one token id, by code frame).
Applying it never touches a model: :func:`edited_codes` swaps in seeded random codes and painted
ids, :func:`gains` says per code frame whether a codebook's contribution to the latent is heard
(1) or removed (0).

Paint is applied after the codebook edits, stroke by stroke in order: a painted id replaces the
code (a randomized cell takes the code that randomizing its whole codebook would give it), and a
painted mute removes the cell's contribution whatever is painted over it later.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Annotated, Any, Literal, Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from explorer.core.types import AnyArray, FloatArray, IntArray
from explorer.core.errors import CodecError

MAX_SEED = 2**63 - 1
"""Seeds run from 0 to 2**63 - 1 (what torch's and numpy's generators both take)."""
MAX_CODEBOOK = 63
MAX_PAINT = 100_000
"""Painted runs one edit may hold (a stroke across every cell of a 32-codebook, 10-minute clip is 32 runs)."""
MAX_FRAME = 2**40
PAINT_ACTIONS = ("mute", "randomize", "set")

_Codebook = Annotated[int, Field(strict=True, ge=0, le=MAX_CODEBOOK)]
Seconds = Annotated[float, Field(ge=0.0, allow_inf_nan=False)]


_Frame = Annotated[int, Field(strict=True, ge=0, le=MAX_FRAME)]


class PaintSchema(BaseModel):
    """One painted run as stored: codebook, its code frames ``first`` to ``last`` (exclusive), what was done."""

    model_config = ConfigDict(extra="forbid")
    codebook: _Codebook
    first: _Frame
    last: _Frame
    action: Literal["mute", "randomize", "set"]
    token: Annotated[int, Field(strict=True, ge=0)] | None = None

    @model_validator(mode="after")
    def _whole(self) -> "PaintSchema":
        if self.last <= self.first:
            raise ValueError("a painted run must end after its first frame")
        if (self.action == "set") != (self.token is not None):
            raise ValueError("a painted 'set' names its token id, and only a 'set' does")
        return self


class EditsSchema(BaseModel):
    """The edits as stored in token and session files: strict types and ranges."""

    model_config = ConfigDict(extra="forbid")
    mute: list[_Codebook] = []
    solo: list[_Codebook] = []
    randomize: list[_Codebook] = []
    keep: Annotated[int, Field(strict=True, ge=1)] | None = None
    seed: Annotated[int, Field(strict=True, ge=0, le=MAX_SEED)] = 0
    start: Seconds | None = None
    end: Seconds | None = None
    paint: Annotated[list[PaintSchema], Field(max_length=MAX_PAINT)] = []


@dataclass(frozen=True)
class Paint:
    """Codebook ``codebook``'s code frames ``first`` to ``last`` (exclusive, in that codebook's own frames:
    SNAC's coarse scales have fewer) muted, randomized, or set to ``token``."""

    codebook: int
    first: int
    last: int
    action: str
    token: int | None = None

    def __post_init__(self) -> None:
        if self.action not in PAINT_ACTIONS:
            raise CodecError(f"A painted cell is muted, randomized or set; '{self.action}' is none of these.")
        if not 0 <= self.first < self.last:
            raise CodecError(f"A painted run must cover at least one frame; got frames {self.first} to {self.last}.")
        if (self.action == "set") != (self.token is not None):
            raise CodecError("A painted 'set' names the token id it sets (and only a 'set' does).")

    @property
    def frames(self) -> slice:
        return slice(self.first, self.last)


@dataclass(frozen=True)
class Edits:
    """What to change, by codebook index (0-based), optionally between ``start`` and ``end`` seconds."""

    mute: frozenset[int] = field(default_factory=frozenset)
    solo: frozenset[int] = field(default_factory=frozenset)
    randomize: frozenset[int] = field(default_factory=frozenset)
    keep: int | None = None
    seed: int = 0
    start: float | None = None
    end: float | None = None
    paint: tuple[Paint, ...] = ()
    """Painted cells, in the order they were painted."""

    def __post_init__(self) -> None:
        for name in ("mute", "solo", "randomize"):
            object.__setattr__(self, name, frozenset(int(k) for k in getattr(self, name)))
        object.__setattr__(self, "paint", tuple(self.paint))
        if len(self.paint) > MAX_PAINT:
            raise CodecError(f"An edit holds at most {MAX_PAINT} painted runs; this one has {len(self.paint)}.")
        if self.keep is not None and self.keep < 1:
            raise CodecError(f"keep must be at least 1 codebook; got {self.keep}.")
        if not 0 <= self.seed <= MAX_SEED:
            raise CodecError(f"The seed must be a whole number from 0 to {MAX_SEED}; got {self.seed}.")
        for name in ("start", "end"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value >= 0):
                raise CodecError(f"The edit range's {name} must be a time of 0 s or more; got {value}.")
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise CodecError(f"The edit range must end after it starts; got {self.start} s to {self.end} s.")

    @property
    def is_identity(self) -> bool:
        return not (self.mute or self.solo or self.randomize or self.keep is not None or self.paint)

    @property
    def replaces_codes(self) -> bool:
        """Whether any code is swapped (randomized or painted with another id), not only silenced."""
        return bool(self.randomize) or any(p.action != "mute" for p in self.paint)

    def heard(self, k: int) -> bool:
        """Whether codebook ``k`` contributes inside the edit range."""
        if k in self.mute:
            return False
        if self.solo and k not in self.solo:
            return False
        return self.keep is None or k < self.keep

    def check(self, n_codebooks: int, duration: float | None = None, rows: Sequence[int] = (),
              size: int | None = None) -> None:
        """Raise a clear error if an edit names a codebook the encoding does not have, or its time
        range starts after the clip (``duration`` seconds) ends, or a painted run lies outside its
        codebook's ``rows`` (code frames per codebook) or sets an id the codebooks (of ``size``) lack."""
        for p in self.paint:
            if p.codebook >= n_codebooks:
                raise CodecError(f"A painted cell is in codebook {p.codebook}, which this encoding does not have "
                                 f"(it has codebooks 0 to {n_codebooks - 1}).")
            if rows and p.last > rows[p.codebook]:
                raise CodecError(f"A painted run in codebook {p.codebook} reaches frame {p.last - 1}; that codebook has "
                                 f"frames 0 to {rows[p.codebook] - 1} in this encoding.")
            if size is not None and p.token is not None and p.token >= size:
                raise CodecError(f"A painted cell is set to token {p.token}; this codec's codebooks hold ids 0 to {size - 1}.")
        named = self.mute | self.solo | self.randomize
        bad = sorted(k for k in named if not 0 <= k < n_codebooks)
        if bad:
            raise CodecError(f"Codebook {bad[0]} does not exist: this encoding has codebooks 0 to {n_codebooks - 1}.")
        if duration is not None and self.start is not None and self.start >= duration and not self.is_identity:
            raise CodecError(f"The edit range starts at {self.start:g} s, after the clip ends ({duration:.2f} s); "
                             "choose a start inside the clip.")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for name in ("mute", "solo", "randomize"):
            d[name] = sorted(d[name])
        d["paint"] = [{k: v for k, v in asdict(p).items() if v is not None} for p in self.paint]
        return d

    @classmethod
    def from_dict(cls, d: Any) -> "Edits":
        """Edits from their stored form, validated by :class:`EditsSchema` (a clear error, never a traceback)."""
        if not isinstance(d, dict):
            raise CodecError(f"Edits must be a JSON object; got {type(d).__name__}.")
        try:
            v = EditsSchema.model_validate(d)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(x) for x in err["loc"]) or "edits"
            raise CodecError(f"Invalid edit {where}: {err['msg']}.") from None
        return cls(mute=frozenset(v.mute), solo=frozenset(v.solo), randomize=frozenset(v.randomize),
                   keep=v.keep, seed=v.seed, start=v.start, end=v.end,
                   paint=tuple(Paint(p.codebook, p.first, p.last, p.action, p.token) for p in v.paint))


def heard_bitrate(bitrates: Sequence[float], edits: Edits) -> float:
    """Bits per second of the codebooks ``edits`` lets through (muted and unkept ones cost nothing),
    given each codebook's own bitrate."""
    return float(sum(rate for k, rate in enumerate(bitrates) if edits.heard(k)))


def frame_span(edits: Edits, times: AnyArray) -> slice:
    """The code frames, given their start ``times`` in seconds, that the edit range touches."""
    first = 0 if edits.start is None else max(0, int(np.searchsorted(times, edits.start, side="right")) - 1)
    last = len(times) if edits.end is None else int(np.searchsorted(times, edits.end, side="left"))
    return slice(first, max(first, last))


def random_codes(seed: int, codebook: int, n_frames: int, size: int, first_frame: int | None = None) -> IntArray:
    """Uniform random codes for one codebook row; the same (seed, codebook) always gives the same row.

    A stream that does not know its length asks block by block with the block's ``first_frame``:
    the same (seed, codebook, first_frame) always gives the same block.
    """
    key = [seed, codebook] if first_frame is None else [seed, codebook, first_frame]
    return np.random.default_rng(key).integers(0, size, n_frames, dtype=np.int64)


def edited_codes(codes: list[IntArray], edits: Edits, times: list[AnyArray], size: int) -> list[IntArray]:
    """``codes`` with each randomized codebook's frames in the edit range replaced by random codes, then
    the painted ids and randomized cells swapped in, in the order they were painted."""
    out = []
    for k, row in enumerate(codes):
        painted = [p for p in edits.paint if p.codebook == k and p.action != "mute"]
        if k in edits.randomize or painted:
            row = row.copy()
            noise = random_codes(edits.seed, k, len(row), size)  # cheap next to a decode, even on a long clip
            if k in edits.randomize:
                span = frame_span(edits, times[k])
                row[span] = noise[span]
            for p in painted:
                row[p.frames] = noise[p.frames] if p.action == "randomize" else int(p.token or 0)
        out.append(row)
    return out


def gains(edits: Edits, times: list[AnyArray]) -> list[FloatArray]:
    """Per codebook, per code frame: 1.0 where its contribution is heard, 0.0 where removed."""
    out: list[FloatArray] = []
    for k, t in enumerate(times):
        g = np.ones(len(t), dtype=np.float32)
        if not edits.heard(k):
            g[frame_span(edits, t)] = 0.0
        for p in edits.paint:
            if p.codebook == k and p.action == "mute":
                g[p.frames] = 0.0
        out.append(g)
    return out
