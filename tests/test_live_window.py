"""Live mode in the window, through real PortAudio streams on the JACK dummy driver.

Speech made with espeak-ng is played into the capture stream (a player's JACK output connected to
the live input), the grid scrolls, an edit changes what is heard, and the take opens in the file view.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

import jackloop
from explorer.core.audio import Clip, load_audio
from explorer.core.edits import Edits

pytest.importorskip("pytestqt")
pytestmark = pytest.mark.skipif(not jackloop.running(), reason="needs the JACK dummy driver (scripts/test.sh starts it)")


@pytest.fixture()
def window(qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    from explorer.ui.window import MainWindow

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue("live/folder", str(tmp_path / "takes"))
    w = MainWindow(settings)
    qtbot.addWidget(w)
    w.show()
    yield w
    w.close()


def test_live_mode_scrolls_applies_edits_and_opens_the_take(qtbot, window, speech, loaded):
    w = window
    w.live_bar.record_box.setChecked(True)
    w.live_bar.monitor_box.setCurrentText("reconstruction")
    before = jackloop.ports()
    w.live_bar.live_button.setChecked(True)
    qtbot.waitUntil(lambda: w.live_bar.live is not None and w.live_bar.live.run_ is not None, timeout=60_000)
    player = jackloop.feed(Clip(np.tile(speech.samples, (1, 3)), speech.sample_rate), before)
    try:
        qtbot.waitUntil(lambda: w.live_views.columns > 150, timeout=60_000)  # two seconds at 75 Hz
        run = w.live_bar.live.run_
        assert w.stack.currentWidget() is w.live_views
        assert "latency" in w.live_bar.label.text() and "RTF" in w.live_bar.label.text()
        # the feedback warning: the dummy driver's one device is both input and output
        assert "headphones" in w.live_bar.label.text()
        w.panel.toggle(0, "mute")  # the envelope: what is left is flat noise
        qtbot.waitUntil(lambda: w.live_views.columns > 300, timeout=60_000)
        assert run.out.ring.read > run.out.rate  # the output device pulled over a second of monitor audio
        monitored = run.out.ring.data
        assert np.abs(monitored).max() > 0.01
    finally:
        player.close()
    with qtbot.waitSignal(w.worker.encoded, timeout=60_000):
        w.live_bar.stop()  # the take is written, then opened in the file view
    takes = list(w.live_bar.folder.iterdir())
    assert len(takes) == 1 and w.model.path == takes[0] / "input.wav"
    assert w.stack.currentIndex() == 0 and w.live_bar.live is None and w.live_bar.live_button.isEnabled()

    # the edit reached the live output within one block: compare with offline decodes of the live tokens
    from explorer.core.tokens import load_tokens

    engine = loaded("rvq-lab")
    codes, meta = load_tokens(takes[0] / "tokens.npz")
    recon = load_audio(takes[0] / "reconstruction.wav").samples[0]
    enc = engine.from_tokens(codes, meta)
    plain = engine.decode(enc, Edits()).samples[0]
    muted = engine.decode(enc, Edits(mute=frozenset({0}))).samples[0]
    (edit_frame, edits), = run.edit_log
    assert edits.mute == {0}
    hop, block = engine.info.hop_length, run.live.block
    cut = edit_frame * hop + block  # the step running when the edit came still used the old edits
    n = min(len(recon), len(plain))
    assert cut + block < n
    # block by block decoding matches the whole-take decode up to rvq-lab's noise fill, seeded per call
    before_plain = np.abs(recon[block: edit_frame * hop] - plain[block: edit_frame * hop]).mean()
    after_plain = np.abs(recon[cut: n] - plain[cut: n]).mean()
    after_muted = np.abs(recon[cut: n] - muted[cut: n]).mean()
    assert before_plain < 0.2 * after_plain, (before_plain, after_plain)
    assert after_muted < 0.2 * after_plain, (after_muted, after_plain)


UNPLUG_SCRIPT = r"""
import json, os, sys, time
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QMessageBox
app = QApplication([])
from explorer.ui.window import MainWindow
warnings = []
QMessageBox.warning = lambda parent, title, text, *a: warnings.append(text)
settings = QSettings(sys.argv[1] + "/settings.ini", QSettings.Format.IniFormat)
settings.setValue("live/folder", sys.argv[1] + "/takes")
w = MainWindow(settings)
w.show()
w.live_bar.record_box.setChecked(True)
w.live_bar.live_button.setChecked(True)
def spin(cond, seconds):
    t = time.time()
    while time.time() - t < seconds and not cond():
        app.processEvents()
        time.sleep(0.01)
spin(lambda: w.live_views.columns > 150, 60)
print("RUNNING", flush=True)
spin(lambda: w.live_bar.live is None, 60)
spin(lambda: w.model.path is not None, 30)
alive = w.isVisible() and w.live_bar.live_button.isEnabled()
print(json.dumps({"alive": alive, "warnings": warnings, "opened": str(w.model.path), "columns": w.live_views.columns}), flush=True)
os._exit(0)  # PortAudio's teardown can block forever on a vanished JACK server
"""


@pytest.mark.skipif(shutil.which("jackd") is None, reason="needs jackd (Debian jackd2)")
def test_unplugging_mid_take_keeps_the_window_running_and_the_take_saved(tmp_path):
    with jackloop.own_server("codec-explorer-unplug-window", QT_QPA_PLATFORM="offscreen") as (env, server):
        app = subprocess.Popen([sys.executable, "-c", UNPLUG_SCRIPT, str(tmp_path)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert app.stdout is not None
        assert app.stdout.readline().strip() == "RUNNING", app.communicate()[1][-3000:]
        jackloop.unplug(server)  # the audio device vanishes mid-take
        out, err = app.communicate(timeout=120)
    result = json.loads(out.strip().splitlines()[-1])
    assert result["alive"], err[-3000:]
    assert any("stopped delivering audio" in text and "saved" in text for text in result["warnings"]), result
    take = next((tmp_path / "takes").iterdir())
    assert result["opened"] == str(take / "input.wav")
    assert load_audio(take / "input.wav").duration > 1.5
    assert (take / "tokens.npz").exists() and (take / "reconstruction.wav").exists()
