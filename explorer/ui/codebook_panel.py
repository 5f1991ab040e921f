"""The codebook panel: per codebook mute / solo / randomize, the keep-first-N slider and statistics.

It keeps no edits of its own: it shows the session model's (:meth:`CodebookPanel.show_edits`, on
the model's ``edits_changed``, blocking the widgets' own signals so there are no feedback loops),
and a click or a slider move hands the model a new immutable :class:`Edits`.

A codec without tokens (Opus) has no codebooks: the panel hides its controls and says why in one
sentence, so there is nothing to click.
"""

from __future__ import annotations

import math
from dataclasses import replace

from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtWidgets import (
    QCheckBox, QHBoxLayout, QHeaderView, QLabel, QPushButton, QSlider, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget,
)

from explorer.core.edits import Edits
from explorer.services.session import SessionModel
from explorer.ui.grid_data import GridData

def unsigned(value: float, digits: int) -> float:
    """``value`` rounded to ``digits``, with no minus sign on a zero ("-0.0 b" reads as a bug)."""
    return round(value, digits) + 0.0


COLUMNS = ("#", "M", "S", "R", "carries", "kbps", "entropy", "used")
TOGGLES = {1: "mute", 2: "solo", 3: "randomize"}


class CodebookPanel(QWidget):
    def __init__(self, model: SessionModel) -> None:
        super().__init__()
        self.model = model
        self.grid: GridData | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.why_empty = QLabel("")
        self.why_empty.setWordWrap(True)
        self.why_empty.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.why_empty.hide()
        layout.addWidget(self.why_empty)
        self.controls = QWidget()
        row = QHBoxLayout(self.controls)
        row.setContentsMargins(0, 0, 0, 0)
        self.keep_label = QLabel("keep first: all")
        self.keep = QSlider(Qt.Orientation.Horizontal)
        self.keep.setMinimum(1)
        self.keep.setToolTip("Keep only the first N codebooks: the bitrate ladder")
        self.reset = QPushButton("Reset")
        self.reset.setToolTip("Clear every edit")
        row.addWidget(self.keep_label)
        row.addWidget(self.keep, 1)
        row.addWidget(self.reset)
        layout.addWidget(self.controls)
        self.confine = QCheckBox("apply to selection")
        self.confine.setToolTip("Confine the mute, solo, randomize and keep edits to the selected time range "
                                "(first drag across a view to select one); the grid shows where they apply")
        layout.addWidget(self.confine)
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
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)  # sized once per fill (see show_grid)
        header.setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        layout.addWidget(self.table, 1)
        self.keep.valueChanged.connect(self._keep_moved)
        self.reset.clicked.connect(lambda: model.set_edits(model.cleared()))
        self.table.itemChanged.connect(self._toggled)
        self.confine.toggled.connect(model.confine)

    def show_grid(self, grid: GridData, edits: Edits) -> None:
        """Fill one row per codebook. Columns are sized once at the end: sizing them to their contents
        on every item (ResizeToContents) made a 32-codebook fill take 100-160 ms of the GUI thread."""
        self.grid = grid
        n = grid.n_codebooks
        tokens = grid.info.tokens
        self.why_empty.setText("" if tokens else f"{grid.info.spoken} has no codebooks: it codes the waveform itself, so there "
                                                 "is nothing here to mute, solo or randomize.")
        self.why_empty.setVisible(not tokens)
        self.controls.setVisible(tokens)
        self.confine.setVisible(tokens)
        self.table.setVisible(tokens)
        self.table.setUpdatesEnabled(False)
        with QSignalBlocker(self.table), QSignalBlocker(self.keep):
            self.table.setRowCount(n)
            total = sum(s.bitrate for s in grid.stats) or 1.0
            for k in range(n):
                st = grid.stats[k]
                values = [str(k), "", "", "", grid.info.role(k),
                          f"{unsigned(st.bitrate / 1000, 2):.2f} ({unsigned(100 * st.bitrate / total, 0):.0f}%)",
                          f"{unsigned(st.entropy_bits, 1):.1f} b", f"{unsigned(100 * st.utilization, 0):.0f}%"]
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
            self.keep.setMaximum(max(n, 1))
            self.keep.setValue(n)
        for c in range(len(COLUMNS)):
            if c != 4:
                self.table.resizeColumnToContents(c)
        self.table.setUpdatesEnabled(True)
        self.show_edits(edits)

    def show_edits(self, edits: Edits) -> None:
        """Show ``edits`` (the model's) without announcing anything."""
        if self.grid is not None:
            n = self.grid.n_codebooks
            with QSignalBlocker(self.table), QSignalBlocker(self.keep):
                for k in range(min(n, self.table.rowCount())):
                    for c, name in TOGGLES.items():
                        on = k in getattr(edits, name)
                        item = self.table.item(k, c)
                        if item is not None:
                            item.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)
                self.keep.setValue(edits.keep or n)
            self.keep_label.setText(f"keep first: {edits.keep or 'all'}")
        self._show_range(edits)

    def _show_range(self, edits: Edits) -> None:
        """The "apply to selection" box: ticked while the edits have a range, which it names."""
        confined = edits.start is not None or edits.end is not None
        with QSignalBlocker(self.confine):
            self.confine.setChecked(confined)
        self.confine.setEnabled(confined or self.model.selection is not None)
        if confined:
            end = f"{edits.end:.2f}" if edits.end is not None else "end"
            self.confine.setText(f"apply to selection ({edits.start or 0:.2f}–{end} s)")
        else:
            self.confine.setText("apply to selection")

    def toggle(self, k: int, name: str) -> None:
        """Flip codebook ``k`` in the model's ``mute``, ``solo`` or ``randomize`` set."""
        edits = self.model.edits
        flipped = {name: getattr(edits, name) ^ {k}}
        self.model.set_edits(replace(edits, **flipped))

    def _toggled(self, item: QTableWidgetItem) -> None:
        if item.column() in TOGGLES:
            self.toggle(item.row(), TOGGLES[item.column()])

    def _keep_moved(self, value: int) -> None:
        n = self.grid.n_codebooks if self.grid else value
        self.model.set_edits(replace(self.model.edits, keep=None if value >= n else value))
