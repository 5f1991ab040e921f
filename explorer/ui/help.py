"""The first-run welcome, the user's guide (the bundled ``guide.md``, also the README's guide) and About."""

from __future__ import annotations

import html
from collections.abc import Mapping

from PySide6.QtCore import Signal
from PySide6.QtGui import QTextOption
from PySide6.QtWidgets import (QCheckBox, QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QPushButton, QTextBrowser,
                               QVBoxLayout, QWidget)

import explorer
from explorer.codecs.weights import MAIN_SNAPSHOT, TABLE_HEADER, WhereRow
from explorer.core.resources import resource

WELCOME = """<h2>Welcome to Codec Explorer</h2>
<p>Codec Explorer shows a clip as a neural codec sees it: the waveform, the spectrogram and every
codebook's tokens over time. Started without a file it opens a bundled spoken sentence with
<b>rvq-lab</b>, the built-in codec that needs no download; open your own with <b>File ▸ Open</b> or drop
it on the window. The window title and status bar name the clip shown; the codec bar, its codec.</p>
<ul>
<li>Press <b>Space</b> to play it; <b>A</b> switches between the original and the reconstruction.</li>
<li>The <b>token grid</b> at the bottom shows every codebook's tokens over time, one row per codebook.</li>
<li>The <b>codebook panel</b> on the left mutes (M), solos (S) or randomizes (R) a codebook, and keeps only
the first N. Try muting codebook 0, or press <b>1</b>: you hear the change at once.</li>
<li><b>● Live</b> (Ctrl+L) does the same to your voice as you speak; <b>Classroom</b> compares codecs and runs
guided experiments.</li>
</ul>
<p>Other codecs (EnCodec, DAC, SNAC, Mimi, SpeechTokenizer) download their weights the first time you pick them.</p>"""


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


ABOUT = """<h3>Codec Explorer {version}</h3>
<p>See and hear what neural audio codecs do with your audio.</p>
<h4>Where each codec's weights are looked for</h4>
<p>A checkpoint you choose (Open, when the app asks about weights) comes first; then these folders, in
order. rvq-lab is built in. <code>{main}</code> is the commit that the repository's <code>refs/main</code>
file names: a copy the codec's own package downloaded.</p>
{table}
<p>Help &gt; Diagnostics copies the versions, the device and the audio devices for a bug report.</p>"""


def weights_html(rows: list[WhereRow], here: Mapping[str, bool]) -> str:
    """The weights table as HTML, with whether each codec's weights are on this computer."""
    head = "".join(f"<th align='left'>{html.escape(h)}</th>" for h in (*TABLE_HEADER, "on this computer"))
    lines = []
    for r in rows:
        cells = ("<br>".join(html.escape(f) for f in r.files),
                 "<br>then ".join(f"<code>{html.escape(f)}</code>" for f in r.folders),
                 html.escape(r.source), "yes" if here.get(r.codec) else "no")
        lines.append(f"<tr><td>{html.escape(r.codec)}</td>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return f"<table width='100%' border='1' cellspacing='0' cellpadding='3'><tr>{head}</tr>{''.join(lines)}</table>"


class AboutDialog(QDialog):
    """What the app is and where each codec's weights are looked for, word-wrapped to the dialog's width."""

    def __init__(self, parent: QWidget, rows: list[WhereRow], here: Mapping[str, bool]) -> None:
        super().__init__(parent)
        self.setWindowTitle("About Codec Explorer")
        layout = QVBoxLayout(self)
        self.browser = QTextBrowser()
        self.browser.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)  # long folders wrap too
        self.browser.setHtml(ABOUT.format(version=html.escape(explorer.__version__), main=html.escape(MAIN_SNAPSHOT),
                                          table=weights_html(rows, here)))
        layout.addWidget(self.browser)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(900, 620)
