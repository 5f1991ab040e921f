"""Wide images for pyqtgraph: tiles under Qt's width limit, and the colour tables they are drawn with."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF

from explorer.core.types import AnyArray


@lru_cache(maxsize=4)
def lut(name: str) -> AnyArray:
    """A 256-entry lookup table from one of pyqtgraph's bundled colour maps."""
    table: AnyArray = pg.colormap.get(name).getLookupTable(0.0, 1.0, 256, alpha=False)
    return table


TILE = 8192
"""Widest image handed to Qt in one piece: Qt's raster engine crashes on images over 32767 pixels."""


class TiledImage:
    """One logical image ``[rows, columns(, 4)]`` drawn as image items of at most ``TILE`` columns."""

    def __init__(self, plot: pg.PlotItem) -> None:
        self.plot = plot
        self.items: list[pg.ImageItem] = []
        self.data: AnyArray | None = None

    def set(self, data: AnyArray, rect: QRectF, levels: tuple[float, float] | None, table: AnyArray | None = None) -> None:
        """Show ``data`` stretched over ``rect`` (x in seconds), with fixed ``levels`` (None for RGBA)."""
        self.data = data
        cols = data.shape[1]
        count = max(1, -(-cols // TILE))
        while len(self.items) < count:
            item = pg.ImageItem()
            self.plot.addItem(item)
            self.items.append(item)
        while len(self.items) > count:
            self.plot.removeItem(self.items.pop())
        per_col = rect.width() / max(1, cols)
        for i, item in enumerate(self.items):
            part = np.ascontiguousarray(data[:, i * TILE: (i + 1) * TILE])
            if levels is None:
                item.setImage(part, levels=None, autoLevels=False)
            else:
                item.setImage(part, levels=levels, lut=table, autoLevels=False)
            item.setRect(QRectF(rect.x() + i * TILE * per_col, rect.y(), part.shape[1] * per_col, rect.height()))

    def clear(self) -> None:
        for item in self.items:
            self.plot.removeItem(item)
        self.items = []
        self.data = None
