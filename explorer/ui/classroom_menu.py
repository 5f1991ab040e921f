"""The Classroom menu: compare codecs, which codec for a task, token statistics, the experiments panel.

The tools run on one :class:`ToolWorker` with its own codecs (never two threads on one model: the
inference worker keeps its own), on the open clip (the bundled speech clip when none is open), and
play through the transport. Each job is made on the GUI thread from values read there (the clip,
the codec names, the device), so the worker never reads a widget.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu, QScrollArea

from explorer.codecs.registry import CODEC_NAMES, entry
from explorer.core.audio import Clip, load_audio
from explorer.core.errors import CodecError
from explorer.core.device import describe_device, resolve_device
from explorer.core.resources import resource
from explorer.services import experiments, picker
from explorer.services.compare import parse_spec
from explorer.services.report import Comparison, compare_and_draw, export_comparison
from explorer.services.session import SessionModel
from explorer.ui.classroom import CompareDialog, TokenStatsDialog, usable_codecs
from explorer.ui.experiments_dock import ExperimentsDock
from explorer.ui.grid_data import GridData
from explorer.ui.picker_dialog import PickerDialog
from explorer.ui.tasks import JobProgress, ToolWorker


class ClassroomMenu(QObject):
    message = Signal(str, int)

    def __init__(self, window: QMainWindow, menu: QMenu, model: SessionModel,
                 grid: Callable[[], GridData | None], codec: Callable[[], str], device: Callable[[], str],
                 play: Callable[[Clip], None]) -> None:
        super().__init__(window)
        self.window = window
        self.model, self._grid, self._codec, self._device, self.play = model, grid, codec, device, play
        self.tools = ToolWorker()
        self.compare_dialog: CompareDialog | None = None
        self.token_dialog: TokenStatsDialog | None = None
        self.picker_dialog: PickerDialog | None = None
        menu.addAction("&Compare codecs…", QKeySequence("Ctrl+K"), self.open_compare)
        menu.addAction("&Which codec?…", self.open_picker)
        menu.addAction("&Token statistics…", QKeySequence("Ctrl+T"), self.open_token_stats)
        self.experiments = ExperimentsDock(self.run_experiment, play)
        scroll = QScrollArea()  # the panel scrolls rather than growing the window past the screen
        scroll.setWidget(self.experiments.widget())
        scroll.setWidgetResizable(True)
        scroll.setMinimumWidth(280)
        self.experiments.setWidget(scroll)
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.experiments)
        self.experiments.hide()
        toggle = self.experiments.toggleViewAction()
        toggle.setShortcut(QKeySequence("F9"))
        menu.addAction(toggle)

    def current_clip(self) -> tuple[Clip, str]:
        """The open clip and its name; the bundled speech clip when none is open."""
        if self.model.clip is not None:
            return self.model.clip, self.model.path.name if self.model.path else "clip"
        path = resource("clips", "speech_en.wav")
        return load_audio(path), path.name

    def open_compare(self) -> CompareDialog:
        clip, title = self.current_clip()
        if self.model.clip is None:
            self.message.emit(f"No clip is open, so the comparison uses the bundled speech clip ({title}).", 10000)
        self.compare_dialog = CompareDialog(self.window, clip, title, self.run_compare, self.export_compare, self.play)
        self.compare_dialog.show()
        return self.compare_dialog

    def open_picker(self) -> PickerDialog:
        """The task, its rule of thumb and every codec measured on the open clip (the bundled speech when none is)."""
        clip, title = self.current_clip()
        if self.model.clip is None:
            self.message.emit(f"No clip is open, so the codecs are measured on the bundled speech clip ({title}).", 10000)
        device = self._device()
        self.picker_dialog = PickerDialog(self.window, clip, title, device, describe_device(resolve_device(device)),
                                          self.run_picker)
        self.picker_dialog.show()
        return self.picker_dialog

    def run_picker(self, clip: Clip, device: str, done: Callable[[list[picker.Row]], None],
                   failed: Callable[[str], None]) -> JobProgress:
        """Measure every codec of the registry on ``clip`` and ``device`` on the tools' worker; returns the job's
        progress (to cancel it)."""
        progress = self.tools.progress()
        job = partial(picker.measure, names=list(CODEC_NAMES), device=device, clip=clip, progress=progress)
        self.tools.submit(job, done, failed)
        return progress

    def open_token_stats(self) -> TokenStatsDialog | None:
        grid = self._grid()
        if grid is None:
            self.message.emit("Open a clip first: the statistics are of its tokens.", 5000)
            return None
        if not grid.info.tokens:
            self.message.emit(grid.no_tokens() + ", so there are no token statistics.", 8000)
            return None
        self.token_dialog = TokenStatsDialog(self.window, grid)
        self.token_dialog.show()
        return self.token_dialog

    def run_compare(self, clip: Clip, names: list[str], done: Callable[[Comparison], None],
                    failed: Callable[[str], None]) -> None:
        """Compare the codecs ``names`` (NAME, NAME@codebooks or opus@kbps) on ``clip`` and draw the picture, on the tools' worker."""
        job = partial(compare_and_draw, specs=[parse_spec(n) for n in names], device=self._device(), clip=clip)
        self.tools.submit(job, done, failed)

    def export_compare(self, folder: Path, title: str, clip: Clip, comparison: Comparison,
                       done: Callable[[list[Path]], None], failed: Callable[[str], None]) -> None:
        """Write the comparison's CSV, PNG and HTML report to ``folder``, on the tools' worker."""
        self.tools.submit(partial(export_comparison, folder=folder, title=title, clip=clip, comparison=comparison), done, failed)

    def run_experiment(self, name: str, done: Callable[[experiments.Experiment], None],
                       failed: Callable[[str], None]) -> None:
        """Run experiment ``name`` on the open clip with the chosen codec, on the tools' worker."""
        clip, _ = self.current_clip()
        try:
            names = experiments.codecs_for(name, self._codec(), [n for n in usable_codecs() if entry(n).info().tokens])
        except CodecError as exc:
            failed(str(exc))
            return
        job = partial(experiments.run_named, name=name, codecs=names, device=self._device(), clip=clip)
        self.tools.submit(job, done, failed)

    def shutdown(self) -> None:
        self.tools.shutdown()
