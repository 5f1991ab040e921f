"""The explorer window: codec bar, time views, codebook panel, transport and metrics.

The window draws; the :class:`InferenceWorker` computes; the :class:`Player` plays. Edits go
from the panel to the worker as immutable requests (newest wins) and come back as numpy audio,
which is swapped into the player at the playhead (decode-from-playhead-first, then the rest).
A 30 Hz timer moves the playhead; text refreshes once a second.
"""

from __future__ import annotations

import gc
import html
import logging
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

import numpy as np
from PySide6.QtCore import QSettings, QSignalBlocker, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QIcon, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QFileDialog, QHBoxLayout, QLabel, QMainWindow, QMessageBox, QProgressBar, QPushButton,
    QSlider, QSplitter, QStackedWidget, QToolBar, QVBoxLayout, QWidget,
)

from explorer.audio_io.playback import Player
from explorer.audio_io.streams import audio_devices
from explorer.codecs.registry import CODEC_NAMES, DEFAULT_CODEC, entry, weights_available
from explorer.core.audio import Clip, save_audio
from explorer.core.edits import Edits
from explorer.core.errors import ExplorerError
from explorer.core.metrics import fmt
from explorer.core.output import output_file, write_text
from explorer.services import experiments
from explorer.core.resources import resource
from explorer.services.session import CodecChoice, Decoded, Session, open_engine
from explorer.core.session_file import SPECTROGRAM_MODES, read_session, session_json
from explorer.core.tokens import save_tokens
from explorer.ui import refcount_guard
from explorer.ui.classroom import CompareDialog, ExperimentsDock, TokenStatsDialog
from explorer.ui.help import GuideDialog, WelcomeDialog
from explorer.ui.codebook_panel import CodebookPanel
from explorer.ui.grid_data import GridData
from explorer.ui.live_view import LiveViews
from explorer.ui.live_worker import LiveRequest, LiveWorker
from explorer.ui.views import TimeViews
from explorer.ui.worker import DecodeRequest, EncodeRequest, InferenceWorker, OpenRequest, Spectra

log = logging.getLogger(__name__)

