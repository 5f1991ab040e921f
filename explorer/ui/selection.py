"""Selecting a time range by dragging on any time view, as in Audacity and Sonic Visualiser.

:class:`DragViewBox` hands a left-button drag to a handler (select, or paint on the token grid)
instead of panning; a middle-button or Shift+left drag still pans, the wheel still zooms.
:class:`SelectionRegions` draws the one selection as a shaded band with draggable edges on every
time plot, kept in step, and announces a finished selection; it holds no state of its own beyond
what it draws (the selection lives in the session model).
"""

from __future__ import annotations

from typing import Any, Callable

import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor

DragHandler = Callable[[Any], bool]
"""Takes a pyqtgraph drag event; True when it used it (else the view box pans as usual)."""

MIN_SELECTION_PX = 3
"""A drag shorter than this on screen is a click, not a selection."""


class DragViewBox(pg.ViewBox):
    """A view box whose left-button drags go to :attr:`handler` first."""

    def __init__(self) -> None:
        super().__init__()
        self.handler: DragHandler | None = None

    def mouseDragEvent(self, ev: Any, axis: Any = None) -> None:
        shift = bool(ev.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        if ev.button() == Qt.MouseButton.LeftButton and not shift and self.handler is not None and self.handler(ev):
            ev.accept()
            return
        super().mouseDragEvent(ev, axis)


class SelectionRegions(QObject):
    """One selection drawn on every plot in ``plots``; :attr:`selected` says where a drag or an edge move ended."""

    selected = Signal(float, float)

    def __init__(self, plots: tuple[pg.PlotItem, ...]) -> None:
        super().__init__()
        self.regions = []
        for plot in plots:
            region = pg.LinearRegionItem(values=(0, 1), brush=QColor(120, 160, 255, 45),
                                         pen=pg.mkPen(QColor(150, 185, 255), width=1))
            region.setZValue(50)  # over the images, under the playhead
            region.movable = False  # its edges move; a drag inside it makes a new selection (or paints), as in Audacity
            region.hide()
            plot.addItem(region)
            region.sigRegionChanged.connect(self._follow)
            region.sigRegionChangeFinished.connect(self._finished)
            self.regions.append(region)
        self._anchor: float | None = None
        self._syncing = False

    def show(self, selection: tuple[float, float] | None) -> None:
        """Draw ``selection`` (None hides it) without announcing it."""
        self._syncing = True
        try:
            for region in self.regions:
                if selection is not None:
                    region.setRegion(selection)
                region.setVisible(selection is not None)
        finally:
            self._syncing = False

    def drag(self, view: pg.ViewBox, ev: Any) -> bool:
        """Select from where the drag started to where the pointer is; announce it when the drag ends."""
        start = view.mapSceneToView(ev.buttonDownScenePos()).x()
        x = view.mapSceneToView(ev.scenePos()).x()
        if ev.isStart():
            self._anchor = start
        if self._anchor is None:
            return True
        if (ev.scenePos() - ev.buttonDownScenePos()).manhattanLength() >= MIN_SELECTION_PX:
            self.show((min(self._anchor, x), max(self._anchor, x)))
        if ev.isFinish():
            anchor, self._anchor = self._anchor, None
            if abs(x - anchor) > 0 and self.regions[0].isVisible():
                self.selected.emit(min(anchor, x), max(anchor, x))
        return True

    def _follow(self, moved: pg.LinearRegionItem) -> None:
        """An edge was dragged on one plot: the others follow."""
        if self._syncing:
            return
        self._syncing = True
        try:
            for region in self.regions:
                if region is not moved:
                    region.setRegion(moved.getRegion())
        finally:
            self._syncing = False

    def _finished(self, moved: pg.LinearRegionItem) -> None:
        if not self._syncing and moved.isVisible():
            lo, hi = moved.getRegion()
            self.selected.emit(float(lo), float(hi))
