"""Trusting what a clip says about itself and what an export says to other tools (issue 13, items 4 and 5).

A file cut short says so ("the file ends early: its header promises 6.76 s, 0.11 s are there") in the
loader, the command line (text and ``--json``) and the window; no ``--json`` output holds NaN or
Infinity; reconstructions are written as 24-bit PCM unless 32-bit float is asked for, and ``soxi``
reads the 24-bit ones without a warning.
"""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from conftest import shows_nan, tone_clip
from explorer.core.audio import FLOAT, Clip, declared_frames, load_audio, save_audio
from explorer.core.errors import AudioError
from explorer.core.resources import resource

RATE = 24000
LONG = 6.76
PROMISE = "the file ends early: its header promises 6.76 s, 0.11 s are there"


def signal(seconds: float = LONG, rate: int = RATE) -> np.ndarray:
    t = np.arange(int(round(seconds * rate))) / rate
    return (0.3 * np.sin(2 * np.pi * 220 * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))).astype(np.float32)


def cut_after(path: Path, seconds: float, frame_bytes: int) -> Path:
    """Keep the header and ``seconds`` of the data of a file whose data chunk comes last (as libsndfile writes)."""
    raw = path.read_bytes()
    frames = sf.info(str(path)).frames
    data_at = len(raw) - frames * frame_bytes
    path.write_bytes(raw[: data_at + int(round(seconds * RATE)) * frame_bytes])
    return path


def truncated_wav(folder: Path, name: str = "truncated.wav", **kw) -> Path:
    path = folder / name
    sf.write(str(path), signal(), RATE, **({"subtype": "PCM_16"} | kw))
    return cut_after(path, 0.11, 2 if kw.get("subtype", "PCM_16") == "PCM_16" else 4)


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "explorer", *args], capture_output=True, text=True, timeout=300)


def strict_json(text: str):
    """Parse ``text`` as strict JSON: NaN, Infinity and -Infinity fail the test."""
    def constant(name: str):
        raise AssertionError(f"{name} in JSON output")
    return json.loads(text, parse_constant=constant)


# ------------------------------------------------------------------ 4. files cut short
@pytest.mark.parametrize("fmt, subtype, endian, frame_bytes", [
    ("WAV", "PCM_16", "FILE", 2), ("WAV", "FLOAT", "FILE", 4), ("WAV", "PCM_16", "BIG", 2),
    ("WAVEX", "PCM_16", "FILE", 2), ("RF64", "PCM_16", "FILE", 2), ("WAV", "ULAW", "FILE", 1),
    ("AIFF", "PCM_16", "FILE", 2), ("AIFF", "FLOAT", "FILE", 4),
], ids=["WAV 16-bit", "WAV float", "RIFX", "WAVEX", "RF64", "WAV mu-law", "AIFF 16-bit", "AIFF float"])
def test_a_file_cut_short_says_how_long_it_promised_and_how_much_is_there(tmp_path, fmt, subtype, endian, frame_bytes):
    path = tmp_path / ("x.aiff" if fmt == "AIFF" else "x.wav")
    sf.write(str(path), signal(), RATE, format=fmt, subtype=subtype, endian=endian)
    assert load_audio(path).notes == ()  # whole, it says nothing
    cut_after(path, 0.11, frame_bytes)
    assert sf.info(str(path)).frames == int(0.11 * RATE)  # libsndfile itself only sees a short file
    clip = load_audio(path)
    assert clip.frames == int(0.11 * RATE) and clip.notes == (PROMISE,)


def test_a_flac_cut_short_keeps_what_decodes_before_the_cut_and_says_so(tmp_path):
    """libsndfile raises mid-read on a cut FLAC (losing the block it was reading); the blocks before the
    cut are kept, sample for sample."""
    path = tmp_path / "x.flac"
    x = signal()
    sf.write(str(path), x, RATE, subtype="PCM_24")
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    with sf.SoundFile(str(path)) as f, pytest.raises(sf.LibsndfileError):
        f.read()
    clip = load_audio(path)
    assert clip.notes[0].startswith("the file ends early: its header promises 6.76 s, ")
    assert 1.0 < clip.duration < 4.0 and f"{clip.duration:.2f} s are there" in clip.notes[0]
    assert np.allclose(clip.samples[0], x[: clip.frames], atol=1e-6)


def test_a_file_cut_before_its_audio_and_an_empty_file_say_so(tmp_path):
    header_only = truncated_wav(tmp_path)
    header_only.write_bytes(header_only.read_bytes()[:44])
    with pytest.raises(AudioError, match=r"ends before its audio begins: its header promises 6\.76 s"):
        load_audio(header_only)
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(AudioError, match="is empty") as caught:
        load_audio(empty)
    assert "corrupt" not in str(caught.value) and "unsupported" not in str(caught.value)


