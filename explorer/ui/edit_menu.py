"""The Edit menu: undo and redo of every edit in the window, the selection, and zoom to it.

Undo and redo walk the session model's history of :class:`Edits` (codebook toggles, the keep slider,
Reset, the selection's range, painted strokes): each step decodes again, and a decode of the same
edits is the same reconstruction, bit for bit. The selection lives in the model too; this menu
connects it to what shows and plays it (the views' bands, the transport, the codebook panel).
"""

from __future__ import annotations

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu

from explorer.services.session import SessionModel
from explorer.ui import zoom
from explorer.ui.codebook_panel import CodebookPanel
from explorer.ui.transport import Transport
from explorer.ui.views import TimeViews


class EditMenu(QMenu):
    def __init__(self, window: QMainWindow, model: SessionModel, views: TimeViews, transport: Transport,
                 panel: CodebookPanel) -> None:
        super().__init__("&Edit", window)
        self.model, self.views, self.window_ = model, views, window
        self.undo_action = self.addAction("&Undo", QKeySequence("Ctrl+Z"), self.undo)
        self.redo_action = self.addAction("&Redo", QKeySequence("Ctrl+Shift+Z"), self.redo)
        self.addSeparator()
        self.addAction("Select &all", QKeySequence("Ctrl+A"), self.select_all)
        self.addAction("Select &none", QKeySequence("Esc"), lambda: model.set_selection(None))
        self.addAction("&Zoom to selection", QKeySequence("Ctrl+E"), self.zoom_to_selection)
        self.aboutToShow.connect(self._enable)
        views.selection.selected.connect(lambda lo, hi: model.set_selection((lo, hi)))
        model.selection_changed.connect(views.selection.show)
        model.selection_changed.connect(transport.set_selection)
        model.selection_changed.connect(lambda _: panel.show_edits(model.edits))
        views.paint_tool.painted.connect(model.paint)
        for action in (self.undo_action, self.redo_action):
            window.addAction(action)  # the keys work with the menu closed

    def _enable(self) -> None:
        self.undo_action.setEnabled(bool(self.model.undo_stack))
        self.redo_action.setEnabled(bool(self.model.redo_stack))

    def undo(self) -> None:
        if not self.model.undo():
            self.window_.statusBar().showMessage("Nothing to undo.", 3000)

    def redo(self) -> None:
        if not self.model.redo():
            self.window_.statusBar().showMessage("Nothing to redo.", 3000)

    def select(self, selection: tuple[float, float] | None, name: str) -> str:
        """Select ``selection`` in the open clip (``name``), cut at its end; what went wrong ('' if nothing)."""
        length = self.model.clip.duration if self.model.clip is not None else 0.0
        if selection is not None and selection[0] >= length:
            return (f"The selection starts at {selection[0]:g} s, after {name} ends ({length:.2f} s); "
                    "choose a start inside the clip.")
        self.model.set_selection(selection)
        return ""

    def select_all(self) -> None:
        if self.model.clip is not None:
            self.model.set_selection((0.0, self.model.clip.duration))

    def zoom_to_selection(self) -> None:
        """Ctrl+E: the selection fills the view (a short margin each side)."""
        sel = self.model.selection
        if sel is None:
            self.window_.statusBar().showMessage("Nothing is selected: drag across a view to select a range.", 4000)
            return
        zoom.apply(self.views, lambda view, at, length: zoom.to_selection(sel, length))
