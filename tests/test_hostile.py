"""Hostile input, class by class (issue 11): each ends in a result or one line of ours, never a
traceback, a hang, a memory blow-up, a silent wrong result or a destroyed file.

The numbers in the test names' docstrings refer to the classes of the hardening issue. Checkpoints
(class 6) are in test_hostile_checkpoints.py, the session file (4) in test_session_file.py, the
window's cases (5, 8, 10) in test_hostile_window.py.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from conftest import shows_nan
import soundfile as sf

import memwatch
from explorer.core.audio import Clip, load_audio, save_audio
from explorer.core.errors import AudioError, CodecError
from explorer.core.tokens import load_tokens

RATE = 24000


def tone(path: Path, seconds: float = 1.0, rate: int = RATE, channels: int = 1) -> Path:
    t = np.arange(int(seconds * rate)) / rate
    x = np.stack([0.3 * np.sin(2 * np.pi * (220 + 30 * c) * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t)) for c in range(channels)], 1)
    sf.write(str(path), x.astype(np.float32), rate, subtype="FLOAT")
    return path


def cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "explorer", *args], capture_output=True, text=True, timeout=timeout)


def refused(p: subprocess.CompletedProcess[str] | memwatch.Watched, *words: str) -> None:
    """Exit 2 and exactly one line of ours on stderr, containing ``words``."""
    lines = [line for line in p.stderr.splitlines() if line.strip()]
    assert p.returncode == 2, p.stderr
    assert len(lines) == 1 and lines[0].startswith("codec-explorer: error:"), p.stderr
    for w in words:
        assert w in lines[0], lines[0]


@pytest.fixture(scope="module")
def clip_wav(tmp_path_factory) -> Path:
    return tone(tmp_path_factory.mktemp("clips") / "clip.wav")


@pytest.fixture(scope="module")
def tokens_npz(clip_wav, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("tokens") / "t.npz"
    assert cli("encode", str(clip_wav), "-c", "rvq-lab", "-o", str(out)).returncode == 0
    return out


# ------------------------------------------------------------------ 1. outputs
@pytest.mark.parametrize("command", [
    lambda w, t: ["encode", str(w), "-c", "rvq-lab", "-o", str(w)],
    lambda w, t: ["roundtrip", str(w), "-c", "rvq-lab", "-o", str(w)],
    lambda w, t: ["decode", str(t), "-o", str(t)],
    lambda w, t: ["roundtrip", str(w), "-c", "rvq-lab", "-o", str(w.with_name("link-to-clip.wav"))],
], ids=["encode x.wav -o x.wav", "roundtrip x.wav -o x.wav", "decode t.npz -o t.npz", "output is a link to the input"])
def test_an_output_that_is_the_input_is_refused_and_the_input_is_untouched(tmp_path, command):
    wav = tone(tmp_path / "x.wav")
    tokens = tmp_path / "t.npz"
    assert cli("encode", str(wav), "-c", "rvq-lab", "-o", str(tokens)).returncode == 0
    (tmp_path / "link-to-clip.wav").symlink_to(wav)
    before = wav.read_bytes(), tokens.read_bytes()
    p = cli(*command(wav, tokens))
    assert p.returncode == 2 and "input" in p.stderr, p.stderr
    assert (wav.read_bytes(), tokens.read_bytes()) == before
    assert (tmp_path / "link-to-clip.wav").is_symlink()


def test_a_character_device_is_written_in_place_never_replaced(tokens_npz):
    # /dev/null has no extension; the format comes from the extension, so write through a link to it
    link = tokens_npz.with_name("null.wav")
    link.unlink(missing_ok=True)
    link.symlink_to("/dev/null")
    p = cli("decode", str(tokens_npz), "-o", str(link))
    assert p.returncode == 0, p.stderr
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode) and link.is_symlink()


def test_a_link_is_followed_and_the_mode_kept(tmp_path, clip_wav):
    real = tmp_path / "real.wav"
    real.write_bytes(b"old")
    real.chmod(0o600)
    link = tmp_path / "link.wav"
    link.symlink_to(real)
    assert cli("roundtrip", str(clip_wav), "-c", "rvq-lab", "-o", str(link)).returncode == 0
    assert link.is_symlink() and load_audio(real).frames == load_audio(clip_wav).frames
    assert stat.S_IMODE(real.stat().st_mode) == 0o600


def test_a_fifo_output_needs_a_reader(tmp_path, tokens_npz):
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    p = cli("decode", str(tokens_npz), "-o", str(fifo), timeout=60)
    refused(p, "no program reading")
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(open(fifo, "rb").read()))
    reader.start()
    time.sleep(0.3)
    p = cli("decode", str(tokens_npz), "-o", str(fifo), timeout=60)
    reader.join(30)
    assert p.returncode == 0, p.stderr
    assert got and got[0][:4] == b"RIFF"


@pytest.mark.parametrize("target", ["folder", "missing/x.wav", "file/x.wav"])
def test_outputs_in_places_that_cannot_hold_them_are_refused(tmp_path, clip_wav, target):
    (tmp_path / "folder").mkdir()
    (tmp_path / "file").write_text("x")
    refused(cli("roundtrip", str(clip_wav), "-c", "rvq-lab", "-o", str(tmp_path / target)))


# ------------------------------------------------------------------ 9. formats
@pytest.mark.parametrize("ext", [".flac", ".ogg", ".aiff", ".wav", ".mp3"])
def test_every_advertised_audio_format_is_written_and_reads_back(tmp_path, tokens_npz, ext):
    out = tmp_path / f"out{ext}"
    p = cli("decode", str(tokens_npz), "-o", str(out))
    assert p.returncode == 0, p.stderr
    back = load_audio(out)
    assert back.sample_rate == RATE and abs(back.frames - RATE) < 2000


@pytest.mark.parametrize("ext", [".txt", ".mp4", ""])
def test_an_unknown_extension_is_refused_before_any_work(tmp_path, tokens_npz, ext):
    out = tmp_path / f"out{ext}"
    refused(cli("decode", str(tokens_npz), "-o", str(out)), "name the file with one of")
    assert not out.exists()


def test_pcm_outputs_limit_peaks_and_say_so(tmp_path):
    loud = Clip(np.array([[0.0, 1.7, -2.0, 0.5]], np.float32), 8000)
    notes = save_audio(tmp_path / "loud.flac", loud)
    assert notes and "limited peaks of 2.00" in notes[0]
    assert np.abs(load_audio(tmp_path / "loud.flac").samples).max() <= 1.0


# ------------------------------------------------------------------ 2. odd sample rates
@pytest.mark.parametrize("rate", [47999, 767957])
def test_odd_sample_rates_encode_in_bounded_memory(tmp_path, rate):
    wav = tone(tmp_path / f"odd{rate}.wav", seconds=3.7 if rate < 100000 else 2.0, rate=rate)
    baseline = memwatch.cli("codecs", bound_mb=4000).peak_mb
    w = memwatch.cli("encode", str(wav), "-c", "rvq-lab", "-o", str(tmp_path / "t.npz"), bound_mb=baseline + 1200, timeout_s=120)
    assert w.killed is None and w.returncode == 0, (w.killed, w.stderr)
    codes, meta = load_tokens(tmp_path / "t.npz")
    assert meta["input_sample_rate"] == rate


def test_resampling_ten_seconds_at_any_rate_takes_little_extra_memory():
    child = ("import numpy as np; from explorer.core.audio import resample, StreamResampler; import sys, resource\n"
             "rate = int(sys.argv[1]); x = np.zeros((1, 10 * rate), np.float32); x[0, ::97] = 1.0\n"
             "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
             "y = resample(x, rate, 24000)\n"
             "extra = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before\n"
             "print(y.shape[1], extra // 1024)")
    for rate in (1000, 44101, 47999, 767957):
        p = subprocess.run([sys.executable, "-c", child, str(rate)], capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr
        frames, extra_mb = map(int, p.stdout.split())
        assert frames == 240000 and extra_mb < 300, (rate, extra_mb)


# ------------------------------------------------------------------ 3. token files
def _tokens_with(path: Path, source: Path, meta_change=None, arrays=None) -> Path:
    with np.load(source) as data:
        entries = {k: data[k] for k in data.files}
    meta = json.loads(str(entries["meta"][()]))
    if meta_change is not None:
        meta = meta_change(meta)
    entries["meta"] = np.array(json.dumps(meta))
    if arrays is not None:
        entries = {"meta": entries["meta"], **arrays}
    np.savez(path, **entries)
    return path


def _set(key, value):
    def change(meta):
        meta[key] = value
        return meta
    return change


def _edits(key, value):
    def change(meta):
        meta["edits"][key] = value
        return meta
    return change


TOKEN_CASES = [
    ("num_samples 1e9 (a 4 GB WAV)", _set("num_samples", 10**9), "num_samples"),
    ("num_samples 1e13", _set("num_samples", 10**13), "num_samples"),
    ("input_sample_rate 1e9", _set("input_sample_rate", 10**9), "input_sample_rate"),
    ("input_sample_rate 1", _set("input_sample_rate", 1), "input_sample_rate"),
    ("codec_samples disagree", _set("codec_samples", 10**7), "disagrees"),
    ("meta is a list", lambda m: [1, 2], "JSON object"),
    ("meta is a string", lambda m: "abc", "JSON object"),
    ("meta is an int", lambda m: 7, "JSON object"),
    ("edits.keep 'abc'", _edits("keep", "abc"), "keep"),
    ("seed -3", _edits("seed", -3), "seed"),
    ("seed 'abc'", _edits("seed", "abc"), "seed"),
    ("start NaN", _edits("start", float("nan")), "start"),
    ("blocks empty", _set("blocks", []), "blocks"),
    ("codec missing", lambda m: {k: v for k, v in m.items() if k != "codec"}, "codec"),
    ("weights hash malformed", _set("weights", {"file": "x", "sha256": "zz"}), "weights"),
]


@pytest.mark.parametrize("name, change, words", TOKEN_CASES, ids=[c[0] for c in TOKEN_CASES])
def test_a_token_file_with_hostile_meta_is_refused_on_the_cli(tmp_path, tokens_npz, name, change, words):
    bad = _tokens_with(tmp_path / "bad.npz", tokens_npz, change)
    w = memwatch.cli("decode", str(bad), "-o", str(tmp_path / "out.wav"), bound_mb=3000, timeout_s=120)
    assert w.killed is None
    refused(w, words)
    assert not (tmp_path / "out.wav").exists()


def test_a_deflate_bomb_is_refused_without_unpacking_it(tmp_path, tokens_npz):
    bomb = tmp_path / "bomb.npz"
    with np.load(tokens_npz) as data:
        meta = data["meta"]
    n = 150_000_000  # 1.2 GB of int64 zeros that deflate to about 1 MB
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("meta.npy", "w") as f:
            np.lib.format.write_array(f, meta)
        with zf.open("codebook_0.npy", "w", force_zip64=True) as f:
            np.lib.format.write_array_header_1_0(f, {"descr": "<i8", "fortran_order": False, "shape": (n,)})
            zero = bytes(1 << 24)
            for _ in range(n * 8 // len(zero)):
                f.write(zero)
    assert bomb.stat().st_size < 5_000_000
    w = memwatch.cli("decode", str(bomb), "-o", str(tmp_path / "out.wav"), bound_mb=3000, timeout_s=120)
    assert w.killed is None
    refused(w, "unpacks to")


def test_an_npy_header_declaring_a_trillion_codes_is_refused(tmp_path, tokens_npz):
    liar = tmp_path / "liar.npz"
    with np.load(tokens_npz) as data:
        meta = data["meta"]
    with zipfile.ZipFile(liar, "w") as zf:
        with zf.open("meta.npy", "w") as f:
            np.lib.format.write_array(f, meta)
        with zf.open("codebook_0.npy", "w") as f:
            np.lib.format.write_array_header_1_0(f, {"descr": "<i8", "fortran_order": False, "shape": (10**12,)})
            f.write(bytes(800))
    with pytest.raises(CodecError, match="declares"):
        load_tokens(liar)


@pytest.mark.parametrize("arrays, words", [
    ({"codebook_0": np.zeros(0, np.int64)}, "zero frames"),
    ({"codebook_0": np.zeros((3, 3), np.int64)}, "1-D integer"),
    ({"codebook_0": np.zeros(75, np.float32)}, "1-D integer"),
    ({"codebook_1": np.zeros(75, np.int64)}, "no gaps"),
    ({"codebook_0": np.full(75, 5000, np.int64)}, "outside"),
])
def test_token_arrays_that_do_not_fit_are_refused(tmp_path, tokens_npz, arrays, words):
    bad = _tokens_with(tmp_path / "bad.npz", tokens_npz, lambda m: {**m, "codebooks": len(arrays)}, arrays)
    p = cli("decode", str(bad), "-o", str(tmp_path / "out.wav"))
    assert p.returncode == 2 and words in p.stderr, p.stderr


# ------------------------------------------------------------------ 5. no blocking opens
def test_a_fifo_input_with_no_writer_is_refused_at_once(tmp_path):
    fifo = tmp_path / "fifo.wav"
    os.mkfifo(fifo)
    t = time.perf_counter()
    refused(cli("roundtrip", str(fifo), "-c", "rvq-lab", timeout=60), "named pipe")
    assert time.perf_counter() - t < 30
    with pytest.raises(AudioError, match="named pipe"):
        load_audio(fifo)


def test_a_device_input_is_refused():
    with pytest.raises(AudioError, match="device"):
        load_audio("/dev/zero")


# ------------------------------------------------------------------ 7. short clips, the n/a rule
@pytest.mark.parametrize("frames", [1, 500, 1100, 5000])
def test_short_clips_get_metrics_or_n_a_with_a_reason_in_strict_json(tmp_path, frames):
    wav = tmp_path / "short.wav"
    sf.write(str(wav), (0.3 * np.sin(np.arange(frames) / 5)).astype(np.float32), RATE, subtype="FLOAT")
    p = cli("roundtrip", str(wav), "-c", "rvq-lab", "--json")
    assert p.returncode == 0, p.stderr

    def no_constants(name):
        raise AssertionError(f"{name} in JSON")
    result = json.loads(p.stdout, parse_constant=no_constants)
    assert result["metrics"]["stoi"] is None
    assert any("stoi: n/a (too short for STOI, needs ≥ 0.4 s)" in n for n in result["notes"])
    text = cli("roundtrip", str(wav), "-c", "rvq-lab")
    assert text.returncode == 0 and not shows_nan(text.stdout) and "STOI n/a" in text.stdout


def test_a_silent_clip_says_why_si_sdr_does_not_apply(tmp_path):
    wav = tmp_path / "silence.wav"
    sf.write(str(wav), np.zeros(RATE, np.float32), RATE)
    result = json.loads(cli("roundtrip", str(wav), "-c", "rvq-lab", "--json").stdout)
    assert result["metrics"]["si_sdr"] is None and any("silent" in n for n in result["notes"])


def test_compare_and_experiment_on_a_short_clip(tmp_path):
    wav = tmp_path / "short.wav"
    sf.write(str(wav), (0.3 * np.sin(np.arange(800) / 5)).astype(np.float32), RATE)
    p = cli("compare", str(wav), "-c", "rvq-lab", "-o", str(tmp_path / "cmp"))
    assert p.returncode == 0 and "n/a" in p.stdout and not shows_nan(p.stdout), p.stderr
    refused(cli("experiment", "ladder", str(wav), "-o", str(tmp_path / "exp")), "at least 1 s")


def test_metrics_of_a_long_clip_stream_in_bounded_memory():
    child = ("import numpy as np, resource; from explorer.core.audio import Clip; from explorer.core.metrics import reconstruction_quality\n"
             "n = 48000 * 600; x = (np.random.default_rng(0).standard_normal((2, n)) * 0.1).astype(np.float32)\n"
             "a, b = Clip(x, 48000), Clip(x * 0.9 + 0.001, 48000)\n"
             "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
             "q = reconstruction_quality(a, b)\n"
             "print(q.si_sdr, (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)")
    p = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    sdr, extra_mb = p.stdout.split()
    assert float(sdr) > 30 and int(extra_mb) < 800, p.stdout


# ------------------------------------------------------------------ 8. flags and folders
@pytest.mark.parametrize("flags, words", [
    (["--seed", "-3"], "--seed"),
    (["--seed", str(2**63)], "--seed"),
    (["--start", "nan"], "--start"),
    (["--start", "inf"], "--start"),
    (["--keep", "0"], "--keep"),
    (["--mute", "-1"], "--mute"),
    (["--mute", "0", "--start", "100"], "after the clip ends"),
    (["--mute", "99"], "Codebook 99 does not exist"),
])
def test_bad_edit_flags_are_refused_in_one_line(clip_wav, flags, words):
    refused(cli("roundtrip", str(clip_wav), "-c", "rvq-lab", *flags), words)


@pytest.mark.parametrize("command", ["compare", "experiment"])
@pytest.mark.parametrize("target", ["a-file", "a-file/under", "missing/deeper"])
def test_compare_and_experiment_outputs(tmp_path, clip_wav, command, target):
    (tmp_path / "a-file").write_text("x")
    args = (["compare", str(clip_wav), "-c", "rvq-lab"] if command == "compare" else ["experiment", "ladder", str(clip_wav)])
    p = cli(*args, "-o", str(tmp_path / target))
    if target == "missing/deeper":
        assert p.returncode == 0 and (tmp_path / target).is_dir(), p.stderr
    else:
        refused(p, "is a file")


def test_a_read_only_output_folder_is_refused_for_a_normal_user(clip_wav):
    """As root every folder is writable, so the command runs in a child that drops to 'nobody'."""
    import shutil
    import tempfile

    top = Path(tempfile.mkdtemp(prefix="codec-explorer-ro-", dir="/tmp"))
    try:
        top.chmod(0o755)
        (top / "ro").mkdir(mode=0o555)
        (top / "ro").chmod(0o555)
        shutil.copy(clip_wav, top / "c.wav")
        (top / "c.wav").chmod(0o644)
        # everything the command imports is imported before dropping to nobody, who may not read the checkout
        code = ("import os, sys; from explorer.cli import build_parser, main; build_parser()\n"
                "import explorer.core.audio, explorer.core.metrics, explorer.core.output, explorer.services.compare, "
                "explorer.services.report\nif os.geteuid() == 0:\n    os.setgid(65534); os.setuid(65534)\n"
                "sys.exit(main(['compare', sys.argv[1], '-c', 'rvq-lab', '-o', sys.argv[2]]))")
        for out in (top / "ro" / "out", top / "ro"):
            p = subprocess.run([sys.executable, "-c", code, str(top / "c.wav"), str(out)], capture_output=True, text=True, timeout=300)
            refused(p, "ermission denied")
    finally:
        shutil.rmtree(top, ignore_errors=True)


# ------------------------------------------------------------------ 10. silent wrong results
def test_an_explicit_seed_zero_beats_the_files_seed(tmp_path, clip_wav):
    tokens = tmp_path / "t.npz"
    assert cli("encode", str(clip_wav), "-c", "rvq-lab", "-o", str(tokens)).returncode == 0
    seeded = _tokens_with(tmp_path / "s.npz", tokens, lambda m: {**m, "edits": {**m["edits"], "randomize": [1], "seed": 5}})
    outs = {}
    for name, flags in (("file", []), ("zero", ["--seed", "0"]), ("five", ["--seed", "5"])):
        assert cli("decode", str(seeded), "-o", str(tmp_path / f"{name}.wav"), *flags).returncode == 0
        outs[name] = load_audio(tmp_path / f"{name}.wav").samples
    assert np.array_equal(outs["file"], outs["five"]) and not np.array_equal(outs["zero"], outs["five"])


def test_tokens_record_their_weights_and_other_weights_warn(tmp_path, clip_wav, loaded):
    import shutil

    import random_weights
    from explorer.codecs.encodec_codec import weights_spec

    random_weights.ensure("encodec-24khz")
    tokens = tmp_path / "t.npz"
    assert cli("encode", str(clip_wav), "-c", "encodec-24khz", "-o", str(tokens)).returncode == 0
    _, meta = load_tokens(tokens)
    assert meta["weights"]["file"] == "encodec_24khz-d7cc33bc.th" and len(meta["weights"]["sha256"]) == 64
    assert meta["codebooks"] == 8
    from explorer.codecs.weights import locate

    other = tmp_path / "other" / "encodec_24khz-d7cc33bc.th"
    other.parent.mkdir()
    import torch

    state = torch.load(locate(weights_spec("encodec-24khz"))[0], weights_only=True)
    state = {k: v * 1.01 if v.is_floating_point() else v for k, v in state.items()}
    torch.save(state, other)
    p = cli("decode", str(tokens), "--weights", str(other), "-o", str(tmp_path / "out.wav"))
    assert p.returncode == 0 and "other encodec-24khz weights" in p.stderr, p.stderr
    p = cli("decode", str(tokens), "-o", str(tmp_path / "same.wav"))
    assert p.returncode == 0 and "weights" not in p.stderr, p.stderr
    shutil.rmtree(other.parent)


def test_a_file_name_that_is_not_utf8_loads(tmp_path, clip_wav):
    odd = Path(os.fsdecode(bytes(tmp_path) + b"/caf\xe9.wav"))
    odd.write_bytes(clip_wav.read_bytes())
    assert load_audio(odd).frames == RATE
    p = subprocess.run([sys.executable.encode(), b"-m", b"explorer", b"roundtrip", bytes(tmp_path) + b"/caf\xe9.wav", b"-c", b"rvq-lab"],
                       capture_output=True, timeout=300)
    assert p.returncode == 0, p.stderr


# ------------------------------------------------------------------ 11. signals, broken MP3s
def test_sigterm_ends_a_command_like_ctrl_c(tmp_path):
    wav = tone(tmp_path / "long.wav", seconds=600, rate=48000, channels=2)
    p = subprocess.Popen([sys.executable, "-m", "explorer", "roundtrip", str(wav), "-c", "rvq-lab", "-o", str(tmp_path / "o.wav")],
                         stderr=subprocess.PIPE, text=True)
    time.sleep(8)  # imports done, reading or encoding
    p.send_signal(signal.SIGTERM)
    assert p.wait(60) == 130 and "interrupted" in p.stderr.read()
    assert not list(tmp_path.glob(".*.part"))


def test_an_interrupted_write_leaves_no_part_file_and_a_killed_writers_are_removed(tmp_path):
    from explorer.core.output import output_file

    target = tmp_path / "t.npz"
    with pytest.raises(KeyboardInterrupt):
        with output_file(target) as tmp:
            tmp.write_bytes(b"half")
            raise KeyboardInterrupt
    assert not list(tmp_path.glob(".t.npz.*.part")) and not target.exists()
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = tmp_path / f".t.npz.{dead.pid}.x1y2.part"  # what a SIGKILLed writer leaves
    stale.write_bytes(bytes(1000))
    alive = tmp_path / f".t.npz.{os.getppid()}.x1y2.part"  # another writer still at work: kept
    alive.write_bytes(b"")
    with output_file(target) as tmp:
        tmp.write_bytes(b"whole")
    assert not stale.exists() and alive.exists() and target.read_bytes() == b"whole"


def test_a_broken_mp3_prints_only_our_line(tmp_path):
    wav = tone(tmp_path / "a.wav", seconds=2.0, rate=44100)
    mp3 = tmp_path / "a.mp3"
    subprocess.run(["sox", str(wav), str(mp3)], check=True, capture_output=True)
    raw = bytearray(mp3.read_bytes())
    rng = np.random.default_rng(4)
    for i in rng.integers(200, len(raw), 400):
        raw[i] = int(rng.integers(0, 256))
    mp3.write_bytes(bytes(raw[: len(raw) * 2 // 3]))
    p = cli("roundtrip", str(mp3), "-c", "rvq-lab")
    ours = [line for line in p.stderr.splitlines() if line.strip()]
    assert all(line.startswith(("codec-explorer:", "converted:")) for line in ours), p.stderr


def test_a_take_never_overwrites_an_earlier_take(tmp_path):
    from explorer.audio_io.take import TakeWriter

    (tmp_path / "take").mkdir()
    (tmp_path / "take" / "input.wav").write_bytes(b"mine")
    with pytest.raises(AudioError, match="already holds a take"):
        TakeWriter(tmp_path / "take", 24000, 24000, 1, lambda p: None)
    assert (tmp_path / "take" / "input.wav").read_bytes() == b"mine"


def test_a_decoder_that_produces_nan_is_refused_not_written(tmp_path):
    import dataclasses

    import torch

    from explorer.codecs.registry import load_codec
    from explorer.services.engine import Engine

    codec = load_codec("rvq-lab", torch.device("cpu"))
    stages = list(codec.tables.stages)
    stages[0] = np.full_like(stages[0], np.nan)  # damaged in memory, past every check on disk
    codec.tables = dataclasses.replace(codec.tables, stages=tuple(stages))
    engine = Engine(codec)
    enc = engine.encode(Clip(np.sin(np.arange(RATE, dtype=np.float32) / 7)[None] * 0.3, RATE), 4)
    with pytest.raises(CodecError, match="NaN or infinite"):
        engine.decode(enc)


# ------------------------------------------------------------------ found by an independent review
def test_samples_far_beyond_full_scale_give_n_a_not_nan(tmp_path):
    loud = tmp_path / "loud.wav"
    sf.write(str(loud), np.full(RATE, 3e38, np.float32), RATE, subtype="FLOAT")
    p = cli("roundtrip", str(loud), "-c", "rvq-lab", "--json")
    assert p.returncode == 0, p.stderr
    result = json.loads(p.stdout, parse_constant=lambda name: pytest.fail(f"{name} in JSON"))
    assert result["metrics"]["mel_distance"] is None and result["notes"]
    p = cli("compare", str(loud), "-c", "rvq-lab", "-c", "rvq-lab", "-o", str(tmp_path / "cmp"))
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "cmp" / "rvq-lab.wav").is_file() and (tmp_path / "cmp" / "rvq-lab-2.wav").is_file()


def test_stoi_at_an_odd_high_rate_stays_small_and_quick(tmp_path):
    wav = tone(tmp_path / "high.wav", seconds=1.0, rate=767957)
    baseline = memwatch.cli("codecs", bound_mb=4000).peak_mb
    w = memwatch.cli("roundtrip", str(wav), "-c", "rvq-lab", "--json", bound_mb=baseline + 1200, timeout_s=60)
    assert w.killed is None and w.returncode == 0, (w.killed, w.stderr)
    assert json.loads(w.stdout)["metrics"]["stoi"] is not None


@pytest.mark.parametrize("name, rate", [("x.ogg", 767957), ("x.mp3", 44101), ("x.flac", 767957)])
def test_a_rate_the_format_cannot_hold_is_refused_before_the_encoder_sees_it(tmp_path, name, rate):
    wav = tone(tmp_path / "in.wav", seconds=0.2, rate=rate)
    refused(cli("roundtrip", str(wav), "-c", "rvq-lab", "-o", str(tmp_path / name)), "Write a .wav instead")
    assert not list(tmp_path.glob(".*.part"))


def test_rvq_lab_tables_with_fewer_codes_bound_the_codes_they_accept(tmp_path, tokens_npz, clip_wav):
    import dataclasses

    from explorer.codecs.rvqlab import _shipped

    tables = _shipped()
    small = dataclasses.replace(tables, envelope=tables.envelope[:4], stages=tuple(s[:4] for s in tables.stages))
    small.save(tmp_path / "small.npz")
    p = cli("decode", str(tokens_npz), "--weights", str(tmp_path / "small.npz"), "-o", str(tmp_path / "x.wav"))
    refused(p, "outside 0..3")
    p = cli("roundtrip", str(clip_wav), "-c", "rvq-lab", "--weights", str(tmp_path / "small.npz"), "--randomize", "0")
    assert p.returncode == 0, p.stderr


def test_control_characters_in_names_stay_on_one_line(tmp_path, tokens_npz, clip_wav):
    bad = _tokens_with(tmp_path / "bad.npz", tokens_npz, _set("codec", "rvq-lab\nTraceback (most recent call last):\n\x1b[31mx"))
    refused(cli("decode", str(bad), "-o", str(tmp_path / "out.wav")), "codec")
    refused(cli("roundtrip", str(clip_wav), "-c", "rvq-lab", "-o", str(tmp_path / "no\nsuch" / "x.wav")), "\\n")


def test_install_desktop_into_a_place_that_is_not_a_folder(tmp_path):
    (tmp_path / "afile").write_text("x")
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "afile")}
    p = subprocess.run([sys.executable, "-m", "explorer", "install-desktop"], capture_output=True, text=True, env=env, timeout=120)
    refused(p, "menu entry")


def test_a_symlink_loop_as_output_is_refused(tmp_path, tokens_npz):
    (tmp_path / "a.wav").symlink_to(tmp_path / "b.wav")
    (tmp_path / "b.wav").symlink_to(tmp_path / "a.wav")
    refused(cli("decode", str(tokens_npz), "-o", str(tmp_path / "a.wav")), "points back at itself")
    assert (tmp_path / "a.wav").is_symlink()


def test_a_token_file_with_an_entry_twice_is_refused(tmp_path, tokens_npz):
    import warnings

    twice = tmp_path / "twice.npz"
    twice.write_bytes(tokens_npz.read_bytes())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate name: that is the point
        with zipfile.ZipFile(twice, "a") as zf, zf.open("codebook_0.npy", "w") as f:
            np.lib.format.write_array(f, np.zeros(75, np.int64))
    with pytest.raises(CodecError, match="same entry twice"):
        load_tokens(twice)
