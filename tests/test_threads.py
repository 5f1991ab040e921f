"""Who may touch what: the session model takes only results that still match it, the player's mix and
position each have one writer, and no worker thread reads a widget (or any code of the ui floor
beyond the worker modules themselves)."""

from __future__ import annotations

import itertools
import sys
import threading
from types import SimpleNamespace

import numpy as np
import pytest

from conftest import tone_clip
from explorer.audio_io.playback import CROSSFADE_SECONDS, Player, prepare
from explorer.core.edits import Edits
from explorer.services import session
from explorer.services.session import CodecChoice, EncodeJob, Engines, SessionModel

pytest.importorskip("pytestqt")


def encoded_for(clip, engines: Engines):
    return session.encode(engines.get(CodecChoice("rvq-lab")), EncodeJob(clip, CodecChoice("rvq-lab", 8)))


def test_the_model_takes_only_results_that_still_match_it(tmp_path):
    model, engines = SessionModel(), Engines()
    seen: list[str] = []
    model.clip_opened.connect(lambda clip: seen.append("opened"))
    model.encoding_changed.connect(lambda enc: seen.append("encoded"))
    model.edits_changed.connect(lambda edits: seen.append(f"edits {sorted(edits.mute)}"))
    model.reconstructed.connect(lambda decoded: seen.append(f"decoded {sorted(decoded.edits.mute)}"))
    first, second = tone_clip(1.0, 24000, seed=1), tone_clip(1.0, 24000, seed=2)
    model.set_clip(tmp_path / "a.wav", first)
    late = encoded_for(first, engines)
    model.set_clip(tmp_path / "b.wav", second)
    assert not model.apply_encoded(late) and model.encoded is None  # the encoding of a clip closed since
    assert model.apply_encoded(encoded_for(second, engines))
    model.set_edits(Edits(mute=frozenset({1})))
    old = model.decode_job(0.0)
    assert model.set_edits(Edits(mute=frozenset({1, 2})))
    assert not model.set_edits(Edits(mute=frozenset({1, 2})))  # the same edits: no event
    engine = engines.get(CodecChoice("rvq-lab"))
    assert not model.apply_decoded(old, session.decode(engine, old)) and model.decoded is None
    new = model.decode_job(0.0)
    assert model.apply_decoded(new, session.decode(engine, new))
    assert seen == ["opened", "opened", "encoded", "edits [1]", "edits [1, 2]", "decoded [1, 2]"]
    assert model.decoded.edits.mute == {1, 2} and model.decoded.clip.samples.shape == second.samples.shape


def play(player: Player, blocks: int, frames: int = 256) -> np.ndarray:
    """Run the real callback as PortAudio would, ``blocks`` times; the samples it wrote."""
    status = SimpleNamespace(output_underflow=False)
    out = []
    for _ in range(blocks):
        buf = np.full((frames, player.channels), np.nan, np.float32)
        player._callback(buf, frames, None, status)
        out.append(buf)
    return np.concatenate(out)


def test_a_new_reconstruction_crossfades_in_as_one_swap_and_seeks_are_taken_by_the_callback():
    player = Player()
    ones = np.ones((1, 24000), np.float32)
    player.load(ones, 24000)
    player.play()
    before = play(player, 4)
    assert np.allclose(before, 1.0) and player.position == 1024
    zeros = np.zeros_like(ones)
    player.set_reconstruction(zeros, prepare(zeros, 24000, *player.format), player.format)
    mix = player.mix
    assert mix is not None and mix.fade is not None and mix.fade.old is not mix.reconstruction
    after = play(player, 8)
    fade = int(CROSSFADE_SECONDS * 24000)
    ramp = after[:fade, 0]
    assert ramp[0] > 0.99 and np.all(np.diff(ramp) < 0) and np.allclose(after[fade:], 0.0)  # a ramp, no jump
    assert mix.fade.left <= 0 and player.mix is mix  # the callback counted down the fade it was given
    player.seek(0.5)
    assert player.position == 12000 and player._position == 1024 + 8 * 256  # asked, not yet taken
    play(player, 1)
    assert player._position == 12000 + 256
    wrong_format = prepare(ones, 24000, 48000, 2)  # made for a stream the player no longer has
    player.set_reconstruction(ones, wrong_format, (48000, 2))
    assert player.mix.reconstruction.shape == (24000, 1)


UI_FLOOR_ALLOWED = ("worker.py", "tasks.py", "job_queue.py", "grid_data.py")


