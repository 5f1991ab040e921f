"""session.json: a damaged file drops what is damaged, keeps the rest, and never raises."""

from __future__ import annotations

import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from explorer.core.edits import Edits
from explorer.core.session_file import (
    MAX_SESSION_BYTES, LoadedSession, SessionState, parse_session, read_session, session_json,
)

CODECS = ("rvq-lab", "encodec-24khz")
GOOD = {"version": 1, "path": "/music/a.wav", "edits": {"mute": [3], "solo": [], "randomize": [1], "keep": None, "seed": 7,
                                                          "start": 0.5, "end": 1.5},
        "view": [1.0, 2.5], "spectrogram": "difference", "codec": "rvq-lab", "codebooks": 8}


def load(data: object) -> LoadedSession:
    return parse_session(json.dumps(data).encode(), CODECS)


def test_what_autosave_writes_reads_back_unchanged():
    edits = Edits(mute=frozenset({3}), randomize=frozenset({1}), seed=7, start=0.5, end=1.5)
    text = session_json("/music/a.wav", edits, (1.0, 2.5), "difference", "rvq-lab", 8)
    loaded = parse_session(text.encode(), CODECS)
    assert loaded.notes == () and loaded.summary() == ""
    s = loaded.state
    assert (s.path, s.view, s.spectrogram, s.codec, s.codebooks) == ("/music/a.wav", (1.0, 2.5), "difference", "rvq-lab", 8)
    assert s.edits.edits() == edits
    assert load(GOOD).state == s


@pytest.mark.parametrize("field, value", [
    ("view", "ab"), ("view", [1, "x"]), ("view", [2.0, 1.0]), ("view", [1.0]), ("view", {"lo": 1}),
    ("edits", {"mute": ["x"]}), ("edits", {"mute": [1.5]}), ("edits", {"mute": [-1]}), ("edits", {"keep": 0}),
    ("edits", {"seed": -1}), ("edits", {"start": 2, "end": 1}), ("edits", {"start": "0"}), ("edits", {"bogus": 1}),
    ("edits", "mute 3"), ("edits", {"mute": list(range(5000))}),
    ("path", 3), ("path", ["a"]), ("path", ""), ("path", "a\0b"), ("path", "x" * 5000),
    ("spectrogram", "waterfall"), ("spectrogram", None), ("codec", "no-such-codec"), ("codec", 1),
    ("codebooks", "8"), ("codebooks", 8.0), ("codebooks", True), ("codebooks", 0), ("codebooks", 10**30),
    ("version", 2), ("version", "1"),
])
def test_an_invalid_field_is_dropped_with_a_note_and_the_rest_kept(field, value):
    loaded = load({**GOOD, field: value})
    assert [name for name, _ in loaded.notes] == [field]
    kept = load(GOOD).state.model_dump()
    kept[field] = SessionState.model_fields[field].get_default(call_default_factory=True)
    if field == "edits":
        kept[field] = kept[field].model_dump()
    assert loaded.state.model_dump() == kept
    assert loaded.summary().startswith("The saved session was damaged; not restored:")


def test_several_bad_fields_are_all_named():
    loaded = load({**GOOD, "view": "ab", "edits": [1], "codec": "zzz", "extra": "ignored"})
    assert {name for name, _ in loaded.notes} == {"view", "edits", "codec"}
    assert loaded.state.path == "/music/a.wav" and loaded.state.spectrogram == "difference"
    summary = loaded.summary()
    assert "the zoomed time range" in summary and "the edits" in summary and "no codec is called 'zzz'" in summary


@pytest.mark.parametrize("raw, why", [
    (b"", "not valid JSON"), (b"{", "not valid JSON"), (b"\xff\xfe\x00garbage", "not UTF-8"),
    (b'[1, "x"]', "a JSON list"), (b"null", "a JSON NoneType"), (b'"text"', "a JSON str"), (b"3", "a JSON int"),
    (b"[" * 100_000, "not valid JSON"), (b'{"view": [NaN, 1]}', None), (b'{"a": ' + b"9" * 5000 + b"}", "not valid JSON"),
])
def test_a_file_that_is_not_a_session_gives_the_defaults_and_a_note(raw, why):
    loaded = parse_session(raw, CODECS)
    assert loaded.notes
    if why is not None:
        assert loaded.notes[0][0] == "file" and why in loaded.notes[0][1] and loaded.state == SessionState()


def test_read_session_never_blocks_or_reads_too_much(tmp_path):
    assert read_session(tmp_path / "missing.json") is None
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    assert read_session(fifo).notes == (("file", "not a regular file"),)  # no writer: opening must not block
    assert read_session(tmp_path).notes[0][0] == "file"  # a folder
    big = tmp_path / "big.json"
    big.write_bytes(b" " * (MAX_SESSION_BYTES + 1))
    assert "too large" in read_session(big).notes[0][1]
    good = tmp_path / "session.json"
    good.write_text(json.dumps(GOOD))
    assert read_session(good, CODECS).state.codebooks == 8


def test_clip_is_only_a_regular_file_that_exists(tmp_path):
    wav = tmp_path / "a.wav"
    wav.write_bytes(b"RIFF")
    assert SessionState(path=str(wav)).clip() == wav
    assert SessionState(path=str(tmp_path / "gone.wav")).clip() is None
    assert SessionState(path=str(tmp_path)).clip() is None
    assert SessionState(path="x" * 300 + "/a.wav").clip() is None  # ENAMETOOLONG is not raised
    assert SessionState().clip() is None


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                    max_leaves=12)
FIELDS = st.sampled_from(["version", "path", "edits", "view", "spectrogram", "codec", "codebooks", "other"])
EDIT_FIELDS = st.sampled_from(["mute", "solo", "randomize", "keep", "seed", "start", "end", "other"])
SESSIONS = st.dictionaries(FIELDS, JSON | st.dictionaries(EDIT_FIELDS, JSON, max_size=7), max_size=8)


@settings(derandomize=True, max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(SESSIONS.map(lambda d: json.dumps(d).encode()), JSON.map(lambda v: json.dumps(v).encode()),
                 st.binary(max_size=200)))
def test_any_bytes_give_a_state_and_never_raise(raw):
    loaded = parse_session(raw, CODECS)
    state = loaded.state
    assert isinstance(state, SessionState)
    state.edits.edits()  # the kept edits are a valid Edits value
    state.clip()
    assert state.view is None or state.view[1] > state.view[0]
    assert state.codec is None or state.codec in CODECS
    assert all(name in {"file", *SessionState.model_fields} for name, _ in loaded.notes)
