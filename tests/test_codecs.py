"""Every codec through the app's own loader, offline, on random-weight checkpoints."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import tone_clip
from explorer.codecs.registry import CODEC_NAMES
from explorer.core.edits import Edits
from explorer.services.engine import seeded

FAMILY_REPRESENTATIVES = ["rvq-lab", "encodec-24khz", "encodec-48khz", "dac-16khz", "snac-24khz", "mimi", "speechtokenizer"]
TOKEN_CODECS = [name for name in CODEC_NAMES if name != "opus"]
"""Every codec with tokens: Opus codes the waveform in packets (no codes to check here; tests/test_opus.py
checks its measured bitrate, alignment and quality)."""


def package_latent(engine, codes: list[np.ndarray], skip: int) -> torch.Tensor:
    """The quantized latent from the package's own quantizer layers, leaving codebook ``skip`` out."""
    codec, fam = engine.codec, engine.info.family
    t = [torch.from_numpy(c) for c in codes]
    keep = [k for k in range(len(codes)) if k != skip]
    with torch.inference_mode():
        if fam == "encodec":
            layers = codec.model.quantizer.vq.layers
            return sum(layers[k].decode(t[k][None])[0] for k in keep)
        if fam == "dac":
            qs = codec.model.quantizer.quantizers
            return sum(qs[k].out_proj(qs[k].decode_code(t[k][None]))[0] for k in keep)
        if fam == "snac":
            qs = codec.model.quantizer.quantizers
            return sum(qs[k].out_proj(qs[k].decode_code(t[k][None]))[0].repeat_interleave(qs[k].stride, -1) for k in keep)
        if fam == "mimi":
            q = codec.model.quantizer
            first = q.rvq_first.decode(t[0][None, None]) if skip != 0 else 0
            rest = [t[k] if k != skip else None for k in range(1, len(codes))]
            acoustic = 0
            for j, c in enumerate(rest):
                if c is not None:
                    acoustic = acoustic + q.rvq_rest.output_proj(q.rvq_rest.vq.layers[j].decode(c[None]))
            return (first + acoustic)[0]
        if fam == "speechtokenizer":  # the package's RVQ decode of the codebooks before and after the skipped one
            q, stacked = codec.model.quantizer, torch.stack(t)[:, None]
            return (q.decode(stacked[:skip]) + q.decode(stacked[skip + 1:], st=skip + 1))[0]
        if fam == "rvq-lab":
            tables = codec.tables
            z = np.zeros((codec.n_env + 320, len(codes[0])), np.float32)
            for k in keep:
                if k == 0:
                    z[: codec.n_env] += tables.envelope[codes[0]].T
                else:
                    lo, hi = tables.slices[k - 1]
                    z[codec.n_env + lo: codec.n_env + hi] += tables.stages[k - 1][codes[k]].T
            return torch.from_numpy(z)
    raise AssertionError(fam)


@pytest.mark.parametrize("name", TOKEN_CODECS)
def test_every_codec_loads_offline_and_round_trips_aligned(loaded, name):
    engine = loaded(name)
    info = engine.info
    clip = tone_clip(0.6, info.sample_rate, channels=info.channels)
    enc = engine.encode(clip)
    assert enc.n_codebooks == info.default_codebooks
    for k, row in enumerate(enc.codes):
        assert row.dtype == np.int64 and row.min() >= 0 and row.max() < info.codebook_size
        assert len(row) == enc.latent_frames // info.stride(k)
    out = engine.decode(enc)
    assert out.samples.shape == clip.samples.shape
    assert out.sample_rate == clip.sample_rate
    assert np.isfinite(out.samples).all() and np.abs(out.samples).max() > 0
    # the bitrate is measured from the codes: bits of every code over the clip's duration
    bits = sum(len(r) for r in enc.codes) * np.log2(info.codebook_size)
    assert enc.bitrate == pytest.approx(bits / clip.duration)


@pytest.mark.parametrize("name", FAMILY_REPRESENTATIVES)
def test_unedited_decode_equals_the_package_decode(loaded, name):
    engine = loaded(name)
    clip = tone_clip(1.3, engine.info.sample_rate, channels=engine.info.channels)
    enc = engine.encode(clip)
    ours = engine.decode_native(enc, Edits())
    theirs = engine.reference_decode(enc)
    assert ours.shape == theirs.shape
    assert np.abs(ours - theirs).max() < 1e-4


