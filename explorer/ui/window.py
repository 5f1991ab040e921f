"""The explorer window assembles the components (each in its own module, talking through signals:
codec bar, live bar, file view, codebook panel, transport, metrics line, exports, File, Classroom and
Help menus, presentation mode, the autosaved session) and keeps the session's results.

The window draws; the :class:`InferenceWorker` computes; the :class:`Player` plays. Edits go from
the panel to the worker as immutable requests (newest wins) and come back as numpy audio, swapped
into the player at the playhead (decode-from-playhead-first, then the rest). A 30 Hz timer moves
the playhead; text refreshes once a second.
"""

from __future__ import annotations

import gc
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QSettings, QTimer, Signal
from PySide6.QtGui import QIcon, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout, QMainWindow, QMessageBox, QSplitter, QStackedWidget, QVBoxLayout, QWidget,
)

from explorer.core.audio import Clip
from explorer.core.edits import Edits
from explorer.core.errors import ExplorerError
from explorer.core.resources import resource
from explorer.core.session_file import session_json
from explorer.services.session import CodecChoice, Decoded, Session
from explorer.ui.classroom_menu import ClassroomMenu
from explorer.ui.codebook_panel import CodebookPanel
from explorer.ui.codec_bar import CodecBar
from explorer.ui.exports import Exports
from explorer.ui.file_menu import FileMenu
from explorer.ui.grid_data import GridData
from explorer.ui.help_menu import HelpMenu
from explorer.ui.live_bar import LiveBar
from explorer.ui.live_view import LiveViews
from explorer.ui.metrics_line import MetricsLine
from explorer.ui.progress import ProgressBox
from explorer.ui.presentation import ShortcutOverlay, set_presentation
from explorer.ui.session_store import SessionStore
from explorer.ui.settings_schema import migrate
from explorer.ui.time_panel import TimePanel
from explorer.ui.transport import Transport
from explorer.ui.worker import DecodeRequest, EncodeRequest, InferenceWorker, OpenRequest, Spectra

log = logging.getLogger(__name__)


