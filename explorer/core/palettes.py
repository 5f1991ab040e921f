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
