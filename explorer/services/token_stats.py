"""What each codebook adds to the latent: its energy over time, its share, and the RVQ curve.

A residual quantizer's codebook k codes what codebooks 0..k-1 left. The engine's per-codebook
contributions ``c_k(t)`` (:meth:`explorer.codecs.base.Codec.contributions`) sum to the quantized
latent ``L(t) = sum_k c_k(t)``; from them, without a second model pass:

* ``norm_k(t) = ||c_k(t)||``, one value per code of codebook k (the "energy" grid mode shows it in dB);
* ``energy_share[k] = sum_t ||c_k(t)||^2 / sum_j sum_t ||c_j(t)||^2`` (the shares add up to 1; the
  contributions are not orthogonal, so this is what each codebook adds, not what it explains);
* ``residual_after[k] = sum_t ||L(t) - sum_{j<=k} c_j(t)||^2 / sum_t ||L(t)||^2``: the part of the
  latent still missing after the first k+1 codebooks. A trained residual quantizer makes it fall with
  k (each stage removes some of what is left); the last value is 0 by definition.

The latent is walked in blocks of frames, so a long clip never holds every contribution at once.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from explorer.core.metrics import codebook_stats
from explorer.core.palettes import colormap, similarity_palette
from explorer.core.types import AnyArray, FloatArray
from explorer.services.engine import Encoding, Engine

BLOCK_BYTES = 64 << 20
"""About how much memory one block of contributions and their running sums may take."""


@dataclass(frozen=True)
class Energy:
    """Per-codebook energy of an encoding's contributions (see the module's docstring)."""

    norms: list[AnyArray]
    """``||c_k||`` at each code of codebook k (SNAC's coarse codebooks: one value per code)."""
    share: AnyArray
    residual_after: AnyArray

    def db(self, k: int, floor: float = -100.0) -> FloatArray:
        """Codebook ``k``'s norms in dB (20 log10), with ``floor`` for a zero contribution (a muted code)."""
        n = self.norms[k]
        with np.errstate(divide="ignore"):
            db: FloatArray = np.maximum(20 * np.log10(n), floor).astype(np.float32)
        return db


def block_frames(engine: Engine, enc: Encoding) -> int:
    """Latent frames per block: a multiple of the coarsest code's frames, within :data:`BLOCK_BYTES`."""
    unit = max(1, engine.info.pad_multiple // engine.info.hop_length)
    probe = engine.contributions(enc, 0, min(enc.latent_frames, unit))
    k, dim, _ = probe.shape
    frames = max(unit, BLOCK_BYTES // max(1, 3 * k * dim * 8))
    return max(unit, frames // unit * unit)


def energy(engine: Engine, enc: Encoding, curve: bool = True) -> Energy:
    """The :class:`Energy` of ``enc``'s contributions, computed block by block; without ``curve`` (the
    grid's energy colours) only the norms, in single precision, and share and residual are NaN."""
    info = engine.info
    n = enc.n_codebooks
    step = block_frames(engine, enc)
    norms2: list[list[FloatArray]] = [[] for _ in range(n)]
    added = np.zeros(n)
    missing = np.zeros(n)
    total = 0.0
    for first in range(0, enc.latent_frames, step):
        last = min(enc.latent_frames, first + step)
        c = engine.contributions(enc, first, last)  # [K, D, t]
        c = c.to(torch.float64) if curve else c
        per_frame = (c * c).sum(dim=1)  # [K, t]
        for k in range(n):
            s = info.stride(k)
            norms2[k].append(per_frame[k, ::s].numpy())
        if not curve:
            continue
        added += per_frame.sum(dim=1).numpy()
        partial = torch.cumsum(c, dim=0)
        latent = partial[-1]
        total += float((latent * latent).sum())
        missing += ((latent[None] - partial) ** 2).sum(dim=(1, 2)).numpy()
    norms = [np.sqrt(np.concatenate(r))[: len(enc.codes[k])] for k, r in enumerate(norms2)]
    share = added / added.sum() if curve and added.sum() > 0 else np.full(n, math.nan)
    residual = missing / total if total > 0 else np.full(n, math.nan)
    return Energy(norms, share, residual)


def per_codebook(engine: Engine, enc: Encoding) -> list[dict[str, Any]]:
    """One row per codebook: entropy, utilization, bitrate, energy share and residual after it (the
    ``stats`` command's rows; a value that cannot be computed, an all-silent latent's share, is None)."""
    e = energy(engine, enc)
    stats = codebook_stats(enc.codes, engine.info.codebook_size, enc.duration)

    def value(x: float) -> float | None:
        return None if not math.isfinite(x) else round(float(x), 6)

    return [{"index": k, "role": engine.info.role(k), "entropy_bits": round(s.entropy_bits, 4),
             "utilization": round(s.utilization, 4), "bitrate": round(s.bitrate, 2),
             "energy_share": value(e.share[k]), "residual_after": value(e.residual_after[k])}
            for k, s in enumerate(stats)]


VECTOR_NOTES = {
    "snac": "each code's vector after its codebook's output projection (8 to the decoder's width), the same "
            "over all the latent frames its scale's code covers",
    "mimi": "each code's vector through its quantizer's output projection (256 to 512 dimensions): codebook 0 "
            "through the semantic quantizer's, the others through the acoustic one's, so the two kinds are not "
            "on one scale",
    "dac": "each code's vector after its codebook's output projection (8 to 1024 dimensions)",
    "encodec": "each code's codeword (128 dimensions): EnCodec adds codewords as they are",
    "speechtokenizer": "each code's codeword (1024 dimensions), added as it is",
    "rvq-lab": "each code's codeword in its own part of the latent: the 22 envelope values for codebook 0, "
               "its slice of normalized MDCT bins for a residual stage",
}
"""What the similarity colours' vectors are, per family: the hover text says it."""

_PALETTES: "weakref.WeakKeyDictionary[Engine, list[AnyArray]]" = weakref.WeakKeyDictionary()


def similarity_palettes(engine: Engine) -> list[AnyArray]:
    """Each codebook's similarity colours (:func:`explorer.core.palettes.similarity_palette` of its
    :meth:`Engine.codeword_vectors`), computed once per loaded model."""
    if engine not in _PALETTES:
        _PALETTES[engine] = [similarity_palette(engine.codeword_vectors(k)) for k in range(engine.info.max_codebooks)]
    return _PALETTES[engine]


@dataclass(frozen=True)
class GridColours:
    """What the token grid's "similarity" and "energy" modes draw, computed off the GUI thread."""

    palettes: list[AnyArray]
    """RGBA uint8 ``[codebook_size, 4]`` per codebook."""
    energy_db: list[FloatArray]
    """``20 log10 ||c_k||`` at each code of codebook k."""
    vectors: str
    """What the vectors behind the similarity colours are (:data:`VECTOR_NOTES`)."""
    similarity_cells: list[AnyArray]
    """Each codebook's cells in their similarity colours, RGBA ``[codes, 4]``."""
    energy_cells: list[AnyArray]
    """Each codebook's cells coloured by energy on :attr:`energy_levels`, RGBA ``[codes, 4]``."""
    energy_levels: tuple[float, float]
    """The energy colours' scale in dB: the loudest cell, and :data:`ENERGY_RANGE_DB` below it."""


ENERGY_RANGE_DB = 60.0
"""The energy mode's scale: the loudest cell's level down to this many dB below it, one scale for all rows."""


def grid_colours(engine: Engine, enc: Encoding) -> GridColours:
    """The grid's similarity palettes, per-cell energies, and both modes' cell colours for ``enc``: made
    here, off the GUI thread, so switching a long clip's grid to either mode only redraws it."""
    e = energy(engine, enc, curve=False)
    palettes = similarity_palettes(engine)[: enc.n_codebooks]
    db = [e.db(k) for k in range(enc.n_codebooks)]
    top = max((float(np.max(d)) for d in db if d.size), default=0.0)
    levels = (top - ENERGY_RANGE_DB, top)
    energy_cells: list[AnyArray] = []
    for d in db:
        rgba = np.full((len(d), 4), 255, np.uint8)
        rgba[:, :3] = colormap(d, *levels)
        energy_cells.append(rgba)
    return GridColours(palettes, db, VECTOR_NOTES.get(engine.info.family, "each code's contribution to the latent"),
                       [palettes[k][enc.codes[k]] for k in range(enc.n_codebooks)], energy_cells, levels)
