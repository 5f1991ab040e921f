"""The live bar: microphone mode's button, input, monitor and recording, and the live run's lifetime.

The bar owns the :class:`LiveWorker` while a run lasts. The window supplies what a run needs from
the other components (codec choice, output device, edits) through :meth:`LiveBar.start`, and hears
of the run by signal: :attr:`LiveBar.started` (switch to the scrolling views), :attr:`LiveBar.chunks`
and :attr:`LiveBar.ended` (the take's folder, to open).
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QLabel, QPushButton, QToolBar, QWidget

from explorer.audio_io.streams import audio_devices
from explorer.core.edits import Edits
from explorer.services.session import CodecChoice
from explorer.ui.combo import fill, select
from explorer.ui.live_worker import LiveRequest, LiveWorker
from explorer.ui.settings_schema import setting

MONITOR_MODES = ("reconstruction", "input", "off")


class LiveBar(QToolBar):
    start_requested = Signal()
    """The user pressed ● Live: the window answers with :meth:`start`."""
    running = Signal(bool)
    """A run began (True) or ended (False): the window locks what must not change meanwhile."""
    started = Signal(object, int, int)
    """The run is live: codec info, codebooks, samples per frame."""
    chunks = Signal(object)
    """A list of :class:`ViewChunk` s for the scrolling views."""
    ended = Signal(str, object, bool)
    """Why the run ended, the take's folder (None when nothing was recorded), whether that is a problem."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Live", parent)
        self.setObjectName("live-bar")
        self.live: LiveWorker | None = None
        self.folder = default_folder()
        self.live_button = QPushButton("● Live")
        self.live_button.setCheckable(True)
        self.live_button.setToolTip("Encode and decode the microphone live (Ctrl+L)")
        self.input_box = QComboBox()
        self.monitor_box = QComboBox()
        self.monitor_box.addItems(MONITOR_MODES)
        self.monitor_box.setToolTip("What you hear while live: the codec's reconstruction or your raw input")
        self.record_box = QCheckBox("Record take")
        self.record_box.setToolTip("Save the input, the reconstruction and the tokens, then open the take")
        self.addWidget(self.live_button)
        for w, label in ((self.input_box, "  Input "), (self.monitor_box, "  Monitor ")):
            self.addWidget(QLabel(label))
            self.addWidget(w)
        self.addWidget(QLabel("  "))
        self.addWidget(self.record_box)
        self.label = QLabel("")
        """The run's figures, shown under the views while live (the window places it)."""
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.label.setWordWrap(True)
        self.label.hide()
        self.line = ""
        self.live_button.toggled.connect(self._toggled)
        self.monitor_box.currentTextChanged.connect(lambda mode: self.live and self.live.set_monitor(mode))

    def _toggled(self, on: bool) -> None:
        if on:
            self.start_requested.emit()
        elif self.live is not None:
            self.live_button.setEnabled(False)
            self.live_button.setText("Saving…")
            self.live.stop()

    def start(self, choice: CodecChoice, output_device: int | None, edits: Edits) -> None:
        """Start live mode with ``choice``, the chosen input, monitor and recording."""
        if self.live is not None:
            return
        record = self.folder / time.strftime("take-%Y%m%d-%H%M%S") if self.record_box.isChecked() else None
        request = LiveRequest(choice, self.input_box.currentData(), output_device, self.monitor_box.currentText(), record, edits)
        self.live = LiveWorker(request)
        self.live.ready.connect(self._ready)
        self.live.chunks.connect(self.chunks)
        self.live.status.connect(self._status)
        self.live.ended.connect(self._ended)
        for w in (self.input_box, self.record_box):
            w.setEnabled(False)
        with QSignalBlocker(self.live_button):
            self.live_button.setChecked(True)
        self.live_button.setText("■ Stop live")
        self.label.setText(f"Starting live mode with {choice.name}…")
        self.label.show()
        self.running.emit(True)
        self.live.start()

    def stop(self) -> None:
        """Stop the run (the take is written, then :attr:`ended` comes)."""
        self.live_button.setChecked(False)

    def set_edits(self, edits: Edits) -> bool:
        """Hand ``edits`` to the run; False when there is none."""
        if self.live is None:
            return False
        self.live.set_edits(replace(edits, paint=()))  # painted cells belong to the file's encoding, not the stream
        return True

    def wait_until_saved(self) -> None:
        """At exit: stop the run and wait while it writes the take."""
        if self.live is not None:
            self.live.stop()
            self.live.wait(15000)

    def _ready(self, info: Any, n: int, hop: int, line: str) -> None:
        self.line = f"Live: {line}"
        self.label.setText(self.line)
        self.started.emit(info, n, hop)

    def _status(self, text: str, behind: bool) -> None:
        self.label.setText(f"{self.line}\n{text}")
        self.label.setStyleSheet("color: #e0a040;" if behind else "")

    def _ended(self, reason: str, folder: Any, problem: bool) -> None:
        worker, self.live = self.live, None
        if worker is not None:
            worker.wait(5000)
        for w in (self.input_box, self.record_box, self.live_button):
            w.setEnabled(True)
        with QSignalBlocker(self.live_button):
            self.live_button.setChecked(False)
        self.live_button.setText("● Live")
        self.label.setStyleSheet("")
        self.label.hide()
        self.running.emit(False)
        self.ended.emit(reason, folder, problem)

    def fill_inputs(self, wanted: str) -> None:
        devices = audio_devices("input")
        fill(self.input_box, ((d.name, d.index) for d in devices))
        select(self.input_box, wanted)
        if not devices:
            self.live_button.setEnabled(False)
            self.live_button.setToolTip("Live mode is off: no audio input device was found. Everything else works.")

    def save_state(self, s: QSettings) -> None:
        s.beginGroup("live")
        if self.input_box.count():
            s.setValue("input", self.input_box.currentText())
        s.setValue("monitor", self.monitor_box.currentText())
        s.setValue("record", self.record_box.isChecked())
        s.setValue("folder", str(self.folder))
        s.endGroup()

    def restore_state(self, s: QSettings) -> None:
        s.beginGroup("live")
        wanted = setting(s, "input", "")
        select(self.monitor_box, setting(s, "monitor", "reconstruction"))
        self.record_box.setChecked(setting(s, "record", True))
        self.folder = Path(setting(s, "folder", str(default_folder())))
        s.endGroup()
        self.fill_inputs(wanted)


def default_folder() -> Path:
    return Path.home() / "CodecExplorer" / "recordings"
