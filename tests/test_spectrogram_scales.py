"""The spectrograms' frequency axis: linear, log and mel remapping and their ticks."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.core.spectrogram import LOG_MIN_HZ, frequency_ticks, remap, scale_position


def test_a_tone_lands_where_its_scale_puts_it():
    nyquist, bins = 12000.0, 513
    freqs = np.linspace(0, nyquist, bins)
    for wanted in (100.0, 1000.0, 5000.0):
        k = int(round(wanted / nyquist * (bins - 1)))
        f0 = freqs[k]  # the bin's own frequency
        db = np.full((4, bins), -100.0, np.float32)
        db[:, k] = 0.0
        for scale in ("log", "mel"):
            rows = remap(db, nyquist, scale, rows=1000)
            peak = np.argmax(rows[0]) / 999
            assert peak == pytest.approx(float(scale_position(f0, scale, nyquist)), abs=0.01), (scale, f0)
    assert remap(db, nyquist, "linear") is db
    assert float(scale_position(LOG_MIN_HZ, "log", nyquist)) == 0.0 and float(scale_position(nyquist, "mel", nyquist)) == 1.0
    assert freqs[-1] == nyquist


def test_ticks_are_round_frequencies_in_order():
    for scale in ("linear", "log", "mel"):
        ticks = frequency_ticks(scale, 22050.0)
        positions = [p for p, _ in ticks]
        assert positions == sorted(positions) and 0.0 <= positions[0] and positions[-1] <= 1.0
    assert [label for _, label in frequency_ticks("log", 8000.0)] == ["50", "100", "200", "500", "1k", "2k", "5k"]
    log = dict((label, p) for p, label in frequency_ticks("log", 8000.0))
    assert log["2k"] - log["1k"] == pytest.approx(log["200"] - log["100"])  # an octave is an octave
