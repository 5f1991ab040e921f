"""Comparison table, picture and HTML report, and the guided experiments, on rvq-lab and random weights."""

from __future__ import annotations

import csv
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

from explorer.core.audio import save_audio


@pytest.fixture(scope="module")
def german():
    from explorer.core.synth import speak

    return speak("Der Codec hört zu und schreibt die Wörter in Tokens.", "de", rate=24000)


def test_comparison_csv_has_one_measured_row_per_codec(loaded, speech, tmp_path):
    from explorer.services.compare import compare, write_csv

    engines = [(loaded("rvq-lab"), None), (loaded("rvq-lab"), 4), (loaded("encodec-24khz"), None)]
    results = compare(engines, speech)
    write_csv([r.row for r in results], tmp_path / "c.csv")
    rows = list(csv.DictReader(open(tmp_path / "c.csv")))
    assert [r["codec"] for r in rows] == ["rvq-lab", "rvq-lab@4", "encodec-24khz"]
    for row, res in zip(rows, results):
        assert float(row["bitrate_kbps"]) == pytest.approx(res.encoding.bitrate / 1000, abs=1e-3)
        assert int(row["codebooks"]) == res.encoding.n_codebooks
        assert float(row["tokens_per_second"]) > 0 and float(row["encode_seconds"]) > 0
        assert res.reconstruction.frames == speech.frames
    assert rows[0]["frame_rates_hz"] == "75" and float(rows[1]["bitrate_kbps"]) == pytest.approx(float(rows[0]["bitrate_kbps"]) / 8, rel=1e-3)
    assert float(rows[0]["si_sdr_db"]) > float(rows[1]["si_sdr_db"])  # more codebooks, closer to the original


@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian's chromium (scripts/setup.sh installs it)")
def test_html_report_opens_in_chromium_with_playable_audio(loaded, speech, tmp_path):
    from explorer.services.compare import compare
    from explorer.services.report import html_report

    results = compare([(loaded("rvq-lab"), None), (loaded("rvq-lab"), 2)], speech)
    page = html_report("test", speech, results)
    report = tmp_path / "report.html"
    report.write_text(page)
    # a copy with a probe that records each audio element's duration once its metadata has loaded
    probe = ("<script>window.addEventListener('load', () => { const a = [...document.querySelectorAll('audio')];"
             "const done = () => { document.body.dataset.durations = a.map(x => x.duration).join(','); };"
             "a.forEach(x => x.addEventListener('loadedmetadata', done)); done(); });</script></body>")
    probed = tmp_path / "probed.html"
    probed.write_text(page.replace("</body>", probe))
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run(["chromium", *flags, "--virtual-time-budget=10000", "--dump-dom", probed.as_uri()],
                         capture_output=True, text=True, timeout=120).stdout
    assert len(re.findall(r'<audio controls="" src="data:audio/wav;base64,', dom)) == 3
    durations = [float(d) for d in re.search(r'data-durations="([^"]*)"', dom).group(1).split(",")]
    assert durations == pytest.approx([speech.duration] * 3, abs=0.05)
    shot = tmp_path / "report.png"
    subprocess.run(["chromium", *flags, "--window-size=1000,1200", f"--screenshot={shot}", report.as_uri()],
                   capture_output=True, timeout=120)
    from PySide6.QtGui import QImage

    image = QImage(str(shot))
    assert image.width() == 1000
    colours = {image.pixel(x, y) for x in range(0, 1000, 25) for y in range(0, 1200, 25)}
    assert len(colours) > 50  # the spectrograms and grids drew, not a blank page


def test_bitrate_ladder_on_rvq_lab_and_encodec(loaded, speech):
    from explorer.services.experiments import bitrate_ladder

    exp = bitrate_ladder(loaded("rvq-lab"), speech)
    assert [r["codebooks"] for r in exp.table] == [1, 2, 4, 8, 16, 32]
    assert all(s.audio is not None and s.audio.frames == speech.frames for s in exp.steps)
    kbps = [r["kbps"] for r in exp.table]
    assert kbps == sorted(kbps) and exp.table[-1]["stoi"] > exp.table[0]["stoi"]
    pesq = [r["pesq"] for r in exp.table]  # wide-band PESQ per step, measured: more codebooks, better
    assert all(isinstance(p, float) and 1.0 <= p <= 4.7 for p in pesq) and pesq[-1] > pesq[0] + 1.0, pesq
    assert f"PESQ {pesq[0]:.2f}" in exp.steps[0].narration and "and PESQ from" in exp.conclusion
    exp = bitrate_ladder(loaded("encodec-24khz"), speech)
    assert [r["codebooks"] for r in exp.table] == [1, 2, 4, 8, 16, 32]


