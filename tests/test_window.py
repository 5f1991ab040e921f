"""The explorer window, driven as a user would: offscreen with pytest-qt, and once in a real X window."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import tone_clip
from explorer.core.audio import save_audio
from explorer.core.edits import Edits

pytest.importorskip("pytestqt")


@pytest.fixture()
def window(qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    from explorer.ui.window import MainWindow

    w = MainWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(w)
    w.show()
    yield w
    w.close()


@pytest.fixture()
def speech_wav(tmp_path, speech):
    path = tmp_path / "speech.wav"
    save_audio(path, speech)
    return path


def wait_decoded(qtbot, w, timeout=120_000):
    with qtbot.waitSignal(w.reconstruction_ready, timeout=timeout):
        pass


def brightness(rgba) -> float:
    return float(rgba[..., :3].astype(np.float64).mean())


def test_open_switch_codec_mute_and_metrics(qtbot, window, speech_wav, loaded, speech):
    w = window
    with qtbot.waitSignal(w.reconstruction_ready, timeout=120_000):
        w.open_file(speech_wav)
    assert w.grid.info.name == "rvq-lab" and w.grid.n_codebooks == 32
    assert "SI-SDR" in w.metrics_label.text()

    engine = loaded("encodec-24khz")
    w._select(w.codec_box, "encodec-24khz")
    with qtbot.waitSignal(w.reconstruction_ready, timeout=120_000):
        w._codec_chosen()
    assert w.grid.info.name == "encodec-24khz" and w.grid.n_codebooks == 8
    assert w.device_label.text() == "device: cpu"
    before_metrics = w.metrics_label.text()
    before_row = brightness(w.views.row_rgba(1))

    with qtbot.waitSignal(w.reconstruction_ready, timeout=120_000):
        w.panel.toggle(1, "mute")
    assert w.panel.edits.mute == {1}
    expected = engine.decode(engine.encode(speech), Edits(mute={1}))
    assert np.allclose(w.decoded.clip.samples, expected.samples, atol=1e-5)
    assert brightness(w.views.row_rgba(1)) < 0.5 * before_row
    assert brightness(w.views.row_rgba(0)) > 0.5 * before_row
    assert w.metrics_label.text() != before_metrics and "edit→sound" in w.metrics_label.text()
    for mode in ("reconstruction", "difference", "original"):
        w.spec_box.setCurrentText(mode)
        w.views.viewport().repaint()
        assert w.views.spec_image.items and w.views.spec_image.data is not None
    # keys 1-9 toggle mute; the reset key clears every edit
    with qtbot.waitSignal(w.reconstruction_ready, timeout=120_000):
        w._mute_key(2)
    assert w.panel.edits.mute == {1, 2}
    with qtbot.waitSignal(w.reconstruction_ready, timeout=120_000):
        w.panel.set_edits(Edits(), announce=True)
    assert w.panel.edits.is_identity


def test_corrupt_file_shows_an_error_and_the_app_stays_usable(qtbot, window, tmp_path, speech_wav, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    shown = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text, *a: shown.append(text))
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt garbage" + os.urandom(300))
    with qtbot.waitSignal(window.worker.failed, timeout=30_000):
        window.open_file(bad)
    qtbot.waitUntil(lambda: bool(shown), timeout=5_000)
    assert "broken.wav" in shown[0] and "could not be read" in shown[0]
    with qtbot.waitSignal(window.reconstruction_ready, timeout=120_000):
        window.open_file(speech_wav)
    assert window.decoded is not None
    assert str(bad) in window.recent_files() and str(speech_wav) == window.recent_files()[0]


def test_exports(qtbot, window, speech_wav, tmp_path):
    from explorer.core.audio import load_audio
    from explorer.core.tokens import load_tokens

    with qtbot.waitSignal(window.reconstruction_ready, timeout=120_000):
        window.open_file(speech_wav)
    window.export_wav(tmp_path / "out.wav")
    window.export_tokens(tmp_path / "out.npz")
    window.export_png(tmp_path / "out.png")
    assert load_audio(tmp_path / "out.wav").frames == load_audio(speech_wav).frames
    codes, meta = load_tokens(tmp_path / "out.npz")
    assert meta["codec"] == "rvq-lab" and len(codes) == 32
    assert (tmp_path / "out.png").stat().st_size > 10_000


def jack_running() -> bool:
    return subprocess.run(["pgrep", "-x", "jackd"], capture_output=True).returncode == 0


@pytest.mark.skipif(not jack_running(), reason="needs the JACK dummy driver (scripts/test.sh starts it)")
def test_playback_through_jack_delivers_frames(qtbot, window, speech_wav):
    w = window
    assert w.player.is_open, w.playback_reason
    with qtbot.waitSignal(w.reconstruction_ready, timeout=120_000):
        w.open_file(speech_wav)
    w.toggle_play()
    t0, f0 = time.perf_counter(), w.player.frames_delivered
    qtbot.wait(1500)
    elapsed = time.perf_counter() - t0
    delivered = w.player.frames_delivered - f0
    assert delivered > 0.5 * elapsed * w.player.rate
    assert w.player.seconds > 0.5
    # an edit while playing is swapped in without stopping
    with qtbot.waitSignal(w.reconstruction_ready, timeout=120_000):
        w.panel.toggle(0, "mute")
    assert w.player.playing
    w.stop()


@pytest.mark.skipif(not os.environ.get("DISPLAY"), reason="needs an X display (scripts/test.sh starts Xvfb)")
def test_real_window_under_xvfb_renders_a_screenshot(tmp_path, speech_wav):
    out = tmp_path / "shot.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb"}
    p = subprocess.run([sys.executable, "-m", "explorer", "open", str(speech_wav), "--screenshot", str(out)],
                       env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    from PySide6.QtGui import QImage

    image = QImage(str(out))
    assert image.width() >= 800 and image.height() >= 500
    colours = {image.pixel(x, y) for x in range(0, image.width(), 37) for y in range(0, image.height(), 37)}
    assert len(colours) > 200


def test_a_long_clip_renders_and_pans(qtbot, window, tmp_path, speech):
    """8 minutes at 75 Hz is 36,000 frames per row: wider than Qt can draw in one image."""
    from explorer.core.audio import Clip

    reps = int(np.ceil(480 / speech.duration))
    path = tmp_path / "long.wav"
    save_audio(path, Clip(np.tile(speech.samples, reps)[:, : 480 * speech.sample_rate], speech.sample_rate))
    with qtbot.waitSignal(window.reconstruction_ready, timeout=300_000):
        window.open_file(path)
    assert len(window.grid.codes[0]) == 36000
    for start in (0.0, 100.0, 300.0, 460.0):
        window.views.wave.setXRange(start, start + 20, padding=0)
        window.views.viewport().repaint()
    window.views.wave.setXRange(0, 480, padding=0)
    window.views.viewport().repaint()
    assert all(len(image.items) == 5 for image in window.views.grid_images)


def test_classroom_compare_experiments_presentation(qtbot, window, speech_wav, tmp_path):
    w = window
    with qtbot.waitSignal(w.reconstruction_ready, timeout=120_000):
        w.open_file(speech_wav)
    dialog = w.open_compare()
    names = [dialog.choices.item(i).text() for i in range(dialog.choices.count())]
    assert "rvq-lab" in names and "rvq-lab@8" in names
    dialog.run_compare(["rvq-lab", "rvq-lab@4"])
    qtbot.waitUntil(lambda: len(dialog.results) == 2, timeout=120_000)
    assert dialog.table.rowCount() == 2 and not dialog.picture.pixmap().isNull()
    dialog.play_row(1)  # key B
    assert w.foreign_audio == w.player.is_open  # no output device: a message instead
    dialog.export(tmp_path)
    assert {p.name for p in tmp_path.iterdir()} >= {"comparison.csv", "comparison.png", "report.html"}
    dialog.close()

    stats = w.open_token_stats()
    counts = np.bincount(w.grid.codes[0], minlength=w.grid.info.codebook_size)
    assert stats.counts.sum() == len(w.grid.codes[0]) and (stats.counts == counts).all()
    assert f"{(counts > 0).sum()} of {w.grid.info.codebook_size} tokens used" in stats.summary.text()
    stats.codebook.setCurrentIndex(5)
    assert (stats.counts == np.bincount(w.grid.codes[5], minlength=w.grid.info.codebook_size)).all()
    stats.close()
    token = int(w.grid.codes[2][10])
    w._show_occurrences(float(w.grid.times[2][10]) + 0.001, w.grid.n_codebooks - 2 - 0.5)
    xs, _ = w.views.occurrences.getData()
    assert len(xs) == int((w.grid.codes[2] == token).sum()) and f"token {token}" in w.statusBar().currentMessage()

    w.experiments.show()
    w.experiments.start("ladder")
    qtbot.waitUntil(lambda: w.experiments.experiment is not None, timeout=120_000)
    assert w.experiments.steps.count() == 6 and "Bitrate ladder" in w.experiments.narration.toPlainText()
    assert w.experiments.plot.isVisible() and len(w.experiments.plot.getPlotItem().listDataItems()) == 2
    w.experiments.play_step(2)
    if w.player.is_open:
        w.experiments.play_in_turn()
        assert w.experiments.steps.currentRow() == 0 and len(w.experiments.turn) == 5
        qtbot.waitUntil(lambda: w.experiments.steps.currentRow() == 1, timeout=20_000)  # the next step after the first

    w.presentation_action.setChecked(True)
    w.toggle_presentation()
    assert w.isFullScreen() and w.font().pointSize() == 16
    w.toggle_help()
    assert w.help_overlay.isVisible()
    w.panel.toggle(3, "mute")
    w.reset_demo()
    assert w.panel.edits.is_identity and not w.help_overlay.isVisible() and not w.foreign_audio
    w.presentation_action.setChecked(False)
    w.toggle_presentation()
    assert not w.isFullScreen()


def test_the_session_is_autosaved_and_restored_after_a_crash(qtbot, tmp_path, speech_wav):
    """Every change is written at once, so a window that never closed (a crash) still restores."""
    from PySide6.QtCore import QSettings

    from explorer.ui.window import MainWindow

    ini = str(tmp_path / "settings.ini")
    first = MainWindow(QSettings(ini, QSettings.Format.IniFormat))
    qtbot.addWidget(first)
    with qtbot.waitSignal(first.reconstruction_ready, timeout=120_000):
        first.open_file(speech_wav)
    with qtbot.waitSignal(first.reconstruction_ready, timeout=120_000):
        first.panel.toggle(3, "mute")
    first.views.wave.setXRange(1.0, 2.5, padding=0)
    session = tmp_path / "session.json"
    qtbot.waitUntil(lambda: session.exists() and '2.5]' in session.read_text(), timeout=5000)
    first.timer.stop()  # no closeEvent, no save_state: as if the app had crashed

    second = MainWindow(QSettings(ini, QSettings.Format.IniFormat))
    qtbot.addWidget(second)
    path = second.saved_session()
    assert path == speech_wav
    with qtbot.waitSignal(second.reconstruction_ready, timeout=120_000):
        second.open_file(path)
    qtbot.waitUntil(lambda: second.panel.edits.mute == {3}, timeout=60_000)
    lo, hi = second.views.wave.viewRange()[0]
    assert abs(lo - 1.0) < 0.05 and abs(hi - 2.5) < 0.05
    second.close()
    first.close()


def test_stress_1000_random_actions_during_playback(qtbot, window, speech_wav, loaded):
    """Edits, seeks, A/B and codec switches fired every 5 ms while playing: no crash, no deadlock,
    the GUI thread never stalls over 100 ms, and the end state sounds as the engine says it should."""
    from PySide6.QtCore import QTimer

    w = window
    loaded("encodec-24khz")  # random weights in the cache, so switching needs no download
    with qtbot.waitSignal(w.reconstruction_ready, timeout=120_000):
        w.open_file(speech_wav)
    if w.player.is_open:
        w.toggle_play()
    rng = np.random.default_rng(11)
    gaps = []
    last = [time.perf_counter()]

    def beat():
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    monitor = QTimer(w, interval=10, timeout=beat)  # parented: Qt owns and deletes them with the window
    monitor.start()
    done = {"n": 0, "switches": 0}

    slow = []

    def act():
        t0 = time.perf_counter()
        kind = _act()
        slow.append((time.perf_counter() - t0, kind))

    def _act():
        n = w.grid.n_codebooks if w.grid is not None else 1
        r = rng.random()
        if r < 0.5:
            w.panel.toggle(int(rng.integers(n)), str(rng.choice(["mute", "solo", "randomize"])))
        elif r < 0.6:
            w.panel.keep.setValue(int(rng.integers(1, n + 1)))
        elif r < 0.65:
            w.panel.reset.click()
        elif r < 0.85:
            w.player.seek(float(rng.uniform(0, w.original.duration)))
        elif r < 0.98:
            w.ab_button.toggle()
        elif done["switches"] < 12:
            name = "encodec-24khz" if w.codec_box.currentData() == "rvq-lab" else "rvq-lab"
            w._select(w.codec_box, name)
            w._codec_chosen()
            done["switches"] += 1
        done["n"] += 1
        if done["n"] >= 1000:
            actions.stop()
        return r

    actions = QTimer(w, interval=5, timeout=act)
    last[0] = time.perf_counter()
    actions.start()
    qtbot.waitUntil(lambda: done["n"] >= 1000, timeout=300_000)
    monitor.stop()
    # settle: the newest request wins; wait until what is shown matches the final state
    def settled():
        g, d = w.grid, w.decoded
        return (g is not None and d is not None and g.info.name == w.codec_box.currentData()
                and d.edits == w.panel.edits and w.session.choice.name == g.info.name)
    qtbot.waitUntil(settled, timeout=300_000)
    qtbot.wait(500)
    assert settled()
    engine = w.session.engine(w.session.choice)
    expected = engine.decode(w.session.encoding, w.panel.edits).samples
    assert np.abs(w.decoded.clip.samples - expected).max() < 1e-5
    worst = max(gaps[5:]) * 1000
    print(f"stress: {done['n']} actions, {done['switches']} codec switches, worst GUI gap {worst:.0f} ms, "
          f"median {1000 * float(np.median(gaps)):.1f} ms; slowest actions {sorted(slow, reverse=True)[:5]}")
    assert worst < 100, worst


def test_every_bad_file_case_gives_a_message_in_the_window(qtbot, window, tmp_path, speech_wav, monkeypatch):
    """The loader's bad-file cases (tests/test_robustness.py), opened in one window one after another."""
    from PySide6.QtWidgets import QMessageBox

    from test_robustness import CASES

    shown = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text, *a: shown.append(text))
    for i, (name, make, error, _) in enumerate(CASES):
        folder = tmp_path / f"case{i}"
        folder.mkdir()
        path = make(folder)
        if error is None:
            with qtbot.waitSignal(window.reconstruction_ready, timeout=120_000):
                window.open_file(path)
            continue
        before = len(shown)
        with qtbot.waitSignal(window.worker.failed, timeout=60_000):
            window.open_file(path)
        qtbot.waitUntil(lambda: len(shown) > before, timeout=5_000)
        assert re.search(error, shown[-1]), (name, shown[-1])
    with qtbot.waitSignal(window.reconstruction_ready, timeout=120_000):
        window.open_file(speech_wav)
