"""The command line end to end, in a subprocess, as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import tone_clip
from explorer.core.audio import load_audio, save_audio


def run(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    p = subprocess.run([sys.executable, "-m", "explorer", *args], capture_output=True, text=True, env=os.environ.copy(), timeout=600)
    if ok:
        assert p.returncode == 0, p.stderr
    return p


@pytest.fixture(scope="module")
def wav(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "in.wav"
    save_audio(path, tone_clip(1.5, 44100, channels=2))
    return path


def test_codecs_table_and_json(loaded):
    loaded("mimi")
    rows = {r["name"]: r for r in json.loads(run("codecs", "--json").stdout)}
    assert list(rows) == ["rvq-lab", "encodec-24khz", "encodec-48khz", "dac-44khz", "dac-24khz", "dac-16khz",
                          "snac-24khz", "snac-32khz", "snac-44khz", "mimi", "speechtokenizer", "opus"]
    assert rows["mimi"]["semantic_codebooks"] == [0] and rows["mimi"]["weights_local"] is True
    assert rows["snac-24khz"]["frame_rates"] == pytest.approx([46.875, 23.4375, 11.71875])
    assert rows["encodec-48khz"]["channels"] == 2 and rows["dac-24khz"]["codebooks_max"] == 32
    table = run("codecs").stdout
    assert "rvq-lab" in table and "built in" in table
    assert rows["encodec-24khz"]["licence"] == "CC-BY-NC 4.0 (weights; code MIT)" and "CC-BY 4.0 (weights; code MIT)" in table


def test_encode_decode_with_edits(tmp_path, wav, loaded):
    loaded("encodec-24khz")
    tokens = tmp_path / "t.npz"
    out = run("encode", str(wav), "-c", "encodec-24khz", "-n", "8", "-o", str(tokens))
    assert "8 codebooks" in out.stdout and "mixed 2 channels down to mono" in out.stderr
    plain, muted = tmp_path / "plain.wav", tmp_path / "muted.wav"
    run("decode", str(tokens), "-o", str(plain))
    run("decode", str(tokens), "--mute", "0,3", "-o", str(muted))
    a, b = load_audio(plain), load_audio(muted)
    assert a.sample_rate == 44100 and a.frames == load_audio(wav).frames
    assert np.abs(a.samples - b.samples).max() > 1e-3


def test_roundtrip_prints_metrics(tmp_path, wav):
    out = tmp_path / "rt.wav"
    p = run("roundtrip", str(wav), "-c", "rvq-lab", "--keep", "8", "-o", str(out), "--json")
    result = json.loads(p.stdout)
    assert result["codec"] == "rvq-lab" and result["edits"]["keep"] == 8
    assert set(result["metrics"]) == {"si_sdr", "mel_distance", "stoi", "delay_samples", "pesq", "pesq_nb", "visqol", "visqol_mode"}
    assert result["metrics"]["pesq"] is None and "pesq: n/a (PESQ is defined for speech" in " ".join(result["notes"])  # a chord
    assert len(result["per_codebook"]) == 32 and result["per_codebook"][0]["role"].startswith("envelope")
    assert out.exists()
    text = run("roundtrip", str(wav), "-c", "rvq-lab").stdout
    assert "SI-SDR" in text and "STOI" in text


@pytest.mark.parametrize("args, expect", [
    (["roundtrip", "/nonexistent.wav"], "No file at"),
    (["roundtrip", "{wav}", "-c", "nope"], "Unknown codec 'nope'"),
    (["roundtrip", "{wav}", "--mute", "40"], "Codebook 40 does not exist"),
    (["roundtrip", "{wav}", "-c", "dac-44khz"], "dac-44khz: weights are not on this computer"),
    (["encode", "{wav}", "-n", "99", "-o", "x.npz"], "1 to 32 codebooks"),
    (["decode", "{wav}", "-o", "x.wav"], "not a readable token file"),
])
def test_user_mistakes_are_one_line_errors(wav, args, expect):
    p = run(*[a.format(wav=wav) for a in args], ok=False)
    assert p.returncode == 2
    assert expect in p.stderr
    assert "Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) == 1
