"""The window's trust fixes (issue 13): each test drives the real window and fails on the code before them.

State: a failed device choice reverts and is never saved, and a saved one that fails at start falls
back with a note; pressing Play with nothing open never claims the output was lost; a codec switch
says which codec each view shows. Views: the playhead over every view, the original's spectrogram to
half its own rate, a window that fits 1024×700 with a dock open. Words: messages in the window's own
terms. Readouts: the time label moves with the playhead, the hover readout clears, seconds everywhere.
"""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from conftest import shows_nan

from explorer.core.audio import Clip, save_audio
from test_hostile_window import start_app_until_drawn

pytest.importorskip("pytestqt")


@pytest.fixture()
def window(qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    from explorer.ui.window import MainWindow

    w = MainWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat), welcome=False, headless=True)
    qtbot.addWidget(w)
    w.show()
    yield w
    w.close()



def open_clip(qtbot, w, path) -> None:
    with qtbot.waitSignal(w.reconstruction_ready, timeout=120_000):
        w.open_file(path)


def test_a_failed_device_choice_goes_back_to_the_last_that_worked_and_is_never_saved(qtbot, window, speech_wav):
    w = window
    open_clip(qtbot, w, speech_wav)
    w.codec_bar.device_box.setCurrentText("cuda")  # this machine has no GPU
    with qtbot.waitSignal(w.worker.failed, timeout=30_000) as failed:
        w.codec_bar.encode_requested.emit(w.codec_bar.choice())
    assert "CUDA" in failed.args[1] and "--device" not in failed.args[1]  # the window's words, not a CLI flag
    assert w.codec_bar.device == "auto" and w.grid.info.name == "rvq-lab"
    w.save_state()
    assert w.settings.value("codec/device") == "auto"
    w.store.save()
    saved = json.loads(w.store.path.read_text())
    assert saved["codec"] == "rvq-lab"


def test_a_saved_device_that_fails_at_start_falls_back_with_a_note(tmp_path, speech_wav):
    home = tmp_path / "home"
    seen = start_app_until_drawn(home, None, "[codec]\nname=rvq-lab\ncodebooks=8\ndevice=cuda\n")
    assert seen["code"] == 0 and not seen["dialogs"], seen  # a note, not a dialog on every start
    assert seen["codec"] == "rvq-lab" and seen["device"] == "auto", seen
    assert "could not be used" in str(seen["message"]) and "'auto'" in str(seen["message"]), seen
    settings = (home / ".config" / "codec-explorer" / "Codec Explorer.conf").read_text()
    assert "device=cuda" not in settings and "device=auto" in settings, settings


def test_pressing_play_with_nothing_open_never_claims_the_output_was_lost(qtbot, window, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    w = window
    assert w.player.is_open, w.transport.playback_reason  # scripts/test.sh starts the JACK dummy driver
    lost: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text, *a: lost.append(title))
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with qtbot.waitSignal(w.worker.failed, timeout=30_000) as failed:
        w.open_file(empty)
    assert "empty" in failed.args[1]
    messages: list[str] = []
    w.transport.message.connect(lambda text, ms: messages.append(text))
    w.transport.toggle_play()  # Space
    assert messages and "open a clip" in messages[-1] and not w.player.playing
    w.player.play()  # playing with nothing to play: the device still asks for samples, so it is alive
    end = time.perf_counter() + 2.5
    while time.perf_counter() < end:
        qtbot.wait(200)
        w.transport.refresh_text()
    assert not lost and w.transport.play_button.isEnabled() and w.player.callbacks > 0


def test_a_codec_switch_says_which_codec_each_view_shows_until_they_agree(qtbot, window, speech_wav):
    import random_weights

    w = window
    random_weights.ensure("encodec-24khz")
    open_clip(qtbot, w, speech_wav)
    assert w.file_view.codec_label.text() == "" and w.metrics.text().startswith("rvq-lab:")
    with qtbot.waitSignal(w.worker.encoded, timeout=120_000):
        w.codec_bar.select("encodec-24khz")
        w.codec_bar.encode_requested.emit(w.codec_bar.choice())
    # the window took the encoding (its slot runs first) and has only now asked for EnCodec's sound
    assert w.grid.info.name == "encodec-24khz" and w.sound_codec == "rvq-lab"
    assert "tokens: encodec-24khz" in w.file_view.codec_label.text() and "still rvq-lab" in w.file_view.codec_label.text()
    qtbot.waitUntil(lambda: w.sound_codec == "encodec-24khz", timeout=120_000)
    assert w.file_view.codec_label.text() == "" and w.metrics.text().startswith("encodec-24khz:")


