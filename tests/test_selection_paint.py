"""Selections and token painting: painted edits decode as the engine decodes the same edited codes,
undo restores the reconstruction bit for bit, a selection edit is the CLI's ``--start/--end``, and
the tokens file carries painted edits to ``decode``."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from explorer.core.audio import load_audio
from explorer.core.edits import Edits, Paint, random_codes
from explorer.core.errors import CodecError
from explorer.core.tokens import load_tokens, save_tokens
from explorer.ui.painting import merged, segment_runs

FAMILIES = ["rvq-lab", "encodec-24khz", "dac-16khz", "snac-24khz", "mimi", "speechtokenizer"]


def painted_by_hand(enc, paint, size, seed=0):
    """The codes with the painted ids and randomized cells written in directly (no engine code)."""
    codes = [row.copy() for row in enc.codes]
    for p in paint:
        if p.action == "set":
            codes[p.codebook][p.first:p.last] = p.token
        elif p.action == "randomize":
            codes[p.codebook][p.first:p.last] = random_codes(seed, p.codebook, len(codes[p.codebook]), size)[p.first:p.last]
    return replace(enc, codes=codes, cache=None)


@pytest.mark.parametrize("name", FAMILIES)
def test_a_painted_edit_decodes_as_the_engine_decodes_the_same_edited_codes(loaded, speech, name):
    engine = loaded(name)
    enc = engine.encode(speech)
    k = enc.n_codebooks - 1  # SNAC: the finest scale; the others: the last codebook
    n = len(enc.codes[k])
    paint = (Paint(k, n // 4, n // 2, "set", 5), Paint(0, 3, 9, "randomize"), Paint(1, n // 3, n // 3 + 4, "set", 7))
    ours = engine.decode(enc, Edits(paint=paint)).samples
    by_hand = engine.decode(painted_by_hand(enc, paint, engine.info.codebook_size), Edits()).samples
    assert np.array_equal(ours, by_hand)
    assert np.abs(ours - engine.decode(enc).samples).max() > 1e-4  # the paint was heard
    # a painted mute is the codebook muted over exactly those frames (the CLI's --start/--end)
    t = enc.frame_times(k)
    muted = engine.decode(enc, Edits(paint=(Paint(k, 5, 20, "mute"),))).samples
    assert np.array_equal(muted, engine.decode(enc, Edits(mute={k}, start=float(t[5]), end=float(t[20]))).samples)


def test_paint_is_checked_and_stored_like_every_other_edit(loaded, speech):
    engine = loaded("rvq-lab")
    enc = engine.encode(speech)
    paint = (Paint(2, 10, 40, "set", 3), Paint(0, 0, 5, "mute"), Paint(1, 7, 8, "randomize"))
    edits = Edits(mute={4}, seed=9, paint=paint)
    assert Edits.from_dict(edits.to_dict()) == edits
    with pytest.raises(CodecError, match="token 1024; this codec's codebooks hold ids 0 to 1023"):
        engine.decode(enc, Edits(paint=(Paint(0, 0, 2, "set", 1024),)))
    with pytest.raises(CodecError, match="reaches frame"):
        engine.decode(enc, Edits(paint=(Paint(0, 0, len(enc.codes[0]) + 1, "mute"),)))
    for bad, message in (({"codebook": 0, "first": 5, "last": 5, "action": "mute"}, "must end after"),
                         ({"codebook": 0, "first": 0, "last": 5, "action": "set"}, "names its token"),
                         ({"codebook": 0, "first": 0, "last": 5, "action": "erase"}, "paint.0.action")):
        with pytest.raises(CodecError, match=message):
            Edits.from_dict({"paint": [bad]})


def test_the_tokens_file_carries_painted_edits_to_decode(loaded, speech, speech_wav, tmp_path):
    engine = loaded("rvq-lab")
    clip = load_audio(speech_wav)
    enc = engine.encode(clip)
    edits = Edits(seed=4, paint=(Paint(0, 20, 90, "set", 11), Paint(3, 0, 200, "randomize"), Paint(1, 5, 60, "mute")))
    tokens = tmp_path / "painted.npz"
    save_tokens(tokens, enc.codes, enc.meta(edits))
    assert Edits.from_dict(load_tokens(tokens)[1]["edits"]) == edits
    out = tmp_path / "out.wav"
    p = subprocess.run([sys.executable, "-m", "explorer", "decode", str(tokens), "--float", "-o", str(out)],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    assert np.array_equal(load_audio(out).samples, engine.decode(enc, edits).samples)


def test_a_fast_stroke_paints_every_cell_it_crosses():
    """Two pointer positions far apart in time and rows: every row between gets its frames, none skipped."""
    times = [np.arange(100) * 0.01 for _ in range(4)]
    step = [0.01] * 4
    runs = segment_runs(times, step, (0.105, 3.5), (0.505, 0.5))  # from codebook 0 down to codebook 3
    covered = {k: (a, b) for k, a, b in runs}
    assert sorted(covered) == [0, 1, 2, 3] and len(runs) == 4
    assert covered[0][0] == 10 and covered[3][1] == 51
    frames = sorted((a, b) for a, b in covered.values())
    assert all(b >= a2 for (_, b), (a2, _) in zip(frames, frames[1:]))  # the rows' spans touch: no gap in time
    assert merged([(1, 0, 5), (1, 5, 9), (1, 20, 22), (0, 3, 4)]) == [(0, 3, 4), (1, 0, 9), (1, 20, 22)]


# ------------------------------------------------------------ in the window
def same_sound(a, b):
    """The window's reconstruction against a whole decode: an edit over a range is re-decoded over that range
    only (tests/test_spans.py), which matches to float rounding for rvq-lab."""
    return a.shape == b.shape and np.abs(a - b).max() <= 1e-5 * np.abs(b).max()


def open_clip(qtbot, window, path):
    with qtbot.waitSignal(window.reconstruction_ready, timeout=120_000):
        window.open_file(path)


def drag(qtbot, views, plot, points, modifiers=Qt.KeyboardModifier.NoModifier):
    """Press at the first of ``points`` (time s, row or value), move through the rest, release: real mouse events."""
    vb = plot.getViewBox()
    where = [QPointF(views.mapFromScene(vb.mapViewToScene(QPointF(x, y)))) for x, y in points]
    target = views.viewport()
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton

    def send(kind, at, button, buttons):
        QApplication.sendEvent(target, QMouseEvent(kind, at, target.mapToGlobal(at), button, buttons, modifiers))

    send(QEvent.Type.MouseButtonPress, where[0], left, left)
    for at in where[1:]:
        send(QEvent.Type.MouseMove, at, none, left)
        qtbot.wait(5)
    send(QEvent.Type.MouseButtonRelease, where[-1], left, none)


def test_painting_on_the_grid_decodes_as_the_engine_and_undo_restores_bit_for_bit(qtbot, window, speech_wav, loaded):
    engine = loaded("rvq-lab")
    open_clip(qtbot, window, speech_wav)
    before = window.decoded.clip.samples.copy()
    window.file_view.paint_box.setCurrentText("mute")
    grid = window.grid
    n = grid.n_codebooks
    with qtbot.waitSignal(window.reconstruction_ready, timeout=120_000):
        drag(qtbot, window.views, window.views.grid, [(1.0, n - 0.5), (1.5, n - 0.5), (2.0, n - 2.5)])
    paint = window.model.edits.paint
    assert paint and {p.codebook for p in paint} == {0, 1, 2} and all(p.action == "mute" for p in paint)
    assert len(window.views.paint_tool.done.path.toFillPolygons()) == len(paint)  # each painted run outlined
    enc = engine.encode(load_audio(speech_wav))
    assert same_sound(window.decoded.clip.samples, engine.decode(enc, window.model.edits).samples)
    # set: Ctrl+click picks an id, then a stroke paints it
    k, f = 5, 40
    token = int(grid.codes[k][f])
    window.views.paint_tool.pick(token)
    assert window.file_view.paint_box.currentText() == "set" and window.file_view.paint_label.text() == f"id {token}"
    with qtbot.waitSignal(window.reconstruction_ready, timeout=120_000):
        drag(qtbot, window.views, window.views.grid, [(3.0, n - 7.5), (3.6, n - 7.5)])
    assert window.model.edits.paint[-1].action == "set" and window.model.edits.paint[-1].token == token
    assert same_sound(window.decoded.clip.samples, engine.decode(enc, window.model.edits).samples)
    painted_twice = window.decoded.clip.samples.copy()
    for expected in (paint, ()):  # undo the set stroke, then the mute stroke
        with qtbot.waitSignal(window.reconstruction_ready, timeout=120_000):
            window.edit_menu.undo()
        assert window.model.edits.paint == expected
    assert np.array_equal(window.decoded.clip.samples, before)
    assert len(window.views.paint_tool.done.path.toFillPolygons()) == 0
    for _ in range(2):
        with qtbot.waitSignal(window.reconstruction_ready, timeout=120_000):
            window.edit_menu.redo()
    assert np.array_equal(window.decoded.clip.samples, painted_twice)


def test_a_selection_edit_is_the_cli_decode_with_start_and_end(qtbot, window, speech_wav, tmp_path):
    open_clip(qtbot, window, speech_wav)
    assert not window.panel.confine.isEnabled()  # nothing selected yet
    drag(qtbot, window.views, window.views.spec, [(1.2, 2000.0), (1.8, 2000.0), (2.6, 3000.0)])
    lo, hi = window.model.selection
    assert lo == pytest.approx(1.2, abs=0.02) and hi == pytest.approx(2.6, abs=0.02)
    assert all(r.isVisible() and r.getRegion() == pytest.approx((lo, hi)) for r in window.views.selection.regions)
    window.panel.confine.setChecked(True)
    with qtbot.waitSignal(window.reconstruction_ready, timeout=120_000):
        window.panel.toggle(0, "mute")
    assert window.model.edits == Edits(mute={0}, start=lo, end=hi)
    assert window.panel.confine.text().startswith("apply to selection (1.2")
    # the grid dims codebook 0 inside the selection only
    row, t = window.views.row_rgba(0), window.grid.times[0]
    inside, outside = (t >= lo + 0.05) & (t < hi - 0.05), t < lo - 0.05
    assert row[inside, :3].mean() < 0.4 * row[outside, :3].mean()
    tokens, out = tmp_path / "t.npz", tmp_path / "cli.wav"
    for args in (["encode", str(speech_wav), "-c", "rvq-lab", "-o", str(tokens)],
                 ["decode", str(tokens), "--mute", "0", "--start", repr(lo), "--end", repr(hi), "--float", "-o", str(out)]):
        p = subprocess.run([sys.executable, "-m", "explorer", *args], capture_output=True, text=True, timeout=600)
        assert p.returncode == 0, p.stderr
    assert same_sound(window.decoded.clip.samples, load_audio(out).samples)
    # Esc clears the selection; the edits keep their range (undo takes it back)
    window.model.set_selection(None)
    assert not any(r.isVisible() for r in window.views.selection.regions)
    assert window.model.edits.start == lo


def test_space_plays_the_selection_and_loop_loops_it(qtbot, window, speech_wav):
    open_clip(qtbot, window, speech_wav)
    player = window.player
    window.model.set_selection((1.0, 1.5))
    assert player.span == (int(1.0 * player.rate), int(1.5 * player.rate)) and player.loop is None
    window.transport.loop_box.setChecked(True)
    assert player.loop == player.span
    window.transport.loop_box.setChecked(False)
    window.model.set_selection(None)
    window.transport.loop_box.setChecked(True)
    assert player.loop == (0, int(window.model.clip.duration * player.rate))  # no selection: the whole clip loops
    window.transport.loop_box.setChecked(False)
    window.model.set_selection((1.0, 1.5))
    if not player.is_open:
        pytest.fail("the JACK dummy output should be open in the tests: " + window.transport.playback_reason)
    window.transport.toggle_play()
    assert player.seconds == pytest.approx(1.0, abs=0.01)  # Space starts the selection from its start
    qtbot.waitUntil(lambda: not player.playing, timeout=5000)
    assert player.seconds == pytest.approx(1.0, abs=0.01)  # stopped at its end, back at its start


def test_zoom_to_selection_and_open_select_flag(qtbot, window, speech_wav, tmp_path):
    from explorer.ui import zoom

    assert zoom.to_selection((2.0, 3.0), 10.0) == pytest.approx((1.95, 3.05))
    assert zoom.to_selection((0.0, 1.0), 10.0)[0] == 0.0
    open_clip(qtbot, window, speech_wav)
    window.model.set_selection((2.0, 3.0))
    window.edit_menu.zoom_to_selection()
    assert window.views.wave.viewRange()[0] == pytest.approx([1.95, 3.05], abs=1e-3)
    shot = tmp_path / "sel.png"
    p = subprocess.run([sys.executable, "-m", "explorer", "open", str(speech_wav), "--select", "1", "2.5",
                        "--grid", "similarity", "--screenshot", str(shot)], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0 and shot.stat().st_size > 10_000, p.stderr
    p = subprocess.run([sys.executable, "-m", "explorer", "open", str(speech_wav), "--select", "2", "1",
                        "--screenshot", str(shot)], capture_output=True, text=True, timeout=600)
    assert p.returncode != 0 and "--select needs an end after its start" in p.stderr


def test_a_drag_inside_the_selection_selects_anew_and_paints_and_undo_brings_its_range_back(qtbot, window, speech_wav, tmp_path):
    """Found by trying it: a drag inside a selection moved the band instead of selecting or painting."""
    open_clip(qtbot, window, speech_wav)
    views = window.views
    window.model.set_selection((1.0, 2.0))
    drag(qtbot, views, views.wave, [(1.5, 0.0), (2.0, 0.0), (2.5, 0.0)])
    assert window.model.selection == pytest.approx((1.5, 2.5), abs=0.02)
    window.file_view.paint_box.setCurrentText("mute")
    n = window.grid.n_codebooks
    with qtbot.waitSignal(window.reconstruction_ready, timeout=120_000):
        drag(qtbot, views, views.grid, [(1.7, n - 3.5), (2.0, n - 3.5), (2.2, n - 3.5)])
    assert window.model.edits.paint and window.model.selection == pytest.approx((1.5, 2.5), abs=0.02)
    window.file_view.paint_box.setCurrentText("off")
    window.panel.confine.setChecked(True)
    window.edit_menu.select_all()  # the range follows the selection...
    assert window.model.edits.start == 0.0
    window.edit_menu.undo()  # ...and an undo brings both back
    assert window.model.edits.start == pytest.approx(1.5, abs=0.02) and window.model.selection[0] == window.model.edits.start
    shot = tmp_path / "s.png"
    p = subprocess.run([sys.executable, "-m", "explorer", "open", str(speech_wav), "--select", "100", "200",
                        "--screenshot", str(shot)], capture_output=True, text=True, timeout=600)
    assert p.returncode == 1 and "The selection starts at 100 s, after speech.wav ends" in p.stderr and "Traceback" not in p.stderr
