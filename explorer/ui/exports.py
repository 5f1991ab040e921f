"""Exports of what the window shows: the reconstruction (WAV 24-bit or 32-bit float, FLAC) with its
provenance sidecar, the tokens (.npz, their provenance in the meta), a picture (PNG).

Each export is of what the session model holds, so the tokens saved are those of the encoding shown,
with the edits shown. Every file is written by the output policy with the open clip as an input: a refusal (the clip
itself, a folder…) or a failure is shown in a dialog and any existing file is left untouched.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from explorer.core.audio import FLOAT, save_audio
from explorer.core.errors import ExplorerError
from explorer.core.output import output_file
from explorer.core.provenance import write_sidecar
from explorer.core.tokens import save_tokens
from explorer.services.engine import refuse_token_file
from explorer.services.session import SessionModel


AUDIO_FILTERS = {"WAV 24-bit (*.wav)": None, "WAV 32-bit float (*.wav)": FLOAT, "FLAC 24-bit (*.flac)": None}
"""The save dialog's choices for the reconstruction and the subtype each writes (None: the format's default).
24-bit PCM comes first: every audio tool reads it cleanly; float keeps peaks over full scale."""


class Exports(QObject):
    message = Signal(str, int)

    def __init__(self, window: QWidget, model: SessionModel) -> None:
        super().__init__(window)
        self.window, self.model = window, model

    def _choose(self, title: str, suffix: str, filters: str) -> tuple[Path | None, str]:
        """Ask for a file name; return it (None when cancelled) and the filter chosen."""
        stem = self.model.path.stem if self.model.path else "clip"
        codec = self.model.encoded.choice.name if self.model.encoded else "codec"
        path, chosen = QFileDialog.getSaveFileName(self.window, title, str(Path.home() / f"{stem}-{codec}{suffix}"), filters)
        return (Path(path) if path else None), chosen

    def _target(self, title: str, suffix: str, filt: str) -> Path | None:
        return self._choose(title, suffix, filt)[0]

    def export_wav(self, path: Path | None = None, subtype: str | None = None) -> None:
        """Write the reconstruction to ``path`` in ``subtype`` (default: 24-bit for WAV and FLAC); with no
        path, ask, and take the subtype from the dialog's filter (float applies to a .wav name only)."""
        decoded, enc = self.model.decoded, self.model.encoding
        if decoded is None or enc is None:
            return
        if not path:
            path, chosen = self._choose("Export reconstruction", ".wav", ";;".join(AUDIO_FILTERS))
            subtype = AUDIO_FILTERS.get(chosen) if path and path.suffix.lower() == ".wav" else None
        if path:
            target = path

            def write() -> tuple[str, ...]:
                notes = save_audio(target, decoded.clip, subtype, [self.model.path])
                write_sidecar(target, enc.provenance(decoded.edits), [self.model.path])
                return notes
            self._export(target, write)

    def export_tokens(self, path: Path | None = None) -> None:
        """Write the shown encoding's tokens; refused, before a file name is asked for, for Opus (no tokens)."""
        enc, edits = self.model.encoding, self.model.edits
        if enc is None:
            return
        try:
            refuse_token_file(enc.info)
        except ExplorerError as exc:
            self._failed(exc)
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

    def _failed(self, exc: ExplorerError) -> None:
        QMessageBox.warning(self.window, "Export failed", str(exc))

    def _export(self, path: Path, write: Callable[[], Any]) -> None:
        """Run ``write``; show a refusal or failure in a dialog, notes the writer returns (peaks limited)
        with the result."""
        try:
            notes = write()
        except ExplorerError as exc:
            self._failed(exc)
            return
        self.message.emit(f"Saved {path}" + (f" ({'; '.join(notes)})" if notes else ""), 8000)
