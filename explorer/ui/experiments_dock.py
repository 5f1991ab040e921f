"""The guided-experiments panel: narration, steps to hear, the table and a plot of it.

The experiments (services/experiments.py) run on the tools' one worker thread through the classroom
menu; the panel only shows their results and plays each step's sound through the window's player.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QComboBox, QDockWidget, QHBoxLayout, QListWidget, QPushButton, QTableWidget, QTextBrowser, QVBoxLayout, QWidget,
)

from explorer.core.audio import Clip
from explorer.core.types import AnyArray
from explorer.services.compare import column_label
from explorer.services.experiments import EXPERIMENTS, Experiment
from explorer.ui.classroom import fill_table

STOI_COLOUR, SDR_COLOUR = "#7aa2f7", "#e0af68"
"""The experiments plot's two metrics; each axis's label has its metric's colour."""
SERIES_COLOURS = ("#7aa2f7", "#e0af68", "#9ece6a", "#bb9af7")
"""The exercises' lines: blue, orange, green, purple (told apart by their markers too)."""
REFERENCE_SYMBOL = "star"
"""The ladder's reference points (Opus): a star of each metric's colour, never joined to the ladder's line."""


def db_range(values: list[float | None]) -> tuple[int, int]:
    """The SI-SDR axis of the experiments plot: whole tens of dB around ``values`` and 0 dB.

    The plot maps ``lo..hi`` dB onto STOI's 0..1, so both metrics share the plot with their own axis.
    """
    known = [v for v in values if v is not None] + [0.0]
    lo, hi = int(np.floor(min(known) / 10) * 10), int(np.ceil(max(known) / 10) * 10)
    return lo, max(hi, lo + 10)


def plotted(rows: list[dict[str, Any]], key: str, lo: float = 0.0, hi: float = 1.0) -> AnyArray:
    """``rows``' ``key`` mapped from ``lo..hi`` onto the plot's 0..1; n/a is NaN (a gap or no bar, never text)."""
    return np.array([np.nan if r[key] is None else (r[key] - lo) / (hi - lo) for r in rows], np.float64)


