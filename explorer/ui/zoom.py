"""Zooming the time views with Audacity's keys: Ctrl+1 in, Ctrl+3 out, Ctrl+2 normal, Ctrl+F fit,
Ctrl+E zoom to the selection (wired by the Edit menu, which knows the selection).

The ranges are plain functions of (view, playhead, clip length), testable without Qt; :func:`apply`
sets one on the waveform plot, to which the spectrogram and the grid are X-linked.
"""

from __future__ import annotations

from typing import Callable

from explorer.ui.views import TimeViews

MIN_SECONDS = 0.05
"""The narrowest view: a few codec frames."""
NORMAL_SECONDS = 10.0
"""The width of "zoom normal" (Ctrl+2)."""

Range = tuple[float, float]


def zoomed(view: Range, factor: float, playhead: float, length: float) -> Range:
    """``view`` zoomed by ``factor`` (2: in, 0.5: out) about the playhead when it is in view, else about
    the view's centre, keeping the anchor at the same place on screen; never wider than the clip."""
    lo, hi = view
    anchor = playhead if lo <= playhead <= hi else (lo + hi) / 2
    width = min(max((hi - lo) / factor, MIN_SECONDS), max(length, MIN_SECONDS))
    start = anchor - width * (anchor - lo) / max(hi - lo, 1e-9)
    start = min(max(0.0, start), max(0.0, length - width))
    return start, start + width


def normal(view: Range, length: float) -> Range:
    """:data:`NORMAL_SECONDS` from the view's start (the whole clip when it is shorter)."""
    width = min(NORMAL_SECONDS, max(length, MIN_SECONDS))
    start = min(max(0.0, view[0]), max(0.0, length - width))
    return start, start + width


def fit(length: float) -> Range:
    return 0.0, max(length, MIN_SECONDS)


def to_selection(selection: Range, length: float, margin: float = 0.05) -> Range:
    """The view that shows ``selection`` with ``margin`` of its width each side, within the clip."""
    lo, hi = selection
    pad = (hi - lo) * margin
    width = max(hi - lo + 2 * pad, MIN_SECONDS)
    start = min(max(0.0, (lo + hi) / 2 - width / 2), max(0.0, length - width))
    return start, min(start + width, max(length, MIN_SECONDS))


def apply(views: TimeViews, how: Callable[[Range, float, float], Range]) -> None:
    """Set the views' time range to ``how(view, playhead, clip length)``."""
    lo, hi = views.wave.viewRange()[0]
    start, end = how((lo, hi), float(views.playheads[0].value()), views.clip_seconds())
    views.wave.setXRange(start, end, padding=0)


KEYS: dict[str, Callable[[Range, float, float], Range]] = {
    "Ctrl+1": lambda view, at, length: zoomed(view, 2.0, at, length),
    "Ctrl+3": lambda view, at, length: zoomed(view, 0.5, at, length),
    "Ctrl+2": lambda view, at, length: normal(view, length),
    "Ctrl+F": lambda view, at, length: fit(length),
}
"""Audacity's zoom keys and what each does to the time range."""
