"""``check-weights``: its logic on rvq-lab, the published floors failing on random weights, its download
through the real code path from a local server laid out like the hub, and its one line when it cannot download.

The session runs offline (conftest.py) with random-weight checkpoints in the packages' caches, so the
in-process tests also show that cached weights are checked without a download. The download and the
offline refusal run ``codec-explorer`` in a child process whose hub is a local server or a closed port.
"""

from __future__ import annotations

import hashlib
import json
import re
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import random_weights
from test_downloads import ROOT, Server, child_env

from explorer.cli import build_parser
from explorer.codecs import mimi_codec
from explorer.codecs.weights import locate
from explorer.core.audio import Clip, load_audio, save_audio
from explorer.core.errors import CodecError, WeightsError
from explorer.core.resources import resource
from explorer.services import weight_check
from explorer.services.weight_check import (CHECKED_CODECS, CHECKS, PESQ_MARGIN, Contrast, Floor, cannot_fetch,
                                            check_weights)

RVQ_LAB = (
    Floor("rvq-lab", 8, 2.0),  # rvq-lab measures about 1.9
    Floor("rvq-lab", 8, 4.0),
    Floor("rvq-lab", 32, 0.95, metric="stoi", margin=0.05),  # about 0.99
    Contrast("rvq-lab", 8),  # drops about 0.65 vs 0.05
    Contrast("rvq-lab", 8, first=7, second=0),
    Contrast("rvq-lab", 4),  # there is no codebook 7 among 4
)


@pytest.fixture(scope="module")
def short_speech(tmp_path_factory) -> Path:
    """The first 3 s of the bundled speech: enough for PESQ and STOI, half the work."""
    clip = load_audio(resource("clips", "speech_en.wav"))
    path = tmp_path_factory.mktemp("clips") / "speech_3s.wav"
    save_audio(path, Clip(clip.samples[:, : 3 * clip.sample_rate], clip.sample_rate))
    return path


def text(report: weight_check.Report) -> str:
    out = "\n".join(report.lines())
    assert not re.search(r"\bnan\b", out, re.IGNORECASE)
    json.dumps(report.to_dict(), allow_nan=False)  # strict JSON: every number finite or None
    return out


def test_the_table_holds_the_published_figures_less_the_margin():
    floors = {(c.codec, c.codebooks): (c.published, c.floor) for c in CHECKS if isinstance(c, Floor)}
    assert floors == {("encodec-24khz", 8): (2.77, 2.27), ("dac-16khz", 12): (4.01, 3.51), ("mimi", 8): (2.25, 1.75)}
    assert all(c.metric == "pesq" and c.margin == PESQ_MARGIN == 0.5 and c.edits.is_identity
               for c in CHECKS if isinstance(c, Floor))
    contrasts = [(c.codec, c.codebooks, c.first, c.second, c.factor, c.min_drop) for c in CHECKS if isinstance(c, Contrast)]
    assert contrasts == [("mimi", 8, 0, 7, 2.0, 0.1), ("speechtokenizer", 8, 0, 7, 2.0, 0.1)]
    assert CHECKED_CODECS == ("encodec-24khz", "dac-16khz", "mimi", "speechtokenizer")


def test_the_logic_on_rvq_lab(short_speech):
    report = check_weights(["rvq-lab"], "cpu", short_speech, checks=RVQ_LAB)
    assert [o.passed for o in report.outcomes] == [True, False, True, True, False, False]
    assert [(f.codec, f.state) for f in report.fetched] == [("rvq-lab", "built in")]
    assert report.exit_code == 1 and report.failed == 3
    first, _, stoi, contrast, _, missing = report.outcomes
    assert 1.5 <= first.values["pesq"] < 3.5 and first.measured == f"{first.values['pesq']:.2f}"
    assert first.required == "≥ 1.50 (published 2.00 − 0.5)" and stoi.required == "≥ 0.90 (published 0.95 − 0.05)"
    assert contrast.values["drop_0"] > 2 * contrast.values["drop_7"] and contrast.required == "drop 0 ≥ 0.10 and > 2 × drop 7"
    assert missing.measured == "n/a" and missing.why == "Codebook 7 does not exist: this encoding has codebooks 0 to 3."
    out = text(report)
    assert "rvq-lab  PESQ wide band, 8 codebooks (6 kbps)" in out and out.count("PASS") == 3 and out.count("FAIL") == 3
    assert "\n    Codebook 7 does not exist" in out
    assert out.splitlines()[-1].startswith("summary: 3 of 6 checks passed, 3 failed")
    statuses = [c["status"] for c in report.to_dict()["checks"]]
    assert statuses == ["PASS", "FAIL", "PASS", "PASS", "FAIL", "FAIL"]

    passing = check_weights(["rvq-lab"], "cpu", short_speech, checks=(RVQ_LAB[0], RVQ_LAB[3]))
    assert passing.exit_code == 0 and passing.lines()[-1] == "summary: all 2 checks passed: these weights behave as published."


