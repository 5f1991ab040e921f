"""Exports of what the window shows: the reconstruction (WAV/FLAC), the tokens (.npz), a picture (PNG).

Each export is of what the session model holds, so the tokens saved are those of the encoding shown,
with the edits shown. Every file is written by the output policy with the open clip as an input: a refusal (the clip
itself, a folder…) or a failure is shown in a dialog and any existing file is left untouched.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from explorer.core.audio import save_audio
from explorer.core.errors import ExplorerError
from explorer.core.output import output_file
from explorer.core.tokens import save_tokens
from explorer.services.session import SessionModel


class Exports(QObject):
    message = Signal(str, int)

    def __init__(self, window: QWidget, model: SessionModel) -> None:
        super().__init__(window)
        self.window, self.model = window, model

    def _target(self, title: str, suffix: str, filt: str) -> Path | None:
        stem = self.model.path.stem if self.model.path else "clip"
        codec = self.model.encoded.choice.name if self.model.encoded else "codec"
        path, _ = QFileDialog.getSaveFileName(self.window, title, str(Path.home() / f"{stem}-{codec}{suffix}"), filt)
        return Path(path) if path else None

    def export_wav(self, path: Path | None = None) -> None:
        decoded = self.model.decoded
        if decoded is None:
            return
        path = path or self._target("Export reconstruction", ".wav", "WAV (*.wav);;FLAC (*.flac)")
        if path:
            self._export(path, lambda: save_audio(path, decoded.clip, inputs=[self.model.path]))

    def export_tokens(self, path: Path | None = None) -> None:
        enc, edits = self.model.encoding, self.model.edits
        if enc is None:
            return
        path = path or self._target("Export tokens", ".npz", "Tokens (*.npz)")
        if path:
            self._export(path, lambda: save_tokens(path, enc.codes, enc.meta(edits), inputs=[self.model.path]))

    def export_png(self, path: Path | None = None) -> None:
        path = path or self._target("Export picture", ".png", "PNG (*.png)")
        if path:
            self._export(path, lambda: self.save_screenshot(path))

    def save_screenshot(self, path: Path) -> None:
        """Save the window as a PNG by the output policy (never onto the open clip)."""
        with output_file(path, [self.model.path]) as tmp:
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