@pytest.mark.parametrize("name", FAMILY_REPRESENTATIVES)
def test_mute_equals_decoding_the_other_codebooks_contributions(loaded, name):
    engine = loaded(name)
    clip = tone_clip(1.0, engine.info.sample_rate, channels=engine.info.channels, seed=3)
    enc = engine.encode(clip)
    if engine.info.segment is not None:
        enc = engine.encode(tone_clip(0.5, engine.info.sample_rate, channels=2))
    mute = 1
    ours = engine.decode_native(enc, Edits(mute={mute}, seed=7))
    z = package_latent(engine, enc.codes, skip=mute)
    with torch.inference_mode(), seeded(7, engine.codec.device):
        theirs = engine.codec.decode_latent(z, enc.sides[0]).numpy()[:, : enc.codec_samples]
    # DAC's decoder returns a few samples short of frames * hop; the engine pads those
    assert enc.codec_samples - theirs.shape[1] <= 8
    assert np.abs(ours[:, : theirs.shape[1]] - theirs).max() < 1e-4
    # and muting is not the same as writing code 0
    zeroed = [r.copy() for r in enc.codes]
    zeroed[mute][:] = 0
    enc_zero = type(enc)(enc.info, zeroed, enc.sides, enc.input_rate, enc.input_samples, enc.codec_samples)
    engine._fill_cache(enc_zero)
    assert np.abs(engine.decode_native(enc_zero, Edits(seed=7)) - ours).max() > 1e-4


@pytest.mark.parametrize("name", ["rvq-lab", "encodec-24khz", "snac-24khz", "mimi", "speechtokenizer"])
def test_solo_keep_and_ranges_follow_the_contributions(loaded, name):
    engine = loaded(name)
    enc = engine.encode(tone_clip(1.0, engine.info.sample_rate))
    n = enc.n_codebooks
    full = engine.latent(enc, Edits())
    solo = engine.latent(enc, Edits(solo={0}))
    keep = engine.latent(enc, Edits(keep=2))
    first = engine.latent(enc, Edits(solo={0, 1}))
    assert torch.allclose(keep, first, atol=1e-5)
    assert not torch.allclose(solo, full)
    if n > 2:
        assert not torch.allclose(keep, full)
    # an edit over a time range leaves the latent outside the range untouched
    ranged = engine.latent(enc, Edits(mute={0}, start=0.4, end=0.6))
    rate = engine.info.latent_frame_rate
    outside = slice(0, int(0.3 * rate))
    inside = slice(int(0.45 * rate), int(0.55 * rate))
    assert torch.allclose(ranged[:, outside], full[:, outside])
    assert not torch.allclose(ranged[:, inside], full[:, inside])


@pytest.mark.parametrize("name", ["rvq-lab", "dac-16khz", "snac-24khz", "speechtokenizer"])
def test_randomize_is_seeded_reproducible_and_uniform(loaded, name):
    engine = loaded(name)
    enc = engine.encode(tone_clip(2.0, engine.info.sample_rate))
    a = engine.decode_native(enc, Edits(randomize={1}, seed=5))
    b = engine.decode_native(enc, Edits(randomize={1}, seed=5))
    c = engine.decode_native(enc, Edits(randomize={1}, seed=6))
    assert np.array_equal(a, b)
    assert np.abs(a - c).max() > 1e-4
    from explorer.core.edits import edited_codes

    times = [enc.frame_times(k) for k in range(enc.n_codebooks)]
    codes = edited_codes(enc.codes, Edits(randomize={1}, seed=5, start=1.0), times, engine.info.codebook_size)
    assert np.array_equal(codes[0], enc.codes[0])
    before = times[1] < 1.0 - 1 / engine.info.latent_frame_rate
    assert np.array_equal(codes[1][before], enc.codes[1][before])
    assert not np.array_equal(codes[1][~before], enc.codes[1][~before])


def test_snac_decode_is_deterministic_and_restores_the_rng(loaded):
    engine = loaded("snac-24khz")
    enc = engine.encode(tone_clip(1.0, 24000))
    torch.manual_seed(123)
    expected_next = torch.rand(3)
    torch.manual_seed(123)
    a = engine.decode_native(enc, Edits())
    after = torch.rand(3)
    b = engine.decode_native(enc, Edits())
    assert np.array_equal(a, b)
    assert torch.equal(after, expected_next)
    # the package's own NoiseBlock adds fresh noise every call; ours, with its weights, draws it by position
    from snac.layers import NoiseBlock

    from explorer.codecs.snac_codec import PositionalNoise

    package = NoiseBlock(4)
    ours = PositionalNoise(package.linear, 1, 1)
    x = torch.randn(1, 4, 300)
    with torch.inference_mode():
        assert not torch.equal(package(x), package(x))
        assert torch.equal(ours(x), ours(x))
        ours.offset = 100
        assert torch.equal(ours(x[:, :, 100:])[:, :, :50], ours(x[:, :, 100:150])) and not torch.equal(ours(x[:, :, :50]), package(x[:, :, :50]))
    assert len(engine.codec.noise_blocks) == 4 and not any(type(m).__name__ == "NoiseBlock" for m in engine.codec.model.modules())


