"""Classroom tools in the window: the codec comparison dialog and the token statistics (the
guided-experiments panel is :mod:`explorer.ui.experiments_dock`).

They hand their work (services/compare.py) to the classroom menu, which runs it on the tools' one
worker thread, and only show results; sounds are played through the window's player, one key per codec.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from functools import partial
from pathlib import Path
from typing import Any, Callable

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QComboBox, QDialog, QFileDialog, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QMessageBox,
    QPushButton, QScrollArea, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget,
)

from explorer.codecs.registry import CODEC_NAMES, DEFAULT_CODEC, entry
from explorer.core.audio import Clip
from explorer.services.compare import Compared, column_label
from explorer.services.report import Comparison
from explorer.ui.codec_bar import codec_usable
from explorer.ui.grid_data import GridData

log = logging.getLogger(__name__)
CHECKED, UNCHECKED = Qt.CheckState.Checked, Qt.CheckState.Unchecked


def usable_codecs() -> list[str]:
    return [n for n in CODEC_NAMES if codec_usable(n)]


def fill_table(table: QTableWidget, rows: list[dict[str, Any]], reasons: list[dict[str, str]] | None = None) -> None:
    """One row per dict under readable headers (:func:`column_label`; the CSV's key is the header's tooltip);
    a None value reads "n/a", with its reason (``reasons[row][key]``) as the tooltip."""
    keys = list(rows[0]) if rows else []
    table.setColumnCount(len(keys))
    for j, k in enumerate(keys):
        header = QTableWidgetItem(column_label(k))
        header.setToolTip(f"{k} in the CSV")
        table.setHorizontalHeaderItem(j, header)
    table.setRowCount(len(rows))
    for i, row in enumerate(rows):
        for j, k in enumerate(keys):
            item = QTableWidgetItem("n/a" if row[k] is None else str(row[k]))
            if row[k] is None:
                item.setToolTip((reasons[i] if reasons else {}).get(k, "does not apply to this clip"))
            table.setItem(i, j, item)
    table.resizeColumnsToContents()


class CompareDialog(QDialog):
    """Pick codecs, compare them on the open clip, play each with a key (A, B, C, ...), export."""

    def __init__(self, parent: QWidget, clip: Clip, title: str, run: Callable[..., None], export: Callable[..., None],
                 play: Callable[[Clip], None]) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Compare codecs — {title}")
        self.clip, self.title, self.run, self.write, self.play = clip, title, run, export, play
        self.results: list[Compared] = []
        self.comparison: Comparison | None = None
        layout = QVBoxLayout(self)
        self.choices = QListWidget()
        for name in usable_codecs():
            info = entry(name).info()
            default, choices = ((info.default_codebooks, info.codebook_choices) if info.tokens
                                else (info.default_kbps, info.kbps_choices))
            for n in (default, *[c for c in choices if c != default]):
                item = QListWidgetItem(name if n == default else f"{name}@{n}")
                item.setCheckState(CHECKED if item.text() in (DEFAULT_CODEC, "encodec-24khz", "mimi") else UNCHECKED)
                self.choices.addItem(item)
        self.choices.setMaximumHeight(130)
        layout.addWidget(QLabel("Codecs with weights on this computer, at each bandwidth (NAME@codebooks; opus@kbps, "
                                "the reference, needs none):"))
        layout.addWidget(self.choices)
        row = QHBoxLayout()
        self.run_button = QPushButton("Compare")
        self.status = QLabel("")
        row.addWidget(self.run_button)
        row.addWidget(self.status, 1)
        layout.addLayout(row)
        self.table = QTableWidget(0, 0)
        layout.addWidget(self.table, 1)
        self.picture = QLabel("The original's spectrogram, then each codec's spectrogram and token grid, on one time axis.")
        scroll = QScrollArea()
        scroll.setWidget(self.picture)
        scroll.setWidgetResizable(True)
        layout.addWidget(scroll, 2)
        exports = QHBoxLayout()
        self.export_button = QPushButton("Export PNG, CSV and HTML report…")
        self.export_button.setEnabled(False)
        exports.addWidget(QLabel("Keys A, B, C… play each codec; O plays the original."))
        exports.addStretch(1)
        exports.addWidget(self.export_button)
        layout.addLayout(exports)
        self.run_button.clicked.connect(self.run_compare)
        self.export_button.clicked.connect(lambda: self.export())
        for i in range(26):
            QShortcut(QKeySequence(chr(ord("A") + i)), self, partial(self.play_row, i))
        QShortcut(QKeySequence("O"), self, lambda: self.play(self.clip))
        self.resize(1100, 800)

    def checked(self) -> list[str]:
        return [self.choices.item(i).text() for i in range(self.choices.count())
                if self.choices.item(i).checkState() == CHECKED]

    def run_compare(self, names: list[str] | None = None) -> None:
        names = names or self.checked()
        if not names:
            self.status.setText("Tick at least one codec.")
            return
        self.run_button.setEnabled(False)
        self.status.setText(f"Encoding and decoding with {', '.join(names)}…")
        self.run(self.clip, names, self._done, self._failed)

    def _done(self, comparison: Comparison) -> None:
        self.comparison, self.results = comparison, comparison.results
        results = comparison.results
        fill_table(self.table, [{"key": chr(ord("A") + i), **asdict(r.row)} for i, r in enumerate(results)],
                    [r.reasons() for r in results])
        pixmap = QPixmap()
        pixmap.loadFromData(comparison.png, "PNG")
        self.picture.setPixmap(pixmap)
        self.run_button.setEnabled(True)
        self.export_button.setEnabled(True)
        self.status.setText(f"Compared {len(results)} codecs. Press A–{chr(ord('A') + len(results) - 1)} to listen.")

    def _failed(self, message: str) -> None:
        self.run_button.setEnabled(True)
        self.status.setText(message)
        QMessageBox.warning(self, "Comparison failed", message)

    def play_row(self, i: int) -> None:
        if i < len(self.results):
            self.play(self.results[i].reconstruction)
            self.status.setText(f"Playing {self.results[i].row.codec}")

    def export(self, folder: Path | None = None) -> None:
        if folder is None:
            chosen = QFileDialog.getExistingDirectory(self, "Export the comparison to a folder", str(Path.home()))
            if not chosen:
                return
            folder = Path(chosen)
        if self.comparison is None:
            return
        self.export_button.setEnabled(False)
        self.status.setText(f"Writing the comparison's CSV, picture and report to {folder}…")
        self.write(folder, self.title, self.clip, self.comparison, lambda paths: self._exported(folder), self._export_failed)

    def _exported(self, folder: Path) -> None:
        self.export_button.setEnabled(True)
        self.status.setText(f"Wrote comparison.csv, comparison.png and report.html to {folder}")

    def _export_failed(self, message: str) -> None:
        self.export_button.setEnabled(True)
        self.status.setText("The comparison was not exported.")
        QMessageBox.warning(self, "Export failed", message)


class TokenStatsDialog(QDialog):
    """Per codebook: how often each token is used (a histogram, most used first), entropy and utilization."""

    def __init__(self, parent: QWidget, grid: GridData) -> None:
        super().__init__(parent)
        import pyqtgraph as pg

        self.setWindowTitle(f"Token statistics — {grid.info.name}")
        self.grid = grid
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        self.codebook = QComboBox()
        for k in range(grid.n_codebooks):
            self.codebook.addItem(f"codebook {k} ({grid.info.role(k)})", k)
        self.summary = QLabel("")
        row.addWidget(self.codebook)
        row.addWidget(self.summary, 1)
        layout.addLayout(row)
        self.plot = pg.PlotWidget()
        self.plot.setLabel("bottom", "tokens, most used first")
        self.plot.setLabel("left", "frames")
        self.bars = pg.BarGraphItem(x=[], height=[], width=1.0, brush="#7aa2f7")
        self.plot.addItem(self.bars)
        layout.addWidget(self.plot, 1)
        self.codebook.currentIndexChanged.connect(lambda _: self.show_codebook(self.codebook.currentData()))
        self.show_codebook(0)
        self.resize(800, 450)

    def show_codebook(self, k: int) -> None:
        codes = self.grid.codes[k]
        counts = np.bincount(codes, minlength=self.grid.info.codebook_size)
        ranked = np.sort(counts)[::-1]
        used = int((counts > 0).sum())
        self.counts = counts
        self.bars.setOpts(x=np.arange(used), height=ranked[:used], width=1.0)
        self.plot.setXRange(0, max(used, 1), padding=0.02)
        st = self.grid.stats[k]
        top = int(np.argmax(counts)) if len(codes) else 0
        self.summary.setText(f"{used} of {self.grid.info.codebook_size} tokens used ({100 * st.utilization:.0f}%), "
                             f"entropy {st.entropy_bits:.2f} of {np.log2(self.grid.info.codebook_size):.0f} bits; "
                             f"most used: token {top} ({counts[top]} of {len(codes)} frames)")
