"""The first-run welcome and the user's guide (the bundled ``guide.md``, also the README's guide)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QDialog, QHBoxLayout, QLabel, QPushButton, QTextBrowser, QVBoxLayout, QWidget

from explorer.core.resources import resource

WELCOME = """<h2>Welcome to Codec Explorer</h2>
<p>A spoken clip is open, encoded with <b>rvq-lab</b>, the built-in codec that needs no download.</p>
<ul>
<li>Press <b>Space</b> to play it; <b>A</b> switches between the original and the reconstruction.</li>
<li>The <b>token grid</b> at the bottom shows every codebook's tokens over time, one row per codebook.</li>
<li>The <b>codebook panel</b> on the left mutes (M), solos (S) or randomizes (R) a codebook, and keeps only
the first N. Try muting codebook 0, or press <b>1</b>: you hear the change at once.</li>
<li><b>● Live</b> (Ctrl+L) does the same to your voice as you speak; <b>Classroom</b> compares codecs and runs
guided experiments.</li>
</ul>
<p>Other codecs (EnCodec, DAC, SNAC, Mimi) download their weights the first time you pick them.</p>"""


class WelcomeDialog(QDialog):
    dismissed = Signal()
    guide_requested = Signal()

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setWindowTitle("Welcome")
        layout = QVBoxLayout(self)
        text = QLabel(WELCOME)
        text.setWordWrap(True)
        layout.addWidget(text)
        self.never = QCheckBox("Don't show this again")
        row = QHBoxLayout()
        row.addWidget(self.never)
        row.addStretch(1)
        guide = QPushButton("Read the guide")
        start = QPushButton("Start exploring")
        start.setDefault(True)
        row.addWidget(guide)
        row.addWidget(start)
        layout.addLayout(row)
        guide.clicked.connect(self.guide_requested)
        start.clicked.connect(self.accept)
        self.finished.connect(lambda _: self.dismissed.emit() if self.never.isChecked() else None)
        self.resize(560, 360)


class GuideDialog(QDialog):
    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setWindowTitle("Codec Explorer — guide")
        layout = QVBoxLayout(self)
        self.browser = QTextBrowser()
        self.browser.setOpenExternalLinks(True)
        self.browser.setMarkdown(resource("guide.md").read_text(encoding="utf-8"))
        layout.addWidget(self.browser)
        self.resize(820, 760)
