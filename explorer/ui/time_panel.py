"""The file view's right side: the spectrogram and grid choices and the hovered cell above the time views."""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSizePolicy, QToolBar, QVBoxLayout, QWidget

from explorer.core.spectrogram import FREQUENCY_SCALES
from explorer.ui.painting import PAINT_MODES
from explorer.ui.spectrograms import DB_RANGES, DEFAULT_RANGE
from explorer.ui.views import GRID_MODES, LEGENDS, TimeViews

SECOND_ROW = ("reconstruction", "difference")
"""What the lower spectrogram shows (the upper one is always the original)."""


def _combo(items: tuple[str, ...], tip: str) -> QComboBox:
    box = QComboBox()
    box.addItems(items)
    box.setToolTip(tip)
    box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
    return box


class TimePanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.views = TimeViews()
        self.spec_box = _combo(SECOND_ROW, "The lower spectrogram: the reconstruction, or its difference from the original "
                                           "(red: louder, blue: quieter)")
        self.scale_box = _combo(FREQUENCY_SCALES, "The spectrograms' frequency axis: even in Hz, in octaves, or in mels")
        self.range_box = _combo(tuple(f"{r} dB" for r in DB_RANGES), "How far below the top (-10 dB) the colours reach")
        self.range_box.setCurrentText(f"{DEFAULT_RANGE} dB")
        self.grid_box = _combo(GRID_MODES, "How the token grid's cells are coloured")
        for i, mode in enumerate(GRID_MODES):
            self.grid_box.setItemData(i, LEGENDS[mode], Qt.ItemDataRole.ToolTipRole)
        self.paint_box = _combo(PAINT_MODES, "Paint on the token grid: drag over cells to mute, randomize or set them "
                                             "(set: Ctrl+click a cell first to pick its id). Ctrl+Z undoes a stroke.")
        self.paint_label = QLabel("")
        self.hover_label = QLabel(" ")
        self.codec_label = QLabel("")
        """Which codec each view shows, while they differ (a switch is being decoded)."""
        self.codec_label.setStyleSheet("color: #e0a040;")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        top, second = QHBoxLayout(), QHBoxLayout()  # two rows: the views fit beside the dock at 1024 px
        for row, label, box in ((top, "Under the original:", self.spec_box), (top, "Frequency:", self.scale_box),
                                (second, "Range:", self.range_box), (second, "Tokens by:", self.grid_box)):
            row.addWidget(QLabel(label))
            row.addWidget(box)
        top.addStretch(1)
        self.paint_bar = QToolBar("Paint")
        """The paint tool, a tool bar of the window's (it folds away behind » when the window is narrow)."""
        self.paint_bar.setObjectName("paint-bar")
        for w in (QLabel(" Paint cells: "), self.paint_box, self.paint_label):
            self.paint_bar.addWidget(w)
        for readout in (self.codec_label, self.hover_label):  # long texts: they elide rather than widen the window
            readout.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            second.addWidget(readout, 1)
        layout.addLayout(top)
        layout.addLayout(second)
        layout.addWidget(self.views, 1)
        self.spec_box.currentTextChanged.connect(self.views.set_spec_mode)
        self.scale_box.currentTextChanged.connect(self.views.spectrograms.set_scale)
        self.range_box.currentTextChanged.connect(lambda text: self.views.spectrograms.set_range(int(text.split()[0])))
        self.grid_box.currentTextChanged.connect(self.views.set_grid_mode)
        self.views.hovered.connect(self.hover_label.setText)
        self.paint_box.currentTextChanged.connect(self._paint_mode)
        self.views.paint_tool.picked.connect(self._picked)

    def _picked(self, token: int) -> None:
        """A Ctrl+clicked id: paint it ("set")."""
        if self.paint_box.currentText() == "set":
            self._paint_mode("set")
        self.paint_box.setCurrentText("set")

    def _paint_mode(self, mode: str) -> None:
        tool = self.views.paint_tool
        tool.mode = mode
        if mode == "set" and tool.token is None:
            self.paint_label.setText("Ctrl+click a cell to pick the id to paint")
        else:
            self.paint_label.setText(f"id {tool.token}" if mode == "set" else "")

    def show_codecs(self, tokens: str, sound: str | None) -> None:
        """The grid shows ``tokens``' codes; the sound, waveform, spectrogram and figures are ``sound``'s
        (None: no reconstruction yet). Said only while they differ."""
        if sound is None or sound == tokens:
            self.codec_label.setText(f"decoding with {tokens}…" if sound is None else "")
        else:
            self.codec_label.setText(f"tokens: {tokens} · sound, waveform, spectrogram and figures: still {sound} "
                                     f"(decoding with {tokens}…)")

    @property
    def spectrogram(self) -> str:
        return self.spec_box.currentText()

    def set_spectrogram(self, mode: str) -> None:
        """The session's spectrogram setting: "difference" puts the difference under the original; "original"
        (sessions saved before the two rows) and "reconstruction" put the reconstruction there."""
        self.spec_box.setCurrentText("difference" if mode == "difference" else "reconstruction")

    @property
    def grid_mode(self) -> str:
        return self.grid_box.currentText()

    def set_grid_mode(self, mode: str) -> None:
        """Colour the token grid by ``mode`` (ids, similarity or energy)."""
        self.grid_box.setCurrentText(mode)

    def save_state(self, s: QSettings) -> None:
        s.setValue("views/grid_mode", self.grid_mode)
        s.setValue("views/frequency_scale", self.scale_box.currentText())
        s.setValue("views/db_range", int(self.range_box.currentText().split()[0]))

    def restore_state(self, s: QSettings) -> None:
        """The views' choices as last left; a value this version does not know keeps the default."""
        mode = str(s.value("views/grid_mode", "ids", type=str))
        if mode in GRID_MODES:
            self.set_grid_mode(mode)
        scale = str(s.value("views/frequency_scale", "linear", type=str))
        if scale in FREQUENCY_SCALES:
            self.scale_box.setCurrentText(scale)
        db = s.value("views/db_range", DEFAULT_RANGE, type=int)
        if db in DB_RANGES:
            self.range_box.setCurrentText(f"{db} dB")
