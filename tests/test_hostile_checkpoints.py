"""Hostile checkpoints: each ends in one short WeightsError sentence, never a traceback, a huge
allocation, or a codec that loads and then writes NaN or tokens its own decoder refuses.

Every case starts from a good random-weight checkpoint (tests/random_weights.py) and breaks one
thing. Most go through the app's loader in-process; a few through the command line as a user runs it.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import random_weights
from explorer.codecs import rvqlab
from explorer.codecs.registry import load_codec
from explorer.codecs.weights import locate
from explorer.core.errors import WeightsError

CPU = torch.device("cpu")
Make = Callable[[Path], Path]
"""Writes a hostile file (or folder) under the given folder and returns its path."""


def good_paths(name: str) -> list[Path]:
    random_weights.ensure(name)
    paths = locate(random_weights.spec_of(name))
    assert paths is not None
    return paths


def good_path(name: str) -> Path:
    return good_paths(name)[-1]


def good_state(name: str) -> dict[str, torch.Tensor]:
    """The state dict of a good random checkpoint (DAC: the inner ``state_dict``)."""
    path = good_path(name)
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    state = torch.load(path, map_location="cpu", weights_only=True)
    return state["state_dict"] if "state_dict" in state else state


def saved(obj: Any, file: str = "x.th") -> Make:
    def make(folder: Path) -> Path:
        torch.save(obj() if callable(obj) else obj, folder / file)
        return folder / file
    return make


def raw(data: bytes, file: str = "x.th") -> Make:
    def make(folder: Path) -> Path:
        (folder / file).write_bytes(data)
        return folder / file
    return make


def edited(name: str, edit: Callable[[dict[str, torch.Tensor]], Any]) -> Make:
    """``name``'s good state dict after ``edit`` (which changes it in place or returns a new object)."""
    def make(folder: Path) -> Path:
        state = good_state(name)
        out = edit(state)
        obj = state if out is None else out
        if name.startswith("dac"):
            obj = {"state_dict": obj, "metadata": {"kwargs": {"sample_rate": 16000}}}
        return saved(obj)(folder)
    return make


def first_float(state: dict[str, torch.Tensor]) -> str:
    return next(k for k, v in state.items() if v.is_floating_point() and v.numel() > 1)


def nan_in_one(state: dict[str, torch.Tensor]) -> None:
    k = first_float(state)
    state[k] = state[k].clone()
    state[k].view(-1)[1] = float("nan")


def wrong_shape(state: dict[str, torch.Tensor]) -> None:
    k = first_float(state)
    state[k] = torch.zeros(*state[k].shape[:-1], state[k].shape[-1] + 1)


def int_for_float(state: dict[str, torch.Tensor]) -> None:
    k = first_float(state)
    state[k] = torch.ones(state[k].shape, dtype=torch.int64)


def drop_one(state: dict[str, torch.Tensor]) -> None:
    del state[next(iter(state))]


def add_one(state: dict[str, torch.Tensor]) -> None:
    state["decoder.extra.weight"] = torch.zeros(3)


def other_codec(name: str) -> Make:
    return lambda folder: good_path(name)


def dac_file(**fields: Any) -> Make:
    def make(folder: Path) -> Path:
        obj = {"state_dict": good_state("dac-16khz"), **fields}
        return saved({k: v for k, v in obj.items() if v is not None}, "x.pth")(folder)
    return make


def config_folder(name: str, edit: Callable[[dict[str, Any]], Any]) -> Make:
    """A folder laid out as ``name``'s hub folder: its good weights beside its good config.json changed by ``edit``."""
    def make(folder: Path) -> Path:
        config = json.loads(good_paths(name)[0].read_text())
        out = edit(config)
        (folder / "config.json").write_text(json.dumps(config if out is None else out))
        (folder / good_path(name).name).symlink_to(good_path(name))
        return folder
    return make


def snac_folder(edit: Callable[[dict[str, Any]], Any]) -> Make:
    return config_folder("snac-24khz", edit)


def speechtokenizer_folder(edit: Callable[[dict[str, Any]], Any]) -> Make:
    return config_folder("speechtokenizer", edit)


