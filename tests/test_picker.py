"""Classroom > Which codec?: the rules of thumb, the numbers measured per codec, missing and failing codecs, the dialog."""

from __future__ import annotations

import os
import threading

import pytest

from conftest import shows_nan, tone_clip
from explorer.codecs.registry import CODEC_NAMES, entry, weights_available
from explorer.codecs.weights import locate
from explorer.core.errors import CancelledError
from explorer.services import picker
from explorer.services.session import Engines

MISSING = "dac-44khz"
"""The codec these tests keep without weights (its weights are moved aside if another test wrote them)."""


@pytest.fixture()
def without_weights():
    """Codec :data:`MISSING` has no weights on this computer for the test's duration."""
    paths = locate(entry(MISSING).weights_spec()) or []
    for p in paths:
        os.rename(p, f"{p}.aside")
    assert not weights_available(MISSING)
    yield MISSING
    for p in paths:
        os.rename(f"{p}.aside", p)


def test_each_task_names_its_codecs_in_its_rule():
    expected = {"lm-speech": ("mimi", "speechtokenizer"), "music": ("dac-44khz", "encodec-48khz"),
                "fidelity": ("dac-44khz",), "duplex": ("mimi",), "compression": ("opus", "snac-24khz", "mimi")}
    assert {key: t.codecs for key, t in picker.TASKS.items()} == expected
    spoken = {"mimi": "Mimi", "speechtokenizer": "SpeechTokenizer", "dac-44khz": "DAC 44 kHz",
              "encodec-48khz": "EnCodec 48 kHz", "opus": "Opus", "snac-24khz": "SNAC 24 kHz"}
    for key, codecs in expected.items():
        rule = picker.advice(key)
        assert all(spoken[c] in rule for c in codecs), (key, rule)
        assert 1 <= rule.count(". ") + 1 <= 2  # one or two plain sentences
    assert all(c in CODEC_NAMES for t in picker.TASKS.values() for c in t.codecs if c != "opus")  # opus: another branch
    assert "6–20 kbps" in picker.advice("compression") and "12.5 Hz" in picker.advice("lm-speech")
    with pytest.raises(Exception, match="Unknown task 'podcast'"):
        picker.advice("podcast")


def test_measures_rvq_lab_and_a_random_weight_codec_and_reports_a_missing_one(speech, without_weights):
    import random_weights

    random_weights.ensure("encodec-24khz")
    seen: list[tuple[float, str]] = []
    rows = picker.measure(Engines(), ["rvq-lab", "encodec-24khz", without_weights], "cpu", speech,
                          lambda f, what: seen.append((f, what)), seconds=2.0)
    lab, enc, missing = rows
    assert [r.status for r in rows] == [picker.MEASURED, picker.MEASURED, picker.MISSING]
    assert lab.licence == "MIT (this project's own)" and enc.licence == "CC-BY-NC 4.0 (weights; code MIT)"
    assert lab.tokens_per_second == pytest.approx(32 * 75, rel=0.05) and lab.kbps == pytest.approx(24, rel=0.05)
    assert enc.tokens_per_second == pytest.approx(8 * 75, rel=0.05) and enc.kbps == pytest.approx(6, rel=0.05)
    for r in (lab, enc):
        assert r.rtf is not None and r.rtf > 0 and "codebooks" in r.note
        assert r.pesq is not None and 1 <= r.pesq <= 5 and r.visqol is not None and 1 <= r.visqol <= 5
    assert missing.licence == "MIT" and missing.tokens_per_second is None and missing.cell("pesq") == "n/a"
    assert "not on this computer" in missing.note and "descript-audio-codec/releases" in missing.note
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and any("encodec-24khz" in w for _, w in seen)
    text = picker.summary("fidelity", rows)
    assert f"{MISSING}: weights missing" in text
    lm = picker.summary("compression", [lab, enc, missing])
    assert "opus:" in lm and "snac-24khz:" in lm


