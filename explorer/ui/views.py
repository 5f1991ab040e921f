"""The plots on one time axis: waveform, spectrogram, token grid; and the colour tables they use.

pyqtgraph fast path (see STYLE.md): images are row-major float32 or uint8 RGBA, spectrograms get
fixed levels and a 256-entry lookup table, token grids are mapped through a precomputed palette and
drawn as one image item per frame rate (SNAC's scales), with ``setRect`` so axes read in seconds.
"""

from __future__ import annotations

import colorsys

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor

from explorer.core.edits import Edits, frame_span
from explorer.core.spectrogram import FLOOR_DB, spectrogram_db
from explorer.core.types import FloatArray
from explorer.ui.grid_data import GridData

pg.setConfigOptions(imageAxisOrder="row-major", antialias=False)

SPECTRO_LEVELS = (FLOOR_DB + 20, 0.0)
DIFF_LEVELS = (-30.0, 30.0)


def token_palette(size: int) -> np.ndarray:
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


def lut(name: str) -> np.ndarray:
    return pg.colormap.get(name).getLookupTable(0.0, 1.0, 256, alpha=False)


class Playhead(pg.InfiniteLine):
    def __init__(self, width: int = 2) -> None:
        super().__init__(pos=0, angle=90, movable=False, pen=pg.mkPen(QColor(255, 80, 80), width=width))


