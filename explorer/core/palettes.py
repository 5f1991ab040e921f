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


def lab_to_rgba(lab: FloatArray) -> AnyArray:
    """uint8 RGBA of CIELAB (D65) colours, brought into the sRGB gamut by reducing chroma at constant
    lightness and hue (ColorAide's ``lch-chroma`` gamut mapping), so lightness keeps its meaning."""
    from coloraide import Color

    out = np.empty((len(lab), 4), np.uint8)
    for i, (l_, a, b) in enumerate(np.asarray(lab, np.float64)):
        rgb = Color("lab-d65", [l_, a, b]).convert("srgb").fit("srgb", method="lch-chroma").coords()
        out[i, :3] = np.clip(np.round(np.array(rgb) * 255), 0, 255)
        out[i, 3] = 255
    return out


def similarity_palette(vectors: FloatArray) -> AnyArray:
    """RGBA uint8 colours for a codebook's codewords (``[codes, dim]``): alike vectors, alike colours."""
    return lab_to_rgba(similarity_lab(vectors))


def delta_e(lab1: FloatArray, lab2: FloatArray) -> float:
    """CIEDE2000 colour difference between two CIELAB colours (what the eye sees as different)."""
    from coloraide import Color

    return float(Color("lab-d65", list(map(float, lab1))).delta_e(Color("lab-d65", list(map(float, lab2))), method="2000"))


def rgba_to_lab(rgba: AnyArray) -> AnyArray:
    """CIELAB (D65) of uint8 RGBA colours: what a palette's colours are, after gamut mapping."""
    from coloraide import Color

    return np.array([Color("srgb", [c / 255 for c in px[:3]]).convert("lab-d65").coords() for px in rgba], np.float64)
