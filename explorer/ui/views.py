"""The plots on one time axis: waveform, spectrogram, token grid; and the colour tables they use.

pyqtgraph fast path (see STYLE.md): images are row-major float32 or uint8 RGBA, spectrograms get
fixed levels and a 256-entry lookup table, token grids are mapped through a precomputed palette and
drawn as one image item per frame rate (SNAC's scales), with ``setRect`` so axes read in seconds.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor

from explorer.core.edits import Edits, frame_span
from explorer.core.palettes import colormap, token_palette
from explorer.core.types import AnyArray, FloatArray
from explorer.ui.grid_data import GridData
from explorer.ui.painting import PaintTool
from explorer.ui.selection import DragViewBox, SelectionRegions
from explorer.ui.spectrograms import SpectrogramRows
from explorer.ui.tiled_image import TiledImage
from explorer.ui.worker import Spectra

pg.setConfigOptions(imageAxisOrder="row-major", antialias=False)

GRID_MODES = ("ids", "similarity", "energy")
"""The token grid's colourings: by token id, by what each code adds (alike colours, alike contributions),
by the energy each cell adds to the latent."""
LEGENDS = {
    "ids": "colour: token id (neighbouring ids differ on purpose; equal colours are equal tokens)",
    "similarity": "colour: what the code adds to the latent: alike colours, alike contributions "
                  "(lightness: the codebook's 1st principal component, blue-yellow: 2nd, red-green: 3rd)",
    "energy": "colour: how much each cell adds to the latent, ‖contribution‖ in dB (scale at the right)",
}



def dim(rgba: AnyArray, span: slice) -> None:
    rgba[span, :3] = (rgba[span, :3] * 0.18).astype(np.uint8)


def tint(rgba: AnyArray, span: slice) -> None:
    rgba[span, 0] = 255
    rgba[span, 2] = (rgba[span, 2] // 2 + 120).astype(np.uint8)


def mark_cells(rgba: AnyArray, k: int, edits: Edits, span: slice, palette: AnyArray | None = None) -> None:
    """Show codebook ``k``'s edits on its cells ``rgba``: the codebook edits on ``span`` (the edit range),
    then the painted runs. Dimmed: not heard; magenta: randomized; a painted id in its own colour from
    ``palette`` (the mode's colours of codebook k's ids; None: the cell keeps its colour)."""
    if not edits.heard(k):
        dim(rgba, span)
    if k in edits.randomize:
        tint(rgba, span)
    for p in edits.paint:
        if p.codebook != k:
            continue
        if p.action == "randomize":
            tint(rgba, p.frames)
        elif p.action == "set" and palette is not None and p.token is not None and p.token < len(palette):
            rgba[p.frames] = palette[p.token]
    for p in edits.paint:  # a painted mute silences whatever was painted over it
        if p.codebook == k and p.action == "mute":
            dim(rgba, p.frames)


class Playhead(pg.InfiniteLine):
    """The playhead: drawn over everything in its plot (the spectrogram and grid images included)."""

    def __init__(self, width: int = 2) -> None:
        super().__init__(pos=0, angle=90, movable=False, pen=pg.mkPen(QColor(255, 80, 80), width=width))
        self.setZValue(100)


class TimeViews(pg.GraphicsLayoutWidget):
    """Waveform, spectrogram and token grid, X-linked, with one playhead across all three.

    The pointer is announced, not acted on: :attr:`hovered` (the grid cell under it), :attr:`seek_requested`
    (a left click on any plot), and :attr:`occurrences_shown` (a click on a grid cell outlines where else
    its token occurs; the sentence says so).
    """

    hovered = Signal(str)
    seek_requested = Signal(float)
    occurrences_shown = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self.setBackground("#16181d")
        self.wave = self.addPlot(row=0, col=0, viewBox=DragViewBox())
        self.spectrograms = SpectrogramRows(self.ci, 1, DragViewBox)
        self.spec, self.spec2 = self.spectrograms.top, self.spectrograms.bottom
        self.grid = self.addPlot(row=3, col=0, viewBox=DragViewBox())
        for plot, label in ((self.wave, "amplitude"), (self.spec, "Hz"), (self.spec2, "Hz"), (self.grid, "codebook")):
            plot.setLabel("left", label)
            plot.showGrid(x=False, y=False)
            plot.setMenuEnabled(False)
            plot.getAxis("left").setWidth(64)
            plot.getAxis("left").enableAutoSIPrefix(False)
        self.grid.setLabel("bottom", "time (s)")  # seconds at every zoom, as the other views say
        for plot in (self.spec, self.spec2, self.grid):
            plot.setXLink(self.wave)
        for plot in self.plots:
            plot.getViewBox().setMouseEnabled(x=True, y=False)
        for row, stretch in enumerate((2, 2, 2, 4)):
            self.ci.layout.setRowStretchFactor(row, stretch)
        self.original_curve = self.wave.plot(pen=pg.mkPen(QColor(122, 162, 247, 150), width=1))
        self.recon_curve = self.wave.plot(pen=pg.mkPen(QColor(240, 180, 90, 190), width=1))
        for curve in (self.original_curve, self.recon_curve):
            curve.setDownsampling(auto=True, method="peak")
            curve.setClipToView(True)
        self.wave.addLegend(offset=(-10, 2), labelTextSize="8pt").addItem(self.original_curve, "original")
        self.wave.legend.addItem(self.recon_curve, "reconstruction")
        self.spec_image = self.spectrograms.images[0]
        self.grid_images: list[TiledImage] = []
        self.selection = SelectionRegions(self.plots)
        self.paint_tool = PaintTool(self.grid, self.cells_rect)
        for plot in self.plots:
            plot.getViewBox().handler = partial(self._drag, plot.getViewBox())
        self.playheads = [Playhead() for _ in range(4)]
        for plot, line in zip(self.plots, self.playheads):
            plot.addItem(line)
        self.spec_mode = "original"
        self._spectra: dict[str, FloatArray] = {}
        self._seconds = 0.0  # the clip's length
        self._grid: GridData | None = None
        self._palette = token_palette(16)
        self._groups: list[list[int]] = []
        self.grid_mode = "ids"
        self._edits = Edits()
        self._base: dict[str, list[AnyArray]] = {}
        """Each mode's cell colours per codebook before the edits' marks, made once per grid (a mode
        switch on a long clip only re-marks and redraws)."""
        self.grid_legend, self.energy_bar = self._add_grid_legend()
        self.occurrences = pg.ScatterPlotItem(size=7, pen=pg.mkPen("w", width=1.5), brush=None, symbol="s")
        self.occurrences.setZValue(10)
        self.grid.addItem(self.occurrences)
        self.no_tokens = pg.TextItem("", color=(220, 220, 220), anchor=(0, 0))
        """The one line a codec without tokens (Opus) shows in place of its grid: a child of the view box,
        so it stays in the corner however the time axis is zoomed or panned."""
        self.no_tokens.setParentItem(self.grid.getViewBox())
        self.no_tokens.setPos(8, 8)
        self.no_tokens.hide()
        self.scene().sigMouseMoved.connect(self._hover)
        self.scene().sigMouseClicked.connect(self._clicked)

    def _add_grid_legend(self) -> tuple[pg.LabelItem, pg.GradientLegend]:
        """A line under the grid saying what its colours mean, and the energy mode's scale bar (hidden)."""
        legend = pg.LabelItem(LEGENDS["ids"], size="8pt", color="#c0c4cc", justify="left")
        self.addItem(legend, row=4, col=0)
        bar = pg.GradientLegend((12, 90), (-8, 8))
        bar.setParentItem(self.grid.getViewBox())
        bar.hide()
        return legend, bar

    def _drag(self, view: pg.ViewBox, ev: Any) -> bool:
        """A left drag: paint on the grid while the paint tool is on, else select a time range."""
        grid = self._grid
        if view is self.grid.getViewBox() and grid is not None and grid.info.tokens:
            if self.paint_tool.drag(view, ev, grid.times, grid.step):
                return True
        return self.selection.drag(view, ev)

    def cells_rect(self, k: int, first: int, last: int) -> QRectF:
        """The grid rectangle of codebook ``k``'s frames ``first`` to ``last`` (exclusive)."""
        grid = self._grid
        if grid is None or not 0 <= first < last <= len(grid.times[k]):
            return QRectF()
        t = grid.times[k]
        n = grid.n_codebooks
        return QRectF(float(t[first]), n - 1 - k, float(t[last - 1] + grid.step[k] - t[first]), 1.0)

    @property
    def plots(self) -> tuple[pg.PlotItem, ...]:
        """The four time plots, top to bottom: waveform, two spectrograms, token grid."""
        return self.wave, self.spec, self.spec2, self.grid

    # ------------------------------------------------------------ waveform and spectrogram
    def show_audio(self, original: FloatArray | None, reconstruction: FloatArray | None, rate: int, spectra: Spectra) -> None:
        """Show waveforms (either may be None: unchanged) and the spectrograms computed by the worker."""
        if original is not None:
            self._seconds = original.shape[1] / rate
            t = np.arange(original.shape[1], dtype=np.float32) / rate
            self.original_curve.setData(t, original.mean(axis=0))
            self.recon_curve.setData([], [])
            self.wave.setXRange(0, original.shape[1] / rate, padding=0)
        if reconstruction is not None:
            t = np.arange(reconstruction.shape[1], dtype=np.float32) / rate
            self.recon_curve.setData(t, reconstruction.mean(axis=0))
        self._spectra = {"original": spectra.original}
        if spectra.reconstruction is not None and spectra.difference is not None:
            self._spectra.update(reconstruction=spectra.reconstruction, difference=spectra.difference)
        self.spectrograms.show(self._spectra, rate)

    def set_spec_mode(self, mode: str) -> None:
        """The spectrogram setting of the session (original, reconstruction or difference): the original is
        always the upper row; the lower one shows the difference for "difference", else the reconstruction."""
        self.spec_mode = mode
        self.spectrograms.set_second("difference" if mode == "difference" else "reconstruction")

    # ------------------------------------------------------------ token grid
    def show_grid(self, grid: GridData, edits: Edits) -> None:
        """Draw ``grid``'s tokens under ``edits``; for a codec without tokens, say so in one line instead."""
        self._grid = grid
        self.occurrences.clear()
        self.no_tokens.setText(grid.no_tokens())
        self.no_tokens.setVisible(not grid.info.tokens)
        self.grid.setLabel("left", "codebook" if grid.info.tokens else "")
        if len(self._palette) != grid.info.codebook_size and grid.info.tokens:
            self._palette = token_palette(grid.info.codebook_size)
        for image in self.grid_images:
            image.clear()
        n = grid.n_codebooks
        self._groups = []
        for k in range(n):
            if self._groups and grid.info.stride(k) == grid.info.stride(self._groups[-1][-1]):
                self._groups[-1].append(k)
            else:
                self._groups.append([k])
        self.grid_images = [TiledImage(self.grid) for _ in self._groups]
        self.mark_edits(edits)
        self._show_legend()
        self.grid.setYRange(0, max(n, 1), padding=0)
        axis = self.grid.getAxis("left")
        ticks = [(n - k - 0.5, f"{k}" + (" sem" if k in grid.info.semantic_codebooks else "")) for k in range(n)]
        axis.setTicks([ticks[:: max(1, n // 16)], ticks])

    def row_rgba(self, k: int) -> AnyArray:
        """The colours codebook ``k``'s row is drawn with, ``[frames, 4]``."""
        for group, image in zip(self._groups, self.grid_images):
            if k in group and image.data is not None:
                row: AnyArray = image.data[len(group) - 1 - group.index(k)]
                return row
        raise IndexError(k)

    def mark_edits(self, edits: Edits) -> None:
        """Redraw the grid: one image per run of codebooks with one frame rate (SNAC: per scale).

        Cells whose codebook is not heard are dimmed, randomized cells are tinted magenta.
        """
        grid = self._grid
        if grid is None:
            return
        n = grid.n_codebooks
        base = self._cells(grid)
        self._edits = edits
        for group, image in zip(self._groups, self.grid_images):
            rows = []
            for k in reversed(group):
                rgba = base[k].copy()
                mark_cells(rgba, k, edits, frame_span(edits, grid.times[k]), self._painted_palette(k))
                rows.append(rgba)
            k = group[0]
            width = grid.duration if grid.info.segment is not None else len(grid.codes[k]) * grid.step[k]
            image.set(np.stack(rows), QRectF(0, n - 1 - group[-1], width, len(group)), None)
        self.paint_tool.show_painted(edits.paint)

    def _painted_palette(self, k: int) -> AnyArray | None:
        """The colours a painted id takes in codebook ``k`` in the current mode (None: energy, which has none)."""
        grid = self._grid
        mode = self.grid_mode if grid is not None and grid.colours is not None else "ids"
        if mode == "similarity" and grid is not None and grid.colours is not None:
            return grid.colours.palettes[k]
        return self._palette if mode == "ids" else None

    def _cells(self, grid: GridData) -> list[AnyArray]:
        """The cells' colours in :attr:`grid_mode`, per codebook, before the edits' marks (cached)."""
        mode = self.grid_mode if grid.colours is not None else "ids"
        if mode not in self._base:
            if mode == "similarity" and grid.colours is not None:
                cells = grid.colours.similarity_cells
            elif mode == "energy" and grid.colours is not None:
                cells = grid.colours.energy_cells
            else:
                cells = [self._palette[grid.codes[k]] for k in range(grid.n_codebooks)]
            self._base[mode] = cells
        return self._base[mode]

    def set_grid_mode(self, mode: str) -> None:
        """Colour the grid by ``mode`` (one of :data:`GRID_MODES`), with its legend."""
        if mode not in GRID_MODES:
            raise ValueError(mode)
        self.grid_mode = mode
        if self._grid is not None:
            self.mark_edits(self._edits)
        self._show_legend()

    def _show_legend(self) -> None:
        mode = self.grid_mode
        missing = mode != "ids" and self._grid is not None and self._grid.colours is None
        self.grid_legend.setText(LEGENDS["ids"] + f" ({mode} colours are made from a whole encoding, not live)"
                                 if missing else LEGENDS[mode])
        made = self._grid.colours if self._grid is not None else None
        energy = mode == "energy" and made is not None
        if made is not None and energy:
            lo, hi = made.energy_levels
            stops = np.linspace(0, 1, 5)
            self.energy_bar.setGradient(pg.ColorMap(stops, colormap(lo + stops * (hi - lo), lo, hi)).getGradient())
            self.energy_bar.setLabels({f"{hi:.0f} dB": 1.0, f"{(lo + hi) / 2:.0f}": 0.5, f"{lo:.0f} dB": 0.0})
        self.energy_bar.setVisible(energy)

    def cell(self, x: float, y: float) -> tuple[int, int] | None:
        """(codebook, frame) of the grid cell at time ``x`` s and row coordinate ``y``, if there is one."""
        grid = self._grid
        if grid is None or not 0 <= y < grid.n_codebooks or x < 0:
            return None
        k = grid.n_codebooks - 1 - int(y)
        f = int(np.searchsorted(grid.times[k], x, side="right")) - 1
        return (k, f) if 0 <= f < len(grid.times[k]) else None

    def cell_at(self, x: float, y: float) -> str | None:
        """The hover text for the grid cell at time ``x`` s and row coordinate ``y``."""
        cell = self.cell(x, y)
        if cell is None or self._grid is None:
            return None
        k, f = cell
        grid = self._grid
        text = f"token {grid.codes[k][f]} · codebook {k} · frame {f} · {grid.times[k][f]:.3f} s"  # the short facts first
        if grid.colours is not None and self.grid_mode == "energy":
            text += f" · adds {grid.colours.energy_db[k][f]:.1f} dB"
        text += f" · {grid.info.role(k)}"
        if grid.colours is not None and self.grid_mode == "similarity":
            text += f" · colour from {grid.colours.vectors}"
        return text

    def mark_occurrences(self, k: int, frames: AnyArray) -> None:
        """Outline codebook ``k``'s cells at ``frames`` (where a clicked token occurs); empty clears."""
        grid = self._grid
        if grid is None or len(frames) == 0:
            self.occurrences.clear()
            return
        x = grid.times[k][frames] + grid.step[k] / 2
        self.occurrences.setData(x=x, y=np.full(len(x), grid.n_codebooks - k - 0.5))

    def clip_seconds(self) -> float:
        """The length of the clip shown (0 before one is). Not the curve's data: that is clipped to the view."""
        return self._seconds

    def set_playhead(self, seconds: float) -> None:
        for line in self.playheads:
            line.setPos(seconds)

    # ------------------------------------------------------------ the pointer
    def show_occurrences(self, k: int, f: int) -> str:
        """Outline where else the token in codebook ``k`` at frame ``f`` occurs; the sentence that says so."""
        grid = self._grid
        if grid is None:
            return ""
        token = int(grid.codes[k][f])
        where = np.flatnonzero(grid.codes[k] == token)
        self.mark_occurrences(k, where)
        times = ", ".join(f"{grid.times[k][i]:.2f}" for i in where[:12]) + (" …" if len(where) > 12 else "")
        return (f"codebook {k}, token {token}: {len(where)} of {len(grid.codes[k])} frames, at {times} s "
                f"(entropy {grid.stats[k].entropy_bits:.1f} bits, {100 * grid.stats[k].utilization:.0f}% of codes used)")

    def _hover(self, pos: Any) -> None:
        text = None
        if self.grid.sceneBoundingRect().contains(pos):
            p = self.grid.getViewBox().mapSceneToView(pos)
            text = self.cell_at(p.x(), p.y())
        self.hovered.emit(text or " ")

    def leaveEvent(self, event: Any) -> None:
        """The pointer left the views: no cell is hovered any more."""
        self.hovered.emit(" ")
        super().leaveEvent(event)

    def _clicked(self, event: Any) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        pos = event.scenePos()
        if self._grid is not None and self.grid.sceneBoundingRect().contains(pos):
            p = self.grid.getViewBox().mapSceneToView(pos)
            cell = self.cell(p.x(), p.y())
            if cell is not None and event.modifiers() & Qt.KeyboardModifier.ControlModifier:
                self.paint_tool.pick(int(self._grid.codes[cell[0]][cell[1]]))  # the id "set" paints
                return
            if cell is not None:
                self.occurrences_shown.emit(self.show_occurrences(*cell))
        for plot in self.plots:
            if plot.sceneBoundingRect().contains(pos):
                self.seek_requested.emit(float(plot.getViewBox().mapSceneToView(pos).x()))
                return
