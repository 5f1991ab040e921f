"""Token painting on the grid: drag over cells to mute, randomize or set them to one token id.

A stroke is gathered while the button is down (the cells a fast pointer crossed are filled in
between two positions, row by row, so no frame is skipped) and drawn as an outline only; when the
button is released the stroke becomes one edit of painted runs (:class:`explorer.core.edits.Paint`),
one undo step and one decode. Ctrl+click on a cell picks its token id for "set".

The gathering is plain arithmetic on the grid's frame times (:func:`stroke_runs`), testable without Qt.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QRectF, Signal
from PySide6.QtGui import QColor, QPainter, QPainterPath

from explorer.core.edits import Paint
from explorer.core.types import AnyArray

PAINT_MODES = ("off", "mute", "randomize", "set")
Run = tuple[int, int, int]
"""(codebook, first frame, last frame exclusive)."""


def segment_runs(times: Sequence[AnyArray], step: Sequence[float], a: tuple[float, float], b: tuple[float, float]) -> list[Run]:
    """The cells a pointer moving from ``a`` to ``b`` (time s, row coordinate; row k spans
    ``[n-1-k, n-k)``) passes over: per codebook row crossed, the frames under that row's part of the segment."""
    n = len(times)
    (x0, y0), (x1, y1) = a, b
    runs: list[Run] = []
    lo_row, hi_row = int(np.floor(min(y0, y1))), int(np.floor(max(y0, y1)))
    for row in range(max(0, lo_row), min(n - 1, hi_row) + 1):
        k = n - 1 - row
        if y0 == y1:
            xa, xb = x0, x1
        else:  # the part of the segment inside this row's band
            ta = min(max((row - y0) / (y1 - y0), 0.0), 1.0)
            tb = min(max((row + 1 - y0) / (y1 - y0), 0.0), 1.0)
            xa, xb = x0 + ta * (x1 - x0), x0 + tb * (x1 - x0)
        lo, hi = min(xa, xb), max(xa, xb)
        t = times[k]
        first = max(0, int(np.searchsorted(t, lo, side="right")) - 1)
        last = min(len(t), int(np.searchsorted(t, hi, side="right")))
        if len(t) and lo < t[-1] + step[k] and last > first:
            runs.append((k, first, last))
    return runs


def merged(runs: Sequence[Run]) -> list[Run]:
    """``runs`` with overlapping or touching runs of one codebook joined, by codebook then frame."""
    out: list[Run] = []
    for k, first, last in sorted(runs):
        if out and out[-1][0] == k and first <= out[-1][2]:
            out[-1] = (k, out[-1][1], max(out[-1][2], last))
        else:
            out.append((k, first, last))
    return out


def stroke_paint(runs: Sequence[Run], action: str, token: int | None) -> tuple[Paint, ...]:
    """One stroke's runs as painted edits."""
    return tuple(Paint(k, first, last, action, token if action == "set" else None) for k, first, last in merged(runs))


class Outline(pg.GraphicsObject):
    """Rectangles outlining painted runs: one path, drawn with a cosmetic pen (one pixel at any zoom)."""

    def __init__(self, colour: QColor) -> None:
        super().__init__()
        self.path = QPainterPath()
        self.pen = pg.mkPen(colour, width=1.5)
        self.pen.setCosmetic(True)
        self.setZValue(20)

    def set_rects(self, rects: Sequence[QRectF]) -> None:
        self.prepareGeometryChange()
        self.path = QPainterPath()
        for r in rects:
            self.path.addRect(r)
        self.update()

    def add_rects(self, rects: Sequence[QRectF]) -> None:
        if rects:
            self.prepareGeometryChange()
            for r in rects:
                self.path.addRect(r)
            self.update()

    def boundingRect(self) -> QRectF:
        return self.path.boundingRect().adjusted(-1, -1, 1, 1)

    def paint(self, p: QPainter, *args: Any) -> None:
        p.setPen(self.pen)
        p.drawPath(self.path)


class PaintTool(QObject):
    """The grid's paint tool; :attr:`painted` carries each finished stroke's runs."""

    painted = Signal(object)
    """A tuple of :class:`Paint`: one stroke."""
    picked = Signal(int)
    """A token id picked for "set" (Ctrl+click on a cell)."""

    def __init__(self, plot: pg.PlotItem, rect: Callable[[int, int, int], QRectF]) -> None:
        super().__init__()
        self.mode = "off"
        self.token: int | None = None
        self._rect = rect
        self.stroke = Outline(QColor(255, 255, 255))
        """The stroke being painted."""
        self.done = Outline(QColor(255, 220, 60))
        """Every painted run of the edits shown."""
        plot.addItem(self.done)
        plot.addItem(self.stroke)
        self._runs: list[Run] = []
        self._last: tuple[float, float] | None = None

    @property
    def active(self) -> bool:
        return self.mode != "off" and (self.mode != "set" or self.token is not None)

    def drag(self, view: pg.ViewBox, ev: Any, times: Sequence[AnyArray], step: Sequence[float]) -> bool:
        """Gather the cells under a drag; on release, announce them as one stroke. False when not painting."""
        if not self.active:
            return False
        p = view.mapSceneToView(ev.scenePos())
        here = (float(p.x()), float(p.y()))
        if ev.isStart():
            start = view.mapSceneToView(ev.buttonDownScenePos())
            self._runs, self._last = [], (float(start.x()), float(start.y()))
            self.stroke.set_rects([])
        if self._last is None:
            return True
        new = segment_runs(times, step, self._last, here)
        self._runs.extend(new)
        self.stroke.add_rects([self._rect(*r) for r in new])
        self._last = here
        if ev.isFinish():
            runs, self._runs, self._last = self._runs, [], None
            self.stroke.set_rects([])
            if runs:
                self.painted.emit(stroke_paint(runs, self.mode, self.token))
        return True

    def show_painted(self, paint: Sequence[Paint]) -> None:
        """Outline the runs of the edits shown."""
        self.done.set_rects([self._rect(p.codebook, p.first, p.last) for p in paint])

    def pick(self, token: int) -> None:
        self.token = token
        self.picked.emit(token)
