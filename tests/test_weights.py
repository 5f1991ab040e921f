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


def _serve(body: bytes, announced: int):
    """A local HTTP server that announces ``announced`` bytes, sends ``body`` and hangs up."""
    import http.server
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the stdlib's name
            self.send_response(200)
            self.send_header("Content-Length", str(announced))
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
            self.close_connection = True

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/model.th"


def test_an_interrupted_or_cancelled_download_is_never_used(tmp_path):
    from explorer.codecs.weights import _fetch
    from explorer.core.errors import CancelledError, WeightsError

    server, url = _serve(b"x" * 5000, 20000)  # the connection drops after a quarter
    try:
        target = tmp_path / "model.th"
        with pytest.raises(WeightsError, match="try again"):
            _fetch(url, target, "encodec-24khz", None)
        assert list(tmp_path.iterdir()) == []  # neither the model nor a partial file
        with pytest.raises(CancelledError):
            _fetch(url, target, "encodec-24khz", lambda done, total: False)
        assert list(tmp_path.iterdir()) == []
    finally:
        server.shutdown()
    server, url = _serve(b"y" * 3000, 3000)
    try:
        seen = []
        assert _fetch(url, target, "encodec-24khz", lambda done, total: seen.append((done, total))) == target
        assert target.read_bytes() == b"y" * 3000 and seen[-1] == (3000, 3000)
    finally:
        server.shutdown()
