"""The two spectrogram rows of the time views: the original above, the reconstruction (or the
difference) below, on the views' one time axis, each with its colour bar.

The worker computes the spectrograms (dB, linear frequency bins); this module only draws them: on a
linear, log or mel frequency axis (:func:`explorer.core.spectrogram.remap`, the axis labelled in Hz
at round frequencies) and over a chosen dB range below a fixed top. The difference row keeps its
own diverging scale (red: the reconstruction is louder, blue: quieter).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF

from explorer.core.palettes import SPEC_LEVELS
from explorer.core.spectrogram import FREQUENCY_SCALES, frequency_ticks, remap
from explorer.core.types import FloatArray
from explorer.ui.tiled_image import TiledImage, lut

TOP_DB = SPEC_LEVELS[1]
"""The loudest level the spectrograms' colours show; the range chosen reaches down from it."""
DEFAULT_RANGE = round(SPEC_LEVELS[1] - SPEC_LEVELS[0])
"""The reports' range (80 dB), so the window and the comparison picture read alike until changed."""
DB_RANGES = (60, 80, 100, 120)
DIFF_LEVELS = (-30.0, 30.0)
HOP = 256
"""The worker's spectrogram hop, in samples at the clip's rate."""


class SpectrogramRows:
    """Two X-linked spectrogram plots at rows ``row`` and ``row + 1`` of ``layout``, colour bars beside them."""

    def __init__(self, layout: pg.GraphicsLayout, row: int, view_box: type[pg.ViewBox] = pg.ViewBox) -> None:
        self.top = layout.addPlot(row=row, col=0, viewBox=view_box())
        self.bottom = layout.addPlot(row=row + 1, col=0, viewBox=view_box())
        self.images = (TiledImage(self.top), TiledImage(self.bottom))
        self.bars = (pg.ColorBarItem(values=(TOP_DB - DEFAULT_RANGE, TOP_DB), colorMap="inferno", interactive=False, width=12),
                     pg.ColorBarItem(values=(TOP_DB - DEFAULT_RANGE, TOP_DB), colorMap="inferno", interactive=False, width=12))
        for i, (plot, bar) in enumerate(zip((self.top, self.bottom), self.bars)):
            layout.addItem(bar, row=row + i, col=1)
            plot.setLabel("left", "Hz")
        self.scale = "linear"
        self.range_db = DEFAULT_RANGE
        self.second = "reconstruction"
        self._spectra: dict[str, FloatArray] = {}
        self._rate = 1
        self._drawn: list[tuple[object, ...] | None] = [None, None]
        """What each row last drew: (spectrogram, scale, levels, rate), and in :attr:`_drawn_data` its array."""
        self._drawn_data: list[FloatArray | None] = [None, None]

    @property
    def levels(self) -> tuple[float, float]:
        return TOP_DB - self.range_db, TOP_DB

    def show(self, spectra: dict[str, FloatArray], rate: int) -> None:
        """Draw ``spectra`` (original, and reconstruction and difference once there is one) of a clip at ``rate``."""
        self._spectra, self._rate = spectra, rate
        self.redraw()

    def set_second(self, which: str) -> None:
        """The lower row shows the reconstruction or the difference."""
        self.second = which
        self.redraw()

    def set_scale(self, scale: str) -> None:
        if scale not in FREQUENCY_SCALES:
            raise ValueError(scale)
        self.scale = scale
        self.redraw()

    def set_range(self, range_db: int) -> None:
        self.range_db = int(range_db)
        self.redraw()

    def redraw(self) -> None:
        """Draw each row whose data, scale or levels changed since it was last drawn (a new reconstruction
        redraws the lower row only: the original's image is kept)."""
        nyquist = self._rate / 2
        for i, name in enumerate(("original", self.second)):
            plot, image, bar = (self.top, self.bottom)[i], self.images[i], self.bars[i]
            difference = name == "difference"
            levels = DIFF_LEVELS if difference else self.levels
            data = self._spectra.get(name)
            drawn = (name, self.scale, levels, self._rate)
            if self._drawn[i] == drawn and self._drawn_data[i] is data:  # the array itself, kept: never a reused id
                continue
            self._drawn[i], self._drawn_data[i] = drawn, data
            cmap = "CET-D1" if difference else "inferno"
            plot.setTitle(name, size="8pt", color="#c0c4cc", justify="left")
            bar.setColorMap(pg.colormap.get(cmap))
            bar.setLevels(levels)
            if data is None:
                image.clear()
                continue
            shown = remap(data, nyquist, self.scale)
            duration = data.shape[0] * HOP / self._rate
            image.set(np.ascontiguousarray(shown.T), QRectF(0, 0, duration, nyquist), levels, lut(cmap))
            plot.getAxis("left").setTicks([[(pos * nyquist, label) for pos, label in frequency_ticks(self.scale, nyquist)]])
            plot.setYRange(0, nyquist, padding=0)  # the whole band of the clip's own rate
