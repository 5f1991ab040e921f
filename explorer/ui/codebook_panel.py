"""The codebook panel: per codebook mute / solo / randomize, the keep-first-N slider and statistics.

It edits an immutable :class:`Edits` value and announces each new one; setting it from the model
blocks the widgets' own signals, so there are no feedback loops.
"""

from __future__ import annotations

import math
from dataclasses import replace

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout, QHeaderView, QLabel, QPushButton, QSlider, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget,
)

from explorer.core.edits import Edits
from explorer.ui.grid_data import GridData

COLUMNS = ("#", "M", "S", "R", "carries", "kbps", "entropy", "used")
TOGGLES = {1: "mute", 2: "solo", 3: "randomize"}


class CodebookPanel(QWidget):
    edits_changed = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.edits = Edits()
        self.grid: GridData | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        row = QHBoxLayout()
        self.keep_label = QLabel("keep first: all")
        self.keep = QSlider(Qt.Orientation.Horizontal)
        self.keep.setMinimum(1)
        self.keep.setToolTip("Keep only the first N codebooks: the bitrate ladder")
        self.reset = QPushButton("Reset")
        self.reset.setToolTip("Clear every edit")
        row.addWidget(self.keep_label)
        row.addWidget(self.keep, 1)
        row.addWidget(self.reset)
        layout.addLayout(row)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.table.verticalHeader().setDefaultSectionSize(20)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        header = self.table.horizontalHeader()
        for c in range(len(COLUMNS)):
            header.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        layout.addWidget(self.table, 1)
        self.keep.valueChanged.connect(self._keep_moved)
        self.reset.clicked.connect(lambda: self.clear_edits(announce=True))
        self.table.itemChanged.connect(self._toggled)

    def show_grid(self, grid: GridData) -> None:
        self.grid = grid
        n = grid.n_codebooks
        with QSignalBlocker(self.table), QSignalBlocker(self.keep):
            self.table.setRowCount(n)
            total = sum(s.bitrate for s in grid.stats) or 1.0
            for k in range(n):
                st = grid.stats[k]
                values = [str(k), "", "", "", grid.info.role(k), f"{st.bitrate / 1000:.2f} ({100 * st.bitrate / total:.0f}%)",
                          f"{st.entropy_bits:.1f} b", f"{100 * st.utilization:.0f}%"]
                if math.isnan(st.entropy_bits):  # live: no clip to count tokens over
                    values[6:] = ["–", "–"]
                for c, v in enumerate(values):
                    item = QTableWidgetItem(v)
                    if c == 4:
                        item.setToolTip(v)
                    if c in TOGGLES:
                        item.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled)
                        item.setCheckState(Qt.CheckState.Unchecked)
                        item.setToolTip(f"{TOGGLES[c]} codebook {k}")
                    self.table.setItem(k, c, item)
            self.keep.setMaximum(n)
            self.keep.setValue(n)
        self.clear_edits()

    def cleared(self) -> Edits:
        """No edits, keeping the randomization seed (so a reset and a redo sound the same)."""
        return Edits(seed=self.edits.seed)

    def clear_edits(self, announce: bool = False) -> None:
        """Clear every edit (see :meth:`cleared`); emit only when ``announce``."""
        self.set_edits(self.cleared(), announce)

    def set_edits(self, edits: Edits, announce: bool = False) -> None:
        """Show ``edits`` (from the model); emit only when ``announce``."""
        self.edits = edits
        if self.grid is not None:
            n = self.grid.n_codebooks
            with QSignalBlocker(self.table), QSignalBlocker(self.keep):
                for k in range(min(n, self.table.rowCount())):
                    for c, name in TOGGLES.items():
                        on = k in getattr(edits, name)
                        self.table.item(k, c).setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)
                self.keep.setValue(edits.keep or n)
            self.keep_label.setText(f"keep first: {edits.keep or 'all'}")
        if announce:
            self.edits_changed.emit(edits)

    def toggle(self, k: int, name: str) -> None:
        """Flip codebook ``k`` in the ``mute``, ``solo`` or ``randomize`` set and announce it."""
        current: frozenset[int] = getattr(self.edits, name)
        self.set_edits(replace(self.edits, **{name: current ^ {k}}), announce=True)

    def _toggled(self, item: QTableWidgetItem) -> None:
        if item.column() in TOGGLES:
            self.toggle(item.row(), TOGGLES[item.column()])

    def _keep_moved(self, value: int) -> None:
        n = self.grid.n_codebooks if self.grid else value
        self.set_edits(replace(self.edits, keep=None if value >= n else value), announce=True)