class ExperimentsDock(QDockWidget):
    """Pick an experiment, run it on the open clip, read the narration, play each step (Enter or 1–9)."""

    def __init__(self, run: Callable[..., None], play: Callable[[Clip], None]) -> None:
        super().__init__("Experiments")
        self.setObjectName("experiments")
        self.run_fn, self.play = run, play
        self.experiment: Experiment | None = None
        body = QWidget()
        layout = QVBoxLayout(body)
        self.choice = QComboBox()
        self.choice.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.choice.setMinimumContentsLength(16)  # long titles elide: the dock fits beside the views
        for key, text in EXPERIMENTS.items():
            self.choice.addItem(text, key)
        self.run_button = QPushButton("Run")
        row = QHBoxLayout()
        row.addWidget(self.choice, 1)
        row.addWidget(self.run_button)
        layout.addLayout(row)
        self.narration = QTextBrowser()
        layout.addWidget(self.narration, 2)
        self.steps = QListWidget()
        self.steps.setToolTip("Double-click or press Enter to hear a step")
        layout.addWidget(self.steps, 1)
        self.table = QTableWidget(0, 0)
        layout.addWidget(self.table, 1)
        import pyqtgraph as pg

        self.plot = pg.PlotWidget()
        self.plot.setLabel("left", "STOI", color=STOI_COLOUR)  # the axes' colours are the legend: none covers a point
        self.plot.setLabel("right", column_label("si_sdr_db"), color=SDR_COLOUR)
        self.plot.setMinimumHeight(180)
        self.plot.hide()
        layout.addWidget(self.plot, 1)
        self.play_all = QPushButton("Play every step in turn")
        self.play_all.setEnabled(False)
        layout.addWidget(self.play_all)
        self.play_all.clicked.connect(lambda: self.play_in_turn())
        self.turn_timer = QTimer(self)
        self.turn_timer.setSingleShot(True)
        self.turn_timer.timeout.connect(self._next_turn)
        self.turn: list[int] = []
        self.setWidget(body)
        self.run_button.clicked.connect(lambda: self.start(self.choice.currentData()))
        self.steps.itemActivated.connect(lambda item: self.play_step(self.steps.row(item)))

    def start(self, name: str) -> None:
        self.run_button.setEnabled(False)
        self.narration.setPlainText(f"Running “{EXPERIMENTS[name]}”…")
        self.run_fn(name, self._done, self._failed)

    def _done(self, exp: Experiment) -> None:
        self.experiment = exp
        self.run_button.setEnabled(True)
        text = [f"<h3>{exp.title}</h3><p>{exp.intro}</p><ol>"]
        text += [f"<li>{s.narration}</li>" for s in exp.steps]
        text += [f"</ol><p><b>{exp.conclusion}</b></p>"]
        self.narration.setHtml("".join(text))
        self.steps.clear()
        for i, s in enumerate(exp.steps, 1):
            self.steps.addItem(f"{i}. {s.label}" + ("  ▶" if s.audio is not None else ""))
        fill_table(self.table, exp.table)
        self._plot(exp)
        self.play_all.setEnabled(any(st.audio is not None for st in exp.steps))

    def _plot(self, exp: Experiment) -> None:
        """STOI (left axis) and SI-SDR (right axis) of each step: against the bitrate heard where it climbs from
        step to step (the ladder, with its reference points: :meth:`_plot_references`), else as a pair of bars
        per step, labelled by the step (the semantic experiment)."""
        import pyqtgraph as pg

        self.plot.clear()
        rows = exp.table
        if rows and exp.series is not None:
            self._plot_series(exp, *exp.series)
            return
        self.plot.setLabel("left", "STOI", color=STOI_COLOUR)
        self.plot.setLabel("right", column_label("si_sdr_db"), color=SDR_COLOUR)
        self.plot.showAxis("right")
        if not rows or not {"stoi", "si_sdr_db"} <= rows[0].keys():
            self.plot.hide()
            return
        lo, hi = db_range([r["si_sdr_db"] for r in rows + exp.references])
        stoi, sdr = plotted(rows, "stoi"), plotted(rows, "si_sdr_db", lo, hi)
        kbps = [r.get("kbps") or 0.0 for r in rows]
        if all(0 < a < b for a, b in zip(kbps, kbps[1:])):
            x = np.log2(kbps)
            self.plot.plot(x, stoi, pen=pg.mkPen(STOI_COLOUR, width=2), symbol="o", symbolBrush=STOI_COLOUR, connect="finite")
            self.plot.plot(x, sdr, pen=pg.mkPen(SDR_COLOUR, width=2), symbol="s", symbolBrush=SDR_COLOUR, connect="finite")
            ticks = [(float(p), f"{k:.3g}") for p, k in zip(x, kbps)]
            self.plot.setLabel("bottom", f"{column_label('kbps')} (log scale)")
            span = self._plot_references(exp.references, lo, hi)
            self.plot.setXRange(min(float(x[0]), *span), max(float(x[-1]), *span), padding=0.08)
        else:
            x = np.arange(len(rows), dtype=np.float64)
            zero = -lo / (hi - lo)
            for offset, heights, base, colour in ((-0.19, stoi, 0.0, STOI_COLOUR), (0.19, sdr - zero, zero, SDR_COLOUR)):
                ok = np.isfinite(heights)
                self.plot.addItem(pg.BarGraphItem(x=x[ok] + offset, y0=base, height=heights[ok], width=0.36, brush=colour))
            labels = [step.label for step in exp.steps] if len(exp.steps) == len(rows) else [str(i + 1) for i in range(len(rows))]
            ticks = [(float(i), label + (" (n/a)" if not (np.isfinite(stoi[i]) and np.isfinite(sdr[i])) else ""))
                     for i, label in enumerate(labels)]
            self.plot.setLabel("bottom", "step")
            self.plot.setXRange(-0.6, len(rows) - 0.4, padding=0)
        self.plot.getAxis("bottom").setTicks([ticks])
        step = 10 if hi - lo <= 60 else 20
        self.plot.getAxis("right").setTicks([[((db - lo) / (hi - lo), f"{db:g}") for db in range(int(lo), int(hi) + 1, step)]])
        self.plot.setYRange(0, 1, padding=0.05)
        self.plot.show()

    def _plot_series(self, exp: Experiment, metric: str, group: str) -> None:
        """``metric`` against the bitrate (log scale), one line per value of ``group``, with a legend
        (the exercises: a toy quantizer beside rvq-lab, EnCodec's codebooks beside Opus)."""
        import pyqtgraph as pg

        self.plot.hideAxis("right")
        self.plot.setLabel("left", column_label(metric), color=STOI_COLOUR)
        self.plot.setLabel("bottom", f"{column_label('kbps')} (log scale)")
        self.plot.getAxis("right").setTicks(None)
        legend = self.plot.addLegend(offset=(10, 10))
        legend.clear()
        groups = list(dict.fromkeys(r[group] for r in exp.table))
        for i, name in enumerate(groups):
            rows = [r for r in exp.table if r[group] == name and r.get("kbps")]
            x = np.log10([r["kbps"] for r in rows])
            y = np.array([np.nan if r[metric] is None else r[metric] for r in rows], np.float64)  # n/a: a gap
            colour = SERIES_COLOURS[i % len(SERIES_COLOURS)]
            self.plot.plot(x, y, pen=pg.mkPen(colour, width=2), symbol="osdt"[i % 4], symbolBrush=colour,
                           connect="finite", name=str(name))
        kbps = sorted({float(r["kbps"]) for r in exp.table if r.get("kbps")})
        self.plot.getAxis("bottom").setTicks([[(float(np.log10(k)), f"{k:.3g}") for k in kbps]])
        self.plot.enableAutoRange()
        self.plot.show()

    def _plot_references(self, refs: list[dict[str, Any]], lo: float, hi: float) -> list[float]:
        """The reference codec's points (Opus at a few settings) as stars beside the ladder's line, each
        labelled with the codec and its setting; returns their x positions (log2 kbps) for the range."""
        import pyqtgraph as pg

        if not refs:
            return []
        x = np.log2([r["kbps"] for r in refs])
        for values, colour in ((plotted(refs, "stoi"), STOI_COLOUR), (plotted(refs, "si_sdr_db", lo, hi), SDR_COLOUR)):
            self.plot.plot(x, values, pen=None, symbol=REFERENCE_SYMBOL, symbolSize=15, symbolBrush=colour,
                           symbolPen=pg.mkPen("w", width=1))
        for xi, low, r in zip(x, np.fmin(plotted(refs, "stoi"), plotted(refs, "si_sdr_db", lo, hi)), refs):
            label = pg.TextItem(f"{str(r['codec']).capitalize()} {r['kbps_setting']}", color="w", anchor=(0.5, -0.3))
            label.setPos(float(xi), float(low) if np.isfinite(low) else 0.0)  # under the lower star: STOI nears the top
            self.plot.addItem(label)
        return [float(v) for v in x]

    def play_in_turn(self) -> None:
        """Play each step's sound one after another, highlighting the step playing."""
        if self.experiment is None:
            return
        self.turn = [i for i, st in enumerate(self.experiment.steps) if st.audio is not None]
        self._next_turn()

    def _next_turn(self) -> None:
        if not self.turn or self.experiment is None:
            return
        i = self.turn.pop(0)
        self.steps.setCurrentRow(i)
        self.play_step(i)
        audio = self.experiment.steps[i].audio
        if audio is not None and self.turn:
            self.turn_timer.start(int(1000 * audio.duration) + 400)

    def _failed(self, message: str) -> None:
        self.run_button.setEnabled(True)
        self.narration.setPlainText(f"The experiment could not run: {message}")

    def play_step(self, i: int) -> None:
        if self.experiment is not None and 0 <= i < len(self.experiment.steps):
            audio = self.experiment.steps[i].audio
            if audio is not None:
                self.play(audio)
