"""The explorer window assembles the components (each in its own module, talking through signals:
codec bar, live bar, the central area (codebook panel, file and live views, transport, metrics line),
exports, File, Classroom and Help menus, presentation mode, the autosaved session).

The :class:`SessionModel` holds the state (clip, encoding, edits, reconstruction) on the GUI thread;
the :class:`InferenceWorker` computes; the :class:`Player` plays. An edit goes from the panel to
the model, whose ``edits_changed`` marks the views and sends the worker a frozen :class:`DecodeJob`
(newest wins). Results come back as values and are taken only if they still match the model: the
sound first (the span from the playhead, then the whole reconstruction, prepared at the player's
rate by the worker), then the figures. A 30 Hz timer moves the playhead; text refreshes once a second.
"""

from __future__ import annotations

import gc
import logging
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, QTimer, Signal
from PySide6.QtGui import QIcon, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMessageBox

from explorer.core.audio import Clip
from explorer.core.edits import Edits
from explorer.core.errors import ExplorerError
from explorer.core.resources import resource
from explorer.core.types import FloatArray
from explorer.core.session_file import session_json
from explorer.services.engine import refuse_edits
from explorer.services.session import CodecChoice, Decoded, DecodeJob, Encoded, EncodeJob, OpenJob, OutputFormat, SessionModel
from explorer.ui.central import Central
from explorer.ui.classroom_menu import ClassroomMenu
from explorer.ui.codec_bar import CodecBar
from explorer.ui.edit_menu import EditMenu
from explorer.ui.exports import Exports
from explorer.ui.file_menu import FileMenu
from explorer.ui.grid_data import GridData
from explorer.ui.help_menu import HelpMenu
from explorer.ui.keys import install_keys
from explorer.ui.live_bar import LiveBar
from explorer.ui.progress import ProgressBox
from explorer.ui.presentation import ShortcutOverlay, set_presentation
from explorer.ui.session_store import SessionStore
from explorer.ui.settings_schema import migrate
from explorer.ui.worker import InferenceWorker, Spectra

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
        self.model = SessionModel()
        self.worker = InferenceWorker()
        self.grid: GridData | None = None
        """The current encoding as the views draw it."""
        self.edit_clock: float | None = None
        self.edit_to_sound_ms: float | None = None
        self.pending_edits: Edits | None = None
        """Edits to apply once the next encoding arrives (``codec-explorer open --mute ...``)."""
        self.pending_view: tuple[float, float] | None = None
        """The time range to show once the restored clip is drawn."""
        self.pending_selection: tuple[float, float] | None = None  # made once the clip is open (open --select)
        self.restore_note = ""
        """What :meth:`saved_session` could not restore from a damaged session file ('' if nothing)."""
        self.announcement = ""
        """A status-bar message to show once the next reconstruction is drawn (opening a clip rewrites
        the status bar, so a message shown before that would be lost at once)."""
        self.fallback_note = ""
        """Why the saved codec choice was replaced at start (shown instead of a dialog)."""
        self.sound_codec: str | None = None
        """The codec whose reconstruction is heard and drawn (the grid may show a newer one's tokens)."""
        self._build()
        self._connect()
        self.restore_state(welcome)
        self.worker.start()
        try:
            self.setWindowIcon(QIcon(str(resource("icons", "codec-explorer.svg"))))
        except ExplorerError as exc:
            log.warning("%s", exc)
        self.timer = QTimer(self)
        self.timer.timeout.connect(self._tick)
        self.timer.start(33)
        self.text_timer = QTimer(self)
        self.text_timer.timeout.connect(self.transport.refresh_text)
        self.text_timer.start(1000)

    # ------------------------------------------------------------ building
    def _build(self) -> None:
        self.codec_bar = CodecBar(self)
        self.addToolBar(self.codec_bar)
        self.live_bar = LiveBar(self)
        self.addToolBar(self.live_bar)
        c = self.central = Central(self.model, self.live_bar.label)
        self.addToolBar(c.file_view.paint_bar)
        self.file_view, self.views, self.live_views, self.panel = c.file_view, c.views, c.live_views, c.panel
        self.stack, self.transport, self.metrics, self.player = c.stack, c.transport, c.metrics, c.transport.player
        self.setCentralWidget(c)
        self.progress = ProgressBox()
        self.statusBar().addPermanentWidget(self.progress)
        self.overlay = ShortcutOverlay(self)
        self._build_menus()
        self.store = SessionStore(self.settings, self._snapshot, self)
        self.resize(1500, 900)

    def _build_menus(self) -> None:
        self.exports = Exports(self, self.model)
        self.file_menu = FileMenu(self, self.exports)
        self.menuBar().addMenu(self.file_menu)
        self.edit_menu = EditMenu(self, self.model, self.views, self.transport, self.panel)
        self.menuBar().addMenu(self.edit_menu)
        t = self.menuBar().addMenu("&Classroom")
        self.classroom = ClassroomMenu(self, t, self.model, lambda: self.grid, lambda: self.codec_bar.codec,
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
        w.sound.connect(self._on_sound)
        w.decoded.connect(self._on_decoded)
        w.progress.connect(self.progress.show_progress)
        w.failed.connect(self._on_failed)
        w.encode_failed.connect(self._encode_failed)
        self.progress.cancel_button.clicked.connect(w.cancel)
        for source in (self.transport, self.exports, self.classroom, self.help):
            source.message.connect(self.statusBar().showMessage)
        self.codec_bar.encode_requested.connect(self._encode)
        self.model.edits_changed.connect(self._edits_changed)
        self.views.seek_requested.connect(self.transport.seek)
        self.views.occurrences_shown.connect(lambda text: self.statusBar().showMessage(text, 15000))
        self.views.wave.sigXRangeChanged.connect(lambda *_: self.store.changed())
        self.file_menu.open_requested.connect(self.open_file)
        self.live_bar.start_requested.connect(self._start_live)
        self.live_bar.running.connect(self._live_running)
        self.live_bar.started.connect(self._live_started)
        self.live_bar.chunks.connect(self.live_views.add_all)
        self.live_bar.ended.connect(self._live_ended)
        install_keys(self)

    # ------------------------------------------------------------ settings
    def restore_state(self, welcome: bool) -> None:
        """Each component restores its own group, after the file is migrated to this version."""
        s = self.settings
        migrate(s)
        geometry = s.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        for component in (self.codec_bar, self.live_bar, self.file_menu, self.transport, self.file_view):
            component.restore_state(s)
        self.help.restore_state(s, welcome)

    def save_state(self) -> None:
        s = self.settings
        s.setValue("window/geometry", self.saveGeometry())
        for component in (self.codec_bar, self.live_bar, self.file_menu, self.transport, self.file_view):
            component.save_state(s)
        s.sync()

    # ------------------------------------------------------------ the session
    def _snapshot(self) -> str | None:
        """The session as autosaved (None while there is none to save)."""
        if self.model.path is None or self.grid is None or self.live_bar.live is not None:
            return None  # nothing encoded yet: the saved codec is kept, never overwritten by "none"
        lo, hi = self.views.wave.viewRange()[0]
        grid = self.grid
        return session_json(self.model.path, self.model.edits, (lo, hi), self.file_view.spectrogram,
                            grid.info.name if grid else None, grid.n_codebooks if grid and grid.info.tokens else None)

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
        self.worker.submit(OpenJob(Path(path), self.codec_bar.choice()))

    @property
    def decoded(self) -> Decoded | None:
        """The reconstruction shown (the model's)."""
        return self.model.decoded

    def _encode(self, choice: CodecChoice | None = None) -> None:
        if self.model.clip is None:
            return
        self.worker.submit(EncodeJob(self.model.clip, choice or self.codec_bar.choice()))

    def _edits_changed(self, edits: Edits) -> None:
        self.panel.show_edits(edits)
        if self.live_bar.set_edits(edits):
            return
        self.views.mark_edits(edits)
        self.store.changed()
        job = self._decode()
        if job is not None:
            self.edit_clock = job.submitted

    def _decode(self) -> DecodeJob | None:
        """Ask the worker for the model's encoding under its edits, from the playhead first."""
        job = self.model.decode_job(self.player.seconds, OutputFormat(*self.player.format), self.transport.heard,
                                    self.transport.heard_ready)
        if job is not None:
            self.worker.submit(job)
        return job

    def mute_key(self, k: int) -> None:
        """Keys 1-9: toggle muting codebook ``k`` (if the codec has it)."""
        if self.grid is not None and k < self.grid.n_codebooks:
            self.panel.toggle(k, "mute")

    # ------------------------------------------------------------ live mode
    def _start_live(self) -> None:
        self.transport.stop()
        self.live_bar.start(self.codec_bar.choice(), self.transport.output_device(), self.model.cleared())

    def _live_running(self, running: bool) -> None:
        for w in (self.codec_bar, self.file_menu.open_action):
            w.setEnabled(not running)
        self.metrics.setVisible(not running)  # the file's figures are not the live run's

    def _live_started(self, info: Any, n: int, hop: int) -> None:
        self.live_views.start(info, n, hop)
        self.stack.setCurrentWidget(self.live_views)
        self.panel.show_grid(GridData.live(info, n), self.model.cleared())
        self.model.set_edits(self.model.cleared())
        hint = "mute or solo codebooks in the panel" if info.tokens else f"{info.spoken} has no codebooks to edit"
        self.statusBar().showMessage(f"Live: {info.name}. Speak; {hint}.", 5000)

    def _live_ended(self, reason: str, folder: Any, problem: bool) -> None:
        self.stack.setCurrentIndex(0)
        if self.grid is not None:
            self.panel.show_grid(self.grid, self.model.edits)
            if not self.model.set_edits(self.model.cleared()):
                self._edits_changed(self.model.edits)  # live mode had them: the file view's sound follows them again
        message = reason
        if folder is not None:
            message += f" Take saved in {folder}; opening it."
            self.open_file(Path(folder) / "input.wav")
        self.statusBar().showMessage(message, 15000)
        if problem:
            QMessageBox.warning(self, "Live mode", message)

    # ------------------------------------------------------------ worker results
    def _on_opened(self, job: OpenJob, clip: Clip, spectra: Spectra) -> None:
        self.model.set_clip(job.path, clip)
        self.sound_codec = None
        self.views.show_audio(clip.samples, None, clip.sample_rate, spectra)
        self.transport.load(clip)
        name = job.path.name
        self.setWindowTitle(f"Codec Explorer — {name}")
        notes = "; ".join(clip.notes)
        self.statusBar().showMessage(f"{name}: {clip.duration:.2f} s, {clip.sample_rate} Hz, {clip.channels} ch" + (f" ({notes})" if notes else ""))
        problem, self.pending_selection = self.edit_menu.select(self.pending_selection, name), None
        if problem:
            self._on_failed("Selection not made", problem)

    def _on_encoded(self, job: EncodeJob, encoded: Encoded, grid: GridData) -> None:
        if not self.model.apply_encoded(encoded):
            return  # of a clip no longer open
        # the loaded model's many long-lived objects need no more cycle collection: without this a
        # full collection can pause the GUI thread for over 100 ms (measured in the stress test)
        gc.freeze()
        self.grid = grid
        self.file_view.show_codecs(encoded.choice.name, self.sound_codec)
        self.codec_bar.confirm(encoded.choice)
        self.codec_bar.show_device(encoded.device)
        self.views.show_grid(grid, self.model.edits)
        self.panel.show_grid(grid, self.model.edits)
        edits, self.pending_edits = self.pending_edits, None
        if grid.notes:
            self.statusBar().showMessage("converted: " + "; ".join(grid.notes), 8000)
        self.store.changed()
        if edits is not None:
            try:
                refuse_edits(grid.info, edits)
                edits.check(grid.n_codebooks)
            except ExplorerError as exc:
                self._on_failed("Edits not applied", str(exc))
                edits = None
        if edits is None or not self.model.set_edits(edits):
            self._decode()

    def _on_sound(self, job: DecodeJob, samples: FloatArray, prepared: FloatArray | None) -> None:
        if not self.model.current(job):
            return
        made_for = (job.output.rate, job.output.channels) if job.output else None
        self.transport.set_reconstruction(samples, prepared, made_for)
        self._note_sound(job)

    def _on_decoded(self, job: DecodeJob, decoded: Decoded, spectra: Spectra) -> None:
        if not self.model.apply_decoded(job, decoded):
            return
        self.sound_codec = job.encoded.choice.name
        self.file_view.show_codecs(self.sound_codec, self.sound_codec)
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
            self.metrics.show_figures(self.sound_codec, decoded, self.grid, self.edit_to_sound_ms)
            self.metrics.score(job.encoded.clip, decoded)
        self.reconstruction_ready.emit()

    def _note_sound(self, job: DecodeJob) -> None:
        if self.edit_clock is not None and job.submitted == self.edit_clock:
            self.edit_to_sound_ms = 1000 * (time.perf_counter() - job.submitted)
            self.edit_clock = None

    def _encode_failed(self, job: EncodeJob, message: str) -> None:
        """A codec choice could not be used: back to the last that worked (or, at start, a fallback)."""
        if job.clip is not self.model.clip:
            return
        at_start = self.codec_bar.working is None
        choice = self.codec_bar.fallback(job.choice)
        if choice is None:
            return
        shown = self.model.encoded
        if shown is None or shown.choice != choice:
            self.worker.submit(EncodeJob(job.clip, choice))
        if at_start:  # the saved choice: say so once in the status bar, no dialog on every start
            self.fallback_note = (f"{job.choice.name} on '{job.choice.device}' could not be used ({message.rstrip('.')}), "
                                  f"so {choice.name} on '{choice.device}' is used instead.")

    def _on_failed(self, title: str, message: str) -> None:
        self.progress.hide()
        note, self.fallback_note = self.fallback_note, ""
        self.statusBar().showMessage(note or message, 20000 if note else 10000)
        self.failed.emit(title, message)
        if not self.headless and not note:
            QMessageBox.warning(self, title, message)

    def _tick(self) -> None:
        if self.live_bar.live is not None:
            self.live_views.draw()
        elif self.player.has_tracks:
            self.views.set_playhead(self.player.seconds)
            self.transport.show_position()

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
            self.model.set_edits(self.model.cleared())
        self.statusBar().showMessage("Demo reset: no edits, back to the start.", 4000)

    # ------------------------------------------------------------ Qt events
    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        if self.overlay.isVisible():
            self.overlay.place()

    def closeEvent(self, event: Any) -> None:
        self.store.save()
        self.save_state()
        self.timer.stop()
        self.live_bar.wait_until_saved()
        self.player.close()
        self.worker.shutdown()
        self.classroom.shutdown()
        super().closeEvent(event)

