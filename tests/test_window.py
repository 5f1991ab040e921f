"""The explorer window, driven as a user would: offscreen with pytest-qt, and once in a real X window."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import numpy as np
import pytest

from explorer.core.audio import save_audio
from explorer.core.edits import Edits

pytest.importorskip("pytestqt")



def wait_decoded(qtbot, w, timeout=120_000):
    with qtbot.waitSignal(w.reconstruction_ready, timeout=timeout):
        pass


def brightness(rgba) -> float:
    return float(rgba[..., :3].astype(np.float64).mean())


def open_clip(qtbot, w, path, timeout=120_000):
    with qtbot.waitSignal(w.reconstruction_ready, timeout=timeout):
        w.open_file(path)


def test_opening_a_clip_encodes_it_with_rvq_lab_and_shows_the_metrics(qtbot, window, speech_wav):
    open_clip(qtbot, window, speech_wav)
    assert window.grid.info.name == "rvq-lab" and window.grid.n_codebooks == 32
    text = window.metrics.text()
    assert "SI-SDR" in text and "kbps heard" in text and "edit→sound" not in text


def test_choosing_another_codec_reencodes_the_clip(qtbot, window, speech_wav, loaded):
    loaded("encodec-24khz")  # random weights in the cache: no download question
    open_clip(qtbot, window, speech_wav)
    with qtbot.waitSignal(window.reconstruction_ready, timeout=120_000):
        window.codec_bar.choose("encodec-24khz")
    assert window.grid.info.name == "encodec-24khz" and window.grid.n_codebooks == 8
    assert window.codec_bar.device_label.text() == "device: cpu"


def test_muting_a_codebook_sounds_as_the_engine_says_and_dims_its_row(qtbot, window, speech_wav, loaded, speech):
    engine = loaded("rvq-lab")
    open_clip(qtbot, window, speech_wav)
    before_metrics, before_row = window.metrics.text(), brightness(window.views.row_rgba(1))
    with qtbot.waitSignal(window.reconstruction_ready, timeout=120_000):
        window.panel.toggle(1, "mute")
    assert window.model.edits.mute == {1}
    expected = engine.decode(engine.encode(speech), Edits(mute={1}))
    assert np.allclose(window.decoded.clip.samples, expected.samples, atol=1e-5)
    assert brightness(window.views.row_rgba(1)) < 0.5 * before_row
    assert brightness(window.views.row_rgba(0)) > 0.5 * before_row
    assert window.metrics.text() != before_metrics and "edit→sound" in window.metrics.text()
    heard = window.grid.heard_bitrate(Edits(mute=frozenset({1}))) / 1000
    assert f"{heard:.2f} kbps heard" in window.metrics.text()


def test_the_original_spectrogram_sits_over_the_reconstruction_or_the_difference(qtbot, window, speech_wav):
    from explorer.core.spectrogram import remap

    open_clip(qtbot, window, speech_wav)
    with qtbot.waitSignal(window.reconstruction_ready, timeout=120_000):
        window.panel.toggle(0, "mute")  # a reconstruction far from the original
    rows, spectra = window.views.spectrograms, window.views._spectra
    shown = {}
    for mode in ("reconstruction", "difference", "original"):
        window.file_view.set_spectrogram(mode)
        window.views.viewport().repaint()
        assert np.array_equal(rows.images[0].data, spectra["original"].T)  # the original is always on top
        shown[mode] = rows.images[1].data.copy()
    assert np.array_equal(shown["reconstruction"], spectra["reconstruction"].T)
    assert np.array_equal(shown["difference"], spectra["difference"].T)
    assert np.array_equal(shown["original"], shown["reconstruction"])  # an old session's "original": both rows
    assert window.file_view.spectrogram == "reconstruction" and rows.bars[1].levels() == (-90.0, -10.0)
    window.file_view.scale_box.setCurrentText("mel")
    rate = window.model.clip.sample_rate
    assert np.array_equal(rows.images[0].data, remap(spectra["original"], rate / 2, "mel").T)
    ticks = dict((label, pos) for pos, label in window.views.spec.getAxis("left")._tickLevels[0])
    assert ticks["1k"] / (rate / 2) == pytest.approx(1000 ** 0 * (2595 * np.log10(1 + 1000 / 700)) / (2595 * np.log10(1 + rate / 2 / 700)))
    window.file_view.range_box.setCurrentText("120 dB")
    assert rows.bars[0].levels() == (-130.0, -10.0) and rows.images[0].items[0].levels[0] == -130.0


def test_number_keys_mute_and_reset_clears_every_edit_keeping_the_seed(qtbot, window, speech_wav):
    open_clip(qtbot, window, speech_wav)
    with qtbot.waitSignal(window.reconstruction_ready, timeout=120_000):
        window.mute_key(2)
    with qtbot.waitSignal(window.reconstruction_ready, timeout=120_000):
        window.mute_key(1)
    assert window.model.edits.mute == {1, 2}
    window.mute_key(99)  # a codebook the codec does not have: nothing
    assert window.model.edits.mute == {1, 2}
    seed = window.model.edits.seed
    with qtbot.waitSignal(window.reconstruction_ready, timeout=120_000):
        window.model.set_edits(window.model.cleared())
    assert window.model.edits.is_identity and window.model.edits.seed == seed
    assert window.decoded.edits == window.model.edits


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
    open_clip(qtbot, window, speech_wav)
    assert window.decoded is not None
    assert window.file_menu.files[:2] == [str(speech_wav), str(bad)]


def test_exports_write_the_reconstruction_tokens_and_picture(qtbot, window, speech_wav, tmp_path):
    from explorer.core.audio import load_audio
    from explorer.core.tokens import load_tokens

    open_clip(qtbot, window, speech_wav)
    window.exports.export_wav(tmp_path / "out.wav")
    window.exports.export_tokens(tmp_path / "out.npz")
    window.exports.export_png(tmp_path / "out.png")
    assert load_audio(tmp_path / "out.wav").frames == load_audio(speech_wav).frames
    codes, meta = load_tokens(tmp_path / "out.npz")
    assert meta["codec"] == "rvq-lab" and len(codes) == 32
    assert (tmp_path / "out.png").stat().st_size > 10_000


def jack_running() -> bool:
    return subprocess.run(["pgrep", "-x", "jackd"], capture_output=True).returncode == 0


def test_playback_through_jack_delivers_frames(qtbot, window, speech_wav):
    assert jack_running(), "the JACK dummy driver is needed: run the tests with scripts/test.sh"
    w = window
    assert w.player.is_open, w.transport.playback_reason
    with qtbot.waitSignal(w.reconstruction_ready, timeout=120_000):
        w.open_file(speech_wav)
    w.transport.toggle_play()
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
    w.transport.stop()
    assert not w.player.playing and w.transport.play_button.text() == "Play"


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


def covered(image, lo: float, hi: float) -> bool:
    """Whether the tiles of ``image`` together span the time range ``lo``..``hi`` without a gap."""
    spans = sorted((r.left(), r.right()) for r in (item.mapRectToParent(item.boundingRect()) for item in image.items))
    reach = lo
    for left, right in spans:
        if left > reach + 1e-6:
            break
        reach = max(reach, right)
    return reach >= hi - 1e-6


def test_a_long_clip_renders_and_pans(qtbot, window, tmp_path, speech):
    """8 minutes at 75 Hz is 36,000 frames per row: wider than Qt can draw in one image, so each grid
    row is cut into tiles; wherever the view pans, the tiles cover it."""
    from explorer.core.audio import Clip

    reps = int(np.ceil(480 / speech.duration))
    path = tmp_path / "long.wav"
    save_audio(path, Clip(np.tile(speech.samples, reps)[:, : 480 * speech.sample_rate], speech.sample_rate))
    open_clip(qtbot, window, path, timeout=300_000)
    assert len(window.grid.codes[0]) == 36000
    for start in (0.0, 100.0, 300.0, 460.0):
        window.views.wave.setXRange(start, start + 20, padding=0)
        window.views.viewport().repaint()
        for plot in (window.views.wave, window.views.spec, window.views.grid):  # the three views pan together
            lo, hi = plot.viewRange()[0]
            assert abs(lo - start) < 1e-6 and abs(hi - start - 20) < 1e-6
        assert all(covered(image, start, start + 20) for image in window.views.grid_images)
        assert covered(window.views.spec_image, start, start + 20)
    window.views.wave.setXRange(0, 480, padding=0)
    window.views.viewport().repaint()
    assert all(len(image.items) == 5 and covered(image, 0, 480) for image in window.views.grid_images)


def test_compare_dialog_runs_plays_each_codec_and_exports(qtbot, window, speech_wav, tmp_path):
    w = window
    assert w.player.is_open, w.transport.playback_reason  # scripts/test.sh starts the JACK dummy driver
    open_clip(qtbot, w, speech_wav)
    dialog = w.classroom.open_compare()
    names = [dialog.choices.item(i).text() for i in range(dialog.choices.count())]
    assert "rvq-lab" in names and "rvq-lab@8" in names
    dialog.run_compare(["rvq-lab", "rvq-lab@4"])
    qtbot.waitUntil(lambda: len(dialog.results) == 2, timeout=120_000)
    assert dialog.table.rowCount() == 2 and not dialog.picture.pixmap().isNull()
    dialog.play_row(1)  # key B
    assert w.transport.foreign_audio and w.player.playing
    dialog.export(tmp_path)  # written on the tools' worker: the window keeps drawing meanwhile
    qtbot.waitUntil(lambda: "Wrote comparison.csv" in dialog.status.text(), timeout=60_000)
    assert {p.name for p in tmp_path.iterdir()} >= {"comparison.csv", "comparison.png", "report.html"}
    dialog.close()
    w.transport.toggle_play()  # the next play is the file view's tracks again
    assert not w.transport.foreign_audio


def test_token_statistics_and_a_clicked_token_outline_its_occurrences(qtbot, window, speech_wav):
    w = window
    assert w.classroom.open_token_stats() is None and "Open a clip first" in w.statusBar().currentMessage()
    open_clip(qtbot, w, speech_wav)
    stats = w.classroom.open_token_stats()
    counts = np.bincount(w.grid.codes[0], minlength=w.grid.info.codebook_size)
    assert stats.counts.sum() == len(w.grid.codes[0]) and (stats.counts == counts).all()
    assert f"{(counts > 0).sum()} of {w.grid.info.codebook_size} tokens used" in stats.summary.text()
    stats.codebook.setCurrentIndex(5)
    assert (stats.counts == np.bincount(w.grid.codes[5], minlength=w.grid.info.codebook_size)).all()
    stats.close()
    token = int(w.grid.codes[2][10])
    assert w.views.cell(float(w.grid.times[2][10]) + 0.001, w.grid.n_codebooks - 2 - 0.5) == (2, 10)
    w.views.occurrences_shown.emit(w.views.show_occurrences(2, 10))
    xs, _ = w.views.occurrences.getData()
    assert len(xs) == int((w.grid.codes[2] == token).sum()) and f"token {token}" in w.statusBar().currentMessage()


def test_experiments_panel_runs_the_ladder_and_plays_its_steps(qtbot, window, speech_wav):
    w = window
    assert w.player.is_open, w.transport.playback_reason
    open_clip(qtbot, w, speech_wav)
    panel = w.classroom.experiments
    panel.show()
    panel.start("ladder")
    qtbot.waitUntil(lambda: panel.experiment is not None, timeout=120_000)
    assert panel.steps.count() == 6 + 3 and "Bitrate ladder" in panel.narration.toPlainText()  # and Opus's three
    assert panel.plot.isVisible() and len(panel.plot.getPlotItem().listDataItems()) == 2 + 2  # and Opus's stars
    panel.play_step(2)
    assert w.transport.foreign_audio and w.player.playing
    panel.play_in_turn()
    assert panel.steps.currentRow() == 0 and len(panel.turn) == 8
    qtbot.waitUntil(lambda: panel.steps.currentRow() == 1, timeout=20_000)  # the next step after the first
    panel.start("exercise-easy")  # the exercise plots error against bitrate: the toy quantizer beside rvq-lab
    qtbot.waitUntil(lambda: panel.experiment is not None and panel.experiment.name == "exercise-easy", timeout=120_000)
    items = panel.plot.getPlotItem().listDataItems()
    assert [i.name() for i in items] == ["toy scalar (2 bits a stage)", "rvq-lab"] and panel.plot.isVisible()
    assert len(items[0].getData()[0]) == 8 and panel.plot.getPlotItem().getAxis("left").labelText == "SNR (dB)"


def test_presentation_mode_the_shortcut_overlay_and_reset_demo(qtbot, window, speech_wav):
    w = window
    open_clip(qtbot, w, speech_wav)
    w.presentation_action.setChecked(True)
    w.toggle_presentation()
    assert w.isFullScreen() and w.font().pointSize() == 16
    assert w.panel.table.verticalHeader().defaultSectionSize() == 30
    w.overlay.toggle()
    assert w.overlay.isVisible()
    with qtbot.waitSignal(w.reconstruction_ready, timeout=120_000):
        w.panel.toggle(3, "mute")
    w.transport.ab_button.setChecked(True)
    w.transport.toggle_play()
    with qtbot.waitSignal(w.reconstruction_ready, timeout=120_000):
        w.reset_demo()
    assert w.model.edits.is_identity and not w.overlay.isVisible() and not w.transport.foreign_audio
    assert not w.player.playing and w.player.seconds == 0.0 and w.player.source == "reconstruction"
    w.presentation_action.setChecked(False)
    w.toggle_presentation()
    assert not w.isFullScreen() and w.font().pointSize() == 10


CRASH_SCRIPT = r"""
import os, signal, sys, time
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication
app = QApplication([])
from explorer.ui.window import MainWindow
w = MainWindow(QSettings(sys.argv[1], QSettings.Format.IniFormat), welcome=False)
session = os.path.join(os.path.dirname(sys.argv[1]), "session.json")
def spin(cond):
    t = time.time()
    while not cond():
        assert time.time() - t < 120, "timed out"
        app.processEvents()
        time.sleep(0.01)