def test_encodec_48khz_is_stereo(loaded):
    engine = loaded("encodec-48khz")
    clip = tone_clip(2.5, 48000, channels=2)
    clip.samples[1] *= 0.3
    enc = engine.encode(clip)
    assert len(enc.sides) == 3 and all("scale" in s for s in enc.sides)
    out = engine.decode(enc)
    assert out.channels == 2 and out.frames == clip.frames
    assert not np.allclose(out.samples[0], out.samples[1])
    ours = engine.decode_native(enc, Edits())
    assert np.abs(ours - engine.reference_decode(enc)).max() < 1e-4


@pytest.mark.parametrize("rate", [44100, 16000])
@pytest.mark.parametrize("name", ["encodec-24khz", "dac-16khz"])
def test_any_input_rate_comes_back_at_that_rate_and_length(loaded, name, rate):
    engine = loaded(name)
    clip = tone_clip(0.77, rate)
    enc = engine.encode(clip)
    assert any("resampled" in n for n in enc.notes) == (rate != engine.info.sample_rate)
    out = engine.decode(enc)
    assert out.sample_rate == rate and out.frames == clip.frames


@pytest.mark.parametrize("name", ["rvq-lab", "encodec-24khz", "mimi", "speechtokenizer"])
def test_chunked_long_input_has_no_clicks(loaded, name, monkeypatch):
    from dataclasses import replace

    from explorer.codecs import rvqlab
    from explorer.services.engine import Engine

    # rvq-lab's noise filling draws from the RNG stream, which chunking splits differently
    monkeypatch.setattr(rvqlab, "NOISE_FILL", 0.0)
    whole = loaded(name)
    chunked = Engine(whole.codec)
    chunked.info = replace(whole.info, chunk_seconds=1.0, context_seconds=0.5)
    rate = whole.info.sample_rate
    clip = tone_clip(5.3, rate, seed=2)
    enc_c = chunked.encode(clip)
    enc_w = whole.encode(clip)
    assert len(enc_c.sides) > 1 and len(enc_w.sides) == 1
    assert [len(r) for r in enc_c.codes] == [len(r) for r in enc_w.codes]
    out_c = chunked.decode_native(enc_c, Edits())
    out_w = whole.decode_native(enc_c, Edits())
    assert out_c.shape == out_w.shape
    # across chunk borders the chunked output follows the one-shot decode of the same codes
    err = np.abs(out_c - out_w)
    scale = np.abs(out_w).max()
    assert err.max() < 0.05 * scale
    # and has no step: sample-to-sample jumps at borders are no bigger than elsewhere
    jumps = np.abs(np.diff(out_c[0]))
    border_jumps = [jumps[b - 50: b + 50].max() for b in range(rate, out_c.shape[1] - rate, rate)]
    assert max(border_jumps) <= 1.5 * np.percentile(jumps, 99.9)


def test_speechtokenizer_codebook_0_is_semantic_its_codes_are_the_packages_and_decoding_reports_each_stage(loaded):
    engine = loaded("speechtokenizer")
    info = engine.info
    assert [c.role for c in info.codebooks()] == ["semantic"] + ["acoustic"] * 7
    assert (info.sample_rate, info.latent_frame_rate, info.codebook_size, info.max_codebooks) == (16000, 50, 1024, 8)
    clip = tone_clip(1.0, 16000, seed=4)
    enc = engine.encode(clip)
    with torch.inference_mode():
        theirs = engine.codec.model.encode(torch.from_numpy(clip.samples)[None])  # [codebooks, batch, frames]
    assert theirs.shape == (8, 1, 50)
    assert all(np.array_equal(enc.codes[k], theirs[k, 0].numpy()) for k in range(8))
    seen: list[float] = []
    engine.decode_native(enc, Edits(), lambda done, what: seen.append(done))
    stages = engine.codec.decoder_stages()
    assert stages == list(engine.codec.model.decoder.model)
    assert len(seen) == len(stages) + 2 and seen == sorted(seen)  # the block's start, each stage, the end