SETTINGS_VERSION = 1
AUTOSAVE_DELAY_MS = 500
"""The session is written this long after the last change: a crash loses at most half a second."""
OUTPUT_STALL_SECONDS = 1.5
"""Playing while the output asks for no samples this long means the device has gone."""
AUDIO_FILTER = "Audio (*.wav *.flac *.ogg *.mp3 *.aiff *.aif);;All files (*)"
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
Ctrl+E  export the reconstruction
Click a view  seek; drag in the waveform with Loop on  loop a region"""


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
        self.player = Player()
        self.grid: GridData | None = None
        self.decoded: Decoded | None = None
        self.original: Clip | None = None
        self.edit_clock: float | None = None
        self.edit_to_sound_ms: float | None = None
        self.playback_reason = ""
        self.pending_edits: Edits | None = None
        """Edits to apply once the next encoding arrives (``codec-explorer open --mute ...``)."""
        self.live: LiveWorker | None = None
        self.last_take: Path | None = None
        self._delivered = (0, time.perf_counter())
        self.pending_view: tuple[float, float] | None = None
        """The time range to show once the restored clip is drawn."""
        self.restore_note = ""
        """What :meth:`saved_session` could not restore from a damaged session file ('' if nothing)."""
        self.announcement = ""
        """A status-bar message to show once the next reconstruction is drawn (opening a clip rewrites
        the status bar, so a message shown before that would be lost at once)."""
        self._build()
        self._connect()
        self._restore()
        self.worker.start()
        self._open_output()
        try:
            self.setWindowIcon(QIcon(str(resource("icons", "codec-explorer.svg"))))
        except ExplorerError as exc:
            log.warning("%s", exc)
        if welcome and not self.settings.value("welcome/dismissed", False, bool):
            QTimer.singleShot(0, self.show_welcome)
        # autosave coalesces bursts (an edit per keystroke, a view change per wheel step) into one write
        self.autosave_timer = QTimer(self, interval=AUTOSAVE_DELAY_MS, singleShot=True, timeout=self.autosave)
        self.views.wave.sigXRangeChanged.connect(lambda *_: self.autosave_timer.start())
        self.timer = QTimer(self, interval=33, timeout=self._tick)
        self.timer.start()
        refcount_guard.top_up()
        self.guard_timer = QTimer(self, interval=1000, timeout=refcount_guard.top_up)
        self.guard_timer.start()
        self.text_timer = QTimer(self, interval=1000, timeout=self._refresh_text)
        self.text_timer.start()

    # ------------------------------------------------------------ building
    def _build(self) -> None:
        bar = QToolBar("Codec")
        bar.setObjectName("codec-bar")
        self.addToolBar(bar)
        self.codec_box = QComboBox()
        for name in CODEC_NAMES:
            self.codec_box.addItem(name + ("" if name == DEFAULT_CODEC or weights_available(name) else "  (download)"), name)
        self.codebooks_box = QComboBox()
        self.device_box = QComboBox()
        self.device_box.addItems(["auto", "cpu", "cuda", "mps"])
        self.device_label = QLabel("device: –")
        for w, label in ((self.codec_box, "Codec "), (self.codebooks_box, "  Codebooks "), (self.device_box, "  Device ")):
            bar.addWidget(QLabel(label))
            bar.addWidget(w)
        bar.addWidget(QLabel("  "))
        bar.addWidget(self.device_label)

        live = QToolBar("Live")
        live.setObjectName("live-bar")
        self.addToolBar(live)
        self.live_button = QPushButton("● Live")
        self.live_button.setCheckable(True)
        self.live_button.setToolTip("Encode and decode the microphone live (Ctrl+L)")
        self.input_box = QComboBox()
        self.monitor_box = QComboBox()
        self.monitor_box.addItems(["reconstruction", "input", "off"])
        self.monitor_box.setToolTip("What you hear while live: the codec's reconstruction or your raw input")
        self.record_box = QCheckBox("Record take")
        self.record_box.setToolTip("Save the input, the reconstruction and the tokens, then open the take")
        live.addWidget(self.live_button)
        for w, label in ((self.input_box, "  Input "), (self.monitor_box, "  Monitor ")):
            live.addWidget(QLabel(label))
            live.addWidget(w)
        live.addWidget(QLabel("  "))
        live.addWidget(self.record_box)
        self.live_label = QLabel("")
        self.live_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.live_label.setWordWrap(True)
        self.live_label.hide()

        self.views = TimeViews()
        self.live_views = LiveViews()
        self.panel = CodebookPanel()
        self.spec_box = QComboBox()
        self.spec_box.addItems(SPECTROGRAM_MODES)
        self.hover_label = QLabel(" ")
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        top.addWidget(QLabel("Spectrogram:"))
        top.addWidget(self.spec_box)
        top.addStretch(1)
        top.addWidget(self.hover_label)
        rl.addLayout(top)
        rl.addWidget(self.views, 1)
        self.stack = QStackedWidget()
        self.stack.addWidget(right)
        self.stack.addWidget(self.live_views)
        split = QSplitter()
        split.addWidget(self.panel)
        split.addWidget(self.stack)
        split.setStretchFactor(1, 3)
        split.setSizes([380, 1100])
        self.splitter = split

        transport = QHBoxLayout()
        self.play_button = QPushButton("Play")
        self.stop_button = QPushButton("Stop")
        self.ab_button = QPushButton("Hearing: reconstruction")
        self.ab_button.setCheckable(True)
        self.loop_box = QCheckBox("Loop")
        self.volume = QSlider(Qt.Orientation.Horizontal)
        self.volume.setRange(0, 100)
        self.volume.setValue(80)
        self.volume.setMaximumWidth(120)
        self.output_box = QComboBox()
        self.position_label = QLabel("0.00 s")
        for w in (self.play_button, self.stop_button, self.ab_button, self.loop_box, QLabel("Volume"), self.volume,
                  QLabel("Output"), self.output_box, self.position_label):
            transport.addWidget(w)
        transport.addStretch(1)
        self.metrics_label = QLabel("")
        self.metrics_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        transport.addWidget(self.metrics_label)

        central = QWidget()
        cl = QVBoxLayout(central)
        cl.addWidget(split, 1)
        cl.addWidget(self.live_label)
        cl.addLayout(transport)
        self.setCentralWidget(central)

        self.progress = QProgressBar()
        self.progress.setMaximumWidth(220)
        self.progress.setRange(0, 100)
        self.progress.hide()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.hide()
        self.statusBar().addPermanentWidget(self.progress)
        self.statusBar().addPermanentWidget(self.cancel_button)

        m = self.menuBar().addMenu("&File")
        self.open_action = m.addAction("&Open…", QKeySequence.StandardKey.Open, self.choose_file)
        self.recent_menu = m.addMenu("Open &Recent")
        m.addSeparator()
        m.addAction("&Export reconstruction (WAV)…", QKeySequence("Ctrl+E"), self.export_wav)
        m.addAction("Export &tokens (.npz)…", self.export_tokens)
        m.addAction("Export &picture (PNG)…", self.export_png)
        m.addSeparator()
        m.addAction("&Quit", QKeySequence.StandardKey.Quit, self.close)
        t = self.menuBar().addMenu("&Classroom")
        t.addAction("&Compare codecs…", QKeySequence("Ctrl+K"), self.open_compare)
        t.addAction("&Token statistics…", QKeySequence("Ctrl+T"), self.open_token_stats)
        self.experiments = ExperimentsDock(self.run_experiment, self.play_clip)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.experiments)
        self.experiments.hide()
        toggle = self.experiments.toggleViewAction()
        toggle.setShortcut(QKeySequence("F9"))
        t.addAction(toggle)
        self.presentation_action = t.addAction("&Presentation mode", QKeySequence("F11"), self.toggle_presentation)
        self.presentation_action.setCheckable(True)
        t.addAction("&Reset demo", QKeySequence("Home"), self.reset_demo)
        h = self.menuBar().addMenu("&Help")
        h.addAction("&Guide", self.show_guide)
        h.addAction("&Keyboard shortcuts", QKeySequence("F1"), self.toggle_help)
        h.addAction("&Welcome", self.show_welcome)
        h.addSeparator()
        h.addAction("&Diagnostics (copy for a bug report)", self.copy_diagnostics)
        h.addAction("&About Codec Explorer", self.show_about)
        self.help_overlay = QLabel(SHORTCUTS, self)
        self.help_overlay.setStyleSheet("background: rgba(10, 12, 16, 225); color: white; padding: 24px; "
                                        "font-size: 20px; font-family: monospace; border-radius: 8px;")
        self.help_overlay.hide()
        self.engines: dict[str, Any] = {}
        """Codecs for the classroom tools, apart from the inference worker's (never two threads on one model)."""
        self.foreign_audio = False
        self.setAcceptDrops(True)
        self.resize(1500, 900)

    def _connect(self) -> None:
        w = self.worker
        w.opened.connect(self._on_opened)
        w.encoded.connect(self._on_encoded)
        w.partial.connect(self._on_partial)
        w.decoded.connect(self._on_decoded)
        w.progress.connect(self._on_progress)
        w.failed.connect(self._on_failed)
        self.codec_box.activated.connect(lambda _: self._codec_chosen())
        self.codebooks_box.activated.connect(lambda _: self._encode())
        self.device_box.activated.connect(lambda _: self._encode())
        self.panel.edits_changed.connect(self._edits_changed)
        self.spec_box.currentTextChanged.connect(self.views.set_spec_mode)
        self.play_button.clicked.connect(self.toggle_play)
        self.stop_button.clicked.connect(self.stop)
        self.ab_button.toggled.connect(self._ab_toggled)
        self.loop_box.toggled.connect(self._loop_toggled)
        self.views.loop_region.sigRegionChanged.connect(self._loop_changed)
        self.volume.valueChanged.connect(lambda v: setattr(self.player, "volume", v / 100))
        self.output_box.activated.connect(lambda _: self._open_output(self.output_box.currentData()))
        self.cancel_button.clicked.connect(self.worker.cancel)
        self.live_button.toggled.connect(self._live_toggled)
        self.monitor_box.currentTextChanged.connect(lambda mode: self.live and self.live.set_monitor(mode))
        self.views.scene().sigMouseMoved.connect(self._hover)
        self.views.scene().sigMouseClicked.connect(self._clicked)
        for key, fn in (("Ctrl+L", self.live_button.toggle), ("Space", self.toggle_play), ("S", self.stop), ("A", lambda: self.ab_button.toggle()),
                        ("R", lambda: self.panel.set_edits(Edits(seed=self.panel.edits.seed), announce=True))):
            QShortcut(QKeySequence(key), self, activated=fn)
        for k in range(9):
            QShortcut(QKeySequence(str(k + 1)), self, activated=lambda k=k: self._mute_key(k))

    # ------------------------------------------------------------ settings
    def _restore(self) -> None:
        s = self.settings
        if int(s.value("version", SETTINGS_VERSION, int)) != SETTINGS_VERSION:
            s.clear()
        s.setValue("version", SETTINGS_VERSION)
        geometry = s.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        codec = str(s.value("codec/name", DEFAULT_CODEC, str))
        usable = codec in CODEC_NAMES and (codec == DEFAULT_CODEC or weights_available(codec))
        self._select(self.codec_box, codec if usable else DEFAULT_CODEC)
        self._fill_codebooks(int(s.value("codec/codebooks", 0, int)) or None)
        self._select(self.device_box, str(s.value("codec/device", "auto", str)))
        self._select(self.monitor_box, str(s.value("live/monitor", "reconstruction", str)))
        self.record_box.setChecked(bool(s.value("live/record", True, bool)))
        self._fill_inputs()
        self._refresh_recent()

    def save_state(self) -> None:
        s = self.settings
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("codec/name", self.codec_box.currentData())
        s.setValue("codec/codebooks", self.codebooks_box.currentData() or 0)
        s.setValue("codec/device", self.device_box.currentText())
        s.setValue("audio/output", self.output_box.currentText())
        s.setValue("audio/input", self.input_box.currentText())
        s.setValue("live/monitor", self.monitor_box.currentText())
        s.setValue("live/record", self.record_box.isChecked())
        s.sync()

    @staticmethod
    def _select(box: QComboBox, value: Any) -> None:
        with QSignalBlocker(box):
            i = box.findData(value)
            if i < 0:
                i = box.findText(str(value))
            if i >= 0:
                box.setCurrentIndex(i)

    def _fill_codebooks(self, choose: int | None = None) -> None:
        info = entry(self.codec_box.currentData()).info()
        with QSignalBlocker(self.codebooks_box):
            self.codebooks_box.clear()
            for n in info.codebook_choices:
                self.codebooks_box.addItem(f"{n}", n)
        self._select(self.codebooks_box, choose if choose in info.codebook_choices else info.default_codebooks)

    def _refresh_recent(self) -> None:
        self.recent_menu.clear()
        for path in self.recent_files():
            self.recent_menu.addAction(path, lambda p=path: self.open_file(p))
        self.recent_menu.setEnabled(bool(self.recent_files()))

    def recent_files(self) -> list[str]:
        value = self.settings.value("files/recent", [], list)
        return [str(v) for v in (value or [])][:10]

    # ------------------------------------------------------------ actions
    def choice(self) -> CodecChoice:
        return CodecChoice(self.codec_box.currentData(), self.codebooks_box.currentData(), self.device_box.currentText())

    # ------------------------------------------------------------ autosave
    @property
    def session_file(self) -> Path:
        """``session.json`` beside the settings file: the open clip's state, autosaved."""
        return Path(self.settings.fileName()).with_name("session.json")

    def autosave(self) -> None:
        """Write the open clip's state (file, codec, edits, view) now: a restart or a crash restores it.

        A small JSON file replaced atomically, without fsync: it survives the app crashing, and the
        GUI thread never waits for the disk (QSettings.sync fdatasyncs twice; under disk load that
        stalled the GUI for over 100 ms).
        """
        if self.session.path is None or self.live is not None:
            return
        lo, hi = self.views.wave.viewRange()[0]
        try:
            text = session_json(self.session.path, self.panel.edits, (lo, hi), self.spec_box.currentText(),
                                self.grid.info.name if self.grid else None, self.grid.n_codebooks if self.grid else None)
            self.session_file.parent.mkdir(parents=True, exist_ok=True)
            write_text(self.session_file, text)
        except (OSError, ExplorerError) as exc:
            log.warning("could not autosave the session to %s: %s", self.session_file, exc)

    def saved_session(self) -> Path | None:
        """The clip of the last session, if it still exists; its codec, edits and view become pending.

        A damaged session file never stops the start: each valid field is restored, and
        :attr:`restore_note` says what was not.
        """
        loaded = read_session(self.session_file, CODEC_NAMES)
        if loaded is None:
            return None
        if loaded.notes:
            log.warning("the saved session %s is damaged: %s", self.session_file, loaded.notes)
            self.restore_note = loaded.summary()
        state, path = loaded.state, loaded.state.clip()
        if path is None:
            return None
        if state.codec is not None and (state.codec == DEFAULT_CODEC or weights_available(state.codec)):
            self._select(self.codec_box, state.codec)
            self._fill_codebooks(state.codebooks)
        edits = state.edits.edits()
        self.pending_edits = None if edits.is_identity else edits
        self.pending_view = state.view
        self.spec_box.setCurrentText(state.spectrogram)
        return path

    def open_file(self, path: str | Path) -> None:
        path = str(path)
        recent = [path] + [p for p in self.recent_files() if p != path]
        self.settings.setValue("files/recent", recent[:10])
        self._refresh_recent()
        self.statusBar().showMessage(f"Opening {Path(path).name}…")
        self.worker.submit(OpenRequest(Path(path), self.choice()))

    def choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open audio", str(Path.home()), AUDIO_FILTER)
        if path:
            self.open_file(path)

    def _codec_chosen(self) -> None:
        name = self.codec_box.currentData()
        self._fill_codebooks()
        if name != DEFAULT_CODEC and not weights_available(name):
            answer = QMessageBox.question(
                self, "Weights needed",
                f"{name}'s weights are not on this computer. Download them now (progress is shown and can be "
                "cancelled), or choose a local checkpoint file?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Open | QMessageBox.StandardButton.Cancel,
            )
            if answer == QMessageBox.StandardButton.Open:
                path, _ = QFileDialog.getOpenFileName(self, f"{name} checkpoint", str(Path.home()))
                if not path:
                    return
                self._encode(replace(self.choice(), weights=path))
                return
            if answer != QMessageBox.StandardButton.Yes:
                return
        self._encode()

    def _encode(self, choice: CodecChoice | None = None) -> None:
        if self.original is None:
            return
        self.worker.submit(EncodeRequest(choice or self.choice()))

    def _edits_changed(self, edits: Edits) -> None:
        if self.live is not None:
            self.live.set_edits(edits)
            return
        self.views.mark_edits(edits)
        self.autosave_timer.start()
        self.edit_clock = time.perf_counter()
        self.worker.submit(DecodeRequest(edits, self.player.seconds, self.edit_clock))

    def _mute_key(self, k: int) -> None:
        if self.grid is not None and k < self.grid.n_codebooks:
            self.panel.toggle(k, "mute")

    def toggle_play(self) -> None:
        if not self.player.is_open:
            self.statusBar().showMessage(self.playback_reason or "No audio output.", 5000)
            return
        self._restore_tracks()
        if self.player.playing:
            self.player.pause()
        else:
            self.player.play()
        self.play_button.setText("Pause" if self.player.playing else "Play")

    def stop(self) -> None:
        self.player.stop()
        self.play_button.setText("Play")

    def _ab_toggled(self, original: bool) -> None:
        self.player.source = "original" if original else "reconstruction"
        self.ab_button.setText("Hearing: original" if original else "Hearing: reconstruction")

    def _loop_toggled(self, on: bool) -> None:
        region = self.views.loop_region
        if on and self.original is not None:
            lo, hi = self.views.wave.viewRange()[0]
            span = hi - lo
            region.setRegion((lo + span * 0.25, lo + span * 0.5))
            region.show()
        else:
            region.hide()
        self._loop_changed()

    def _loop_changed(self) -> None:
        if self.loop_box.isChecked():
            lo, hi = self.views.loop_region.getRegion()
            self.player.set_loop(max(0.0, lo), hi)
        else:
            self.player.set_loop(None)

    def _open_output(self, device: int | None = None) -> None:
        devices = audio_devices("output")
        with QSignalBlocker(self.output_box):
            self.output_box.clear()
            for d in devices:
                self.output_box.addItem(d.name, d.index)
        if not devices:
            self.playback_reason = "Playback is off: no audio output device was found. Everything else works."
            self._disable_playback()
            return
        wanted = str(self.settings.value("audio/output", "", str))
        if device is None and wanted:
            match = [d.index for d in devices if d.name == wanted]
            device = match[0] if match else None
        try:
            self.player.open(device)
        except ExplorerError as exc:
            self.playback_reason = str(exc)
            self._disable_playback()
            return
        if device is not None:
            self._select(self.output_box, device)
        for w in (self.play_button, self.stop_button):
            w.setEnabled(True)
            w.setToolTip("")

    def _disable_playback(self) -> None:
        for w in (self.play_button, self.stop_button):
            w.setEnabled(False)
            w.setToolTip(self.playback_reason)
        self.statusBar().showMessage(self.playback_reason)

    # ------------------------------------------------------------ help
    def show_welcome(self) -> None:
        """The first-run welcome: what is on screen and what to try; can be dismissed for good."""
        self.welcome = WelcomeDialog(self)
        self.welcome.dismissed.connect(lambda: self.settings.setValue("welcome/dismissed", True))
        self.welcome.guide_requested.connect(self.show_guide)
        self.welcome.show()

    def show_guide(self) -> None:
        self.guide = GuideDialog(self)
        self.guide.show()

    def diagnostics_text(self) -> str:
        from explorer.services.diagnostics import report

        return report(self.device_box.currentText()) + f"\nsettings: {self.settings.fileName()}"

    def copy_diagnostics(self) -> str:
        text = self.diagnostics_text()
        QGuiApplication.clipboard().setText(text)
        self.statusBar().showMessage("Diagnostics copied to the clipboard: paste them into your bug report.", 8000)
        return text

    def show_about(self) -> None:
        QMessageBox.about(self, "About Codec Explorer",
                          "<h3>Codec Explorer</h3><p>See and hear what neural audio codecs do with your audio.</p><pre>"
                          + html.escape(self.diagnostics_text()) + "</pre>")

    # ------------------------------------------------------------ classroom
    def classroom_engine(self, name: str) -> Any:
        if name not in self.engines:
            self.engines[name] = open_engine(CodecChoice(name, device=self.device_box.currentText()))
        return self.engines[name]

    def current_clip(self) -> tuple[Clip, str]:
        if self.original is not None:
            return self.original, self.session.path.name if self.session.path else "clip"
        path = resource("clips", "speech_en.wav")
        from explorer.core.audio import load_audio

        return load_audio(path), path.name

    def open_compare(self) -> CompareDialog:
        clip, title = self.current_clip()
        dialog = CompareDialog(self, clip, title, self.classroom_engine, self.play_clip)
        dialog.show()
        self.compare_dialog = dialog
        return dialog

    def open_token_stats(self) -> TokenStatsDialog | None:
        if self.grid is None:
            self.statusBar().showMessage("Open a clip first: the statistics are of its tokens.", 5000)
            return None
        dialog = TokenStatsDialog(self, self.grid)
        dialog.show()
        self.token_dialog = dialog
        return dialog

    def run_experiment(self, name: str) -> experiments.Experiment:
        """Run experiment ``name`` on the open clip with the chosen codec (worker thread)."""
        from explorer.ui.classroom import usable_codecs

        clip, _ = self.current_clip()
        names = usable_codecs() if name == "frame-rates" else [self.codec_box.currentData()]
        return experiments.run(name, [self.classroom_engine(n) for n in names], clip)

    def play_clip(self, clip: Clip) -> None:
        """Play a clip from a classroom tool through the window's player (the file view reloads after)."""
        if not self.player.is_open:
            self.statusBar().showMessage(self.playback_reason or "No audio output.", 5000)
            return
        self.player.stop()
        self.player.load(clip.samples, clip.sample_rate)
        self.player.source = "original"
        self.foreign_audio = True
        self.player.play()

    def _restore_tracks(self) -> None:
        if self.foreign_audio and self.original is not None:
            self.player.load(self.original.samples, self.original.sample_rate)
            if self.decoded is not None:
                self.player.set_reconstruction(self.decoded.clip.samples)
            self._ab_toggled(self.ab_button.isChecked())
        self.foreign_audio = False

    def toggle_presentation(self) -> None:
        """Full screen, large type, a thick playhead: for a projector."""
        on = self.presentation_action.isChecked()
        font = self.font()
        font.setPointSize(16 if on else 10)
        self.setFont(font)
        for line in self.views.playheads:
            line.setPen(line.pen.color(), width=5 if on else 2)
        self.views.setBackground("#000000" if on else "#16181d")
        self.panel.table.verticalHeader().setDefaultSectionSize(30 if on else 20)
        if on:
            self.showFullScreen()
        else:
            self.showNormal()

    def toggle_help(self) -> None:
        if self.help_overlay.isVisible():
            self.help_overlay.hide()
            return
        self._place_help()
        self.help_overlay.raise_()
        self.help_overlay.show()

    def _place_help(self) -> None:
        self.help_overlay.adjustSize()
        self.help_overlay.move(max(0, (self.width() - self.help_overlay.width()) // 2),
                               max(0, (self.height() - self.help_overlay.height()) // 2))

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        if self.help_overlay.isVisible():
            self._place_help()

    def reset_demo(self) -> None:
        """Stop, clear every edit, hear the reconstruction from the start."""
        if self.live is not None:
            self.stop_live()
        self.stop()
        self._restore_tracks()
        if self.ab_button.isChecked():
            self.ab_button.setChecked(False)
        self.help_overlay.hide()
        if self.grid is not None:
            self.panel.set_edits(Edits(seed=self.panel.edits.seed), announce=True)
        self.player.seek(0.0)
        self.views.set_playhead(0.0)
        self.statusBar().showMessage("Demo reset: no edits, back to the start.", 4000)

    # ------------------------------------------------------------ live mode
    def _fill_inputs(self) -> None:
        devices = audio_devices("input")
        with QSignalBlocker(self.input_box):
            self.input_box.clear()
            for d in devices:
                self.input_box.addItem(d.name, d.index)
        self._select(self.input_box, str(self.settings.value("audio/input", "", str)))
        if not devices:
            self.live_button.setEnabled(False)
            self.live_button.setToolTip("Live mode is off: no audio input device was found. Everything else works.")

    def recordings_folder(self) -> Path:
        return Path(str(self.settings.value("live/folder", str(Path.home() / "CodecExplorer" / "recordings"), str)))

    def _live_toggled(self, on: bool) -> None:
        if on:
            self.start_live()
        elif self.live is not None:
            self.live_button.setEnabled(False)
            self.live_button.setText("Saving…")
            self.live.stop()

    def start_live(self) -> None:
        """Start live microphone mode with the chosen codec, input, monitor and recording."""
        if self.live is not None:
            return
        self.stop()
        record = None
        if self.record_box.isChecked():
            record = self.recordings_folder() / time.strftime("take-%Y%m%d-%H%M%S")
        choice = self.choice()
        request = LiveRequest(choice, self.input_box.currentData(), self.output_box.currentData(),
                              self.monitor_box.currentText(), record, Edits(seed=self.panel.edits.seed))
        self.live = LiveWorker(request)
        self.live.ready.connect(self._live_ready)
        self.live.chunks.connect(self._live_chunks)
        self.live.status.connect(self._live_status)
        self.live.ended.connect(self._live_ended)
        for w in (self.codec_box, self.codebooks_box, self.device_box, self.input_box, self.record_box, self.open_action):
            w.setEnabled(False)
        with QSignalBlocker(self.live_button):
            self.live_button.setChecked(True)
        self.live_button.setText("■ Stop live")
        self.live_label.setText(f"Starting live mode with {choice.name}…")
        self.live_label.show()
        self.live.start()

    def stop_live(self) -> None:
        self.live_button.setChecked(False)

    def _live_ready(self, info: Any, n: int, hop: int, line: str) -> None:
        self.live_views.start(info, n, hop)
        self.stack.setCurrentWidget(self.live_views)
        self.panel.show_grid(GridData.live(info, n))
        self.live_line = f"Live: {line}"
        self.live_label.setText(self.live_line)
        self.statusBar().showMessage(f"Live: {info.name}. Speak; mute or solo codebooks in the panel.", 5000)

    def _live_chunks(self, chunks: list[Any]) -> None:
        for chunk in chunks:
            self.live_views.add(chunk)

    def _live_status(self, text: str, behind: bool) -> None:
        self.live_label.setText(f"{self.live_line}\n{text}")
        self.live_label.setStyleSheet("color: #e0a040;" if behind else "")

    def _live_ended(self, reason: str, folder: Any, problem: bool) -> None:
        worker, self.live = self.live, None
        if worker is not None:
            worker.wait(5000)
        for w in (self.codec_box, self.codebooks_box, self.device_box, self.input_box, self.record_box,
                  self.open_action, self.live_button):
            w.setEnabled(True)
        with QSignalBlocker(self.live_button):
            self.live_button.setChecked(False)
        self.live_button.setText("● Live")
        self.live_label.setStyleSheet("")
        self.live_label.hide()
        self.stack.setCurrentIndex(0)
        if self.grid is not None:
            self.panel.show_grid(self.grid)
        message = reason
        if folder is not None:
            self.last_take = Path(folder)
            message += f" Take saved in {folder}; opening it."
            self.open_file(Path(folder) / "input.wav")
        self.statusBar().showMessage(message, 15000)
        if problem:
            QMessageBox.warning(self, "Live mode", message)

    # ------------------------------------------------------------ exports
    def _target(self, title: str, suffix: str, filt: str) -> Path | None:
        stem = self.session.path.stem if self.session.path else "clip"
        path, _ = QFileDialog.getSaveFileName(self, title, str(Path.home() / f"{stem}-{self.choice().name}{suffix}"), filt)
        return Path(path) if path else None

    def export_wav(self, path: Path | None = None) -> None:
        decoded = self.decoded
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
            self._export(path, lambda: save_tokens(path, enc.codes, enc.meta(self.panel.edits), inputs=[self.session.path]))

    def export_png(self, path: Path | None = None) -> None:
        path = path or self._target("Export picture", ".png", "PNG (*.png)")
        if path:
            self._export(path, lambda: self.save_screenshot(path))

    def save_screenshot(self, path: Path) -> None:
        """Save the window as a PNG by the output policy (never onto the open clip)."""
        with output_file(path, [self.session.path]) as tmp:
            if not self.grab().save(str(tmp), "PNG"):
                raise ExplorerError(f"Could not write '{path}': the picture could not be encoded.")

    def _export(self, path: Path, write: Callable[[], Any]) -> None:
        """Run ``write``, which writes ``path`` by the output policy with the open clip as an input:
        a refusal (the clip itself, a folder…) or a failure is shown in a dialog, any existing file
        untouched. Notes the writer returns (peaks limited) are shown with the result."""
        try:
            notes = write()
        except ExplorerError as exc:
            QMessageBox.warning(self, "Export failed", str(exc))
            return
        self.statusBar().showMessage(f"Saved {path}" + (f" ({'; '.join(notes)})" if notes else ""), 8000)

    # ------------------------------------------------------------ worker results
    def _on_opened(self, clip: Clip, spectra: Spectra) -> None:
        self.original = clip
        self.decoded = None
        self.views.show_audio(clip.samples, None, clip.sample_rate, spectra)
        self.player.load(clip.samples, clip.sample_rate)
        self.foreign_audio = False
        name = self.session.path.name if self.session.path else "clip"
        self.setWindowTitle(f"Codec Explorer — {name}")
        notes = "; ".join(clip.notes)
        self.statusBar().showMessage(f"{name}: {clip.duration:.2f} s, {clip.sample_rate} Hz, {clip.channels} ch" + (f" ({notes})" if notes else ""))

    def _on_encoded(self, grid: GridData, device: str) -> None:
        # the loaded model's many long-lived objects need no more cycle collection: without this a
        # full collection can pause the GUI thread for over 100 ms (measured in the stress test)
        gc.freeze()
        self.grid = grid
        self.device_label.setText(f"device: {device}")
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
        self.autosave_timer.start()

    def _on_partial(self, request: DecodeRequest, at: int, samples: np.ndarray) -> None:
        if request.edits != self.panel.edits:
            return
        if not self.foreign_audio:
            self.player.splice_reconstruction(at, samples)
        self._note_sound(request)

    def _on_decoded(self, request: DecodeRequest, decoded: Decoded, spectra: Spectra) -> None:
        if request.edits != self.panel.edits:
            return
        self.decoded = decoded
        if not self.foreign_audio:
            self.player.set_reconstruction(decoded.clip.samples)
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
        self._refresh_metrics()
        self.reconstruction_ready.emit()

    def _note_sound(self, request: DecodeRequest) -> None:
        if self.edit_clock is not None and request.submitted == self.edit_clock:
            self.edit_to_sound_ms = 1000 * (time.perf_counter() - request.submitted)
            self.edit_clock = None

    def _on_progress(self, fraction: float, what: str) -> None:
        done = fraction >= 1.0
        self.progress.setVisible(not done)
        self.cancel_button.setVisible(not done)
        self.progress.setValue(int(fraction * 100))
        self.progress.setFormat(f"{what} %p%")

    def _on_failed(self, title: str, message: str) -> None:
        self.progress.hide()
        self.cancel_button.hide()
        if self.grid is not None and self.codec_box.currentData() != self.grid.info.name:
            self._select(self.codec_box, self.grid.info.name)
            self._fill_codebooks(self.grid.n_codebooks)
        self.statusBar().showMessage(message, 10000)
        self.failed.emit(title, message)
        if not self.headless:
            QMessageBox.warning(self, title, message)

    # ------------------------------------------------------------ drawing
    def _tick(self) -> None:
        if self.live is not None:
            self.live_views.draw()
        elif self.player.tracks:
            self.views.set_playhead(self.player.seconds)

    def _refresh_text(self) -> None:
        self.position_label.setText(f"{self.player.seconds:6.2f} s")
        self._check_output()
        if not self.player.playing and self.play_button.text() == "Pause":
            self.play_button.setText("Play")

    def _check_output(self) -> None:
        """Playing, yet the device has asked for nothing for a while: it has gone (unplugged, server quit)."""
        now = time.perf_counter()
        delivered = self.player.frames_delivered
        if not self.player.playing or delivered != self._delivered[0]:
            self._delivered = (delivered, now)
            return
        if now - self._delivered[1] < OUTPUT_STALL_SECONDS:
            return
        self.player.playing = False
        threading.Thread(target=self.player.close, name="close-lost-output", daemon=True).start()
        self.playback_reason = ("The audio output stopped responding (unplugged, or its sound server quit). Playback is off; "
                                "pick an output in the Output list to try again. Everything else keeps working.")
        self._disable_playback()
        self.play_button.setText("Play")
        QMessageBox.warning(self, "Audio output lost", self.playback_reason)

    def _refresh_metrics(self) -> None:
        d, g = self.decoded, self.grid
        if d is None or g is None:
            return
        q = d.quality
        heard = [k for k in range(g.n_codebooks) if d.edits.heard(k)]
        kbps = sum(g.stats[k].bitrate for k in heard) / 1000
        shown = (("SI-SDR", "si_sdr", q.si_sdr, ".2f", " dB"), ("mel", "mel_distance", q.mel_distance, ".3f", ""),
                 ("STOI", "stoi", q.stoi, ".3f", ""))
        parts = [f"{label} {fmt(value, spec, unit)}" for label, _, value, spec, unit in shown]
        parts += [f"{kbps:.2f} kbps heard", f"decode {d.seconds:.2f} s"]
        if self.edit_to_sound_ms is not None:
            parts.append(f"edit→sound {self.edit_to_sound_ms:.0f} ms")
        self.metrics_label.setText("   ".join(parts))
        self.metrics_label.setToolTip("\n".join(f"{label} n/a: {q.reason(name) or 'not a finite number'}"
                                                for label, name, value, spec, _ in shown if fmt(value, spec) == "n/a"))

    def _show_occurrences(self, x: float, y: float) -> None:
        """Where else the clicked token occurs in its codebook (token statistics)."""
        grid, cell = self.grid, self.views.cell(x, y)
        if grid is None or cell is None:
            return
        k, f = cell
        token = int(grid.codes[k][f])
        where = np.flatnonzero(grid.codes[k] == token)
        self.views.mark_occurrences(k, where)
        times = ", ".join(f"{grid.times[k][i]:.2f}" for i in where[:12]) + (" …" if len(where) > 12 else "")
        self.statusBar().showMessage(f"codebook {k}, token {token}: {len(where)} of {len(grid.codes[k])} frames, at {times} s "
                                     f"(entropy {grid.stats[k].entropy_bits:.1f} bits, {100 * grid.stats[k].utilization:.0f}% of codes used)", 15000)

    def _hover(self, pos: Any) -> None:
        vb = self.views.grid.getViewBox()
        if self.views.grid.sceneBoundingRect().contains(pos):
            p = vb.mapSceneToView(pos)
            text = self.views.cell_at(p.x(), p.y())
            self.hover_label.setText(text or " ")

    def _clicked(self, event: Any) -> None:
        if event.button() != Qt.MouseButton.LeftButton or self.original is None:
            return
        if self.grid is not None and self.views.grid.sceneBoundingRect().contains(event.scenePos()):
            p = self.views.grid.getViewBox().mapSceneToView(event.scenePos())
            self._show_occurrences(p.x(), p.y())
        for plot in (self.views.wave, self.views.spec, self.views.grid):
            if plot.sceneBoundingRect().contains(event.scenePos()):
                x = plot.getViewBox().mapSceneToView(event.scenePos()).x()
                self.player.seek(max(0.0, min(x, self.original.duration)))
                self.views.set_playhead(self.player.seconds)
                return

    # ------------------------------------------------------------ Qt events
    def dragEnterEvent(self, event: Any) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: Any) -> None:
        urls = event.mimeData().urls()
        if urls:
            self.open_file(urls[0].toLocalFile())

    def closeEvent(self, event: Any) -> None:
        self.autosave()
        self.save_state()
        self.timer.stop()
        if self.live is not None:
            self.live.stop()
            self.live.wait(15000)  # it writes the take before it ends
        self.player.close()
        self.worker.shutdown()
        super().closeEvent(event)
