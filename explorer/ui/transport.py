"""The transport: play, stop, A/B, loop, volume and output, over the :class:`Player`; and its watchdog.

With a selection (the session model's, handed over by :meth:`Transport.set_selection`), Play
plays the selection from its start and stops at its end, or loops it while Loop is on, as
Audacity does; with none, Loop loops the whole clip.

It holds what the player plays: the open clip and its reconstruction, or a clip a classroom tool
handed over (:meth:`Transport.play_clip`), after which the next play puts the file view's tracks back.
The watchdog notices an output that stopped asking for samples while playing (unplugged, sound
server gone), turns playback off and says so; everything else keeps working.
"""

from __future__ import annotations

import threading
import time

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QHBoxLayout, QLabel, QMessageBox, QPushButton, QSlider, QVBoxLayout, QWidget,
)

from explorer.audio_io.playback import Player
from explorer.audio_io.streams import audio_devices
from explorer.core.audio import Clip
from explorer.core.errors import ExplorerError
from explorer.core.types import FloatArray
from explorer.ui.combo import fill, select
from explorer.ui.settings_schema import setting
from explorer.ui.views import TimeViews

OUTPUT_STALL_SECONDS = 1.5
"""Playing while the output asks for no samples this long means the device has gone."""


class Transport(QWidget):
    message = Signal(str, int)
    """A status-bar message and how long to show it (ms; 0 until replaced)."""

    def __init__(self, views: TimeViews, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.views = views
        self.player = Player()
        self.original: Clip | None = None
        self.reconstruction: FloatArray | None = None
        """The reconstruction heard (``[channels, n]`` at the clip's rate), as the worker sent it."""
        self._prepared: tuple[FloatArray | None, tuple[int, int] | None] = (None, None)
        self.foreign_audio = False
        """A classroom tool's clip is loaded instead of the file view's tracks."""
        self.playback_reason = ""
        self.selection: tuple[float, float] | None = None
        """The selected range, as the session model has it (shown by the views)."""
        self._asked = (0, time.perf_counter())
        """(the player's callback count, when it last grew): the watchdog's evidence."""
        self.play_button = QPushButton("Play")
        self.stop_button = QPushButton("Stop")
        self.ab_button = QPushButton("Hearing: reconstruction")
        self.ab_button.setCheckable(True)
        self.ab_button.setMinimumWidth(self.ab_button.sizeHint().width())  # the same width for both texts
        self.loop_box = QCheckBox("Loop")
        self.volume = QSlider(Qt.Orientation.Horizontal)
        self.volume.setRange(0, 100)
        self.volume.setValue(80)
        self.volume.setMaximumWidth(120)
        self.volume.setMinimumWidth(70)
        self.output_box = QComboBox()
        self.output_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.output_box.setMinimumContentsLength(14)  # long device names elide instead of widening the window
        self.position_label = QLabel("0.00 s")
        rows = QVBoxLayout(self)  # two short rows: the window stays usable down to 1024 px with a dock open
        rows.setContentsMargins(0, 0, 0, 0)
        rows.setSpacing(2)
        for group in ((self.play_button, self.stop_button, self.ab_button, self.loop_box, self.position_label),
                      (QLabel("Volume"), self.volume, QLabel("Output"), self.output_box)):
            row = QHBoxLayout()
            for w in group:
                row.addWidget(w)
            row.addStretch(1)
            rows.addLayout(row)
        self.play_button.clicked.connect(self.toggle_play)
        self.stop_button.clicked.connect(self.stop)
        self.ab_button.toggled.connect(self._ab_toggled)
        self.loop_box.toggled.connect(lambda _: self._set_range())
        self.volume.valueChanged.connect(lambda v: setattr(self.player, "volume", v / 100))
        self.output_box.activated.connect(lambda _: self.open_output(self.output_box.currentData()))

    # ------------------------------------------------------------ what is played
    def load(self, clip: Clip) -> None:
        """The file view's original; its reconstruction follows by :meth:`set_reconstruction`."""
        self.original, self.reconstruction = clip, None
        self._prepared = (None, None)
        self.player.load(clip.samples, clip.sample_rate)
        self.foreign_audio = False
        self._set_range()

    def set_reconstruction(self, samples: FloatArray, prepared: FloatArray | None = None,
                           made_for: tuple[int, int] | None = None) -> None:
        """A new reconstruction (``prepared`` for the player's format ``made_for`` by the worker)."""
        self.reconstruction = samples
        self._prepared = (prepared, made_for)
        if not self.foreign_audio:
            self.player.set_reconstruction(samples, prepared, made_for)

    @property
    def heard(self) -> FloatArray | None:
        """The file view's reconstruction as heard now (the original until the first one arrives)."""
        if self.reconstruction is not None:
            return self.reconstruction
        return self.original.samples if self.original is not None else None

    @property
    def heard_ready(self) -> FloatArray | None:
        """:attr:`heard` as the player plays it now (None while a classroom clip is loaded)."""
        mix = self.player.mix
        return mix.reconstruction if mix is not None and not self.foreign_audio else None

    def play_clip(self, clip: Clip) -> None:
        """Play a clip from a classroom tool (the file view's tracks come back on the next play)."""
        if not self.player.is_open:
            self.message.emit(self.playback_reason or "No audio output.", 5000)
            return
        self.player.stop()
        self.player.set_loop(None)
        self.player.set_span(None)  # the selection is the file view's, not this clip's
        self.player.load(clip.samples, clip.sample_rate)
        self.player.source = "original"
        self.foreign_audio = True
        self.player.play()

    def restore_tracks(self) -> None:
        if self.foreign_audio and self.original is not None:
            self.player.load(self.original.samples, self.original.sample_rate)
            if self.reconstruction is not None:
                self.player.set_reconstruction(self.reconstruction, *self._prepared)
            self._ab_toggled(self.ab_button.isChecked())
            self.foreign_audio = False
            self._set_range()
        self.foreign_audio = False

    # ------------------------------------------------------------ controls
    def toggle_play(self) -> None:
        if not self.player.is_open:
            self.message.emit(self.playback_reason or "No audio output.", 5000)
            return
        if self.original is None and not self.foreign_audio:
            self.message.emit("Nothing to play yet: open a clip (File > Open, or drop a file on the window).", 5000)
            return
        self.restore_tracks()
        if self.player.playing:
            self.player.pause()
        else:
            sel = self.selection
            if sel is not None and not sel[0] <= self.player.seconds < sel[1] - 0.01:
                self.seek(sel[0])  # Space plays the selection from its start
            self.player.play()
        self.play_button.setText("Pause" if self.player.playing else "Play")

    def stop(self) -> None:
        self.player.stop()
        self.play_button.setText("Play")

    def seek(self, seconds: float) -> None:
        """Move the playhead to ``seconds`` (within the open clip)."""
        if self.original is None:
            return
        self.player.seek(max(0.0, min(seconds, self.original.duration)))
        self.views.set_playhead(self.player.seconds)

    def rewind(self) -> None:
        """Stop, the file view's tracks, the reconstruction heard, the playhead at the start."""
        self.stop()
        self.restore_tracks()
        if self.ab_button.isChecked():
            self.ab_button.setChecked(False)
        self.player.seek(0.0)
        self.views.set_playhead(0.0)

    def _ab_toggled(self, original: bool) -> None:
        self.player.source = "original" if original else "reconstruction"
        self.ab_button.setText("Hearing: original" if original else "Hearing: reconstruction")

    def set_selection(self, selection: tuple[float, float] | None) -> None:
        """The selected range (None: none): what Play plays and Loop loops."""
        self.selection = selection
        self._set_range()

    def _set_range(self) -> None:
        sel = self.selection
        whole = (0.0, self.original.duration) if self.original is not None else None
        loop = sel or whole if self.loop_box.isChecked() else None
        self.player.set_loop(*(loop or (None, None)))
        self.player.set_span(*(sel or (None, None)))

    # ------------------------------------------------------------ the output device
    def open_output(self, device: int | None = None, wanted: str = "") -> None:
        """Open output ``device`` (or the one named ``wanted``, else the default); say why if none opens."""
        devices = audio_devices("output")
        fill(self.output_box, ((d.name, d.index) for d in devices))
        if not devices:
            self._disable_playback("Playback is off: no audio output device was found. Everything else works.")
            return
        if device is None and wanted:
            match = [d.index for d in devices if d.name == wanted]
            device = match[0] if match else None
        try:
            self.player.open(device)
        except ExplorerError as exc:
            self._disable_playback(str(exc))
            return
        if device is not None:
            select(self.output_box, device)
        for w in (self.play_button, self.stop_button):
            w.setEnabled(True)
            w.setToolTip("")

    def output_device(self) -> int | None:
        data = self.output_box.currentData()
        return data if isinstance(data, int) else None

    def _disable_playback(self, reason: str) -> None:
        self.playback_reason = reason
        for w in (self.play_button, self.stop_button):
            w.setEnabled(False)
            w.setToolTip(reason)
        self.message.emit(reason, 0)

    def show_position(self) -> None:
        """The time label, moved with the playhead."""
        self.position_label.setText(f"{self.player.seconds:6.2f} s")

    def refresh_text(self) -> None:
        """Once a second: the watchdog, the play button after the clip ended."""
        self.show_position()
        self._check_output()
        if not self.player.playing and self.play_button.text() == "Pause":
            self.play_button.setText("Play")

    def _check_output(self) -> None:
        """Playing, yet the device has not asked for samples for a while: it has gone (unplugged, server
        quit). The evidence is the callback count, not samples played: a play with nothing to play
        (or past the end) still has a live device asking."""
        now = time.perf_counter()
        asked = self.player.callbacks
        if not self.player.playing or asked != self._asked[0]:
            self._asked = (asked, now)
            return
        if now - self._asked[1] < OUTPUT_STALL_SECONDS:
            return
        self.player.playing = False
        threading.Thread(target=self.player.close, name="close-lost-output", daemon=True).start()
        self._disable_playback("The audio output stopped responding (unplugged, or its sound server quit). Playback is off; "
                               "pick an output in the Output list to try again. Everything else keeps working.")
        self.play_button.setText("Play")
        QMessageBox.warning(self, "Audio output lost", self.playback_reason)

    def save_state(self, s: QSettings) -> None:
        if self.player.is_open and self.output_box.count():
            s.setValue("transport/output", self.output_box.currentText())

    def restore_state(self, s: QSettings) -> None:
        self.open_output(wanted=setting(s, "transport/output", ""))
