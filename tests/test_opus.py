"""Opus, the reference codec: measured bitrate, quality that rises with it, its place in the command
line, compare, the ladder, live mode and the window, and the refusals of what it does not have."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

from conftest import shows_nan
import torch

from explorer.codecs.base import PacketCodec
from explorer.codecs.registry import entry, load_codec
from explorer.core.audio import Clip, load_audio
from explorer.core.edits import Edits
from explorer.core.errors import CodecError
from explorer.core.resources import resource
from explorer.services.engine import Engine

SETTINGS = (6, 12, 20)


@pytest.fixture(scope="module")
def opus() -> Engine:
    return Engine(load_codec("opus", torch.device("cpu")))


@pytest.fixture(scope="module")
def bundled() -> Clip:
    """The bundled English speech (resources/clips/speech_en.wav)."""
    return load_audio(resource("clips", "speech_en.wav"))


@pytest.fixture(scope="module")
def ladder(opus, bundled):
    """At each of :data:`SETTINGS`: the encoding, the reconstruction and its quality."""
    from explorer.core.metrics import reconstruction_quality
    from explorer.core.perceptual import slow_quality

    out = {}
    for kbps in SETTINGS:
        enc = opus.encode(bundled, kbps=kbps)
        rec = opus.decode(enc)
        q = reconstruction_quality(bundled, rec)
        out[kbps] = (enc, rec, q, slow_quality(bundled, rec, True, q.delay_samples, metrics=("pesq",)))
    return out


def test_opus_states_it_has_no_tokens_and_takes_a_bitrate():
    info = entry("opus").info()
    assert not info.tokens and info.max_codebooks == 0 and info.codebook_choices == ()
    assert info.sample_rate == 48000 and info.hop_length == 960  # 20 ms packets
    assert info.kbps_choices == (6, 12, 20, 32, 64) and info.default_kbps == 20
    assert info.kbps_setting(None) == 20 and info.kbps_setting(12) == 12
    for bad in (0, 5, 257, 1000):
        with pytest.raises(CodecError, match=f"Opus encodes at 6 to 256 kbps; {bad} kbps was asked for"):
            info.kbps_setting(bad)
    with pytest.raises(CodecError, match="Opus has no codebooks"):
        info.kbps_setting(None, codebooks=4)
    with pytest.raises(CodecError, match="rvq-lab is a token codec"):
        entry("rvq-lab").info().kbps_setting(12)


def test_the_codec_kind_and_the_stated_fact_agree(opus, loaded):
    """The engine tells a packet codec by its class; the views by ``info.tokens``: the two agree."""
    assert isinstance(opus.codec, PacketCodec) and not opus.info.tokens
    assert not isinstance(loaded("rvq-lab").codec, PacketCodec) and loaded("rvq-lab").info.tokens
    with pytest.raises(CodecError, match="Opus has no tokens: it codes the waveform in 20 ms packets"):
        opus.token_codec


def test_measured_kbps_is_within_10_percent_of_the_setting_on_bundled_speech(ladder, bundled):
    for kbps, (enc, rec, q, _) in ladder.items():
        assert enc.codes == [] and enc.packets is not None and enc.packets.kbps == kbps
        measured = 8 * sum(len(p) for p in enc.packets.data) / bundled.duration
        assert enc.bitrate == pytest.approx(measured)  # from the packets' sizes, not the setting
        assert abs(measured - 1000 * kbps) <= 0.1 * 1000 * kbps, (kbps, measured)
        assert len(enc.packets.data) == pytest.approx(bundled.duration / 0.02, abs=2)  # one packet per 20 ms
        assert rec.samples.shape == bundled.samples.shape and rec.sample_rate == bundled.sample_rate
        assert abs(q.delay_samples) <= 2  # the pre-skip is trimmed: aligned sample for sample


def test_pesq_and_si_sdr_rise_with_the_bitrate(ladder):
    pesq = [ladder[k][3].pesq for k in SETTINGS]
    assert all(isinstance(p, float) for p in pesq) and pesq[0] < pesq[1] < pesq[2], pesq
    sdr = [ladder[k][2].si_sdr for k in SETTINGS]
    assert sdr[0] < sdr[1] < sdr[2] and sdr[2] > 10, sdr  # a sane SI-SDR: the reconstruction is aligned


def test_edits_and_token_files_are_refused_in_one_sentence(opus, ladder):
    enc = ladder[12][0]
    with pytest.raises(CodecError, match="Opus has no codebooks, so there is nothing to mute, solo, keep or randomize"):
        opus.decode(enc, Edits(mute=frozenset({0})))
    with pytest.raises(CodecError, match="Opus has no tokens to save: it codes the waveform in 20 ms packets"):
        enc.meta()
    with pytest.raises(CodecError, match="no token file can hold an encoding of it"):
        opus.from_tokens([], {"codec": "opus"})
    with pytest.raises(CodecError, match="Opus has no codebooks; set its bitrate in kbps"):
        opus.encode(Clip(np.zeros((1, 4800), np.float32), 48000), 4)
    at, span = opus.decode_span(enc, Edits(), 1.0, 1.0)  # the window's playhead-first decode: the whole clip
    assert at == 0 and np.array_equal(span, opus.decode(enc).samples)


def cli(*args: str) -> tuple[int, str, str]:
    """``codec-explorer ARGS`` in this process: (exit status, stdout, stderr)."""
    import contextlib
    import io

    from explorer.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as exc:
            code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


SPEECH = str(resource("clips", "speech_en.wav"))


@pytest.mark.parametrize("args, expect", [
    (["roundtrip", SPEECH, "-c", "opus", "--kbps", "0"], "Opus encodes at 6 to 256 kbps; 0 kbps was asked for."),
    (["roundtrip", SPEECH, "-c", "opus", "--kbps", "1000"], "Opus encodes at 6 to 256 kbps; 1000 kbps was asked for."),
    (["roundtrip", SPEECH, "-c", "rvq-lab", "--kbps", "12"], "--kbps sets Opus's bitrate; rvq-lab is a token codec"),
    (["roundtrip", SPEECH, "-c", "opus", "--kbps", "twelve"], "argument --kbps: expected a bitrate in whole kbps"),
    (["roundtrip", SPEECH, "-c", "opus", "-n", "4"], "Opus has no codebooks; set its bitrate in kbps"),
    (["roundtrip", SPEECH, "-c", "opus", "--solo", "0"], "Opus has no codebooks, so there is nothing to mute"),
    (["encode", SPEECH, "-c", "opus", "-o", "x.npz"], "Opus has no tokens to save"),
    (["compare", SPEECH, "-c", "opus@1000", "-o", "cmp"], "Opus encodes at 6 to 256 kbps; 1000 kbps was asked for."),
    (["live", "-c", "opus", "--kbps", "3"], "Opus encodes at 6 to 256 kbps; 3 kbps was asked for."),
])
def test_bad_settings_are_one_line_errors_with_status_2(args, expect, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = cli(*args)
    assert code == 2 and expect in err, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1 and not shows_nan(err)
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]  # refused before anything was written


def test_roundtrip_json_reports_the_measured_bitrate_and_the_codecs_listing(tmp_path):
    code, out, err = cli("roundtrip", SPEECH, "-c", "opus", "--kbps", "12", "--json", "-o", str(tmp_path / "o.wav"))
    assert code == 0, err
    r = json.loads(out)
    assert r["codec"] == "opus" and r["kbps_setting"] == 12 and r["codebooks"] == 0 and r["per_codebook"] == []
    assert r["bitrate_bps"] != 12000 and abs(r["bitrate_bps"] - 12000) <= 1200  # measured, not the setting
    assert r["packets"] == pytest.approx(load_audio(SPEECH).duration / 0.02, abs=2)
    assert r["metrics"]["pesq"] > 2 and r["metrics"]["si_sdr"] > 5 and abs(r["metrics"]["delay_samples"]) <= 2
    code, out, _ = cli("roundtrip", SPEECH, "-c", "opus")
    assert code == 0 and "20 kbps setting" in out and "kbps measured from" in out and not shows_nan(out)
    code, out, _ = cli("roundtrip", SPEECH, "-c", "rvq-lab", "-n", "8", "--json")
    r = json.loads(out)
    assert r["kbps_setting"] is None and r["bitrate_bps"] == pytest.approx(8 * 75 * 10, rel=0.02)  # from the codes
    code, out, _ = cli("codecs", "--json")
    row = {x["name"]: x for x in json.loads(out)}["opus"]
    assert row["tokens"] is False and row["codebooks_max"] == 0 and row["kbps_default"] == 20 and row["kbps_max"] == 256
    code, out, _ = cli("codecs")
    line = next(x for x in out.splitlines() if x.startswith("opus "))
    assert "reference codec, no tokens" in line and "50 (packets)" in line


def test_compare_has_an_opus_row_in_the_table_csv_html_and_figure(loaded, speech, opus, tmp_path):
    from explorer.services.compare import compare, parse_spec, write_csv
    from explorer.services.report import comparison_figure, html_report

    assert parse_spec("opus@12") == ("opus", 12)
    results = compare([(loaded("rvq-lab"), 8), (opus, 12)], speech)
    row = results[1].row
    assert row.codec == "opus@12" and row.codebooks == 0 and row.tokens_per_second is None
    assert results[1].reasons()["tokens_per_second"] == "Opus has no tokens: it codes the waveform in packets"  # the n/a's tooltip
    assert row.bitrate_kbps == pytest.approx(results[1].encoding.bitrate / 1000, abs=1e-3) and row.frame_rates_hz == "50"
    write_csv([r.row for r in results], tmp_path / "c.csv")
    lines = (tmp_path / "c.csv").read_text().splitlines()
    assert lines[2].startswith("opus@12,48000,50,0,,")  # tokens/s does not apply: an empty cell
    page = re.sub(r'data:[^"]*', "", html_report("t", speech, results))  # the text, without the embedded files
    assert "<h2>opus@12</h2>" in page and "n/a tokens/s" in page and not shows_nan(page)
    fig = comparison_figure(speech, results)
    titles = [ax.get_title("left") for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert len(titles) == 4  # the original; rvq-lab's spectrogram and grid; Opus's spectrogram, no grid
    assert titles[3].startswith(f"opus@12: reconstruction at {row.bitrate_kbps:g} kbps measured (no tokens: 20 ms packets)")


def test_the_ladder_shows_opus_at_6_12_and_20_kbps_as_reference_points(loaded, speech, opus, tmp_path):
    from explorer.services.experiments import bitrate_ladder, narration, run, write_experiment

    exp = bitrate_ladder(loaded("rvq-lab"), speech, opus)
    assert [r["codebooks"] for r in exp.table] == [1, 2, 4, 8, 16, 32]  # the ladder's own rows, unchanged
    refs = exp.references
    assert [r["kbps_setting"] for r in refs] == [6, 12, 20] and {r["codec"] for r in refs} == {"opus"}
    assert all(abs(r["kbps"] - r["kbps_setting"]) <= 0.1 * r["kbps_setting"] for r in refs)
    assert refs[0]["pesq"] < refs[1]["pesq"] < refs[2]["pesq"]
    assert [s.label for s in exp.steps[-3:]] == ["Opus 6 kbps", "Opus 12 kbps", "Opus 20 kbps"]
    assert all(s.audio is not None for s in exp.steps[-3:])
    assert "Opus for reference" in exp.conclusion and not shows_nan(narration(exp))
    files = {p.name for p in write_experiment(exp, tmp_path)}
    assert {"table.csv", "references.csv", "ladder.png"} <= files
    assert (tmp_path / "references.csv").read_text().splitlines()[0].startswith("codec,kbps_setting,kbps,")
    with pytest.raises(CodecError, match="Opus has no tokens, and the experiments edit tokens"):
        run("semantic", [opus], speech)


def test_ladder_figure_marks_opus_apart_with_stars_and_labels():
    from explorer.services.report import ladder_figure

    ladder = [{"kbps": 0.5 * 2 ** i, "stoi": 0.5 + 0.1 * i, "pesq": 1.2 + 0.3 * i, "si_sdr_db": -5.0 + 4 * i} for i in range(4)]
    refs = [{"codec": "opus", "kbps_setting": k, "kbps": k * 1.02, "stoi": 0.9, "pesq": None if k == 6 else 3.0,
             "si_sdr_db": 10.0} for k in SETTINGS]
    fig = ladder_figure("Bitrate ladder: rvq-lab", ladder, refs)
    stoi, pesq, _ = fig.axes
    lines = {line.get_label(): line for line in stoi.get_lines()}
    assert lines["Opus (reference)"].get_marker() == "*" and lines["Opus (reference)"].get_linestyle() == "None"
    assert lines["ladder (first N codebooks)"].get_marker() == "o"
    assert [t.get_text() for t in stoi.texts] == ["Opus 6", "Opus 12", "Opus 20"]
    assert [t.get_text() for t in pesq.texts] == ["Opus 12", "Opus 20"]  # n/a is a gap, never a point at 0
    assert stoi.get_xscale() == "log"


def test_streaming_in_20_ms_packets_equals_the_offline_encode_delayed_by_the_look_ahead(opus, bundled):
    from explorer.core.audio import resample
    from explorer.services.live import PacketLive, live_codec

    x = resample(bundled.samples, bundled.sample_rate, 48000)[:, : 48000 * 3]
    live = live_codec(opus, kbps=12)
    assert isinstance(live, PacketLive) and live.block == 960 and live.n == 0
    assert live.latency == 960 + 312  # a 20 ms frame plus libopus's 6.5 ms look-ahead
    steps, i = [], 0
    for n in (700, 1920, 333, 4100, 2500) * 100:
        steps += live.push(x[:, i: i + n])
        i += n
        if i >= x.shape[1]:
            break
    assert all(s.codes == [] and s.audio.shape == (1, 960) for s in steps)
    streamed = np.concatenate([s.audio for s in steps], axis=1)[0]
    offline = opus.decode_native(opus.encode(Clip(x, 48000), kbps=12), Edits())[0]
    lag = 312
    assert np.abs(streamed[:lag]).max() == 0
    n = len(streamed) - lag
    assert np.abs(streamed[lag:] - offline[:n]).max() < 1e-4  # the same packets, decoded the same
    with pytest.raises(CodecError, match="Opus has no codebooks; set its bitrate in kbps"):
        live_codec(opus, n_codebooks=4)


def test_a_live_run_of_opus_reports_latency_and_records_no_tokens(opus, bundled, tmp_path):
    """The degrade path's set-up, without devices: two seconds arrive, the take has no tokens.npz."""
    from explorer.audio_io.capture import RingBuffer
    from explorer.audio_io.take import TakeWriter
    from explorer.core.audio import StreamResampler
    from explorer.services.live_run import LiveRun, live_status

    run = LiveRun(opus, record=tmp_path / "take", monitor="off", kbps=20, views=True)
    rate = bundled.sample_rate
    run.capture.rate = rate
    run.capture.ring = RingBuffer(1, 10 * rate)
    run.to_codec = StreamResampler(rate, 48000, 1)
    run.take = TakeWriter(tmp_path / "take", rate, 48000, 1, run._write_tokens)
    run.capture.ring.write(bundled.samples[:, : rate // 4].T)
    assert run.poll()
    assert run.stats.steps >= 10 and not run.stats.behind
    assert "latency" in live_status(run) and not shows_nan(live_status(run))
    assert 26 <= run.latency_ms < 1000
    views = run.take_views()
    assert views and all(v.codes == [] for v in views)
    run.stop()
    assert sorted(p.name for p in (tmp_path / "take").iterdir()) == ["input.wav", "reconstruction.wav"]


@pytest.mark.skipif(shutil.which("jackd") is None, reason="needs jackd (Debian jackd2)")
def test_codec_explorer_live_runs_opus_and_reports_its_latency(tmp_path):
    import jackloop

    with jackloop.own_server("codec-explorer-opus") as (env, server):
        p = subprocess.run([sys.executable, "-m", "explorer", "live", "-c", "opus", "--kbps", "12", "--seconds", "3",
                            "--record", str(tmp_path / "take"), "--monitor", "off"],
                           env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert "live: opus on cpu, algorithmic latency 26 ms" in p.stderr and "latency ~" in p.stderr
    assert "no tokens.npz: Opus has no tokens" in p.stdout
    assert load_audio(tmp_path / "take" / "reconstruction.wav").duration > 2


pytest.importorskip("pytestqt")



def test_the_window_offers_opus_with_a_bitrate_box_and_says_it_has_no_tokens(qtbot, window, speech_wav, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    w = window
    bar = w.codec_bar
    warnings: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text, *a: warnings.append(text))
    assert bar.codec_box.findData("opus") >= 0
    visible = lambda key: all(a.isVisible() for a in bar.setting_actions[key])  # noqa: E731
    assert visible("codebooks") and not visible("kbps")
    with qtbot.waitSignal(w.reconstruction_ready, timeout=120_000):
        w.open_file(speech_wav)
    with qtbot.waitSignal(w.reconstruction_ready, timeout=120_000):
        bar.choose("opus")
    assert visible("kbps") and not visible("codebooks")
    assert [bar.kbps_box.itemData(i) for i in range(bar.kbps_box.count())] == [6, 12, 20, 32, 64]
    assert w.model.encoded.choice.kbps == 20 and w.model.encoded.choice.codebooks is None
    enc = w.model.encoding
    line = w.views.no_tokens.textItem.toPlainText()
    assert line == (f"Opus has no tokens: it codes the waveform in 20 ms packets ({len(enc.packets.data)} packets, "
                    f"measured {enc.bitrate / 1000:.2f} kbps)") and w.views.no_tokens.isVisible()
    assert w.panel.why_empty.isVisible() and not w.panel.table.isVisible() and "no codebooks" in w.panel.why_empty.text()
    assert f"{enc.bitrate / 1000:.2f} kbps measured" in w.metrics.text() and not shows_nan(w.metrics.text())
    with qtbot.waitSignal(w.reconstruction_ready, timeout=120_000):  # the bitrate box re-encodes at its setting
        bar.kbps_box.setCurrentIndex(0)
        bar.kbps_box.activated.emit(0)
    assert w.model.encoded.choice.kbps == 6 and w.model.encoding.packets.kbps == 6
    # a user clicking around: nothing applies, nothing breaks
    for k in range(3):
        w.mute_key(k)
    w.panel.reset.click()
    assert w.model.edits.is_identity and w.views.cell(0.5, 0.5) is None
    assert w.classroom.open_token_stats() is None
    w.exports.export_tokens()  # refused before a file name is asked for
    assert warnings and "Opus has no tokens to save" in warnings[-1]
    assert json.loads(w._snapshot() or "{}")["codebooks"] is None  # a session file's count is 1 or more
    with qtbot.waitSignal(w.reconstruction_ready, timeout=120_000):  # and back to a token codec
        bar.choose("rvq-lab")
    assert not w.views.no_tokens.isVisible() and w.panel.table.isVisible() and visible("codebooks")


def test_the_windows_live_mode_runs_opus_in_20_ms_packets(qtbot, tmp_path):
    """Live mode in the window on the JACK dummy driver: Opus streams, the views say it has no tokens."""
    import jackloop
    from PySide6.QtCore import QSettings

    from explorer.ui.window import MainWindow

    if not jackloop.running():
        pytest.skip("needs the JACK dummy driver (scripts/test.sh starts it)")
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue("live/folder", str(tmp_path / "takes"))
    w = MainWindow(settings)
    qtbot.addWidget(w)
    w.show()
    try:
        w.codec_bar.select("opus", kbps=12)
        w.live_bar.record_box.setChecked(False)
        w.live_bar.live_button.setChecked(True)
        qtbot.waitUntil(lambda: w.live_bar.live is not None and w.live_bar.live.run_ is not None, timeout=60_000)
        run = w.live_bar.live.run_
        qtbot.waitUntil(lambda: run.stats.steps > 50, timeout=60_000)  # a second of 20 ms packets
        assert run.live.block == 960 and run.kbps == 12
        assert "opus on cpu: algorithmic latency 26 ms" in w.live_bar.label.text()
        qtbot.waitUntil(lambda: "latency ~" in w.live_bar.label.text(), timeout=10_000)
        assert w.live_views.no_tokens.isVisible() and "Opus has no tokens" in w.live_views.no_tokens.textItem.toPlainText()
        assert w.panel.why_empty.isVisible()
        w.panel.reset.click()  # nothing to edit: nothing breaks
    finally:
        w.live_bar.stop()
        qtbot.waitUntil(lambda: w.live_bar.live is None, timeout=30_000)
        w.close()