def test_semantic_vs_acoustic_on_mimi_and_explained_elsewhere(loaded, speech):
    from explorer.services.experiments import semantic_vs_acoustic

    exp = semantic_vs_acoustic(loaded("mimi"), speech)
    assert [r["randomized"] for r in exp.table] == ["none", "codebook 0 (semantic)", "codebook 7 (last acoustic)"]
    assert len({float(np.abs(s.audio.samples).sum()) for s in exp.steps}) == 3  # three different sounds
    exp = semantic_vs_acoustic(loaded("rvq-lab"), speech)
    assert "marks no codebook as semantic" in exp.intro
    assert exp.table[1]["stoi"] < exp.table[2]["stoi"]  # rvq-lab's envelope codebook matters most


def test_semantic_vs_acoustic_on_speechtokenizer(loaded, speech):
    from explorer.services.experiments import semantic_vs_acoustic

    exp = semantic_vs_acoustic(loaded("speechtokenizer"), speech)
    assert exp.title == "Semantic vs acoustic: speechtokenizer" and "marks no codebook" not in exp.intro
    assert [r["randomized"] for r in exp.table] == ["none", "codebook 0 (semantic)", "codebook 7 (last acoustic)"]
    assert all(s.audio.frames == speech.frames and s.audio.sample_rate == speech.sample_rate for s in exp.steps)
    assert len({float(np.abs(s.audio.samples).sum()) for s in exp.steps}) == 3  # three different sounds
    assert exp.conclusion.startswith("Randomizing codebook 0 cost") and "codebook 7 cost" in exp.conclusion


def test_frame_rates_and_sequence_length(loaded, speech):
    from explorer.services.experiments import frame_rates

    exp = frame_rates([loaded("rvq-lab"), loaded("mimi"), loaded("snac-24khz")], speech)
    by = {r["codec"]: r for r in exp.table}
    assert by["mimi"]["frame_rates_hz"] == "12.5" and by["mimi"]["frames_in_10s"] == 125
    assert by["snac-24khz"]["frame_rates_hz"].count("/") == 2  # three scales
    assert by["rvq-lab"]["tokens_in_10s"] == pytest.approx(10 * 75 * 32, rel=0.02)
    assert "shortest sequences" in exp.conclusion


def test_codebook_transplant_takes_words_from_a(loaded, speech, german):
    from explorer.services.experiments import transplant

    for name in ("rvq-lab", "encodec-24khz"):
        exp = transplant(loaded(name), speech, german, keep=1)
        assert [r["tokens"] for r in exp.table] == ["A", "B", "A[:1] + B[1:]", "B[:1] + A[1:]"]
        assert all(s.audio is not None for s in exp.steps)
    exp = transplant(loaded("rvq-lab"), speech, german, keep=1)
    assert exp.table[0]["stoi_vs_a"] > 0.9 and exp.table[1]["stoi_vs_b"] > 0.9


