"""The autosaved session: the open clip's file, codec, edits, view and spectrogram, in ``session.json``.

Written half a second after the last change (bursts, an edit per keystroke or a view change per
wheel step, become one write), so a restart or a crash restores it. A small JSON file replaced
atomically, without fsync: it survives the app crashing, and the GUI thread never waits for the disk
(QSettings.sync fdatasyncs twice; under disk load that stalled the GUI for over 100 ms).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QObject, QSettings, QTimer

from explorer.codecs.registry import CODEC_NAMES
from explorer.core.errors import ExplorerError
from explorer.core.output import write_text
from explorer.core.edits import Edits
from explorer.core.session_file import read_session
from explorer.ui.codec_bar import CodecBar, codec_usable
from explorer.ui.time_panel import TimePanel

log = logging.getLogger(__name__)

AUTOSAVE_DELAY_MS = 500
"""The session is written this long after the last change: a crash loses at most half a second."""


@dataclass(frozen=True)
class Restored:
    """What a start takes from the saved session once its clip is open."""

    path: Path | None
    """The clip, if it still exists."""
    edits: Edits | None
    view: tuple[float, float] | None
    note: str
    """What a damaged session file could not restore ('' if nothing)."""


class SessionStore(QObject):
    """Writes ``snapshot()`` (the session's JSON, or None when there is nothing to save) on :meth:`changed`."""

    def __init__(self, settings: QSettings, snapshot: Callable[[], str | None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self._snapshot = snapshot
        self.timer = QTimer(self)
        self.timer.setInterval(AUTOSAVE_DELAY_MS)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self.save)

    @property
    def path(self) -> Path:
        """``session.json`` beside the settings file."""
        return Path(self.settings.fileName()).with_name("session.json")

    def changed(self) -> None:
        """Something saved in the session changed: write it soon."""
        self.timer.start()

    def save(self) -> None:
        """Write the session now (nothing while there is none: no clip, or live mode)."""
        try:
            text = self._snapshot()
            if text is None:
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_text(self.path, text)
        except (OSError, ExplorerError) as exc:
            log.warning("could not autosave the session to %s: %s", self.path, exc)

    def restore(self, codec_bar: CodecBar, file_view: TimePanel) -> Restored | None:
        """The saved session, its codec and spectrogram shown at once; None if there is none.

        A damaged file never stops the start: each valid field is restored, the note says what was not.
        """
        loaded = read_session(self.path, CODEC_NAMES)
        if loaded is None:
            return None
        if loaded.notes:
            log.warning("the saved session %s is damaged: %s", self.path, loaded.notes)
        state, path = loaded.state, loaded.state.clip()
        if path is None:
            gone = (f"Your last session's clip, {state.path}, is no longer there (moved or deleted), so it could not "
                    "be restored. " if state.path is not None else "")
            return Restored(None, None, None, gone + loaded.summary())
        if state.codec is not None and codec_usable(state.codec):
            codec_bar.select(state.codec, state.codebooks)
        file_view.set_spectrogram(state.spectrogram)
        edits = state.edits.edits()
        return Restored(path, None if edits.is_identity else edits, state.view, loaded.summary())
