"""Property-based tests (Hypothesis): generated hostile inputs end in a result or one of our errors.

Fixed seed (``derandomize=True``) and bounded example counts, so CI runs the same cases every time.
The session file's properties are in test_session_file.py.
"""

from __future__ import annotations

import io
import json
import math
import zipfile

import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from explorer.core.audio import load_audio
from explorer.core.edits import Edits
from explorer.core.errors import ExplorerError
from explorer.core.tokens import load_tokens

settings.register_profile("codec-explorer", derandomize=True, deadline=None, database=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
settings.load_profile("codec-explorer")
COUNTS = {"audio": 300, "tokens": 300, "meta": 300, "edits": 500}
"""Examples per property (the README's reliability table quotes these)."""


def _wav_bytes(fmt: str) -> bytes:
    buf = io.BytesIO()
    t = np.arange(4000) / 8000
    sf.write(buf, (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 8000, format=fmt, subtype="PCM_16")
    return buf.getvalue()


SEEDS = {"WAV": _wav_bytes("WAV"), "FLAC": _wav_bytes("FLAC")}


@st.composite
def mutated_audio(draw: st.DrawFn) -> tuple[str, bytes]:
    fmt = draw(st.sampled_from(sorted(SEEDS)))
    data = bytearray(SEEDS[fmt])
    for _ in range(draw(st.integers(1, 12))):
        at = draw(st.integers(0, len(data) - 1))
        kind = draw(st.sampled_from(["byte", "word", "cut", "insert"]))
        if kind == "byte":
            data[at] = draw(st.integers(0, 255))
        elif kind == "word":  # header fields: rates, sizes, channel counts
            data[at: at + 4] = draw(st.sampled_from([0, 1, 2**31 - 1, 2**32 - 1, 47999, 767957, 10**9])).to_bytes(4, "little")
        elif kind == "cut":
            del data[at:]
            if not data:
                break
        else:
            data[at:at] = draw(st.binary(max_size=64))
    return fmt, bytes(data)


@settings(max_examples=COUNTS["audio"])
@given(case=mutated_audio())
def test_mutated_audio_files_load_or_are_refused(tmp_path_factory, case):
    fmt, data = case
    path = tmp_path_factory.mktemp("audio") / f"x.{fmt.lower()}"
    path.write_bytes(data)
    try:
        clip = load_audio(path)
    except ExplorerError as exc:
        assert str(exc)
        return
    assert clip.frames > 0 and np.isfinite(clip.samples).all() and 1000 <= clip.sample_rate <= 768000


def _token_file(codes: list[np.ndarray], meta: object) -> bytes:
    buf = io.BytesIO()
    arrays = {f"codebook_{k}": c for k, c in enumerate(codes)}
    np.savez(buf, meta=np.array(json.dumps(meta)), **arrays)
    return buf.getvalue()


VALID_META = {"codec": "rvq-lab", "codebooks": 2, "input_sample_rate": 24000, "num_samples": 24000, "codec_samples": 24000,
              "blocks": [{"frames": 75}], "edits": {"mute": [], "solo": [], "randomize": [], "keep": None, "seed": 0,
                                                     "start": None, "end": None}}
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4), max_leaves=12)


@st.composite
def hostile_meta(draw: st.DrawFn) -> object:
    if draw(st.booleans()):
        return draw(json_values)
    meta = json.loads(json.dumps(VALID_META))
    for _ in range(draw(st.integers(1, 4))):
        key = draw(st.sampled_from(sorted(VALID_META) + ["edits.seed", "edits.keep", "edits.start", "blocks.0.frames"]))
        value = draw(json_values | st.sampled_from([10**9, 10**13, -1, 0, 1, 2**63, "abc", [], {}]))
        if "." in key:
            head, tail = key.split(".", 1)
            if head == "blocks" and not (isinstance(meta.get("blocks"), list) and meta["blocks"] and isinstance(meta["blocks"][0], dict)):
                meta["blocks"] = [{"frames": 75}]
            if head == "edits" and not isinstance(meta.get("edits"), dict):
                meta["edits"] = dict(VALID_META["edits"])
            target = meta[head][0] if head == "blocks" else meta[head]
            target[tail.split(".")[-1]] = value
        else:
            meta[key] = value
    return meta


@settings(max_examples=COUNTS["meta"])
@given(meta=hostile_meta())
def test_hostile_token_meta_decodes_or_is_refused(tmp_path_factory, loaded, meta):
    engine = loaded("rvq-lab")
    path = tmp_path_factory.mktemp("tokens") / "t.npz"
    path.write_bytes(_token_file([np.zeros(75, np.int64), np.ones(75, np.int64)], meta))
    try:
        codes, checked = load_tokens(path)
        enc = engine.from_tokens(codes, checked)
        out = engine.decode(enc, Edits.from_dict(checked.get("edits", {})))
    except ExplorerError as exc:
        assert str(exc)
        return
    assert np.isfinite(out.samples).all() and out.frames * 4 <= 10**9


@st.composite
def mutated_token_file(draw: st.DrawFn) -> bytes:
    data = bytearray(_token_file([np.zeros(75, np.int64), np.arange(75, dtype=np.int64)], VALID_META))
    for _ in range(draw(st.integers(1, 8))):
        at = draw(st.integers(0, len(data) - 1))
        if draw(st.booleans()):
            data[at] = draw(st.integers(0, 255))
        else:
            data[at: at + 4] = draw(st.sampled_from([0, 2**31 - 1, 2**32 - 1, 75, 10**9])).to_bytes(4, "little")
    return bytes(data)


@settings(max_examples=COUNTS["tokens"])
@given(data=mutated_token_file())
def test_mutated_token_files_load_or_are_refused(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("tokens") / "t.npz"
    path.write_bytes(data)
    try:
        codes, meta = load_tokens(path)
    except ExplorerError as exc:
        assert str(exc)
        return
    assert all(c.ndim == 1 and c.dtype == np.int64 for c in codes) and meta["codec"]


edit_values = st.one_of(st.none(), st.integers(-5, 2**64), st.floats(), st.text(max_size=4),
                        st.lists(st.one_of(st.integers(-3, 100), st.text(max_size=2), st.floats()), max_size=4))


@settings(max_examples=COUNTS["edits"])
@given(d=st.one_of(json_values, st.dictionaries(st.sampled_from(["mute", "solo", "randomize", "keep", "seed", "start", "end", "x"]),
                                                edit_values, max_size=5)))
def test_edits_from_any_dict_are_valid_or_refused(loaded, speech_encoding, d):
    engine, enc = speech_encoding
    try:
        edits = Edits.from_dict(d)
        edits.check(enc.n_codebooks, enc.duration)
    except ExplorerError as exc:
        assert str(exc)
        return
    assert 0 <= edits.seed < 2**63
    assert all(v is None or (math.isfinite(v) and v >= 0) for v in (edits.start, edits.end))
    out = engine.decode(enc, edits)
    assert np.isfinite(out.samples).all()


def test_zip_with_extra_entries_is_refused(tmp_path):
    path = tmp_path / "t.npz"
    path.write_bytes(_token_file([np.zeros(75, np.int64)], {**VALID_META, "codebooks": 1}))
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr("payload.py", "print('hi')")
    with pytest.raises(ExplorerError, match="nothing else"):
        load_tokens(path)


@pytest.fixture(scope="module")
def speech_encoding(loaded):
    from conftest import tone_clip

    engine = loaded("rvq-lab")
    return engine, engine.encode(tone_clip(0.5, 24000), 4)
