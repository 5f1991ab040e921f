"""Starting the window: ``codec-explorer`` (bundled clip, rvq-lab) or ``codec-explorer open FILE``."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from types import TracebackType

from explorer.core.edits import Edits
from explorer.core.errors import ExplorerError

log = logging.getLogger(__name__)


def run(path: str | None, codec: str | None, screenshot: str | None = None, timeout_s: float = 300.0,
        edits: Edits | None = None, spectrogram: str | None = None) -> int:
    """Open the window on ``path`` (the bundled speech clip if None) and run until it closes.

    ``edits`` are applied once the clip is encoded; ``spectrogram`` picks the spectrogram shown
    (original, reconstruction or difference). With ``screenshot``, wait until the reconstruction
    for those edits is drawn, save the window as a PNG
    and exit (status 0), or exit with status 1 if that does not happen within ``timeout_s``.
    """
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY") and "QT_QPA_PLATFORM" not in os.environ:
        if screenshot:
            os.environ["QT_QPA_PLATFORM"] = "offscreen"
        else:
            raise ExplorerError("No display: set DISPLAY (or run under Xvfb), or use the command-line subcommands.")
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from explorer.codecs.registry import CODEC_NAMES, entry
    from explorer.core.resources import resource
    from explorer.ui.window import MainWindow

    if codec is not None and codec not in CODEC_NAMES:
        entry(codec)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Codec Explorer")
    window = MainWindow(welcome=not screenshot)
    status = {"code": 0}

    def unexpected(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        """An exception escaping a Qt slot: log it, tell the user, keep running (screenshots: fail)."""
        log.error("unexpected error", exc_info=(kind, exc, tb))
        if screenshot:
            status["code"] = 1
            print(f"codec-explorer: error: {kind.__name__}: {exc}", file=sys.stderr)
            app.exit(1)
            return
        from PySide6.QtWidgets import QMessageBox

        QMessageBox.critical(window, "Unexpected error", f"{kind.__name__}: {exc}\n\nThe details are in the log; the app keeps running.")

    sys.excepthook = unexpected
    if codec is not None:
        window._select(window.codec_box, codec)
        window._fill_codebooks()
    restored = window.saved_session() if path is None and codec is None and not screenshot else None
    if edits is not None and not edits.is_identity:
        window.pending_edits = edits
    if spectrogram:
        window.spec_box.setCurrentText(spectrogram)
    window.show()
    window.open_file(path or restored or resource("clips", "speech_en.wav"))
    if restored is not None:
        window.statusBar().showMessage(f"Restored your last session: {restored.name}, its edits and view.", 8000)
    if screenshot:
        def shoot() -> None:
            app.processEvents()
            window.save_screenshot(Path(screenshot))
            window.close()

        def give_up() -> None:
            status["code"] = 1
            print(f"codec-explorer: error: no reconstruction within {timeout_s:.0f} s; no screenshot written", file=sys.stderr)
            window.close()

        window.reconstruction_ready.connect(lambda: QTimer.singleShot(300, shoot))
        window.worker.failed.connect(lambda title, msg: QTimer.singleShot(0, give_up))
        QTimer.singleShot(int(timeout_s * 1000), give_up)
    code = app.exec()
    sys.excepthook = sys.__excepthook__
    return status["code"] or code
