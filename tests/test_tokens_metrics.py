from __future__ import annotations

import json
import numpy as np
import pytest

from conftest import tone_clip
from explorer.core.edits import Edits
from explorer.core.errors import CodecError
from explorer.core.metrics import codebook_stats, estimate_delay, quality, si_sdr
from explorer.core.tokens import load_tokens, save_tokens


def test_token_file_round_trip_decodes_identically(tmp_path, loaded):
    engine = loaded("snac-24khz")
    clip = tone_clip(1.0, 22050)
    enc = engine.encode(clip)
    path = tmp_path / "t.npz"
    save_tokens(path, enc.codes, enc.meta(Edits(mute={1})))
    with np.load(path, allow_pickle=False) as data:
        assert sorted(data.files) == ["codebook_0", "codebook_1", "codebook_2", "meta"]
        assert data["codebook_0"].ndim == 1 and np.issubdtype(data["codebook_0"].dtype, np.integer)
        meta = json.loads(str(data["meta"][()]))
    assert meta["codec"] == "snac-24khz" and meta["num_samples"] == clip.frames
    assert meta["edits"]["mute"] == [1] and len(meta["frame_rates"]) == 3
    codes, meta = load_tokens(path)
    again = engine.from_tokens(codes, meta)
    assert np.array_equal(engine.decode(again).samples, engine.decode(enc).samples)


def test_bad_token_files_are_refused(tmp_path, loaded):
    engine = loaded("rvq-lab")
    enc = engine.encode(tone_clip(0.5, 24000))
    meta = enc.meta()
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, codebook_0=np.array([object()], dtype=object), meta=np.array(json.dumps(meta)))
    with pytest.raises(CodecError, match="pickled"):
        load_tokens(pickled)
    out_of_range = [r.copy() for r in enc.codes]
    out_of_range[2][0] = 5000
    with pytest.raises(CodecError, match="outside"):
        engine.from_tokens(out_of_range, meta)
    with pytest.raises(CodecError, match="made by 'mimi'"):
        engine.from_tokens(enc.codes, {**meta, "codec": "mimi"})
    with pytest.raises(CodecError, match="codes; "):
        engine.from_tokens([enc.codes[0][:-1]] + enc.codes[1:], meta)
    with pytest.raises(CodecError, match="1 to 32 codebooks; the file holds 33"):
        engine.from_tokens(enc.codes + [enc.codes[0]], meta)  # an extra codebook
    gap = tmp_path / "gap.npz"
    np.savez(gap, codebook_0=enc.codes[0], codebook_2=enc.codes[2], meta=np.array(json.dumps(meta)))
    with pytest.raises(CodecError, match="no gaps"):
        load_tokens(gap)
    floats = tmp_path / "floats.npz"
    np.savez(floats, codebook_0=enc.codes[0].astype(np.float32), meta=np.array(json.dumps(meta)))
    with pytest.raises(CodecError, match="integer"):
        load_tokens(floats)


def test_metrics_are_delay_aligned():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(16000).astype(np.float32)
    y = np.concatenate([np.zeros(37, np.float32), x])[:16000]
    assert estimate_delay(x, y, 800) == 37
    q = quality(x[None], y[None], 16000)
    assert q.delay_samples == 37 and q.si_sdr > 40 and q.mel_distance < 0.05
    noisy = x + 0.1 * rng.standard_normal(16000).astype(np.float32)
    assert 19 < si_sdr(x, noisy) < 21
    assert quality(x[None], noisy[None], 16000).mel_distance > q.mel_distance


def test_codebook_statistics():
    stats = codebook_stats([np.zeros(100, np.int64), np.arange(100) % 4], 4, duration=2.0)
    assert stats[0].entropy_bits == 0 and stats[0].utilization == 0.25
    assert stats[1].entropy_bits == pytest.approx(2.0) and stats[1].utilization == 1.0
    assert stats[1].bitrate == pytest.approx(100 * 2 / 2.0)