def test_a_header_without_a_length_is_not_called_short(tmp_path):
    """Writers to a pipe cannot fill in the length: sox leaves 0x7ffff000, others 0xffffffff."""
    path = tmp_path / "x.wav"
    sf.write(str(path), signal(1.0), RATE, subtype="PCM_16")
    raw = bytearray(path.read_bytes())
    data_at = raw.index(b"data")
    for placeholder in (0x7FFF_F000, 0xFFFF_FFFF):
        raw[data_at + 4: data_at + 8] = struct.pack("<I", placeholder)
        path.write_bytes(bytes(raw))
        assert declared_frames(bytes(raw)) is None
        assert load_audio(path).frames == RATE and load_audio(path).notes == ()
    if shutil.which("sox"):
        piped = subprocess.run("sox -n -r 24000 -b 16 -t wav - synth 1 sine 440 vol 0.5", shell=True, capture_output=True, check=True)
        path.write_bytes(piped.stdout)
        assert load_audio(path).notes == ()


def test_compressed_wavs_whole_are_not_called_short(tmp_path):
    """ADPCM and GSM blocks hold many frames: their length comes from the 'fact' chunk, not the data size."""
    for subtype in ("IMA_ADPCM", "MS_ADPCM", "GSM610"):
        path = tmp_path / f"{subtype}.wav"
        sf.write(str(path), signal(1.0), RATE, subtype=subtype)
        assert load_audio(path).notes == (), subtype
    assert declared_frames(b"OggS" + bytes(60)) is None and declared_frames(b"") is None


def test_roundtrip_of_a_truncated_wav_prints_the_note_and_succeeds(tmp_path):
    path = truncated_wav(tmp_path)
    p = cli("roundtrip", str(path), "-c", "rvq-lab")
    assert p.returncode == 0, p.stderr
    assert PROMISE in p.stdout and "STOI n/a" in p.stdout
    assert not re.search(r"\bnan\b", p.stdout + p.stderr, re.IGNORECASE), p.stdout
    result = strict_json(cli("roundtrip", str(path), "-c", "rvq-lab", "--json").stdout)
    assert PROMISE in result["notes"] and result["input"]["seconds"] == 0.11


def broken_inputs(folder: Path) -> dict[str, Path]:
    """Truncated, very short, silent and clipped clips: the inputs most likely to give NaN."""
    paths = {"truncated": truncated_wav(folder)}
    for name, x in {"very short": signal(0.004), "silent": np.zeros(RATE, np.float32),
                    "clipped": np.clip(signal(1.0) * 8, -1, 1)}.items():
        paths[name] = folder / f"{name.replace(' ', '-')}.wav"
        sf.write(str(paths[name]), x, RATE, subtype="PCM_16")
    return paths


def test_no_json_output_holds_nan_or_infinity(tmp_path):
    clips = {p.name: p for p in sorted(Path(resource("clips", "speech_en.wav")).parent.glob("*.wav"))}
    assert len(clips) >= 3
    runs = {name: ["roundtrip", str(path), "-c", "rvq-lab", "--json"] for name, path in {**clips, **broken_inputs(tmp_path)}.items()}
    runs["codecs"] = ["codecs", "--json"]
    with ThreadPoolExecutor(4) as pool:
        done = dict(zip(runs, pool.map(lambda args: cli(*args), runs.values())))
    for name, p in done.items():
        assert p.returncode == 0, (name, p.stderr)
        result = strict_json(p.stdout)
        assert not re.search(r"\b(nan|inf|infinity)\b", p.stdout, re.IGNORECASE), (name, p.stdout)
        if name != "codecs":
            assert set(result["metrics"]) >= {"si_sdr", "stoi", "mel_distance"}, name
    silent = strict_json(done["silent"].stdout)
    assert silent["metrics"]["si_sdr"] is None and any("n/a" in n for n in silent["notes"])
    assert any("clipped" in n for n in strict_json(done["clipped"].stdout)["notes"])
    assert strict_json(done["very short"].stdout)["metrics"]["stoi"] is None


