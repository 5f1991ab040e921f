"""Weights: cache layouts, explicit paths, offline failure, and refusing checkpoints with code."""

from __future__ import annotations

import os
import pickle
import time

import pytest
import torch

import random_weights
from explorer.codecs import encodec_codec
from explorer.codecs.registry import load_codec, weights_available
from explorer.codecs.weights import load_state, locate
from explorer.core.errors import WeightsError


class Payload:
    """A pickled object whose unpickling would run code."""

    def __reduce__(self):
        return (os.system, ("touch /tmp/codec-explorer-pwned",))


def test_hf_cache_layout_is_found(loaded):
    loaded("snac-24khz")
    paths = locate(random_weights.spec_of("snac-24khz"))
    assert paths is not None
    assert "models--hubertsiuzdak--snac_24khz/snapshots" in str(paths[0])


def test_explicit_weights_path_is_used(tmp_path, loaded):
    loaded("encodec-24khz")
    src = locate(random_weights.spec_of("encodec-24khz"))[0]
    dst = tmp_path / "my-encodec.th"
    dst.write_bytes(src.read_bytes())
    codec = load_codec("encodec-24khz", torch.device("cpu"), weights=dst)
    assert codec.info.name == "encodec-24khz"
    with pytest.raises(WeightsError, match="no weights file"):
        load_codec("encodec-24khz", torch.device("cpu"), weights=tmp_path / "missing.th")


def test_offline_without_weights_fails_fast_and_says_where_to_put_them(monkeypatch, tmp_path):
    monkeypatch.delenv("CODEC_EXPLORER_OFFLINE", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("CODEC_EXPLORER_CACHE", str(tmp_path / "cache"))
    assert not weights_available("dac-24khz")
    t = time.perf_counter()
    with pytest.raises(WeightsError) as err:
        load_codec("dac-24khz", torch.device("cpu"))
    assert time.perf_counter() - t < 5
    message = str(err.value)
    assert "dac-24khz" in message
    assert "weights_24khz_8kbps_0.0.4.pth" in message
    assert ".cache/descript/dac" in message and "--weights" in message


def test_checkpoint_with_code_is_refused(tmp_path):
    bad = tmp_path / "evil.th"
    torch.save({"state": Payload()}, bad)
    with pytest.raises(WeightsError, match="never loaded"):
        load_state(bad, "encodec-24khz")
    assert not os.path.exists("/tmp/codec-explorer-pwned")
    raw = tmp_path / "evil.pth"
    raw.write_bytes(pickle.dumps(Payload()))
    with pytest.raises(WeightsError):
        load_codec("dac-16khz", torch.device("cpu"), weights=raw)
    assert not os.path.exists("/tmp/codec-explorer-pwned")


def test_truncated_checkpoint_gives_a_clear_error(tmp_path, loaded):
    loaded("encodec-24khz")
    src = locate(random_weights.spec_of("encodec-24khz"))[0]
    cut = tmp_path / encodec_codec.VARIANTS["encodec-24khz"]["checkpoint"]
    cut.write_bytes(src.read_bytes()[:5000])
    with pytest.raises(WeightsError, match="truncated, corrupt"):
        load_codec("encodec-24khz", torch.device("cpu"), weights=cut)
