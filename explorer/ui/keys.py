"""The window's single keys and Audacity's zoom keys, as window-wide shortcuts (menus hold the rest)."""

from __future__ import annotations

from functools import partial
from typing import Any

from PySide6.QtGui import QKeySequence, QShortcut

from explorer.ui import zoom


def install_keys(w: Any) -> None:
    """Ctrl+L live, Space play (the selection, if any), S stop, A original/reconstruction, R reset the
    edits, 1-9 mute codebook 0-8, Ctrl+1/2/3/F zoom. ``w`` is the main window (not imported: floors)."""
    for key, fn in (("Ctrl+L", w.live_bar.live_button.toggle), ("Space", w.transport.toggle_play),
                    ("S", w.transport.stop), ("A", w.transport.ab_button.toggle),
                    ("R", lambda: w.model.set_edits(w.model.cleared()))):
        QShortcut(QKeySequence(key), w, fn)
    for key, how in zoom.KEYS.items():
        QShortcut(QKeySequence(key), w, partial(zoom.apply, w.views, how))
    for k in range(9):
        QShortcut(QKeySequence(str(k + 1)), w, partial(w.mute_key, k))
