"""The File menu: open (a dialog, or the last ten clips, newest first), export, quit.

The recent files are kept in the ``files`` settings group. A file dropped on the window is opened
too (the menu filters the window's drag-and-drop events).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QSettings, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMenu

from explorer.ui.exports import Exports

AUDIO_FILTER = "Audio (*.wav *.flac *.ogg *.mp3 *.aiff *.aif);;All files (*)"
MAX_RECENT = 10


class FileMenu(QMenu):
    open_requested = Signal(str)

    def __init__(self, window: QMainWindow, exports: Exports) -> None:
        super().__init__("&File", window)
        self.files: list[str] = []
        self.open_action = self.addAction("&Open…", QKeySequence.StandardKey.Open, self.choose_file)
        self.recent = self.addMenu("Open &Recent")
        self.addSeparator()
        self.addAction("&Export reconstruction (WAV, FLAC)…", QKeySequence("Ctrl+Shift+E"), exports.export_wav)
        self.addAction("Export &tokens (.npz)…", exports.export_tokens)
        self.addAction("Export &picture (PNG)…", exports.export_png)
        self.addSeparator()
        self.addAction("&Quit", QKeySequence.StandardKey.Quit, window.close)
        window.setAcceptDrops(True)
        window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Accept files dragged over the window; open the first one dropped."""
        if isinstance(event, QDragEnterEvent):
            if event.mimeData().hasUrls():
                event.acceptProposedAction()
                return True
        elif isinstance(event, QDropEvent) and event.type() == QEvent.Type.Drop and event.mimeData().urls():
            self.open_requested.emit(event.mimeData().urls()[0].toLocalFile())
            return True
        return super().eventFilter(watched, event)

    def start_folder(self) -> Path:
        """Where the Open dialog starts: the folder of the clip opened last (if it is still there), else home."""
        if self.files and Path(self.files[0]).parent.is_dir():
            return Path(self.files[0]).parent
        return Path.home()

    def choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.parentWidget(), "Open audio", str(self.start_folder()), AUDIO_FILTER)
        if path:
            self.open_requested.emit(path)

    def add_recent(self, path: str | Path) -> None:
        path = str(path)
        self._show_recent([path] + [p for p in self.files if p != path])

    def _show_recent(self, files: list[str]) -> None:
        self.files = files[:MAX_RECENT]
        self.recent.clear()
        for path in self.files:
            self.recent.addAction(path, partial(self.open_requested.emit, path))
        self.recent.setEnabled(bool(self.files))

    def save_state(self, s: QSettings) -> None:
        s.setValue("files/recent", self.files)

    def restore_state(self, s: QSettings) -> None:
        value = s.value("files/recent", [], list)
        self._show_recent([str(v) for v in (value if isinstance(value, list) else [])])
