"""Starting the window: ``codec-explorer`` (bundled clip, rvq-lab) or ``codec-explorer open FILE``.

With ``--screenshot`` the run is unattended: no dialog is ever shown, and any failure (the clip
cannot be read, an edit names a codebook that does not exist, the picture cannot be written) ends
the run at once with status 1 and the reason on stderr.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Callable

from explorer.core.edits import Edits
from explorer.core.errors import ExplorerError
from explorer.core.output import check_output

if TYPE_CHECKING:
    from explorer.ui.window import MainWindow

log = logging.getLogger(__name__)


def run(path: str | None, codec: str | None, screenshot: str | None = None, timeout_s: float = 300.0,
        edits: Edits | None = None, spectrogram: str | None = None, grid: str | None = None,
        select: tuple[float, float] | None = None) -> int:
    """Open the window on ``path`` (the bundled speech clip if None) and run until it closes.

    ``edits`` are applied once the clip is encoded; ``spectrogram`` picks the lower spectrogram,
    ``grid`` the grid's colouring (ids, similarity or energy), ``select`` a time range to select.
    With ``screenshot``, wait until the reconstruction for those edits is drawn, save the window as
    a PNG and exit (status 0), or exit with status 1 and the reason on stderr if anything fails or
    nothing is drawn within ``timeout_s``.

    Raises
    ------
    ExplorerError
        Before any window opens: no display, an unknown codec, or a screenshot path that cannot be
        written (a missing folder, a folder, the input itself).
    """
    _need_display(bool(screenshot))
    if screenshot:
        check_output(screenshot, [path])
    from PySide6.QtWidgets import QApplication

    from explorer.codecs.registry import CODEC_NAMES, entry
    from explorer.core.resources import resource
    from explorer.ui.window import MainWindow

    if codec is not None and codec not in CODEC_NAMES:
        entry(codec)  # raises: an unknown codec, said before any window opens
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Codec Explorer")
    window = MainWindow(welcome=not screenshot, headless=bool(screenshot))
    status = {"code": 0, "done": False}

    def finish(reason: str | None) -> None:
        """End an unattended run: status 1 and the reason on stderr when ``reason`` is given."""
        if status["done"]:
            return
        status["done"] = True
        if reason is not None:
            status["code"] = 1
            print(f"codec-explorer: error: {reason}", file=sys.stderr)
        window.close()
        app.exit(int(status["code"]))

    sys.excepthook = _unexpected(window, finish if screenshot else None)
    if codec is not None:
        window.codec_bar.select(codec)
    restored = window.saved_session() if path is None and codec is None and not screenshot else None
    if edits is not None and not edits.is_identity:
        window.pending_edits = edits
    _show_views(window, spectrogram, grid, select)
    if screenshot:
        _shoot_when_drawn(window, Path(screenshot), timeout_s, finish)
    window.show()
    window.open_file(path or restored or resource("clips", "speech_en.wav"))
    restored_note = f"Restored your last session: {restored.name}, its edits and view. " if restored is not None else ""
    window.announcement = restored_note + window.restore_note
    code = app.exec()
    sys.excepthook = sys.__excepthook__
    return int(status["code"]) or code


def _show_views(window: "MainWindow", spectrogram: str | None, grid: str | None,
                select: tuple[float, float] | None = None) -> None:
    """Show the spectrogram and the grid colouring asked for on the command line (None: as they are),
    and select ``select`` once the clip is open."""
    window.pending_selection = select
    if spectrogram:
        window.file_view.set_spectrogram(spectrogram)
    if grid:
        window.file_view.set_grid_mode(grid)


def _need_display(offscreen: bool) -> None:
    """Without a display, an unattended run draws offscreen; any other run cannot start."""
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY") and "QT_QPA_PLATFORM" not in os.environ:
        if not offscreen:
            raise ExplorerError("No display: set DISPLAY (or run under Xvfb), or use the command-line subcommands.")
        os.environ["QT_QPA_PLATFORM"] = "offscreen"


def _unexpected(window: "MainWindow", finish: Callable[[str | None], None] | None) -> Callable[..., None]:
    """The hook for an exception escaping a Qt slot: log it, then end an unattended run (``finish``)
    or tell the user and keep running."""
    def hook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        log.error("unexpected error", exc_info=(kind, exc, tb))
        if finish is not None:
            finish(f"{kind.__name__}: {exc}")
            return
        from PySide6.QtWidgets import QMessageBox

        QMessageBox.critical(window, "Unexpected error", f"{kind.__name__}: {exc}\n\nThe details are in the log; the app keeps running.")

    return hook


def _shoot_when_drawn(window: "MainWindow", target: Path, timeout_s: float, finish: Callable[[str | None], None]) -> None:
    """Save ``target`` once the reconstruction is drawn; any failure ends the run with its reason.

    Connected before the clip is opened, so that a failure arriving at once is not missed.
    """
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    shots: list[int] = []

    def shoot() -> None:
        if shots:  # only the first reconstruction drawn is saved
            return
        shots.append(1)
        QApplication.processEvents()
        try:
            window.exports.save_screenshot(target)
        except ExplorerError as exc:
            finish(str(exc))
            return
        finish(None)

    window.reconstruction_ready.connect(lambda: QTimer.singleShot(300, shoot))
    window.failed.connect(lambda title, message: finish(message))
    QTimer.singleShot(int(timeout_s * 1000), lambda: finish(f"no reconstruction within {timeout_s:.0f} s; no screenshot written"))
