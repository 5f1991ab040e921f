"""Audacity's zoom keys on the time views: the ranges, then the keys in the window."""

from __future__ import annotations

import pytest

from explorer.ui.zoom import MIN_SECONDS, fit, normal, zoomed


def test_zoom_keeps_the_playhead_in_place_and_stays_in_the_clip():
    assert zoomed((0.0, 60.0), 2.0, 30.0, 60.0) == (15.0, 45.0)
    assert zoomed((10.0, 20.0), 2.0, 12.0, 60.0) == pytest.approx((11.0, 16.0))  # 12 s stays 20 % in
    assert zoomed((10.0, 20.0), 2.0, 50.0, 60.0) == pytest.approx((12.5, 17.5))  # playhead out of view: the centre
    assert zoomed((0.0, 60.0), 0.5, 30.0, 60.0) == (0.0, 60.0)  # never wider than the clip
    assert zoomed((59.0, 60.0), 0.5, 59.9, 60.0)[1] == 60.0
    lo, hi = zoomed((1.0, 1.06), 2.0, 1.03, 60.0)
    assert hi - lo == pytest.approx(MIN_SECONDS)
    assert normal((55.0, 60.0), 60.0) == (50.0, 60.0) and normal((0.0, 3.0), 3.0) == (0.0, 3.0)
    assert fit(6.4) == (0.0, 6.4)


def test_the_zoom_keys_zoom_the_window(qtbot, window, speech_wav):
    from PySide6.QtGui import QKeySequence, QShortcut

    w = window
    with qtbot.waitSignal(w.reconstruction_ready, timeout=120_000):
        w.open_file(speech_wav)
    keys = {s.key().toString(): s for s in w.findChildren(QShortcut)}

    def press(key: str) -> None:  # the window's own shortcut (offscreen windows get no key focus)
        assert QKeySequence(key).toString() in keys, sorted(keys)
        keys[QKeySequence(key).toString()].activated.emit()

    length = w.views.clip_seconds()
    w.views.set_playhead(2.0)
    press("Ctrl+1")
    lo, hi = w.views.wave.viewRange()[0]
    assert hi - lo == pytest.approx(length / 2, rel=0.02) and lo < 2.0 < hi
    press("Ctrl+3")
    assert w.views.wave.viewRange()[0] == pytest.approx([0.0, length], abs=0.02)
    press("Ctrl+1")
    press("Ctrl+F")
    assert w.views.wave.viewRange()[0] == pytest.approx([0.0, length], abs=0.02)
