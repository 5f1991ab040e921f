"""Exports of what the window shows: the reconstruction (WAV/FLAC), the tokens (.npz), a picture (PNG).

Every file is written by the output policy with the open clip as an input: a refusal (the clip
itself, a folder…) or a failure is shown in a dialog and any existing file is left untouched.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from explorer.core.audio import save_audio
from explorer.core.edits import Edits
from explorer.core.errors import ExplorerError
from explorer.core.output import output_file
from explorer.core.tokens import save_tokens
from explorer.services.session import Decoded, Session


class Exports(QObject):
    message = Signal(str, int)

    def __init__(self, window: QWidget, session: Session, codec: Callable[[], str], edits: Callable[[], Edits],
                 decoded: Callable[[], Decoded | None]) -> None:
        super().__init__(window)
        self.window, self.session = window, session
        self._codec, self._edits, self._decoded = codec, edits, decoded

    def _target(self, title: str, suffix: str, filt: str) -> Path | None:
        stem = self.session.path.stem if self.session.path else "clip"
        path, _ = QFileDialog.getSaveFileName(self.window, title, str(Path.home() / f"{stem}-{self._codec()}{suffix}"), filt)
        return Path(path) if path else None

    def export_wav(self, path: Path | None = None) -> None:
        decoded = self._decoded()
        if decoded is None:
            return
        path = path or self._target("Export reconstruction", ".wav", "WAV (*.wav);;FLAC (*.flac)")
        if path:
            self._export(path, lambda: save_audio(path, decoded.clip, inputs=[self.session.path]))

    def export_tokens(self, path: Path | None = None) -> None:
        enc = self.session.encoding
        if enc is None:
            return
        path = path or self._target("Export tokens", ".npz", "Tokens (*.npz)")
        if path:
            self._export(path, lambda: save_tokens(path, enc.codes, enc.meta(self._edits()), inputs=[self.session.path]))

    def export_png(self, path: Path | None = None) -> None:
        path = path or self._target("Export picture", ".png", "PNG (*.png)")
        if path:
            self._export(path, lambda: self.save_screenshot(path))

    def save_screenshot(self, path: Path) -> None:
        """Save the window as a PNG by the output policy (never onto the open clip)."""
        with output_file(path, [self.session.path]) as tmp:
            if not self.window.grab().save(str(tmp), "PNG"):
                raise ExplorerError(f"Could not write '{path}': the picture could not be encoded.")

    def _export(self, path: Path, write: Callable[[], Any]) -> None:
        """Run ``write``; show a refusal or failure in a dialog, notes the writer returns (peaks limited)
        with the result."""
        try:
            notes = write()
        except ExplorerError as exc:
            QMessageBox.warning(self.window, "Export failed", str(exc))
            return
        self.message.emit(f"Saved {path}" + (f" ({'; '.join(notes)})" if notes else ""), 8000)