def test_what_cannot_be_measured_is_na_with_its_reason(tmp_path):
    silent = tmp_path / "silent.wav"
    save_audio(silent, Clip(np.zeros((1, 48_000), np.float32), 24_000))
    report = check_weights(["rvq-lab"], "cpu", silent, checks=(RVQ_LAB[0], RVQ_LAB[3]))
    assert [(o.measured, o.passed) for o in report.outcomes] == [("n/a", False), ("n/a", False)]
    assert report.outcomes[0].why == "the original is silent: PESQ needs speech to compare"
    assert report.outcomes[1].why.startswith("STOI of the unedited round trip: ")
    assert report.to_dict()["checks"][0]["values"] == {"pesq": None}
    text(report)


def test_weights_that_do_not_load_fail_every_check_of_their_codec(short_speech, monkeypatch):
    def broken(*args: object, **kwargs: object) -> None:
        raise WeightsError("rvq-lab: 'codebooks.npz' is not a usable checkpoint.")

    monkeypatch.setattr(weight_check, "load_codec", broken)
    report = check_weights(["rvq-lab"], "cpu", short_speech, checks=RVQ_LAB[:2])
    why = "the weights could not be loaded: rvq-lab: 'codebooks.npz' is not a usable checkpoint."
    assert [(f.state, f.detail) for f in report.fetched] == [("failed", why)]
    assert [(o.measured, o.passed, o.why) for o in report.outcomes] == [("n/a", False, why)] * 2
    assert report.exit_code == 1


def test_a_codec_without_checks_is_a_usage_error():
    with pytest.raises(CodecError, match="check-weights has no check for snac-24khz; it checks encodec-24khz, dac-16khz, mimi and speechtokenizer"):
        check_weights(["snac-24khz"])
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(["check-weights", "-c", "rvq-lab"])
    assert exit_.value.code == 2


def test_random_weights_fail_every_published_check(short_speech):
    """Cached (random) weights are checked without a download, offline; the report says they are not the published ones."""
    for name in CHECKED_CODECS:
        random_weights.ensure(name)
    report = check_weights(None, "cpu", short_speech)
    assert [(f.codec, f.state) for f in report.fetched] == [(name, "cached") for name in CHECKED_CODECS]
    assert [(o.codec, o.passed) for o in report.outcomes] == [(c.codec, False) for c in CHECKS]
    for check, outcome in zip(CHECKS, report.outcomes):
        if isinstance(check, Floor):  # far below the floor, not near it
            assert outcome.values["pesq"] is not None and outcome.values["pesq"] < check.floor - 0.4, outcome
    assert report.exit_code == 1
    out = text(report)
    assert out.splitlines()[-1].startswith("summary: 0 of 5 checks passed, 5 failed: those weights do not behave as published")
    assert "PESQ floors: the published figure less 0.5" in out


