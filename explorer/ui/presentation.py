"""Presentation mode (full screen, large type, a thick playhead: for a projector) and the shortcut overlay."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QMainWindow

from explorer.ui.codebook_panel import CodebookPanel
from explorer.ui.views import TimeViews

SHORTCUTS = """Space  play / pause
S  stop
A  switch original / reconstruction
1-9  mute codebook 0-8
R  reset all edits
Ctrl+L  start / stop live microphone mode
Ctrl+K  compare codecs on this clip (then A, B, C… play each)
Ctrl+T  token statistics: a histogram of each codebook's token use
Click a grid cell  outline where else that token occurs
F9  the experiments panel (Enter plays a step)
F11  presentation mode (full screen, large type)
F1  this help over the window
Home  reset the demo: stop, clear edits, back to the start
Ctrl+O  open a file
Ctrl+Shift+E  export the reconstruction
Ctrl+1 / Ctrl+3  zoom in / out (about the playhead)
Ctrl+2 / Ctrl+F / Ctrl+E  zoom normal (10 s) / fit the clip / to the selection
Click a view  seek; drag across a view  select (Space plays it, Loop loops it, Esc clears)
Ctrl+Z / Ctrl+Shift+Z  undo / redo any edit
Paint cells (tool bar)  drag over grid cells to mute, randomize or set them; Ctrl+click picks the id"""


def set_presentation(window: QMainWindow, views: TimeViews, panel: CodebookPanel, on: bool) -> None:
    """Full screen, large type, a thick playhead and a black background when ``on``; back to normal when not."""
    font = window.font()
    font.setPointSize(16 if on else 10)
    window.setFont(font)
    for line in views.playheads:
        line.setPen(line.pen.color(), width=5 if on else 2)
    views.setBackground("#000000" if on else "#16181d")
    panel.table.verticalHeader().setDefaultSectionSize(30 if on else 20)
    if on:
        window.showFullScreen()
    else:
        window.showNormal()


class ShortcutOverlay(QLabel):
    """The keyboard shortcuts over the middle of the window (F1 toggles)."""

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(SHORTCUTS, window)
        self.window_ = window
        self.setStyleSheet("background: rgba(10, 12, 16, 225); color: white; padding: 24px; "
                           "font-size: 20px; font-family: monospace; border-radius: 8px;")
        self.hide()

    def toggle(self) -> None:
        if self.isVisible():
            self.hide()
            return
        self.place()
        self.raise_()
        self.show()

    def place(self) -> None:
        """Centre on the window (again after it is resized)."""
        parent = self.window_
        self.adjustSize()
        self.move(max(0, (parent.width() - self.width()) // 2), max(0, (parent.height() - self.height()) // 2))
