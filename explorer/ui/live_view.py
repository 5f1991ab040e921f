"""Live mode's scrolling views: input and reconstruction spectrograms over the token grid.

Each view keeps a ring twice its visible width and writes every new column at ``j`` and ``j + N``
(friture's spectrogram image), so the last N columns are always the one contiguous slice
``[j + 1, j + 1 + N)``: no ``np.roll`` per frame. Columns are written when data arrives; the images
are set on the window's draw timer, only when something changed. Only the GUI thread touches them.

A codec without tokens (Opus) scrolls its two spectrograms and, in place of the grid, says in one
line that it has none.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF

from explorer.services.live_run import ViewChunk
from explorer.codecs.base import CodecInfo
from explorer.core.types import AnyArray
from explorer.core.edits import Edits
from explorer.core.palettes import token_palette
from explorer.ui.grid_data import GridData
from explorer.ui.tiled_image import lut
from explorer.core.palettes import SPEC_LEVELS as SPECTRO_LEVELS
from explorer.ui.views import mark_cells

WINDOW_SECONDS = 8.0
SKIPPED = np.array([60, 60, 60, 255], np.uint8)
"""Grey for frames dropped because compute fell behind."""


class ScrollRing:
    """The newest ``width`` columns of ``[rows, columns(, 4)]`` data, written twice for a contiguous view."""

    def __init__(self, rows: int, width: int, fill: float | int, channels: tuple[int, ...] = (), dtype: type = np.float32) -> None:
        self.width = width
        self.data: AnyArray = np.full((rows, 2 * width, *channels), fill, dtype=dtype)
        self.written = 0
        self.dirty = True

    def write(self, columns: AnyArray) -> None:
        """Append ``[rows, n(, 4)]`` columns (only the newest ``width`` of them matter)."""
        n = columns.shape[1]
        if n > self.width:
            self.written += n - self.width
            columns = columns[:, n - self.width:]
            n = self.width
        pos = self.written % self.width
        first = min(n, self.width - pos)
        for offset in (0, self.width):
            self.data[:, pos + offset: pos + offset + first] = columns[:, :first]
        rest = n - first
        if rest:
            for offset in (0, self.width):
                self.data[:, offset: offset + rest] = columns[:, first:]
        self.written += n
        self.dirty = True

    def visible(self) -> AnyArray:
        """The newest ``width`` columns, oldest first: a view, never a copy."""
        pos = self.written % self.width
        return self.data[:, pos: pos + self.width]


class LiveViews(pg.GraphicsLayoutWidget):
    """The last :data:`WINDOW_SECONDS` of input and reconstruction spectrograms and the token grid."""

    def __init__(self) -> None:
        super().__init__()
        self.setBackground("#16181d")
        self.spec_in = self.addPlot(row=0, col=0, title="input")
        self.spec_out = self.addPlot(row=1, col=0, title="reconstruction")
        self.grid = self.addPlot(row=2, col=0)
        for plot, label in ((self.spec_in, "Hz"), (self.spec_out, "Hz"), (self.grid, "codebook")):
            plot.setLabel("left", label)
            plot.setMenuEnabled(False)
            plot.setMouseEnabled(x=False, y=False)
            plot.getAxis("left").setWidth(64)
            plot.getAxis("left").enableAutoSIPrefix(False)
        self.grid.setLabel("bottom", "seconds ago")
        self.spec_out.setXLink(self.spec_in)
        self.grid.setXLink(self.spec_in)
        self.ci.layout.setRowStretchFactor(2, 2)
        self.images = {name: pg.ImageItem() for name in ("in", "out", "grid")}
        for plot, name in ((self.spec_in, "in"), (self.spec_out, "out"), (self.grid, "grid")):
            plot.addItem(self.images[name])
        self.info: CodecInfo | None = None
        self.rings: dict[str, ScrollRing] = {}
        self.no_tokens = pg.TextItem("", color=(220, 220, 220), anchor=(0, 0))
        self.no_tokens.setParentItem(self.grid.getViewBox())
        self.no_tokens.setPos(8, 8)
        self.no_tokens.hide()

    def start(self, info: CodecInfo, n_codebooks: int, hop: int) -> None:
        """Clear the views for a live run of ``info``'s codec (``hop``: samples per finest frame)."""
        self.info = info
        self.n = n_codebooks
        self.palette = token_palette(info.codebook_size)
        rate = info.sample_rate
        spec_cols = int(WINDOW_SECONDS * rate / 256)
        frames = int(WINDOW_SECONDS * rate / hop)
        self.frame_seconds = hop / rate
        self.rings = {
            "in": ScrollRing(257, spec_cols, SPECTRO_LEVELS[0]),
            "out": ScrollRing(257, spec_cols, SPECTRO_LEVELS[0]),
        }
        if info.tokens:
            self.rings["grid"] = ScrollRing(n_codebooks, frames, 0, (4,), np.uint8)
            self.rings["grid"].data[..., 3] = 255
        self.images["grid"].setVisible(info.tokens)
        self.no_tokens.setText(GridData.live(info, n_codebooks).no_tokens())
        self.no_tokens.setVisible(not info.tokens)
        self.grid.setLabel("left", "codebook" if info.tokens else "")
        span = spec_cols * 256 / rate
        self.rects = {"in": QRectF(-span, 0, span, rate / 2), "out": QRectF(-span, 0, span, rate / 2),
                      "grid": QRectF(-frames * self.frame_seconds, 0, frames * self.frame_seconds, n_codebooks)}
        for name in ("in", "out"):
            self.images[name].setLookupTable(lut("inferno"))
        for plot in (self.spec_in, self.spec_out):
            plot.setYRange(0, min(rate / 2, 12000), padding=0)
        self.spec_in.setXRange(-WINDOW_SECONDS, 0, padding=0)
        self.grid.setYRange(0, max(n_codebooks, 1), padding=0)
        ticks = [(n_codebooks - k - 0.5, f"{k}" + (" sem" if k in info.semantic_codebooks else "")) for k in range(n_codebooks)]
        self.grid.getAxis("left").setTicks([ticks[:: max(1, n_codebooks // 16)], ticks])
        self.draw()

    def add(self, chunk: ViewChunk) -> None:
        """Write a chunk's columns into the rings (drawn on the next :meth:`draw`)."""
        if not self.rings:
            return
        for name, cols in (("in", chunk.input_db), ("out", chunk.output_db)):
            if len(cols):
                self.rings[name].write(cols.T)
        if chunk.codes and "grid" in self.rings:
            self.rings["grid"].write(self._cells(chunk.codes, chunk.edits))

    def add_all(self, chunks: list[ViewChunk]) -> None:
        for chunk in chunks:
            self.add(chunk)

    def _cells(self, codes: list[AnyArray], edits: Edits) -> AnyArray:
        """RGBA cells ``[codebooks (top = 0), frames, 4]``; coarse codebooks (SNAC) repeat over their stride."""
        assert self.info is not None
        width = len(codes[0]) * self.info.stride(0)
        out = np.empty((self.n, width, 4), np.uint8)
        for k, row in enumerate(codes):
            stride = self.info.stride(k)
            rgba = self.palette[np.maximum(row, 0)]
            mark_cells(rgba, k, edits, slice(None))
            rgba[row < 0] = SKIPPED
            out[self.n - 1 - k] = np.repeat(rgba, stride, axis=0)[:width]
        return out

    def draw(self) -> None:
        """Set the images whose rings changed (GUI timer)."""
        for name, ring in self.rings.items():
            if ring.dirty:
                ring.dirty = False
                levels = None if name == "grid" else SPECTRO_LEVELS
                self.images[name].setImage(ring.visible(), levels=levels, autoLevels=False)
                self.images[name].setRect(self.rects[name])

    @property
    def columns(self) -> int:
        """Token frames shown so far (for tests and the status line)."""
        return self.rings["grid"].written if "grid" in self.rings else 0
