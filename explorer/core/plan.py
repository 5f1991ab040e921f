"""How long audio is cut into blocks for encoding and decoding.

Two plans exist. The *context* plan (every codec but EnCodec 48 kHz) encodes blocks of
``chunk`` frames with ``context`` frames of audio on each side and keeps only the codes of the
middle; it decodes the same way and joins neighbouring blocks with a short linear crossfade, so
block borders neither click nor shift. A clip shorter than two blocks is one block: exactly what
the package computes. The *segment* plan reproduces EnCodec 48 kHz's own 1 s segments that
overlap by 1 % and are joined by a triangular overlap-add.

All decoded pieces are combined by :func:`overlap_add`: weighted sum, divided by the summed weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from explorer.core.types import FloatArray


@dataclass(frozen=True)
class EncodePiece:
    audio: tuple[int, int]
    """Samples ``[left, right)`` of the padded audio to encode."""
    skip: int
    """Samples between ``left`` and the first sample whose codes are kept."""
    length: int
    """Samples whose codes are kept."""


@dataclass(frozen=True)
class DecodePiece:
    frames: tuple[int, int]
    """Latent frames ``[left, right)`` to decode."""
    keep: tuple[int, int]
    """Samples ``[a, b)`` of the decoded block to use."""
    at: int
    """Output position of sample ``a``."""
    fade_in: int
    fade_out: int
    block: int
    """Which encoded block's side information applies."""
    triangle: int = 0
    """If non-zero, weight by EnCodec's triangle of this length instead of fades."""


def context_encode_plan(n_samples: int, chunk: int, context: int) -> list[EncodePiece]:
    """Blocks of ``chunk`` samples with ``context`` on each side (all multiples of the pad unit)."""
    if n_samples <= 2 * chunk:
        return [EncodePiece((0, n_samples), 0, n_samples)]
    pieces = []
    for start in range(0, n_samples, chunk):
        end = min(n_samples, start + chunk)
        left, right = max(0, start - context), min(n_samples, end + context)
        pieces.append(EncodePiece((left, right), start - left, end - start))
    return pieces


def context_decode_plan(n_frames: int, hop: int, chunk: int, context: int, fade: int) -> list[DecodePiece]:
    """Decode ``chunk`` latent frames at a time with ``context`` frames each side; ``fade`` samples crossfade."""
    if n_frames <= 2 * chunk:
        return [DecodePiece((0, n_frames), (0, n_frames * hop), 0, 0, 0, 0)]
    pieces = []
    half = fade // 2
    for start in range(0, n_frames, chunk):
        end = min(n_frames, start + chunk)
        left, right = max(0, start - context), min(n_frames, end + context)
        first, last = start == 0, end == n_frames
        a = (start - left) * hop - (0 if first else half)
        b = (end - left) * hop + (0 if last else fade - half)
        pieces.append(DecodePiece((left, right), (a, b), start * hop - (0 if first else half), 0 if first else fade, 0 if last else fade, 0))
    return pieces


def segment_decode_plan(frames: list[int], hop: int, stride: int) -> list[DecodePiece]:
    """EnCodec 48 kHz: one piece per segment, placed every ``stride`` samples, triangle-weighted."""
    pieces = []
    first = 0
    triangle = frames[0] * hop
    for i, n in enumerate(frames):
        pieces.append(DecodePiece((first, first + n), (0, n * hop), i * stride, 0, 0, i, triangle))
        first += n
    return pieces


def weights(piece: DecodePiece) -> FloatArray:
    """The weight of each kept sample of ``piece``."""
    n = piece.keep[1] - piece.keep[0]
    if piece.triangle:
        t = np.linspace(0.0, 1.0, piece.triangle + 2, dtype=np.float32)[1:-1]
        tri: FloatArray = (0.5 - np.abs(t - 0.5))[:n]
        return tri
    w = np.ones(n, dtype=np.float32)
    if piece.fade_in:
        w[: piece.fade_in] = (np.arange(piece.fade_in, dtype=np.float32) + 0.5) / piece.fade_in
    if piece.fade_out:
        w[n - piece.fade_out:] = (piece.fade_out - 0.5 - np.arange(piece.fade_out, dtype=np.float32)) / piece.fade_out
    return w


class OverlapAdd:
    """Accumulates weighted pieces into one ``[channels, n]`` buffer."""

    def __init__(self, channels: int, n: int) -> None:
        self.out = np.zeros((channels, n), dtype=np.float32)
        self.weight = np.zeros(n, dtype=np.float32)

    def add(self, piece: DecodePiece, audio: FloatArray) -> None:
        w = weights(piece)
        seg = audio[:, piece.keep[0]: piece.keep[1]]
        end = min(self.out.shape[1], piece.at + seg.shape[1])
        count = end - piece.at
        self.out[:, piece.at:end] += w[:count] * seg[:, :count]
        self.weight[piece.at:end] += w[:count]

    def result(self) -> FloatArray:
        out: FloatArray = self.out / np.maximum(self.weight, np.float32(1e-12))
        return out
