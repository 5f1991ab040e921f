"""Qt calls that return nothing must leave the reference counts of None and True as they were.

PySide6 / shiboken6 6.12.0 on Python 3.11 drops a reference to None on every void Qt call
(``QLabel.setText``, ``QSlider.setValue``, leaving a ``QSignalBlocker``...); an idle window makes
hundreds a second, and CPython aborts with "deallocating None" within minutes. 6.11.3, the pinned
version, does not. The calls run in a child process: with a leaking binding they end the interpreter,
and that should fail one test, not end the whole run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

ROUNDS = 20_000
SLACK = 50  # unrelated activity (imports, caches) may move a count a little; a leak moves it by ROUNDS

CHILD = r"""
import json, sys
from PySide6.QtCore import QSignalBlocker
from PySide6.QtWidgets import QApplication, QLabel, QSlider

app = QApplication([])
label, slider = QLabel(), QSlider()
label.setText("warm"); slider.setValue(1)
with QSignalBlocker(slider):
    pass

def counts():
    return {"None": sys.getrefcount(None), "True": sys.getrefcount(True)}

before = counts()
for i in range(int(sys.argv[1])):
    label.setText("round")
    slider.setValue(i % 100)
    with QSignalBlocker(slider):
        pass
print(json.dumps({"before": before, "after": counts()}), flush=True)
"""


def test_void_qt_calls_keep_the_reference_counts_of_none_and_true():
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(ROUNDS)], capture_output=True, text=True, timeout=300, env=env
    )
    assert child.returncode == 0, f"the child died ({child.returncode}): {child.stderr[-1000:]}"
    counts = json.loads(child.stdout.strip().splitlines()[-1])
    for name, before in counts["before"].items():
        after = counts["after"][name]
        assert abs(after - before) <= SLACK, f"{ROUNDS} rounds of void Qt calls moved {name}'s count {before} -> {after}"
