"""Classroom > Which codec?: the task, the lesson's rule of thumb, and every codec measured on the open clip.

The measuring (:func:`explorer.services.picker.measure`) runs on the classroom tools' worker, handed
the clip and the device by the classroom menu; this dialog only shows its progress, lets it be
cancelled, and fills the table from the rows it hands back. Choosing another task changes the rule and
the highlighted rows, never the numbers.
"""

from __future__ import annotations

import time
from typing import Callable, Sequence

from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (
    QComboBox, QDialog, QHBoxLayout, QHeaderView, QLabel, QProgressBar, QPushButton, QTableWidget, QTableWidgetItem,
    QVBoxLayout, QWidget,
)

from explorer.core.audio import Clip
from explorer.services.picker import CLIP_SECONDS, FAILED, LABELS, MISSING, TASKS, Row, summary, task
from explorer.ui.tasks import JobProgress

HIGHLIGHT = QColor(122, 162, 247, 70)
"""The rows of the codecs the chosen task's rule names: a translucent blue, readable on light and dark themes."""

Run = Callable[[Clip, str, Callable[[list[Row]], None], Callable[[str], None]], JobProgress]
"""Starts measuring on the tools' worker with (clip, device, done, failed); returns the job's progress."""


class PickerDialog(QDialog):
    """Pick a task, read its rule of thumb, see every codec measured on the clip (measuring starts on opening)."""

    def __init__(self, parent: QWidget, clip: Clip, title: str, device: str, device_text: str, run: Run) -> None:
        """Measure ``clip`` (called ``title``) on ``device`` (``auto``, ``cpu``...; in words ``device_text``)."""
        super().__init__(parent)
        self.setWindowTitle(f"Which codec? — {title}")
        self.clip, self.device, self.run = clip, device, run
        self.rows: list[Row] = []
        self.job: JobProgress | None = None
        self.started = 0.0
        layout = QVBoxLayout(self)
        choice = QHBoxLayout()
        choice.addWidget(QLabel("The task:"))
        self.task_box = QComboBox()
        for key, t in TASKS.items():
            self.task_box.addItem(t.title, key)
        choice.addWidget(self.task_box, 1)
        layout.addLayout(choice)
        self.rule = QLabel()
        self.rule.setWordWrap(True)
        self.measured = QLabel()
        self.measured.setWordWrap(True)
        layout.addWidget(self.rule)
        layout.addWidget(self.measured)
        part = (f"all {clip.duration:.1f} s of the clip" if clip.duration <= CLIP_SECONDS else
                f"the first {CLIP_SECONDS:g} s of the clip (only the start: DAC 44 kHz decodes slower than real time on a CPU)")
        self.scope = QLabel(f"Every codec whose weights are on this computer encodes and decodes {part} on {device_text}. "
                            "A real-time factor below 1 is faster than real time.")
        self.scope.setWordWrap(True)
        layout.addWidget(self.scope)
        row = QHBoxLayout()
        self.measure_button = QPushButton("Measure again")
        self.bar = QProgressBar()
        self.bar.setRange(0, 100)
        self.cancel_button = QPushButton("Cancel")
        self.status = QLabel("")
        for w in (self.measure_button, self.bar, self.cancel_button):
            row.addWidget(w)
        row.addWidget(self.status, 1)
        layout.addLayout(row)
        self.table = QTableWidget(0, len(LABELS))
        self.table.setHorizontalHeaderLabels(list(LABELS.values()))
        self.table.setWordWrap(True)
        self.table.horizontalHeader().setSectionResizeMode(len(LABELS) - 1, QHeaderView.ResizeMode.Stretch)
        layout.addWidget(self.table, 1)
        self.task_box.currentIndexChanged.connect(lambda _: self.show_task())
        self.measure_button.clicked.connect(lambda: self.start())
        self.cancel_button.clicked.connect(self.cancel)
        self.resize(1200, 640)
        self.show_task()
        self.start()

    @property
    def task_key(self) -> str:
        return str(self.task_box.currentData())

    def start(self) -> None:
        """Measure every codec on the clip, on the tools' worker."""
        self.measure_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.bar.setValue(0)
        self.status.setText("Measuring…")
        self.started = time.perf_counter()
        self.job = self.run(self.clip, self.device, self._measured, self._failed)
        self.job.changed.connect(self._progress)

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self.status.setText("Cancelling after the current step…")

    def reject(self) -> None:
        """Closing the dialog cancels the measuring still running."""
        self.cancel()
        super().reject()

    def _progress(self, fraction: float, what: str) -> None:
        if self.job is not None and not self.job.cancelled:
            self.bar.setValue(int(100 * fraction))
            self.status.setText(what)

    def _finished(self) -> None:
        self.job = None
        self.measure_button.setEnabled(True)
        self.cancel_button.setEnabled(False)

    def _measured(self, rows: list[Row]) -> None:
        self._finished()
        self.rows = rows
        self.bar.setValue(100)
        missing = sum(r.status == MISSING for r in rows)
        failed = sum(r.status == FAILED for r in rows)
        self.status.setText(f"{len(rows) - missing - failed} of {len(rows)} codecs measured in "
                            f"{time.perf_counter() - self.started:.0f} s; {missing} without weights here"
                            + (f", {failed} failed" if failed else "") + ".")
        fill(self.table, rows)
        self.show_task()

    def _failed(self, message: str) -> None:
        cancelled = self.job is not None and self.job.cancelled
        self._finished()
        self.status.setText("Cancelled." if cancelled else message)

    def show_task(self) -> None:
        """The chosen task's rule, what this run measured of its codecs, and their rows highlighted."""
        t = task(self.task_key)
        self.rule.setText(f"<b>Rule of thumb — {t.title.lower()}:</b> {t.rule}")
        self.measured.setText(summary(self.task_key, self.rows) if self.rows else "Measuring every codec…")
        highlight(self.table, self.rows, t.codecs)


def fill(table: QTableWidget, rows: Sequence[Row]) -> None:
    """One row per codec: each cell its :meth:`Row.cell`; an n/a cell's tooltip says why, the note's the whole note."""
    table.setRowCount(len(rows))
    for i, r in enumerate(rows):
        for j, column in enumerate(LABELS):
            text = r.cell(column)
            item = QTableWidgetItem(text)
            if text == "n/a":
                item.setToolTip(r.reason(column) or r.note)
            elif column == "note":
                item.setToolTip(r.note)
            table.setItem(i, j, item)
    table.resizeColumnsToContents()
    table.horizontalHeader().setSectionResizeMode(len(LABELS) - 1, QHeaderView.ResizeMode.Stretch)
    table.resizeRowsToContents()


def highlight(table: QTableWidget, rows: Sequence[Row], codecs: tuple[str, ...]) -> None:
    """Bold, blue-backed rows for ``codecs`` (those the task's rule names), plain ones for the rest."""
    for i, r in enumerate(rows):
        chosen = r.codec in codecs
        for j in range(table.columnCount()):
            item = table.item(i, j)
            if item is None:
                continue
            font = QFont(item.font())
            font.setBold(chosen)
            item.setFont(font)
            item.setBackground(QBrush(HIGHLIGHT) if chosen else QBrush())