class MainWindow(QMainWindow):
    """The explorer window. ``headless`` (screenshot runs): no dialog is shown; failures are
    announced only by the :attr:`failed` signal, for the caller to act on."""

    reconstruction_ready = Signal()
    failed = Signal(str, str)  # title, message: a clip, codec or edit that could not be used

    def __init__(self, settings: QSettings | None = None, welcome: bool = True, headless: bool = False) -> None:
        super().__init__()
        self.headless = headless
        self.setWindowTitle("Codec Explorer")
        self.settings = settings or QSettings("codec-explorer", "Codec Explorer")
        self.session = Session()
        self.worker = InferenceWorker(self.session)
        self.grid: GridData | None = None
        self.decoded: Decoded | None = None
        self.edit_clock: float | None = None
        self.edit_to_sound_ms: float | None = None
        self.pending_edits: Edits | None = None
        """Edits to apply once the next encoding arrives (``codec-explorer open --mute ...``)."""
        self.pending_view: tuple[float, float] | None = None
        """The time range to show once the restored clip is drawn."""
        self.restore_note = ""
        """What :meth:`saved_session` could not restore from a damaged session file ('' if nothing)."""
        self.announcement = ""
        """A status-bar message to show once the next reconstruction is drawn (opening a clip rewrites
        the status bar, so a message shown before that would be lost at once)."""
        self._build()
        self._connect()
        self.restore_state(welcome)
        self.worker.start()
        try:
            self.setWindowIcon(QIcon(str(resource("icons", "codec-explorer.svg"))))
        except ExplorerError as exc:
            log.warning("%s", exc)
        self.timer = QTimer(self, interval=33, timeout=self._tick)
        self.timer.start()
        self.text_timer = QTimer(self, interval=1000, timeout=self.transport.refresh_text)
        self.text_timer.start()

    # ------------------------------------------------------------ building
    def _build(self) -> None:
        self.codec_bar = CodecBar(self)
        self.addToolBar(self.codec_bar)
        self.live_bar = LiveBar(self)
        self.addToolBar(self.live_bar)
        self.file_view = TimePanel()
        self.views = self.file_view.views
        self.live_views = LiveViews()
        self.panel = CodebookPanel()
        self.stack = QStackedWidget()
        self.stack.addWidget(self.file_view)
        self.stack.addWidget(self.live_views)
        self.splitter = QSplitter()
        self.splitter.addWidget(self.panel)
        self.splitter.addWidget(self.stack)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setSizes([380, 1100])
        self.transport = Transport(self.views)
        self.player = self.transport.player
        self.metrics = MetricsLine()
        row = QHBoxLayout()
        row.addWidget(self.transport)
        row.addStretch(1)
        row.addWidget(self.metrics)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addWidget(self.splitter, 1)
        layout.addWidget(self.live_bar.label)
        layout.addLayout(row)
        self.setCentralWidget(central)
        self.progress = ProgressBox()
        self.statusBar().addPermanentWidget(self.progress)
        self.overlay = ShortcutOverlay(self)
        self._build_menus()
        self.store = SessionStore(self.settings, self._snapshot, self)
        self.setAcceptDrops(True)
        self.resize(1500, 900)

    def _build_menus(self) -> None:
        self.exports = Exports(self, self.session, lambda: self.codec_bar.codec, lambda: self.panel.edits,
                               lambda: self.decoded)
        self.file_menu = FileMenu(self, self.exports)
        self.menuBar().addMenu(self.file_menu)
        t = self.menuBar().addMenu("&Classroom")
        self.classroom = ClassroomMenu(self, t, self._open_clip, lambda: self.grid, lambda: self.codec_bar.codec,
                                       lambda: self.codec_bar.device, self.transport.play_clip)
        self.presentation_action = t.addAction("&Presentation mode", QKeySequence("F11"), self.toggle_presentation)
        self.presentation_action.setCheckable(True)
        t.addAction("&Reset demo", QKeySequence("Home"), self.reset_demo)
        h = self.menuBar().addMenu("&Help")
        self.help = HelpMenu(self, h, self.settings, lambda: self.codec_bar.device, self.overlay.toggle)

    def _connect(self) -> None:
        w = self.worker
        w.opened.connect(self._on_opened)
        w.encoded.connect(self._on_encoded)
        w.partial.connect(self._on_partial)
        w.decoded.connect(self._on_decoded)
        w.progress.connect(self.progress.show_progress)
        w.failed.connect(self._on_failed)
        self.progress.cancel_button.clicked.connect(w.cancel)
        for source in (self.transport, self.exports, self.classroom, self.help):
            source.message.connect(self.statusBar().showMessage)
        self.codec_bar.encode_requested.connect(self._encode)
        self.panel.edits_changed.connect(self._edits_changed)
        self.views.seek_requested.connect(self.transport.seek)
        self.views.occurrences_shown.connect(lambda text: self.statusBar().showMessage(text, 15000))
        self.views.wave.sigXRangeChanged.connect(lambda *_: self.store.changed())
        self.file_menu.open_requested.connect(self.open_file)
        self.live_bar.start_requested.connect(self._start_live)
        self.live_bar.running.connect(self._live_running)
        self.live_bar.started.connect(self._live_started)
        self.live_bar.chunks.connect(self.live_views.add_all)
        self.live_bar.ended.connect(self._live_ended)
        for key, fn in (("Ctrl+L", self.live_bar.live_button.toggle), ("Space", self.transport.toggle_play),
                        ("S", self.transport.stop), ("A", self.transport.ab_button.toggle),
                        ("R", lambda: self.panel.clear_edits(announce=True))):
            QShortcut(QKeySequence(key), self, activated=fn)
        for k in range(9):
            QShortcut(QKeySequence(str(k + 1)), self, activated=lambda k=k: self.mute_key(k))

    # ------------------------------------------------------------ settings
    def restore_state(self, welcome: bool) -> None:
        """Each component restores its own group, after the file is migrated to this version."""
        s = self.settings
        migrate(s)
        geometry = s.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        for component in (self.codec_bar, self.live_bar, self.file_menu, self.transport):
            component.restore_state(s)
        self.help.restore_state(s, welcome)

    def save_state(self) -> None:
        s = self.settings
        s.setValue("window/geometry", self.saveGeometry())
        for component in (self.codec_bar, self.live_bar, self.file_menu, self.transport):
            component.save_state(s)
        s.sync()

    # ------------------------------------------------------------ the session
    def _snapshot(self) -> str | None:
        """The session as autosaved (None while there is none to save)."""
        if self.session.path is None or self.live_bar.live is not None:
            return None
        lo, hi = self.views.wave.viewRange()[0]
        grid = self.grid
        return session_json(self.session.path, self.panel.edits, (lo, hi), self.file_view.spectrogram,
                            grid.info.name if grid else None, grid.n_codebooks if grid else None)

    def saved_session(self) -> Path | None:
        """The clip of the last session, if it still exists; its edits and view become pending, and
        :attr:`restore_note` says what a damaged session file could not restore."""
        restored = self.store.restore(self.codec_bar, self.file_view)
        if restored is None:
            return None
        self.restore_note = restored.note
        if restored.path is not None:
            self.pending_edits, self.pending_view = restored.edits, restored.view
        return restored.path

    def open_file(self, path: str | Path) -> None:
        self.file_menu.add_recent(path)
        self.file_menu.save_state(self.settings)
        self.statusBar().showMessage(f"Opening {Path(path).name}…")
        self.worker.submit(OpenRequest(Path(path), self.codec_bar.choice()))

    def _open_clip(self) -> tuple[Clip, str] | None:
        clip = self.transport.original
        if clip is None:
            return None
        return clip, self.session.path.name if self.session.path else "clip"

    def _encode(self, choice: CodecChoice | None = None) -> None:
        if self.transport.original is None:
            return
        self.worker.submit(EncodeRequest(choice or self.codec_bar.choice()))

    def _edits_changed(self, edits: Edits) -> None:
        if self.live_bar.set_edits(edits):
            return
        self.views.mark_edits(edits)
        self.store.changed()
        self.edit_clock = time.perf_counter()
        self.worker.submit(DecodeRequest(edits, self.player.seconds, self.edit_clock))

    def mute_key(self, k: int) -> None:
        """Keys 1-9: toggle muting codebook ``k`` (if the codec has it)."""
        if self.grid is not None and k < self.grid.n_codebooks:
            self.panel.toggle(k, "mute")

    # ------------------------------------------------------------ live mode
    def _start_live(self) -> None:
        self.transport.stop()
        self.live_bar.start(self.codec_bar.choice(), self.transport.output_device(), self.panel.cleared())

    def _live_running(self, running: bool) -> None:
        for w in (self.codec_bar, self.file_menu.open_action):
            w.setEnabled(not running)

    def _live_started(self, info: Any, n: int, hop: int) -> None:
        self.live_views.start(info, n, hop)
        self.stack.setCurrentWidget(self.live_views)
        self.panel.show_grid(GridData.live(info, n))
        self.statusBar().showMessage(f"Live: {info.name}. Speak; mute or solo codebooks in the panel.", 5000)

    def _live_ended(self, reason: str, folder: Any, problem: bool) -> None:
        self.stack.setCurrentIndex(0)
        if self.grid is not None:
            self.panel.show_grid(self.grid)
        message = reason
        if folder is not None:
            message += f" Take saved in {folder}; opening it."
            self.open_file(Path(folder) / "input.wav")
        self.statusBar().showMessage(message, 15000)
        if problem:
            QMessageBox.warning(self, "Live mode", message)

    # ------------------------------------------------------------ worker results
    def _on_opened(self, clip: Clip, spectra: Spectra) -> None:
        self.decoded = None
        self.views.show_audio(clip.samples, None, clip.sample_rate, spectra)
        self.transport.load(clip)
        name = self.session.path.name if self.session.path else "clip"
        self.setWindowTitle(f"Codec Explorer — {name}")
        notes = "; ".join(clip.notes)
        self.statusBar().showMessage(f"{name}: {clip.duration:.2f} s, {clip.sample_rate} Hz, {clip.channels} ch" + (f" ({notes})" if notes else ""))

    def _on_encoded(self, grid: GridData, device: str) -> None:
        # the loaded model's many long-lived objects need no more cycle collection: without this a
        # full collection can pause the GUI thread for over 100 ms (measured in the stress test)
        gc.freeze()
        self.grid = grid
        self.codec_bar.show_device(device)
        self.views.show_grid(grid, Edits())
        self.panel.show_grid(grid)
        if self.pending_edits is not None:
            edits, self.pending_edits = self.pending_edits, None
            try:
                edits.check(grid.n_codebooks)
            except ExplorerError as exc:
                self._on_failed("Edits not applied", str(exc))
                return
            self.panel.set_edits(edits, announce=True)
        if grid.notes:
            self.statusBar().showMessage("converted: " + "; ".join(grid.notes), 8000)
        self.store.changed()

    def _on_partial(self, request: DecodeRequest, at: int, samples: np.ndarray) -> None:
        if request.edits != self.panel.edits:
            return
        self.transport.splice(at, samples)
        self._note_sound(request)

    def _on_decoded(self, request: DecodeRequest, decoded: Decoded, spectra: Spectra) -> None:
        if request.edits != self.panel.edits:
            return
        self.decoded = decoded
        self.transport.set_reconstruction(decoded.clip.samples)
        self._note_sound(request)
        self.views.show_audio(None, decoded.clip.samples, decoded.clip.sample_rate, spectra)
        if self.pending_view is not None:
            self.views.wave.setXRange(*self.pending_view, padding=0)
            self.pending_view = None
        if decoded.clip.notes:
            self.statusBar().showMessage("; ".join(decoded.clip.notes), 15000)
        if self.announcement:
            self.statusBar().showMessage(self.announcement, 20000)
            self.announcement = ""
        if self.grid is not None:
            self.metrics.show_figures(decoded, self.grid, self.edit_to_sound_ms)
        self.reconstruction_ready.emit()

    def _note_sound(self, request: DecodeRequest) -> None:
        if self.edit_clock is not None and request.submitted == self.edit_clock:
            self.edit_to_sound_ms = 1000 * (time.perf_counter() - request.submitted)
            self.edit_clock = None

    def _on_failed(self, title: str, message: str) -> None:
        self.progress.hide()
        if self.grid is not None and self.codec_bar.codec != self.grid.info.name:
            self.codec_bar.select(self.grid.info.name, self.grid.n_codebooks)
        self.statusBar().showMessage(message, 10000)
        self.failed.emit(title, message)
        if not self.headless:
            QMessageBox.warning(self, title, message)

    def _tick(self) -> None:
        if self.live_bar.live is not None:
            self.live_views.draw()
        elif self.player.tracks:
            self.views.set_playhead(self.player.seconds)

    # ------------------------------------------------------------ classroom
    def toggle_presentation(self) -> None:
        """Full screen, large type, a thick playhead: for a projector."""
        set_presentation(self, self.views, self.panel, self.presentation_action.isChecked())

    def reset_demo(self) -> None:
        """Stop, clear every edit, hear the reconstruction from the start."""
        if self.live_bar.live is not None:
            self.live_bar.stop()
        self.transport.rewind()
        self.overlay.hide()
        if self.grid is not None:
            self.panel.clear_edits(announce=True)
        self.statusBar().showMessage("Demo reset: no edits, back to the start.", 4000)

    # ------------------------------------------------------------ Qt events
    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        if self.overlay.isVisible():
            self.overlay.place()

    def dragEnterEvent(self, event: Any) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: Any) -> None:
        urls = event.mimeData().urls()
        if urls:
            self.open_file(urls[0].toLocalFile())

    def closeEvent(self, event: Any) -> None:
        self.store.save()
        self.save_state()
        self.timer.stop()
        self.live_bar.wait_until_saved()
        self.player.close()
        self.worker.shutdown()
        super().closeEvent(event)

