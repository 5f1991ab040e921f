"""The file view's right side: the spectrogram choice and the hovered cell above the time views."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from explorer.core.session_file import SPECTROGRAM_MODES
from explorer.ui.views import GRID_MODES, LEGENDS, TimeViews


class TimePanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.views = TimeViews()
        self.spec_box = QComboBox()
        self.spec_box.addItems(SPECTROGRAM_MODES)
        self.grid_box = QComboBox()
        self.grid_box.addItems(GRID_MODES)
        for i, mode in enumerate(GRID_MODES):
            self.grid_box.setItemData(i, LEGENDS[mode], Qt.ItemDataRole.ToolTipRole)
        self.hover_label = QLabel(" ")
        self.codec_label = QLabel("")
        """Which codec each view shows, while they differ (a switch is being decoded)."""
        self.codec_label.setStyleSheet("color: #e0a040;")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        top.addWidget(QLabel("Spectrogram:"))
        top.addWidget(self.spec_box)
        top.addWidget(QLabel("Tokens coloured by:"))
        top.addWidget(self.grid_box)
        top.addWidget(self.codec_label)
        top.addStretch(1)
        top.addWidget(self.hover_label)
        layout.addLayout(top)
        layout.addWidget(self.views, 1)
        self.spec_box.currentTextChanged.connect(self.views.set_spec_mode)
        self.grid_box.currentTextChanged.connect(self.views.set_grid_mode)
        self.views.hovered.connect(self.hover_label.setText)

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

    @property
    def grid_mode(self) -> str:
        return self.grid_box.currentText()

    def set_grid_mode(self, mode: str) -> None:
        """Colour the token grid by ``mode`` (ids, similarity or energy)."""
        self.grid_box.setCurrentText(mode)

    def set_spectrogram(self, mode: str) -> None:
        """Show spectrogram ``mode`` (original, reconstruction or difference)."""
        self.spec_box.setCurrentText(mode)
