"""Combo boxes set from the model: by the item's data (or its text), with the box's signals blocked."""

from __future__ import annotations

from typing import Any, Iterable

from PySide6.QtCore import QSignalBlocker
from PySide6.QtWidgets import QComboBox


def select(box: QComboBox, value: Any) -> None:
    """Make the item whose data (else whose text) is ``value`` current; unknown values change nothing."""
    with QSignalBlocker(box):
        i = box.findData(value)
        if i < 0:
            i = box.findText(str(value))
        if i >= 0:
            box.setCurrentIndex(i)


def fill(box: QComboBox, items: Iterable[tuple[str, Any]]) -> None:
    """Replace the items of ``box`` with ``(text, data)`` pairs, without announcing a choice."""
    with QSignalBlocker(box):
        box.clear()
        for text, data in items:
            box.addItem(text, data)