class TimeViews(pg.GraphicsLayoutWidget):
    """Waveform, spectrogram and token grid, X-linked, with one playhead across all three."""

    def __init__(self) -> None:
        super().__init__()
        self.setBackground("#16181d")
        self.wave = self.addPlot(row=0, col=0)
        self.spec = self.addPlot(row=1, col=0)
        self.grid = self.addPlot(row=2, col=0)
        for plot, label in ((self.wave, "amplitude"), (self.spec, "Hz"), (self.grid, "codebook")):
            plot.setLabel("left", label)
            plot.showGrid(x=False, y=False)
            plot.setMenuEnabled(False)
            plot.getAxis("left").setWidth(64)
            plot.getAxis("left").enableAutoSIPrefix(False)
        self.grid.setLabel("bottom", "time", units="s")
        self.spec.setXLink(self.wave)
        self.grid.setXLink(self.wave)
        for plot in (self.wave, self.spec, self.grid):
            plot.getViewBox().setMouseEnabled(x=True, y=False)
        self.ci.layout.setRowStretchFactor(0, 2)
        self.ci.layout.setRowStretchFactor(1, 3)
        self.ci.layout.setRowStretchFactor(2, 4)
        self.recon_curve = self.wave.plot(pen=pg.mkPen(QColor(224, 175, 104, 170), width=1))
        self.original_curve = self.wave.plot(pen=pg.mkPen(QColor(122, 162, 247, 200), width=1))
        for curve in (self.original_curve, self.recon_curve):
            curve.setDownsampling(auto=True, method="peak")
            curve.setClipToView(True)
        self.wave.addLegend(offset=(-10, 2), labelTextSize="8pt").addItem(self.original_curve, "original")
        self.wave.legend.addItem(self.recon_curve, "reconstruction")
        self.spec_image = pg.ImageItem(autoDownsample=True)
        self.spec.addItem(self.spec_image)
        self.grid_images: list[pg.ImageItem] = []
        self.loop_region = pg.LinearRegionItem(values=(0, 1), brush=QColor(120, 160, 255, 40))
        self.loop_region.setZValue(-5)
        self.wave.addItem(self.loop_region)
        self.loop_region.hide()
        self.playheads = [Playhead() for _ in range(3)]
        for plot, line in zip((self.wave, self.spec, self.grid), self.playheads):
            plot.addItem(line)
        self.spec_mode = "original"
        self._spectra: dict[str, FloatArray] = {}
        self._rate = 1
        self._grid: GridData | None = None
        self._palette = token_palette(16)

    # ------------------------------------------------------------ waveform and spectrogram
    def show_audio(self, original: FloatArray | None, reconstruction: FloatArray | None, rate: int) -> None:
        self._rate = rate
        if original is not None:
            t = np.arange(original.shape[1], dtype=np.float32) / rate
            self.original_curve.setData(t, original.mean(axis=0))
            self._spectra = {"original": spectrogram_db(original, rate)}
            self.wave.setXRange(0, original.shape[1] / rate, padding=0)
        if reconstruction is not None:
            t = np.arange(reconstruction.shape[1], dtype=np.float32) / rate
            self.recon_curve.setData(t, reconstruction.mean(axis=0))
            self._spectra["reconstruction"] = spectrogram_db(reconstruction, rate)
            orig = self._spectra["original"]
            n = min(len(orig), len(self._spectra["reconstruction"]))
            self._spectra["difference"] = np.ascontiguousarray(self._spectra["reconstruction"][:n] - orig[:n])
        self.set_spec_mode(self.spec_mode)

    def set_spec_mode(self, mode: str) -> None:
        self.spec_mode = mode
        data = self._spectra.get(mode)
        if data is None:
            return
        levels = DIFF_LEVELS if mode == "difference" else SPECTRO_LEVELS
        self.spec_image.setImage(np.ascontiguousarray(data.T), levels=levels, lut=lut("RdBu_r" if mode == "difference" else "inferno"), autoLevels=False)
        duration = data.shape[0] * 256 / self._rate
        self.spec_image.setRect(QRectF(0, 0, duration, self._rate / 2))
        self.spec.setYRange(0, min(self._rate / 2, 12000), padding=0)

    # ------------------------------------------------------------ token grid
    def show_grid(self, grid: GridData, edits: Edits) -> None:
        self._grid = grid
        if len(self._palette) != grid.info.codebook_size:
            self._palette = token_palette(grid.info.codebook_size)
        for item in self.grid_images:
            self.grid.removeItem(item)
        self.grid_images = []
        n = grid.n_codebooks
        for k in range(n):
            item = pg.ImageItem(autoDownsample=True)
            self.grid.addItem(item)
            self.grid_images.append(item)
        self.mark_edits(edits)
        self.grid.setYRange(0, n, padding=0)
        axis = self.grid.getAxis("left")
        ticks = [(n - k - 0.5, f"{k}" + (" sem" if k in grid.info.semantic_codebooks else "")) for k in range(n)]
        axis.setTicks([ticks[:: max(1, n // 16)], ticks])

    def mark_edits(self, edits: Edits) -> None:
        """Redraw the grid's cells: muted or unheard cells dimmed, randomized cells tinted."""
        grid = self._grid
        if grid is None:
            return
        n = grid.n_codebooks
        for k, item in enumerate(self.grid_images):
            rgba = self._palette[grid.codes[k]][None].copy()
            span = frame_span(edits, grid.times[k])
            if not edits.heard(k):
                rgba[0, span, :3] = (rgba[0, span, :3] * 0.18).astype(np.uint8)
            if k in edits.randomize:
                rgba[0, span, 0] = 255
                rgba[0, span, 2] = (rgba[0, span, 2] // 2 + 120).astype(np.uint8)
            item.setImage(rgba, levels=None, autoLevels=False)
            width = len(grid.codes[k]) * grid.step[k]
            if grid.info.segment is not None:
                width = grid.duration
            item.setRect(QRectF(0, n - k - 1, width, 1))

    def cell_at(self, x: float, y: float) -> str | None:
        """The hover text for the grid cell at time ``x`` s and row coordinate ``y``."""
        grid = self._grid
        if grid is None or not 0 <= y < grid.n_codebooks:
            return None
        k = grid.n_codebooks - 1 - int(y)
        times = grid.times[k]
        if x < 0 or len(times) == 0:
            return None
        f = int(np.searchsorted(times, x, side="right")) - 1
        if f < 0 or f >= len(times):
            return None
        return f"codebook {k} ({grid.info.role(k)}) · frame {f} · {times[f]:.3f} s · token {grid.codes[k][f]}"

    def set_playhead(self, seconds: float) -> None:
        for line in self.playheads:
            line.setPos(seconds)