def red_at(w, plot, seconds: float, height: float) -> bool:
    """Whether the playhead's red is drawn at time ``seconds``, ``height`` (0..1) up ``plot``, within
    two pixels, in the views as rendered now."""
    from PySide6.QtCore import QPointF

    box = plot.getViewBox()
    (x0, x1), (y0, y1) = box.viewRange()
    at = w.views.mapFromScene(box.mapViewToScene(QPointF(seconds, y0 + height * (y1 - y0))))
    image = w.views.grab().toImage()
    ratio = image.width() / w.views.width()
    colours = [image.pixelColor(int(at.x() * ratio) + dx, int(at.y() * ratio)) for dx in range(-2, 3)]
    return any(c.red() > 200 and c.green() < 130 and c.blue() < 130 for c in colours)


def test_the_playhead_is_drawn_over_the_spectrogram_and_the_token_grid(qtbot, window, speech_wav):
    w = window
    open_clip(qtbot, w, speech_wav)
    w.transport.seek(1.0)  # the playhead follows the player (the 30 Hz timer draws it)
    qtbot.wait(100)
    for plot in (w.views.wave, w.views.spec, w.views.grid):
        for height in (0.3, 0.7):
            assert red_at(w, plot, 1.0, height), (plot, height)


def test_the_original_spectrogram_reaches_half_of_its_own_rate(qtbot, window, tmp_path):
    rate = 44100
    t = np.arange(2 * rate) / rate
    high = Clip(np.asarray([0.3 * np.sin(2 * np.pi * 18000 * t) + 0.3 * np.sin(2 * np.pi * 440 * t)], np.float32), rate)
    path = tmp_path / "music44k.wav"
    save_audio(path, high)
    open_clip(qtbot, window, path)
    assert window.views.spec.viewRange()[1][1] == pytest.approx(rate / 2)
    spectrum = window.views._spectra["original"].mean(axis=0)  # [bins] over 0 .. rate/2
    peak_hz = np.argmax(spectrum[len(spectrum) // 4:]) * (rate / 2) / (len(spectrum) - 1) + rate / 8
    assert abs(peak_hz - 18000) < 300, peak_hz


def test_the_window_keeps_every_control_usable_at_1024_by_700_with_the_dock_open(qtbot, window, speech_wav):
    from PySide6.QtWidgets import QAbstractButton, QComboBox, QSlider, QWidget

    w = window
    open_clip(qtbot, w, speech_wav)
    w.classroom.experiments.show()
    w.resize(1024, 700)
    qtbot.wait(200)
    assert w.width() <= 1024 and w.height() <= 700, w.size()
    cramped = [(type(c).__name__, c.width(), c.minimumSizeHint().width()) for c in w.findChildren(QWidget)
               if c.isVisible() and isinstance(c, (QAbstractButton, QComboBox, QSlider))
               and (c.width() < c.minimumSizeHint().width() or c.height() < c.minimumSizeHint().height())]
    assert not cramped, cramped
    assert w.transport.volume.width() >= 60 and w.metrics.wordWrap()
    assert "kbps heard" in w.metrics.text() and w.metrics.isVisible()
    w.presentation_action.setChecked(True)
    w.toggle_presentation()
    assert w.minimumSizeHint().width() <= 1024, w.minimumSizeHint()
    w.presentation_action.setChecked(False)
    w.toggle_presentation()


def test_a_deleted_session_clip_and_a_compare_without_a_clip_are_said(qtbot, window, tmp_path):
    w = window
    gone = tmp_path / "gone.wav"
    w.store.path.write_text(json.dumps({"version": 1, "path": str(gone), "codec": "rvq-lab"}))
    assert w.saved_session() is None
    assert "gone.wav" in w.restore_note and "no longer there" in w.restore_note
    messages: list[str] = []
    w.classroom.message.connect(lambda text, ms: messages.append(text))
    dialog = w.classroom.open_compare()
    assert messages and "No clip is open" in messages[0] and "speech_en.wav" in messages[0]
    dialog.close()


def test_readouts_follow_the_playhead_and_the_pointer_and_read_seconds(qtbot, window, speech_wav):
    from PySide6.QtCore import QEvent

    w = window
    open_clip(qtbot, w, speech_wav)
    w.transport.seek(1.234)
    w._tick()  # the 30 Hz timer: the label moves with the playhead, not once a second
    assert w.transport.position_label.text().strip() == "1.23 s"
    w.file_view.hover_label.setText("codebook 3 · frame 9")
    leave = QEvent(QEvent.Type.Leave)
    w.views.leaveEvent(leave)
    assert w.file_view.hover_label.text().strip() == ""
    assert w.views.grid.getAxis("bottom").labelText == "time (s)"
    w.views.wave.setXRange(1.0, 1.05, padding=0)  # zoomed in: still seconds, never ms
    qtbot.wait(50)
    assert "ms" not in w.views.grid.getAxis("bottom").labelString()
    width = w.transport.ab_button.width()
    w.transport.ab_button.setChecked(True)
    qtbot.wait(50)
    assert w.transport.ab_button.width() == width
    assert w.file_menu.start_folder() == speech_wav.parent  # File > Open starts beside the open clip
    w._live_running(True)  # live mode: the file's figures are not the run's
    assert not w.metrics.isVisible()
    w._live_running(False)
    assert w.metrics.isVisible()


def test_a_silent_clip_shows_no_negative_zeros(qtbot, window, tmp_path):
    path = tmp_path / "silence.wav"
    save_audio(path, Clip(np.zeros((1, 24000), np.float32), 24000))
    open_clip(qtbot, window, path)
    table = window.panel.table
    cells = [table.item(k, c).text() for k in range(table.rowCount()) for c in range(5, table.columnCount())]
    assert cells and not any(text.startswith("-") for text in cells), cells
    assert "-0" not in window.metrics.text() and not shows_nan(window.metrics.text()), window.metrics.text()


def test_the_welcome_states_no_fact_about_what_is_open():
    from explorer.ui.help import WELCOME

    assert "A spoken clip is open" not in WELCOME and "is open" not in WELCOME and "File ▸ Open" in WELCOME


@pytest.mark.parametrize("name", ["encodec-24khz", "mimi", "snac-24khz", "dac-16khz"])
def test_decode_progress_moves_within_a_block_and_a_cancel_stops_it_there(loaded, speech, name):
    from explorer.core.edits import Edits
    from explorer.core.errors import CancelledError

    engine = loaded(name)
    enc = engine.encode(speech)
    seen: list[float] = []
    engine.decode(enc, Edits(), lambda fraction, what: seen.append(fraction))
    inside = sorted({f for f in seen if 0.0 < f < 1.0})
    assert len(inside) >= 5 and seen == sorted(seen), seen  # one block or more: the bar moves stage by stage
    calls: list[float] = []

    def cancel_after_two(fraction: float, what: str) -> bool:
        calls.append(fraction)
        return len(calls) < 3

    with pytest.raises(CancelledError):
        engine.decode(enc, Edits(), cancel_after_two)
    assert len(calls) == 3 and calls[-1] < 0.5  # stopped inside the first block, not after it


def test_pesq_and_visqol_arrive_after_the_sound_from_the_scoring_process(qtbot, window, speech_wav):
    import re

    w = window
    open_clip(qtbot, w, speech_wav)
    assert "PESQ …" in w.metrics.text() or re.search(r"PESQ \d", w.metrics.text())  # never blocks the sound
    qtbot.waitUntil(lambda: re.search(r"PESQ \d\.\d\d", w.metrics.text()) is not None, timeout=240_000)
    assert re.search(r"ViSQOL \d\.\d\d", w.metrics.text()), w.metrics.text()
    first = w.metrics.text()
    with qtbot.waitSignal(w.reconstruction_ready, timeout=120_000):
        w.panel.toggle(0, "mute")  # a new reconstruction: its own scores, "…" until they come
    assert "PESQ …" in w.metrics.text() or w.metrics.text() != first
    qtbot.waitUntil(lambda: re.search(r"PESQ \d\.\d\d", w.metrics.text()) is not None, timeout=120_000)