def watch_worker_threads(monkeypatch, classes) -> list[str]:
    """Profile every call made on the threads of ``classes``: any method of a widget, or any function
    of the ui floor outside the worker modules, is recorded."""
    from PySide6.QtWidgets import QWidget

    touched: list[str] = []

    def hook(frame, event, arg):
        if event == "c_call" and isinstance(getattr(arg, "__self__", None), QWidget):
            touched.append(f"{type(arg.__self__).__name__}.{arg.__name__}")
        elif event == "call":
            name = frame.f_code.co_filename
            if name.endswith("perceptual.py") and frame.f_code.co_name == "slow_quality":
                touched.append("slow_quality (PESQ and ViSQOL belong in the scoring process)")
            elif "/explorer/ui/" in name and not name.endswith(UI_FLOOR_ALLOWED):
                touched.append(f"{name.rsplit('/', 1)[-1]}:{frame.f_code.co_name}")

    for cls in classes:
        original = cls.run

        def run(self, original=original):
            sys.setprofile(hook)
            try:
                original(self)
            finally:
                sys.setprofile(None)

        monkeypatch.setattr(cls, "run", run)
    return touched


def test_classroom_tools_and_the_worker_read_no_widget_while_the_codec_box_changes(qtbot, tmp_path, monkeypatch, speech):
    import random_weights
    from PySide6.QtCore import QSettings, QTimer

    from explorer.core.audio import save_audio
    from explorer.ui.tasks import ToolWorker
    from explorer.ui.window import MainWindow
    from explorer.ui.worker import InferenceWorker

    random_weights.ensure("encodec-24khz")
    touched = watch_worker_threads(monkeypatch, (ToolWorker, InferenceWorker))
    w = MainWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat), welcome=False, headless=True)
    qtbot.addWidget(w)
    path = tmp_path / "speech.wav"
    save_audio(path, speech)
    with qtbot.waitSignal(w.reconstruction_ready, timeout=120_000):
        w.open_file(path)
    threads = {threading.current_thread().name}
    results: dict[str, object] = {}
    w.classroom.run_experiment("ladder", lambda exp: results.update(ladder=exp), lambda m: results.update(error=m))
    w.classroom.run_compare(speech, ["rvq-lab@4", "encodec-24khz"], lambda rows: results.update(compare=rows),
                            lambda m: results.update(error=m))
    names = itertools.cycle(["encodec-24khz", "rvq-lab"])

    def switch() -> None:
        w.codec_bar.select(next(names))
        w.codec_bar.encode_requested.emit(w.codec_bar.choice())

    flipper = QTimer(w, interval=40, timeout=switch)
    flipper.start()
    qtbot.waitUntil(lambda: len(results) >= 2, timeout=300_000)
    flipper.stop()
    assert "error" not in results, results
    assert {row.row.codec for row in results["compare"].results} == {"rvq-lab@4", "encodec-24khz"}
    assert results["ladder"].title == "Bitrate ladder: rvq-lab"  # the codec chosen when it started
    assert not touched, sorted(set(touched))[:20]
    assert threads == {threading.main_thread().name}
    w.close()


def test_each_edit_reaches_the_player_prepared_at_its_rate_blocks_first_then_once_whole(qtbot, tmp_path, speech):
    from PySide6.QtCore import QSettings

    from explorer.core.audio import save_audio
    from explorer.ui.window import MainWindow

    w = MainWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat), welcome=False, headless=True)
    qtbot.addWidget(w)
    path = tmp_path / "speech.wav"
    save_audio(path, speech)
    with qtbot.waitSignal(w.reconstruction_ready, timeout=120_000):
        w.open_file(path)
    sounds: list[tuple[object, object]] = []
    w.worker.sound.connect(lambda job, samples, ready: sounds.append((samples, ready)))
    w.transport.seek(1.0)  # the playhead is inside the clip: its span is decoded and heard first
    with qtbot.waitSignal(w.reconstruction_ready, timeout=120_000):
        w.panel.toggle(0, "mute")
    # blocks from the playhead (each twice the one before), then the whole, once
    assert len(sounds) >= 2 and all(ready is not None for _, ready in sounds)
    assert len({id(samples) for samples, _ in sounds}) == len(sounds)  # each a new array: none written after sending
    rate, channels = w.player.format
    whole = prepare(w.decoded.clip.samples, speech.sample_rate, rate, channels)
    assert np.array_equal(w.player.mix.reconstruction, whole) and w.player.mix.reconstruction is sounds[-1][1]
    first = sounds[0][0]
    at = round(1.0 * speech.sample_rate)
    n = round(0.1 * speech.sample_rate)  # the first block equals the whole decode there (rvq-lab: to rounding)
    assert np.abs(first[:, at: at + n] - w.decoded.clip.samples[:, at: at + n]).max() <= 1e-5
    span = sounds[0][1]
    at = round(1.0 * rate)
    assert not np.allclose(span[at: at + rate // 4], span[at: at + rate // 4] * 0 + w.player.mix.original[at: at + rate // 4])
    w.close()