def tables(**changes: Any) -> Make:
    """An rvq-lab codebook file: the shipped arrays with some replaced (None removes one)."""
    def make(folder: Path) -> Path:
        with np.load(rvqlab.shipped_path(), allow_pickle=False) as d:
            arrays = {k: d[k] for k in d.files}
        arrays.update(changes)
        with open(folder / "codebooks.npz", "wb") as f:
            np.savez(f, **{k: v for k, v in arrays.items() if v is not None})
        return folder / "codebooks.npz"
    return make


def shipped(key: str) -> np.ndarray:
    with np.load(rvqlab.shipped_path(), allow_pickle=False) as d:
        return d[key]


def with_nan(a: np.ndarray) -> np.ndarray:
    out = a.copy()
    out.reshape(-1)[5] = np.nan
    return out


def npy_file(folder: Path) -> Path:
    """A lone array saved as .npy under the codebook file's name."""
    with open(folder / "codebooks.npz", "wb") as f:
        np.save(f, np.zeros(3))
    return folder / "codebooks.npz"


def truncated(name: str) -> Make:
    def make(folder: Path) -> Path:
        src = rvqlab.shipped_path() if name == "rvq-lab" else good_path(name)
        target = folder / src.name
        target.write_bytes(src.read_bytes()[: src.stat().st_size // 2])
        return target
    return make


RANDOM = np.random.default_rng(7).integers(0, 256, 40_000, dtype=np.uint8).tobytes()

CASES: list[tuple[str, str, Make, str]] = [
    # (case, codec, hostile file, what the message must say)
    ("dac file into encodec", "encodec-24khz", other_codec("dac-16khz"), "another codec's checkpoint"),
    ("encodec file into mimi", "mimi", other_codec("encodec-24khz"), "another codec's checkpoint"),
    ("encodec file into snac", "snac-24khz", other_codec("encodec-24khz"), "another codec's checkpoint"),
    ("encodec file into speechtokenizer", "speechtokenizer", other_codec("encodec-24khz"), "another codec's checkpoint"),
    ("speechtokenizer file into encodec", "encodec-24khz", other_codec("speechtokenizer"), "another codec's checkpoint"),
    ("encodec 24 kHz file into 48 kHz", "encodec-48khz", other_codec("encodec-24khz"), "does not fit encodec-48khz"),
    ("one wrong shape", "encodec-24khz", edited("encodec-24khz", wrong_shape), "the model needs"),
    ("one wrong shape, snac", "snac-24khz", edited("snac-24khz", wrong_shape), "the model needs"),
    ("one wrong shape, speechtokenizer", "speechtokenizer", edited("speechtokenizer", wrong_shape), "the model needs"),
    ("a missing key", "encodec-24khz", edited("encodec-24khz", drop_one), "lacks the weight"),
    ("an extra key", "encodec-24khz", edited("encodec-24khz", add_one), "does not use"),
    ("a list for a dict", "encodec-24khz", edited("encodec-24khz", lambda s: list(s.values())), "a list where"),
    ("a bare tensor for a dict", "encodec-24khz", saved(torch.zeros(4, 4)), "a bare tensor where"),
    ("NaN in one tensor, encodec", "encodec-24khz", edited("encodec-24khz", nan_in_one), "NaN or infinite"),
    ("NaN in one tensor, dac", "dac-16khz", edited("dac-16khz", nan_in_one), "NaN or infinite"),
    ("NaN in one tensor, snac", "snac-24khz", edited("snac-24khz", nan_in_one), "NaN or infinite"),
    ("NaN in one tensor, mimi", "mimi", edited("mimi", nan_in_one), "NaN or infinite"),
    ("NaN in one tensor, speechtokenizer", "speechtokenizer", edited("speechtokenizer", nan_in_one), "NaN or infinite"),
    ("an int tensor for a float one", "encodec-24khz", edited("encodec-24khz", int_for_float), "needs floating-point"),
    ("dac metadata a list", "dac-16khz", dac_file(metadata=[1, 2]), "metadata"),
    ("dac metadata a string", "dac-16khz", dac_file(metadata="kwargs"), "metadata"),
    ("dac kwargs not a dict", "dac-16khz", dac_file(metadata={"kwargs": ["sample_rate"]}), "kwargs"),
    ("dac sample rate a string", "dac-16khz", dac_file(metadata={"kwargs": {"sample_rate": "fast"}}), "Hz"),
    ("dac without state_dict", "dac-16khz", saved({"metadata": {"kwargs": {}}}, "x.pth"), "state_dict"),
    ("dac state_dict a list", "dac-16khz", saved({"state_dict": [1, 2]}, "x.pth"), "a list where"),
    ("snac config a json list", "snac-24khz", snac_folder(lambda c: list(c)), "a list"),
    ("snac config an extra key", "snac-24khz", snac_folder(lambda c: c.update(depth=3)), "'depth'"),
    ("snac config a string for a number", "snac-24khz", snac_folder(lambda c: c.update(decoder_dim="1024")), "'decoder_dim'"),
    ("snac config a huge decoder", "snac-24khz", snac_folder(lambda c: c.update(decoder_dim=10_000_000)), "'decoder_dim'"),
    ("snac config a missing key", "snac-24khz", snac_folder(lambda c: {k: v for k, v in c.items() if k != "noise"}), "'noise'"),
    ("speechtokenizer config a json list", "speechtokenizer", speechtokenizer_folder(lambda c: list(c)), "a list"),
    ("speechtokenizer config a wider latent", "speechtokenizer", speechtokenizer_folder(lambda c: c.update(dimension=4096)), "'dimension'"),
    ("speechtokenizer config a causal encoder", "speechtokenizer", speechtokenizer_folder(lambda c: c.update(bidirectional=False)), "'bidirectional'"),
    ("speechtokenizer config a missing key", "speechtokenizer", speechtokenizer_folder(lambda c: {k: v for k, v in c.items() if k != "n_q"}), "'n_q'"),
    ("speechtokenizer config a string", "speechtokenizer", speechtokenizer_folder(lambda c: "n_q=8"), "a str where"),
    ("rvq-lab 2048 codebook rows", "rvq-lab", tables(envelope=np.concatenate([shipped("envelope")] * 2)), "at most 1024"),
    ("rvq-lab 2048 rows in a stage", "rvq-lab", tables(stage_3=np.concatenate([shipped("stage_3")] * 2)), "'stage_3' is 2048x"),
    ("rvq-lab wrong stage shape", "rvq-lab", tables(stage_1=shipped("stage_1")[:, :-1]), "'stage_1'"),
    ("rvq-lab NaN in a stage", "rvq-lab", tables(stage_2=with_nan(shipped("stage_2"))), "NaN or infinite"),
    ("rvq-lab int envelope", "rvq-lab", tables(envelope=shipped("envelope").astype(np.int32)), "'envelope'"),
    ("rvq-lab missing array", "rvq-lab", tables(mean_envelope=None), "'mean_envelope'"),
    ("rvq-lab extra array", "rvq-lab", tables(notes=np.zeros(3)), "'notes'"),
    ("rvq-lab slice out of range", "rvq-lab", tables(slices=shipped("slices") + 400), "'slices'"),
    ("rvq-lab a .npy, not .npz", "rvq-lab", npy_file, "codebook file"),
    ("empty file, encodec", "encodec-24khz", raw(b""), "empty"),
    ("empty file, rvq-lab", "rvq-lab", raw(b"", "codebooks.npz"), "empty"),
    ("truncated, encodec", "encodec-24khz", truncated("encodec-24khz"), "truncated"),
    ("truncated, mimi", "mimi", truncated("mimi"), "truncated"),
    ("truncated, speechtokenizer", "speechtokenizer", truncated("speechtokenizer"), "truncated"),
    ("truncated, rvq-lab", "rvq-lab", truncated("rvq-lab"), "codebook file"),
    ("random bytes, encodec", "encodec-24khz", raw(RANDOM), "not a usable checkpoint"),
    ("random bytes, rvq-lab", "rvq-lab", raw(RANDOM, "codebooks.npz"), "codebook file"),
]


@pytest.mark.parametrize("case, name, make, says", CASES, ids=[c[0] for c in CASES])
def test_a_hostile_checkpoint_gives_one_clear_sentence(tmp_path, case, name, make, says):
    path = make(tmp_path)
    with pytest.raises(WeightsError) as err:
        load_codec(name, CPU, weights=path)
    message = str(err.value)
    assert says in message, message
    assert name in message and "\n" not in message and len(message) < 300, message
    shown = path.name if path.is_file() else "config.json"
    assert shown in message, message


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    import soundfile

    path = tmp_path_factory.mktemp("hostile") / "tone.wav"
    t = np.arange(24000) / 24000
    soundfile.write(path, (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 24000)
    return path


CLI_CASES = [c for c in CASES if c[0] in ("dac file into encodec", "NaN in one tensor, encodec", "empty file, encodec")]


@pytest.mark.parametrize("case, name, make, says", CLI_CASES, ids=[c[0] for c in CLI_CASES])
def test_the_command_line_says_it_in_one_line(tmp_path, clip, case, name, make, says):
    bad = make(tmp_path)
    p = subprocess.run(
        [sys.executable, "-m", "explorer", "roundtrip", str(clip), "-c", name, "--weights", str(bad), "-o", str(tmp_path / "o.wav")],
        capture_output=True, text=True, env=os.environ.copy(), timeout=300,
    )
    lines = p.stderr.strip().splitlines()
    assert p.returncode == 2, p.stderr
    assert len(lines) == 1 and lines[0].startswith("codec-explorer: error:") and says in lines[0], p.stderr
    assert "Traceback" not in p.stderr and not (tmp_path / "o.wav").exists()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("name", ["rvq-lab", "encodec-24khz", "dac-16khz", "snac-24khz", "mimi", "speechtokenizer"])
def test_every_codec_names_its_weights(loaded, name):
    codec = loaded(name).codec
    path = rvqlab.shipped_path() if name == "rvq-lab" else good_path(name)
    assert codec.weights_id == {"file": path.name, "sha256": digest(path)}
    if name == "snac-24khz":
        assert codec.weights_id["file"] == "pytorch_model.bin"
    if name == "speechtokenizer":
        assert codec.weights_id["file"] == "SpeechTokenizer.pt"


def test_speechtokenizer_takes_its_hub_folder_with_the_training_settings_beside_the_architecture(tmp_path):
    """The hub's config.json holds training settings the model never reads: they are no reason to refuse it."""
    folder = speechtokenizer_folder(lambda c: c.update(batch_size=60, learning_rate=1e-4))(tmp_path)
    codec = load_codec("speechtokenizer", CPU, weights=folder)
    assert codec.weights_id == {"file": "SpeechTokenizer.pt", "sha256": digest(good_path("speechtokenizer"))}
    (tmp_path / "empty").mkdir()
    with pytest.raises(WeightsError, match="lacks .*/config.json, .*/SpeechTokenizer.pt"):
        load_codec("speechtokenizer", CPU, weights=tmp_path / "empty")


def test_weights_given_by_path_are_named_too(tmp_path):
    a = tables(envelope=shipped("envelope") * 0.5)(tmp_path)
    codec = load_codec("rvq-lab", CPU, weights=tmp_path)
    assert codec.weights_id == {"file": "codebooks.npz", "sha256": digest(a)}
    assert codec.weights_id != load_codec("rvq-lab", CPU).weights_id


def test_a_hash_is_computed_once_per_file_version(tmp_path):
    from explorer.codecs.checkpoint import sha256

    f = tmp_path / "w.th"
    f.write_bytes(b"a" * (3 << 20))
    first = sha256(f)
    assert first == digest(f)
    stat = f.stat()
    f.write_bytes(b"b" * (3 << 20))
    os.utime(f, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert sha256(f) == first  # same path, size and time: the cached hash, the file is not read
    os.utime(f, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert sha256(f) == digest(f) != first
