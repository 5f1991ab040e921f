"""Every export carries one provenance record (explorer/core/provenance.py), written by the real code paths:
token files, audio sidecars, comparison CSV and HTML, experiment tables and narrations, ``roundtrip
--json``, live takes and the window's exports."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import platform
import re
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

import numpy as np

import explorer
from explorer.cli import main
from explorer.core.audio import Clip, load_audio
from explorer.core.edits import Edits
from explorer.core.provenance import CodecRun, provenance, sidecar_path, write_sidecar
from explorer.core.tokens import load_tokens, save_tokens

KEYS = ["provenance_version", "app", "app_version", "written_utc", "python", "platform", "packages", "codecs", "edits", "seeds"]
EDITS = Edits(mute=frozenset({3}), randomize=frozenset({5}), seed=1234)
EDIT_FLAGS = ["--mute", "3", "--randomize", "5", "--seed", "1234"]


def check(record, engines, edits, package=None):
    """``record`` names ``engines`` (their weights' sha256 as each codec says), ``edits`` in order, their seeds,
    the versions importlib.metadata gives, and a UTC time of just now."""
    assert list(record) == KEYS
    assert json.loads(json.dumps(record, allow_nan=False)) == record
    assert record["app"] == "codec-explorer" and record["app_version"] == explorer.__version__
    assert record["python"] == platform.python_version() and record["platform"] == platform.platform()
    expected = {"numpy": metadata.version("numpy"), "torch": metadata.version("torch")}
    if package:
        expected[package] = metadata.version(package)
    assert record["packages"] == expected
    assert [c["name"] for c in record["codecs"]] == [e.info.name for e in engines]
    for run, engine in zip(record["codecs"], engines):
        assert run["weights"] == dict(engine.codec.weights_id)
        assert re.fullmatch(r"[0-9a-f]{64}", run["weights"]["sha256"])
        assert run["device"] == "cpu" and run["dtype"] == "float32" and run["package"] == package
    assert record["edits"] == [e.to_dict() for e in edits]
    assert record["seeds"] == sorted({e.seed for e in edits})
    written = datetime.fromisoformat(record["written_utc"])
    assert written.utcoffset() is not None and written.utcoffset().total_seconds() == 0
    assert abs((datetime.now(timezone.utc) - written).total_seconds()) < 600


def sidecar(path: Path) -> dict:
    side = sidecar_path(path)
    assert side.name == path.name + ".provenance.json"
    return json.loads(side.read_text(encoding="utf-8"))


def cli(*args: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(list(args)) == 0
    return out.getvalue()



def test_the_record_is_plain_json_in_a_fixed_order_and_repeats_are_listed_once():
    run = CodecRun("rvq-lab", None, {"file": "codebooks.npz", "sha256": "0" * 64}, "cpu", "float32")
    when = datetime(2024, 5, 6, 7, 8, 9, tzinfo=timezone.utc)
    record = provenance([run, run], [Edits(), EDITS, Edits()], when)
    assert list(record) == KEYS and record["written_utc"] == "2024-05-06T07:08:09+00:00"
    assert record["codecs"] == [run.to_dict()] and record["edits"] == [Edits().to_dict(), EDITS.to_dict()]
    assert record["seeds"] == [0, 1234]
    assert json.dumps(record) == json.dumps(provenance([run], [Edits(), EDITS], when))  # the same text every time


def test_a_device_output_gets_no_sidecar(tmp_path):
    assert write_sidecar("/dev/null", {"a": 1}) is None
    assert write_sidecar(tmp_path / "x.wav", {"a": 1}) == tmp_path / "x.wav.provenance.json"


def test_encode_writes_the_provenance_into_the_token_file_and_decode_beside_the_audio(loaded, speech_wav, tmp_path):
    engine = loaded("rvq-lab")
    tokens, out = tmp_path / "t.npz", tmp_path / "out.flac"
    cli("encode", str(speech_wav), "-c", "rvq-lab", "-o", str(tokens))
    codes, meta = load_tokens(tokens)
    check(meta["provenance"], [engine], [Edits()])
    assert meta["provenance"]["codecs"][0]["weights"] == meta["weights"]

    cli("decode", str(tokens), *EDIT_FLAGS, "-o", str(out))
    check(sidecar(out), [engine], [EDITS])
    assert load_audio(out).frames == load_audio(speech_wav).frames


def test_a_token_file_from_before_provenance_still_loads_and_decodes(loaded, speech, tmp_path):
    engine = loaded("rvq-lab")
    enc = engine.encode(speech)
    old = {k: v for k, v in enc.meta().items() if k != "provenance"}
    save_tokens(tmp_path / "old.npz", enc.codes, old)
    codes, meta = load_tokens(tmp_path / "old.npz")
    assert "provenance" not in meta
    cli("decode", str(tmp_path / "old.npz"), "-o", str(tmp_path / "old.wav"))
    check(sidecar(tmp_path / "old.wav"), [engine], [Edits()])


def test_roundtrip_json_carries_the_same_record_as_its_audio_sidecar(loaded, speech_wav, tmp_path):
    out = tmp_path / "rt.wav"
    result = json.loads(cli("roundtrip", str(speech_wav), "-c", "rvq-lab", *EDIT_FLAGS, "-o", str(out), "--json", "--speech", "no"))
    check(result["provenance"], [loaded("rvq-lab")], [EDITS])
    assert result["provenance"] == sidecar(out)


def test_compare_writes_a_csv_sidecar_a_provenance_section_and_one_sidecar_per_wav(loaded, speech_wav, tmp_path):
    engine = loaded("rvq-lab")
    folder = tmp_path / "cmp"
    cli("compare", str(speech_wav), "-c", "rvq-lab", "-c", "rvq-lab@8", "-o", str(folder), "--speech", "no")
    record = sidecar(folder / "comparison.csv")
    check(record, [engine], [Edits()])  # one codec, compared at two codebook counts
    with open(folder / "comparison.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))  # still a plain table: the header first, one row per codec
    assert [r["codec"] for r in rows] == ["rvq-lab", "rvq-lab@8"]
    page = (folder / "report.html").read_text(encoding="utf-8")
    assert '<h2>Provenance</h2>' in page and record["codecs"][0]["weights"]["sha256"] in page
    assert f"numpy {metadata.version('numpy')}" in page and record["written_utc"] in page
    for wav in ("rvq-lab.wav", "rvq-lab-8.wav"):
        check(sidecar(folder / wav), [engine], [Edits()])


def test_the_windows_comparison_export_carries_the_record_in_csv_and_html(loaded, speech, tmp_path):
    from explorer.services.report import compare_and_draw, write_comparison
    from explorer.services.session import Engines

    engine = loaded("rvq-lab")
    comparison = compare_and_draw(Engines(), [("rvq-lab", 4)], "cpu", speech)
    written = write_comparison(tmp_path, "speech", speech, comparison)
    assert sidecar_path(tmp_path / "comparison.csv") in written
    record = sidecar(tmp_path / "comparison.csv")
    check(record, [engine], [Edits()])
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert record["written_utc"] in page and record["codecs"][0]["weights"]["sha256"] in page


def test_an_experiment_ends_its_narration_with_the_record_and_annotates_its_table_and_sounds(loaded, speech_wav, tmp_path):
    engine = loaded("rvq-lab")
    folder = tmp_path / "semantic"
    cli("experiment", "semantic", str(speech_wav), "-o", str(folder))
    steps = [Edits(), Edits(randomize=frozenset({0})), Edits(randomize=frozenset({31}))]
    record = sidecar(folder / "table.csv")
    check(record, [engine], steps)
    narration = (folder / "narration.txt").read_text(encoding="utf-8")
    block = narration[narration.index("\nProvenance\n"):]
    assert narration.startswith("Semantic vs acoustic") and block.count("\n  edits: ") == 3
    assert f"sha256 {record['codecs'][0]['weights']['sha256']}" in block and f"app: codec-explorer {explorer.__version__}" in block
    wavs = sorted(folder.glob("*.wav"))
    assert len(wavs) == 3
    for wav, edits in zip(wavs, steps):
        check(sidecar(wav), [engine], [edits])


def test_an_experiment_with_several_codecs_names_each(loaded, speech):
    from explorer.services.experiments import frame_rates

    engines = [loaded("rvq-lab"), loaded("encodec-24khz")]
    record = frame_rates(engines, Clip(speech.samples[:, : speech.sample_rate], speech.sample_rate)).provenance()
    assert [c["name"] for c in record["codecs"]] == ["rvq-lab", "encodec-24khz"]
    assert record["codecs"][1]["package"] == "encodec" and record["packages"]["encodec"] == metadata.version("encodec")
    assert record["codecs"][1]["weights"] == dict(engines[1].codec.weights_id) and record["edits"] == []


def test_a_token_file_of_a_packaged_codec_names_its_package(loaded, speech):
    engine = loaded("encodec-24khz")
    meta = engine.encode(speech).meta(EDITS)
    check(meta["provenance"], [engine], [EDITS], package="encodec")


def test_a_live_take_records_every_edit_it_ran_under(loaded, speech, tmp_path, monkeypatch):
    """The take's own path (LiveRun.start → TakeWriter → stop), with a ring buffer instead of a microphone."""
    from explorer.audio_io.capture import RingBuffer
    from explorer.core.errors import AudioError
    from explorer.services.live_run import LiveRun

    engine = loaded("rvq-lab")
    rate = engine.info.sample_rate
    run = LiveRun(engine, record=tmp_path / "take", monitor="off", edits=Edits(seed=5), max_backlog=60.0)

    def open_input(device=None):
        run.capture.rate, run.capture.ring = rate, RingBuffer(1, 10 * rate)

    def no_output(device=None):
        raise AudioError("no output device in this test")

    monkeypatch.setattr(run.capture, "open", open_input)
    monkeypatch.setattr(run.out, "open", no_output)
    run.start()
    take = tmp_path / "take"
    check(sidecar(take / "input.wav"), [engine], [Edits(seed=5)])  # on disk from the first moment
    for edits, part in ((None, speech.samples[:, : rate // 2]), (EDITS, speech.samples[:, rate // 2: rate])):
        if edits is not None:
            run.set_edits(edits)  # a change mid-take
        run.capture.ring.write(part.T)
        assert run.poll()
    run.stop()
    codes, meta = load_tokens(take / "tokens.npz")
    check(meta["provenance"], [engine], [Edits(seed=5), EDITS])
    assert Edits.from_dict(meta["edits"]) == EDITS
    for name in ("input.wav", "reconstruction.wav"):
        check(sidecar(take / name), [engine], [Edits(seed=5), EDITS])


def test_the_windows_audio_and_token_exports_carry_the_record(qtbot, window, speech_wav, tmp_path, loaded):
    engine = loaded("rvq-lab")
    with qtbot.waitSignal(window.reconstruction_ready, timeout=120_000):
        window.open_file(speech_wav)
    with qtbot.waitSignal(window.reconstruction_ready, timeout=120_000):
        window.model.set_edits(EDITS)
    assert window.decoded.edits == EDITS
    window.exports.export_wav(tmp_path / "out.wav")
    window.exports.export_tokens(tmp_path / "out.npz")
    check(sidecar(tmp_path / "out.wav"), [engine], [EDITS])
    codes, meta = load_tokens(tmp_path / "out.npz")
    check(meta["provenance"], [engine], [EDITS])
    assert np.array_equal(codes[0], engine.encode(load_audio(speech_wav)).codes[0])
