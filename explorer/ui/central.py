"""The window's middle: the codebook panel beside the file or live views, the live figures, and the
transport above the metrics line.

Everything here shrinks with the window: the panel and the views share a splitter, the metrics line
wraps onto more lines instead of losing fields, and the transport keeps its controls' own minimum
sizes (checked at 1024×700 by tests/test_window_trust.py).
"""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QSplitter, QStackedWidget, QVBoxLayout, QWidget

from explorer.services.session import SessionModel
from explorer.ui.codebook_panel import CodebookPanel
from explorer.ui.live_view import LiveViews
from explorer.ui.metrics_line import MetricsLine
from explorer.ui.time_panel import TimePanel
from explorer.ui.transport import Transport


class Central(QWidget):
    def __init__(self, model: SessionModel, live_figures: QLabel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.file_view = TimePanel()
        self.views = self.file_view.views
        self.live_views = LiveViews()
        self.panel = CodebookPanel(model)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.file_view)
        self.stack.addWidget(self.live_views)
        self.splitter = QSplitter()
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(self.panel)
        self.splitter.addWidget(self.stack)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setSizes([380, 1100])
        self.transport = Transport(self.views)
        self.metrics = MetricsLine()
        layout = QVBoxLayout(self)
        layout.addWidget(self.splitter, 1)
        layout.addWidget(live_figures)
        layout.addWidget(self.transport)
        layout.addWidget(self.metrics)