def test_a_failing_codec_gets_its_row_and_the_others_are_still_measured(speech, monkeypatch):
    real = Engines.named

    def named(self, name, device):
        if name == "encodec-24khz":
            raise RuntimeError("the model fell over\nwith a second line")
        return real(self, name, device)

    monkeypatch.setattr(Engines, "named", named)
    rows = picker.measure(Engines(), ["encodec-24khz", "rvq-lab"], "cpu", speech, seconds=1.5)
    assert [r.status for r in rows] == [picker.FAILED, picker.MEASURED]
    assert rows[0].note == "failed: RuntimeError: the model fell over" and rows[0].licence.startswith("CC-BY-NC")


def test_scores_that_do_not_apply_read_n_a_with_their_reason_never_nan():
    music = tone_clip(2.0, 24000)
    (row,) = picker.measure(Engines(), ["rvq-lab"], "cpu", music)
    assert row.pesq is None and row.cell("pesq") == "n/a" and "PESQ is defined for speech" in row.reason("pesq")
    assert "PESQ (wide band) n/a: PESQ is defined for speech" in row.note and "ViSQOL in audio mode" in row.note
    assert all(not shows_nan(row.cell(c)) for c in picker.LABELS)


def test_cancelling_stops_the_measuring():
    calls: list[str] = []

    def progress(fraction, what):
        calls.append(what)
        return len(calls) < 3

    with pytest.raises(CancelledError):
        picker.measure(Engines(), ["rvq-lab", "rvq-lab"], "cpu", tone_clip(2.0, 24000), progress)
    assert len(calls) == 3


def test_only_the_clips_start_is_measured(speech):
    short = picker.excerpt(speech, 1.0)
    assert short.frames == speech.sample_rate and short.sample_rate == speech.sample_rate
    assert picker.excerpt(short, 5.0) is short


def test_the_dialog_measures_on_the_tools_worker_fills_the_table_and_highlights_the_tasks_codecs(
        qtbot, window, monkeypatch, without_weights):
    from test_threads import watch_worker_threads

    from explorer.ui import classroom_menu
    from explorer.ui.tasks import ToolWorker

    touched = watch_worker_threads(monkeypatch, (ToolWorker,))  # no widget, no ui code beyond the worker's
    threads: list[str] = []
    measure_one = picker.measure_one

    def watched(*args, **kwargs):
        threads.append(threading.current_thread().name)
        return measure_one(*args, **kwargs)

    monkeypatch.setattr(picker, "measure_one", watched)
    monkeypatch.setattr(classroom_menu, "CODEC_NAMES", ("rvq-lab", without_weights))
    dialog = window.classroom.open_picker()
    assert not dialog.measure_button.isEnabled() and "the first 5 s of the clip" in dialog.scope.text()
    qtbot.waitUntil(lambda: len(dialog.rows) == 2, timeout=180_000)
    assert threads and threading.main_thread().name not in threads and not touched, touched
    table = dialog.table
    assert table.rowCount() == 2 and table.columnCount() == len(picker.LABELS)
    cells = {table.horizontalHeaderItem(j).text(): table.item(0, j).text() for j in range(table.columnCount())}
    assert cells["codec"] == "rvq-lab" and cells["licence (weights)"] == "MIT (this project's own)"
    assert float(cells["tokens/s"]) == pytest.approx(2400, rel=0.05) and float(cells["real-time factor"]) > 0
    assert table.item(1, 2).text() == "n/a" and "not on this computer" in table.item(1, 2).toolTip()
    assert dialog.status.text().startswith("1 of 2 codecs measured in ") and "1 without weights here" in dialog.status.text()
    assert "bundled speech clip" in window.statusBar().currentMessage()
    dialog.task_box.setCurrentIndex(list(picker.TASKS).index("fidelity"))
    assert "DAC 44 kHz" in dialog.rule.text() and f"{without_weights}: weights missing" in dialog.measured.text()
    assert table.item(1, 0).font().bold() and not table.item(0, 0).font().bold()
    dialog.measure_button.click()
    dialog.cancel_button.click()
    qtbot.waitUntil(lambda: dialog.measure_button.isEnabled(), timeout=60_000)
    assert dialog.status.text() == "Cancelled." and table.rowCount() == 2  # the last run's numbers stay
    dialog.close()
