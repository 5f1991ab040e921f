"""Colour maps shared by the window and the reports: spectrogram levels and token-id colours."""

from __future__ import annotations

import colorsys

import numpy as np

from explorer.core.types import AnyArray, FloatArray

SPEC_LEVELS = (-90.0, -10.0)
# a perceptually ordered dark-to-bright map (black, purple, red, orange, pale yellow), interpolated
_STOPS = np.array([[0, 0, 4], [87, 16, 110], [188, 55, 84], [249, 142, 9], [252, 255, 164]], np.float64)


def colormap(values: FloatArray, lo: float, hi: float) -> AnyArray:
    """Map values to uint8 RGB through :data:`_STOPS`."""
    values = np.nan_to_num(values, nan=lo, posinf=hi, neginf=lo)
    t = np.clip((values - lo) / (hi - lo), 0, 1) * (len(_STOPS) - 1)
    i = np.minimum(t.astype(int), len(_STOPS) - 2)
    f = (t - i)[..., None]
    out: AnyArray = (_STOPS[i] * (1 - f) + _STOPS[i + 1] * f).astype(np.uint8)
    return out


def token_palette(size: int) -> AnyArray:
    """RGBA uint8 colours for token ids: hues spread by the golden ratio so neighbours differ."""
    golden = 0.618033988749895
    out = np.empty((size, 4), dtype=np.uint8)
    for i in range(size):
        h = (i * golden) % 1.0
        s = 0.45 + 0.35 * ((i * 7) % 5) / 4
        v = 0.55 + 0.4 * ((i * 3) % 4) / 3
        r, g, b = colorsys.hsv_to_rgb(h, s, v)
        out[i] = (int(r * 255), int(g * 255), int(b * 255), 255)
    return out


LAB_RANGES = ((38.0, 88.0), (-48.0, 48.0), (-36.0, 36.0))
"""Where the three principal components land in CIELAB: the first on lightness L*, the second on the
blue-yellow axis b*, the third on red-green a*. Lightness and blue-yellow survive the common colour
blindnesses (protanopia and deuteranopia confuse red with green) and a projector's washed-out
contrast, so the two strongest directions of the codebook never rely on red against green alone."""


def principal_scores(vectors: FloatArray, n: int = 3) -> AnyArray:
    """Each row of ``vectors`` (``[codes, dim]``) projected on its first ``n`` principal components
    (missing components, when ``dim`` or the rank is smaller, are zeros), largest variance first."""
    x = np.asarray(vectors, np.float64)
    x = x - x.mean(axis=0)
    cov = x.T @ x / max(1, len(x) - 1)
    values, axes = np.linalg.eigh(cov)
    order = np.argsort(values)[::-1][:n]
    scores = x @ axes[:, order]
    out = np.zeros((len(x), n))
    out[:, : scores.shape[1]] = scores
    return out


def similarity_lab(vectors: FloatArray) -> AnyArray:
    """CIELAB coordinates ``[codes, 3]`` of each codeword: its three principal components scaled by
    the spread of the first (so distances keep their proportions across the axes) into :data:`LAB_RANGES`.

    One scale for all three axes keeps the mapping close to an isometry: codewords whose contributions
    are near get near colours, far ones far colours.
    """
    scores = principal_scores(vectors)
    lo, hi = np.percentile(scores[:, 0], [2, 98]) if len(scores) else (0.0, 0.0)
    half = max(float(hi - lo) / 2, 1e-12)
    centre = np.median(scores, axis=0)
    out = np.empty_like(scores)
    for axis, (a, b) in enumerate(LAB_RANGES):
        t = np.clip((scores[:, axis] - centre[axis]) / half, -1.0, 1.0)
        out[:, axis] = (a + b) / 2 + t * (b - a) / 2
    return out


_XYZ_TO_LINEAR_SRGB = np.array([[3.2404542, -1.5371385, -0.4985314],
                                [-0.9692660, 1.8760108, 0.0415560],
                                [0.0556434, -0.2040259, 1.0572252]])
_D65 = np.array([0.95047, 1.0, 1.08883])


def _lab_to_linear_srgb(lab: AnyArray) -> AnyArray:
    """CIELAB (D65) to linear sRGB, ``[..., 3]`` (values outside 0..1: out of the sRGB gamut)."""
    fy = (lab[..., 0] + 16) / 116
    f = np.stack([fy + lab[..., 1] / 500, fy, fy - lab[..., 2] / 200], axis=-1)
    d = 6 / 29
    xyz = np.where(f > d, f ** 3, 3 * d * d * (f - 4 / 29)) * _D65
    out: AnyArray = xyz @ _XYZ_TO_LINEAR_SRGB.T
    return out


def lab_to_rgba(lab: FloatArray, steps: int = 16) -> AnyArray:
    """uint8 RGBA of CIELAB (D65) colours. A colour outside the sRGB gamut keeps its lightness and hue
    and loses chroma (its a*, b* scaled down, by bisection, until it fits), so lightness keeps its
    meaning. Vectorized: Mimi's 32 codebooks of 2048 codewords take milliseconds (ColorAide, which
    the tests check this against, converts one colour at a time: about 2 s for the same)."""
    lab = np.asarray(lab, np.float64)

    def fits(scale: AnyArray) -> AnyArray:
        rgb = _lab_to_linear_srgb(np.column_stack([lab[:, 0], lab[:, 1] * scale, lab[:, 2] * scale]))
        ok: AnyArray = np.all((rgb >= -1e-9) & (rgb <= 1 + 1e-9), axis=1)
        return ok

    lo: AnyArray = np.zeros(len(lab))  # the chroma scale that fits
    hi: AnyArray = np.ones(len(lab))  # and one that may not
    lo[fits(hi)] = 1.0
    for _ in range(steps):
        mid = (lo + hi) / 2
        ok = fits(mid) & (lo < 1.0)
        lo, hi = np.where(ok, mid, lo), np.where(ok | (lo == 1.0), hi, mid)
    rgb = np.clip(_lab_to_linear_srgb(np.column_stack([lab[:, 0], lab[:, 1] * lo, lab[:, 2] * lo])), 0, 1)
    srgb = np.where(rgb <= 0.0031308, 12.92 * rgb, 1.055 * rgb ** (1 / 2.4) - 0.055)
    out = np.full((len(lab), 4), 255, np.uint8)
    out[:, :3] = np.round(srgb * 255).astype(np.uint8)
    return out


def similarity_palette(vectors: FloatArray) -> AnyArray:
    """RGBA uint8 colours for a codebook's codewords (``[codes, dim]``): alike vectors, alike colours."""
    return lab_to_rgba(similarity_lab(vectors))