def test_cli_compare_and_experiment(tmp_path, speech):
    wav = tmp_path / "in.wav"
    save_audio(wav, speech)
    p = subprocess.run([sys.executable, "-m", "explorer", "compare", str(wav), "-c", "rvq-lab", "-c", "rvq-lab@8", "-o", str(tmp_path / "cmp")],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    tables = {"comparison.csv", "rvq-lab.wav", "rvq-lab-8.wav"}  # each with its provenance sidecar
    assert {f.name for f in (tmp_path / "cmp").iterdir()} == {"comparison.png", "report.html", *tables,
                                                                 *(f"{name}.provenance.json" for name in tables)}
    assert (tmp_path / "cmp" / "comparison.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    p = subprocess.run([sys.executable, "-m", "explorer", "experiment", "ladder", str(wav), "-o", str(tmp_path / "ladder")],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert "Bitrate ladder" in p.stdout and len(list((tmp_path / "ladder").glob("*.wav"))) == 6 + 3  # and Opus at 6, 12, 20 kbps
    assert (tmp_path / "ladder" / "ladder.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    p = subprocess.run([sys.executable, "-m", "explorer", "experiment", "exercise-easy", str(wav), "-o", str(tmp_path / "easy")],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    rows = list(csv.DictReader(open(tmp_path / "easy" / "table.csv")))
    assert len(rows) == 14 and {r["quantizer"] for r in rows} == {"toy scalar (2 bits a stage)", "rvq-lab"}
    p = subprocess.run([sys.executable, "-m", "explorer", "compare", str(wav), "-c", "nonsense", "-o", str(tmp_path / "x")],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 2 and "nonsense" in p.stderr


def test_toy_residual_quantizer_gains_about_6_db_per_bit():
    from explorer.services.experiments import toy_residual_quantizer

    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, 48000)
    recons = toy_residual_quantizer(x, 5, bits=2)
    snr = [10 * np.log10(np.mean(x ** 2) / np.mean((x - r) ** 2)) for r in recons]
    gains = np.diff(snr)
    assert np.all(gains == pytest.approx(12.04, abs=0.3))  # 2 bits a stage: 4x finer grid, 16x less error power
    assert np.max(np.abs(x - recons[-1])) <= 2 / 4 ** 5 / 2 + 1e-12  # within half the last stage's step


def test_exercise_easy_measures_the_toy_and_rvqlab_stages(loaded, speech):
    from explorer.services.experiments import run

    exp = run("exercise-easy", [loaded("rvq-lab")], speech)
    toy = [r for r in exp.table if r["quantizer"].startswith("toy")]
    lab = [r for r in exp.table if r["quantizer"] == "rvq-lab"]
    assert [r["stages"] for r in toy] == list(range(1, 9)) and [r["stages"] for r in lab] == [1, 2, 4, 8, 16, 32]
    assert all(b["snr_db"] > a["snr_db"] for a, b in zip(toy, toy[1:]))
    assert all(b["mse"] < a["mse"] for a, b in zip(lab[1:], lab[2:]))  # each learned stage removes error
    assert lab[-1]["kbps"] == pytest.approx(24.04, abs=0.05) and exp.series == ("snr_db", "quantizer")
    assert "dB on average" in exp.conclusion and all(s.audio is not None for s in exp.steps)


def test_exercise_medium_pesq_and_mse_against_bitrate(loaded, speech):
    from explorer.core.perceptual import slow_quality
    from explorer.services.experiments import exercise_medium, mse

    engine = loaded("encodec-24khz")
    exp = exercise_medium(engine, speech)
    assert [r["codec"] for r in exp.table] == ["encodec-24khz@1", "encodec-24khz@4", "encodec-24khz@8", "encodec-24khz@32"]
    assert [r["kbps"] for r in exp.table] == pytest.approx([0.75, 3.0, 6.0, 24.0], rel=0.02)
    enc = engine.encode(speech, 32)
    from explorer.core.edits import Edits
    from explorer.core.metrics import reconstruction_quality

    out = engine.decode(enc, Edits(keep=8))
    q = reconstruction_quality(speech, out)
    assert exp.table[2]["pesq"] == pytest.approx(slow_quality(speech, out, delay=q.delay_samples, metrics=("pesq",)).pesq, abs=1e-3)
    assert exp.table[2]["mse"] == pytest.approx(mse(speech, out, q.delay_samples), rel=1e-3)
    lab = exercise_medium(loaded("rvq-lab"), speech)
    assert lab.table[0]["pesq"] < lab.table[-1]["pesq"] and lab.table[0]["mse"] > lab.table[-1]["mse"]


def test_exercise_hard_randomizes_codebooks_0_and_7_on_both_semantic_codecs(loaded, speech):
    from explorer.services.experiments import run

    exp = run("exercise-hard", [loaded("mimi"), loaded("speechtokenizer")], speech)
    assert [(r["codec"], r["randomized"]) for r in exp.table] == [
        ("mimi", "none"), ("mimi", "codebook 0 (semantic)"), ("mimi", "codebook 7 (acoustic)"),
        ("speechtokenizer", "none"), ("speechtokenizer", "codebook 0 (semantic)"), ("speechtokenizer", "codebook 7 (acoustic)")]
    assert all(r["pesq"] is None or 1.0 <= r["pesq"] <= 4.7 for r in exp.table)
    assert exp.conclusion.count("Randomizing codebook 0 cost") == 2


def test_exercises_pick_their_codecs():
    from explorer.core.errors import CodecError
    from explorer.services.experiments import codecs_for

    assert codecs_for("exercise-medium", "rvq-lab", ["rvq-lab", "encodec-24khz"]) == ["encodec-24khz"]
    assert codecs_for("exercise-medium", "rvq-lab", ["rvq-lab"]) == ["rvq-lab"]
    assert codecs_for("exercise-hard", "rvq-lab", ["rvq-lab", "speechtokenizer"]) == ["speechtokenizer"]
    assert codecs_for("ladder", "mimi", ["rvq-lab", "mimi"]) == ["mimi"]
    with pytest.raises(CodecError, match="Mimi's or SpeechTokenizer's weights"):
        codecs_for("exercise-hard", "rvq-lab", ["rvq-lab"])