# ------------------------------------------------------------------ 5. what exports say to other tools
def soxi_warnings(path: Path) -> str:
    p = subprocess.run(["soxi", str(path)], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    return "\n".join(line for line in (p.stdout + p.stderr).splitlines() if "WARN" in line)


@pytest.mark.skipif(shutil.which("soxi") is None, reason="soxi (sox) is not installed")
def test_wav_exports_are_24_bit_pcm_that_soxi_reads_cleanly_and_float_on_request(tmp_path):
    clip = tone_clip(0.5, RATE)
    save_audio(tmp_path / "pcm.wav", clip)
    assert sf.info(str(tmp_path / "pcm.wav")).subtype == "PCM_24"
    assert soxi_warnings(tmp_path / "pcm.wav") == ""
    save_audio(tmp_path / "float.wav", clip, FLOAT)
    assert sf.info(str(tmp_path / "float.wav")).subtype == "FLOAT"
    assert soxi_warnings(tmp_path / "float.wav") != ""  # what the default avoids: sox's complaint about the float header
    assert np.array_equal(load_audio(tmp_path / "float.wav").samples, clip.samples)
    assert np.abs(load_audio(tmp_path / "pcm.wav").samples - clip.samples).max() <= 2 ** -23


def test_peaks_over_full_scale_are_limited_in_pcm_with_a_note_and_kept_in_float(tmp_path):
    loud = Clip(np.array([[0.0, 1.7, -2.0, 0.5]], np.float32), RATE)
    assert save_audio(tmp_path / "pcm.wav", loud) == ("limited peaks of 2.00 to full scale for WAV (PCM_24)",)
    assert np.abs(load_audio(tmp_path / "pcm.wav").samples).max() <= 1.0
    assert save_audio(tmp_path / "float.wav", loud, FLOAT) == ()
    assert load_audio(tmp_path / "float.wav").samples[0, 2] == -2.0
    with pytest.raises(AudioError, match="32 bit float samples to a .flac file.*one of .wav"):
        save_audio(tmp_path / "x.flac", loud, FLOAT)
    assert not (tmp_path / "x.flac").exists()


def test_the_cli_writes_24_bit_by_default_and_float_with_a_flag(tmp_path):
    wav = tmp_path / "in.wav"
    save_audio(wav, tone_clip(1.0, RATE))
    assert cli("roundtrip", str(wav), "-c", "rvq-lab", "-o", str(tmp_path / "pcm.wav")).returncode == 0
    assert cli("roundtrip", str(wav), "-c", "rvq-lab", "--float", "-o", str(tmp_path / "float.wav")).returncode == 0
    assert sf.info(str(tmp_path / "pcm.wav")).subtype == "PCM_24" and sf.info(str(tmp_path / "float.wav")).subtype == "FLOAT"
    tokens = tmp_path / "t.npz"
    assert cli("encode", str(wav), "-c", "rvq-lab", "-o", str(tokens)).returncode == 0
    assert cli("decode", str(tokens), "--float", "-o", str(tmp_path / "d.wav")).returncode == 0
    assert sf.info(str(tmp_path / "d.wav")).subtype == "FLOAT"
    p = cli("roundtrip", str(wav), "-c", "rvq-lab", "--float", "-o", str(tmp_path / "x.flac"))
    assert p.returncode == 2 and p.stderr.startswith("codec-explorer: error: Cannot write 32 bit float samples to a .flac file")
    assert not (tmp_path / "x.flac").exists()


# ------------------------------------------------------------------ the window
def test_the_window_says_a_file_ends_early_and_exports_what_the_dialog_chose(qtbot, tmp_path, monkeypatch):
    pytest.importorskip("pytestqt")
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QFileDialog

    from explorer.ui.exports import AUDIO_FILTERS
    from explorer.ui.window import MainWindow

    w = MainWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat), welcome=False, headless=True)
    qtbot.addWidget(w)
    said: list[str] = []
    w.statusBar().messageChanged.connect(said.append)
    with qtbot.waitSignal(w.reconstruction_ready, timeout=120_000):
        w.open_file(truncated_wav(tmp_path))
    assert any(PROMISE in m for m in said), said
    assert not shows_nan(w.metrics.text()) and "STOI n/a" in w.metrics.text(), w.metrics.text()
    for (name, chosen), subtype in zip([("a.wav", "WAV 24-bit (*.wav)"), ("b.wav", "WAV 32-bit float (*.wav)"),
                                        ("c.flac", "FLAC 24-bit (*.flac)"), ("d.flac", "WAV 32-bit float (*.wav)")],
                                       ["PCM_24", "FLOAT", "PCM_24", "PCM_24"]):
        assert chosen in AUDIO_FILTERS
        monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, _n=name, _c=chosen: (str(tmp_path / _n), _c)))
        w.exports.export_wav()
        assert sf.info(str(tmp_path / name)).subtype == subtype, name
    assert f"Saved {tmp_path / 'd.flac'}" in said[-1]
