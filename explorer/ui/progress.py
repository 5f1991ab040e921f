"""The status bar's progress: a bar and a Cancel button, shown while a download, load or encode runs."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QProgressBar, QPushButton, QWidget


class ProgressBox(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bar = QProgressBar()
        self.bar.setMaximumWidth(220)
        self.bar.setRange(0, 100)
        self.cancel_button = QPushButton("Cancel")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.bar)
        layout.addWidget(self.cancel_button)
        self.hide()

    def show_progress(self, fraction: float, what: str) -> None:
        """``what`` is ``fraction`` done; at 1.0 the box hides."""
        self.setVisible(fraction < 1.0)
        self.bar.setValue(int(fraction * 100))
        self.bar.setFormat(f"{what} %p%")
