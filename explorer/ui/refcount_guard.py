"""A guard against a reference-count bug in the pinned PySide6 / shiboken6 6.12.0 on Python 3.11.

Measured here: every call of a Qt method that returns nothing (``QLabel.setText``,
``QSlider.setValue``, ``QTableWidgetItem.setCheckState``, leaving a ``QSignalBlocker``...) drops
``sys.getrefcount(None)`` by one, and some calls do the same to ``True`` and ``False``: the binding
returns these singletons without taking a reference. None starts near 62,000 references and the idle
window loses about 200 a second, so after a few minutes CPython aborts with "Fatal Python error:
none_dealloc: deallocating None". Python 3.12 made None, True and False immortal, so there the bug
is harmless; the project's pins run on 3.11.

The guard gives the three singletons back what the binding takes: when one falls below
:data:`FLOOR` references it adds :data:`TOP_UP` (they are never freed, so an excess is harmless).
The window calls :func:`top_up` at start and once a second.
"""

from __future__ import annotations

import ctypes
import sys

IMMORTAL = sys.version_info >= (3, 12)
FLOOR = 1 << 22
TOP_UP = 1 << 26
_SINGLETONS = (None, True, False)


def top_up() -> int:
    """Raise the singletons' reference counts where they ran low; returns how many were raised."""
    if IMMORTAL:
        return 0
    raised = 0
    for obj in _SINGLETONS:
        if sys.getrefcount(obj) < FLOOR:
            ctypes.c_ssize_t.from_address(id(obj)).value += TOP_UP
            raised += 1
    return raised