w.open_file(sys.argv[2])
spin(lambda: w.decoded is not None)
w.panel.toggle(3, "mute")
spin(lambda: w.decoded.edits.mute == {3})
w.views.wave.setXRange(1.0, 2.5, padding=0)
spin(lambda: os.path.exists(session) and "2.5]" in open(session).read())
os.kill(os.getpid(), signal.SIGKILL)  # a crash: no closeEvent, no save_state
"""


def test_the_session_is_autosaved_and_restored_after_a_crash(qtbot, tmp_path, speech_wav):
    """Every change is written at once, so an app killed without closing still restores."""
    import signal

    from PySide6.QtCore import QSettings

    from explorer.ui.window import MainWindow

    ini = str(tmp_path / "settings.ini")
    p = subprocess.run([sys.executable, "-c", CRASH_SCRIPT, ini, str(speech_wav)], capture_output=True, text=True,
                       timeout=300, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert p.returncode == -signal.SIGKILL, p.stderr[-3000:]

    second = MainWindow(QSettings(ini, QSettings.Format.IniFormat))
    qtbot.addWidget(second)
    path = second.saved_session()
    assert path == speech_wav and second.restore_note == ""
    open_clip(qtbot, second, path)
    qtbot.waitUntil(lambda: second.model.edits.mute == {3} and second.decoded.edits.mute == {3}, timeout=60_000)
    lo, hi = second.views.wave.viewRange()[0]
    assert abs(lo - 1.0) < 0.05 and abs(hi - 2.5) < 0.05
    second.close()


def test_stress_1000_random_actions_during_playback(qtbot, window, speech_wav, loaded):
    """Edits, seeks, A/B and codec switches fired every 5 ms while playing: no crash, no deadlock,
    the GUI thread never stalls over 100 ms, and the end state sounds as the engine says it should."""
    from PySide6.QtCore import QTimer

    w = window
    loaded("encodec-24khz")  # random weights in the cache, so switching needs no download
    open_clip(qtbot, w, speech_wav)
    assert w.player.is_open, w.transport.playback_reason
    w.transport.toggle_play()
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
            w.transport.seek(float(rng.uniform(0, w.transport.original.duration)))
        elif r < 0.98:
            w.transport.ab_button.toggle()
        elif done["switches"] < 12:
            w.codec_bar.choose("encodec-24khz" if w.codec_bar.codec == "rvq-lab" else "rvq-lab")
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
        return (g is not None and d is not None and g.info.name == w.codec_bar.codec
                and d.edits == w.model.edits and w.model.encoded.choice.name == g.info.name)
    qtbot.waitUntil(settled, timeout=300_000)
    qtbot.wait(500)
    assert settled()
    from explorer.services.session import open_engine

    engine = open_engine(w.model.encoded.choice)  # the test's own: the worker's belong to its thread
    expected = engine.decode(w.model.encoding, w.model.edits).samples
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


def test_hovering_the_grid_names_the_cell_and_clicking_a_view_seeks(qtbot, window, speech_wav):
    from PySide6.QtCore import QPointF, Qt

    w = window
    open_clip(qtbot, w, speech_wav)
    views = w.views
    t = float(w.grid.times[2][10]) + 0.001

    def at(plot, x, y):
        return views.mapFromScene(plot.getViewBox().mapViewToScene(QPointF(x, y)))

    with qtbot.waitSignal(views.hovered, timeout=5000) as hovered:
        qtbot.mouseMove(views.viewport(), at(views.grid, t, w.grid.n_codebooks - 2 - 0.5))
    assert hovered.args[0] == views.cell_at(t, w.grid.n_codebooks - 2 - 0.5) and "codebook 2" in hovered.args[0]
    assert w.file_view.hover_label.text() == hovered.args[0]
    with qtbot.waitSignal(views.seek_requested, timeout=5000) as seek:
        qtbot.mouseClick(views.viewport(), Qt.MouseButton.LeftButton, pos=at(views.wave, 1.25, 0.0))
    assert abs(seek.args[0] - 1.25) < 0.05 and abs(w.player.seconds - seek.args[0]) < 0.01
    assert abs(views.playheads[0].value() - w.player.seconds) < 1e-6
    views.seek_requested.emit(1e6)  # past the end: the end
    assert abs(w.player.seconds - w.transport.original.duration) < 0.01
    with qtbot.waitSignal(views.occurrences_shown, timeout=5000):  # a click on a grid cell also outlines its token
        qtbot.mouseClick(views.viewport(), Qt.MouseButton.LeftButton, pos=at(views.grid, t, w.grid.n_codebooks - 2 - 0.5))
    assert f"codebook 2, token {int(w.grid.codes[2][10])}" in w.statusBar().currentMessage()
    assert len(views.occurrences.getData()[0]) == int((w.grid.codes[2] == w.grid.codes[2][10]).sum())


def test_the_grid_colours_tokens_by_id_similarity_or_energy(qtbot, window, speech_wav, loaded):
    from explorer.core.palettes import colormap
    from explorer.services.token_stats import energy, similarity_palettes

    w = window
    open_clip(qtbot, w, speech_wav)
    grid, views = w.grid, w.file_view.views
    assert grid.colours is not None and views.grid_mode == "ids"
    ids_row = views.row_rgba(5).copy()
    w.file_view.set_grid_mode("similarity")
    engine = loaded("rvq-lab")
    expected = similarity_palettes(engine)[5][grid.codes[5]]
    assert np.array_equal(views.row_rgba(5), expected) and not np.array_equal(ids_row, expected)
    assert "principal component" in views.grid_legend.text and "colour from" in views.cell_at(1.0, grid.n_codebooks - 5.5)
    w.file_view.set_grid_mode("energy")
    enc = w.model.encoded.encoding
    db = energy(engine, enc).db(5)
    lo, hi = grid.colours.energy_levels
    assert np.array_equal(views.row_rgba(5)[:, :3], colormap(db, lo, hi)) and hi - lo == 60
    assert views.energy_bar.isVisible() and " dB" in views.cell_at(1.0, grid.n_codebooks - 5.5)
    with qtbot.waitSignal(w.reconstruction_ready, timeout=120_000):
        w.panel.toggle(5, "mute")
    assert np.all(views.row_rgba(5)[:, :3] <= (colormap(db, lo, hi) * 0.18).astype(np.uint8) + 1)  # muted: dimmed, still energy
    w.file_view.set_grid_mode("ids")
    assert not views.energy_bar.isVisible() and "token id" in views.grid_legend.text


def test_open_grid_flag_renders_each_mode(tmp_path, speech_wav):
    for mode in ("similarity", "energy"):
        png = tmp_path / f"{mode}.png"
        p = subprocess.run([sys.executable, "-m", "explorer", "open", str(speech_wav), "--grid", mode, "--screenshot", str(png)],
                           capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, p.stderr
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