def test_the_command_prints_a_row_per_check_and_exits_1_when_one_fails():
    random_weights.ensure("encodec-24khz")
    p = subprocess.run([sys.executable, "-m", "explorer", "check-weights", "-c", "encodec-24khz", "--device", "cpu"],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 1, p.stderr[-3000:]
    lines = p.stdout.splitlines()
    assert lines[0] == "check-weights on speech_en.wav (6.4 s), cpu" and lines[1].startswith("  encodec-24khz: cached (")
    assert lines[2].split() == ["codec", "check", "measured", "required", "result"]
    assert lines[3].startswith("encodec-24khz  PESQ wide band, 8 codebooks (6 kbps)") and lines[3].endswith("FAIL")
    assert "≥ 2.27 (published 2.77 − 0.5)" in lines[3]
    assert lines[-1].startswith("summary: 0 of 1 checks passed, 1 failed")


def test_missing_weights_are_downloaded_from_the_hub_then_checked(tmp_path):
    random_weights.ensure("mimi")
    from safetensors.torch import load_file, save

    spec = mimi_codec.weights_spec()
    state = load_file(str((locate(spec) or [])[0]))
    data = save({k: v.to(torch.bfloat16) if v.is_floating_point() else v for k, v in state.items()})  # bf16, as published
    del state
    server = Server()
    try:
        server.add_repo(spec.repo or "", mimi_codec.REVISION, {spec.files[0]: data})
        p = subprocess.run([sys.executable, "-m", "explorer", "check-weights", "-c", "mimi", "--device", "cpu", "--json"],
                           capture_output=True, text=True, env=child_env(tmp_path, server.url), cwd=ROOT, timeout=600)
    finally:
        server.close()
    assert p.returncode == 1, p.stderr[-3000:]
    report = json.loads(p.stdout)
    snapshot = tmp_path / "hf" / "hub" / "models--kyutai--moshiko-pytorch-bf16" / "snapshots" / mimi_codec.REVISION
    assert report["weights"] == [{"codec": "mimi", "state": "downloaded", "detail": str(snapshot / spec.files[0]),
                                  "weights": {"file": spec.files[0], "sha256": hashlib.sha256(data).hexdigest()}}]
    assert (snapshot / spec.files[0]).read_bytes() == data
    assert server.gets(spec.files[0]) and all(f"/resolve/{mimi_codec.REVISION}/" in path for _, path, _ in server.log)
    assert [(c["check"], c["status"]) for c in report["checks"]] == [
        ("PESQ wide band, 8 codebooks (1.1 kbps)", "FAIL"), ("STOI drop, codebook 0 vs 7 randomized (8 codebooks)", "FAIL")]
    assert report["checks"][0]["values"]["pesq"] < 1.5 and report["exit_code"] == 1 and report["failed"] == 2


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_offline_it_says_in_one_line_that_it_cannot_run(tmp_path):
    p = subprocess.run([sys.executable, "-m", "explorer", "check-weights", "-c", "mimi"], capture_output=True, text=True,
                       env=child_env(tmp_path, f"http://127.0.0.1:{closed_port()}"), cwd=ROOT, timeout=120)
    assert (p.returncode, p.stdout) == (1, "")
    assert p.stderr == ("codec-explorer: check-weights cannot run: the weights of mimi are not on this computer and "
                        "127.0.0.1 cannot be reached (ConnectionRefusedError); run it where there is internet, before the class.\n")

    p = subprocess.run([sys.executable, "-m", "explorer", "check-weights", "--json"], capture_output=True, text=True,
                       env=child_env(tmp_path, "https://huggingface.co", CODEC_EXPLORER_OFFLINE="1"), cwd=ROOT, timeout=120)
    assert (p.returncode, p.stderr) == (1, "")
    assert json.loads(p.stdout) == {"ran": False, "exit_code": 1, "reason": (
        "check-weights cannot run: the weights of encodec-24khz, dac-16khz, mimi and speechtokenizer are not on this "
        "computer and downloads are switched off (CODEC_EXPLORER_OFFLINE=1); run it where there is internet, before the class.")}


def test_offline_it_names_the_weights_that_are_here(monkeypatch):
    monkeypatch.setattr(weight_check, "locate", lambda spec: None if spec.codec == "mimi" else [Path("here")])
    assert cannot_fetch(["encodec-24khz", "mimi", "speechtokenizer"]) == (
        "check-weights cannot run: the weights of mimi are not on this computer and downloads are switched off "
        "(CODEC_EXPLORER_OFFLINE=1); run it where there is internet, before the class (encodec-24khz and "
        "speechtokenizer are here: -c NAME checks one alone).")
    report = check_weights(["mimi"])
    assert report.exit_code == 1 and report.outcomes == () and report.to_dict()["ran"] is False
    assert cannot_fetch(["encodec-24khz"]) == ""
