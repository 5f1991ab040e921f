"""The facts the app states are the published ones, and the models it builds are the ones it states.

Each figure below is copied from where the codec's authors published it, as they wrote it (its
decimals are its precision); none is computed from the app's own tables:

- EnCodec: the ``encodec`` README and model docstrings, 24 kHz at 1.5/3/6/12/24 kbps with 2/4/8/16/32
  codebooks of 1024 entries at 75 Hz; 48 kHz at 3/6/12/24 kbps with half the codebooks at 150 Hz.
- DAC: https://github.com/descriptinc/descript-audio-codec (44.1 kHz, 9 codebooks of 1024 entries,
  hop 512: 86.1 Hz, "8 kbps", exactly 7.75); its ``conf/final/24khz.yml`` and ``16khz.yml`` (hop 320,
  32 and 12 codebooks) and the authors' "24 kHz model with 24 kbps" (issue #11); 16 kHz: 50 Hz x 12 x
  10 bits = 6 kbps (issue #86, where the release's "8kbps" file name is called a naming slip).
- SNAC: https://github.com/hubertsiuzdak/snac (0.98, 1.9 and 2.6 kbps) and each model's config.json on
  https://huggingface.co/hubertsiuzdak/snac_24khz, snac_32khz and snac_44khz, copied in
  :data:`HUB_CONFIGS`.
- Mimi: https://huggingface.co/kyutai/mimi (12.5 Hz, 1.1 kbps with the 8 codebooks Moshi models) and
  the Moshi paper (2048-entry codebooks, 32 in all: 4.4 kbps).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import torch

from explorer.codecs.checkpoint import check_config
from explorer.codecs import snac_codec
from explorer.codecs.registry import CODEC_NAMES, entry
from explorer.codecs.weights import locate
from explorer.core.errors import WeightsError

PUBLISHED: dict[str, dict[str, Any]] = {
    "encodec-24khz": dict(rate=24000, frame_rates=["75"], size=1024, kbps={2: "1.5", 4: "3", 8: "6", 16: "12", 32: "24"}),
    "encodec-48khz": dict(rate=48000, frame_rates=["150"], size=1024, kbps={2: "3", 4: "6", 8: "12", 16: "24"}),
    "dac-44khz": dict(rate=44100, frame_rates=["86.1"], size=1024, kbps={9: "7.75"}),
    "dac-24khz": dict(rate=24000, frame_rates=["75"], size=1024, kbps={32: "24"}),
    "dac-16khz": dict(rate=16000, frame_rates=["50"], size=1024, kbps={12: "6"}),
    "snac-24khz": dict(rate=24000, frame_rates=["46.9", "23.4", "11.7"], size=4096, kbps={3: "0.98"}),
    "snac-32khz": dict(rate=32000, frame_rates=["83.3", "41.7", "20.8", "10.4"], size=4096, kbps={4: "1.9"}),
    "snac-44khz": dict(rate=44100, frame_rates=["114.8", "57.4", "28.7", "14.4"], size=4096, kbps={4: "2.6"}),
    "mimi": dict(rate=24000, frame_rates=["12.5"], size=2048, kbps={8: "1.1", 32: "4.4"}),
    "speechtokenizer": dict(rate=16000, frame_rates=["50"], size=1024, kbps={8: "4"}),
}
"""Sample rate, the frame rates of all the codebooks (fastest first), codebook size, and the nominal
bitrate in kbps at each published codebook count; the largest count is all the codebooks there are."""

_HUB = dict(codebook_size=4096, codebook_dim=8, noise=True, depthwise=True)
HUB_CONFIGS: dict[str, dict[str, Any]] = {
    "snac-24khz": dict(sampling_rate=24000, encoder_dim=48, encoder_rates=[2, 4, 8, 8], decoder_dim=1024,
                       decoder_rates=[8, 8, 4, 2], attn_window_size=None, vq_strides=[4, 2, 1], **_HUB),
    "snac-32khz": dict(sampling_rate=32000, encoder_dim=64, encoder_rates=[2, 3, 8, 8], decoder_dim=1536,
                       decoder_rates=[8, 8, 3, 2], attn_window_size=32, vq_strides=[8, 4, 2, 1], **_HUB),
    "snac-44khz": dict(sampling_rate=44100, encoder_dim=64, encoder_rates=[2, 3, 8, 8], decoder_dim=1536,
                       decoder_rates=[8, 8, 3, 2], attn_window_size=32, vq_strides=[8, 4, 2, 1], **_HUB),
}
"""Each released SNAC model's config.json on the Hugging Face hub (hubertsiuzdak/snac_*)."""


def as_published(value: float, figure: str) -> bool:
    """``value`` rounds to ``figure`` at the figure's own precision (7.752 is "7.75", 2.584 is "2.6")."""
    decimals = len(figure.partition(".")[2])
    return round(value, decimals) == float(figure)


def test_every_pretrained_codec_has_its_published_figures():
    """Opus is left out: it has no codebooks or frame rates to publish (tests/test_opus.py checks its bitrates)."""
    assert set(PUBLISHED) == set(CODEC_NAMES) - {"rvq-lab", "opus"}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_stated_facts_are_the_published_ones(name):
    info, published = entry(name).info(), PUBLISHED[name]
    assert info.sample_rate == published["rate"]
    assert info.codebook_size == published["size"]
    rates = info.frame_rates(info.max_codebooks)
    assert len(rates) == len(published["frame_rates"])
    assert all(as_published(r, f) for r, f in zip(rates, published["frame_rates"])), (rates, published["frame_rates"])
    assert info.max_codebooks == max(published["kbps"])
    for n, kbps in published["kbps"].items():
        assert as_published(info.bitrate(n) / 1000, kbps), (name, n, info.bitrate(n), kbps)
    assert set(published["kbps"]) <= set(info.codebook_choices)


def test_encodec_offers_exactly_its_published_bandwidths():
    for name in ("encodec-24khz", "encodec-48khz"):
        assert entry(name).info().codebook_choices == tuple(PUBLISHED[name]["kbps"])


@pytest.mark.parametrize("name", sorted(HUB_CONFIGS))
def test_snac_is_built_from_the_released_config(name, tmp_path):
    assert snac_codec.CONFIGS[name] == HUB_CONFIGS[name]
    hub = tmp_path / "config.json"
    hub.write_text(json.dumps(HUB_CONFIGS[name], indent=2))
    check_config(hub, name, snac_codec.CONFIGS[name], "SNAC config.json")


@pytest.mark.parametrize("name", ["snac-32khz", "snac-44khz"])
def test_snac_refuses_the_constructor_defaults_for_the_released_models(name, tmp_path):
    """The ``SNAC()`` defaults (hop 441) are not the released 32 and 44 kHz models (hop 384)."""
    old = tmp_path / "config.json"
    old.write_text(json.dumps({**HUB_CONFIGS[name], "encoder_rates": [3, 3, 7, 7], "decoder_rates": [7, 7, 3, 3]}))
    with pytest.raises(WeightsError, match="'encoder_rates' to \\[3, 3, 7, 7\\], the model has \\[2, 3, 8, 8\\]"):
        check_config(old, name, snac_codec.CONFIGS[name], "SNAC config.json")


def reported(codec: Any) -> dict[str, Any]:
    """What the built model itself says: its rate, channels, hop, codebooks and their size and strides."""
    model, family = getattr(codec, "model", None), codec.info.family
    if family == "snac":
        qs = model.quantizer.quantizers
        return dict(sample_rate=model.sampling_rate, channels=1, hop_length=int(model.hop_length), max_codebooks=len(qs),
                    codebook_size=qs[0].codebook_size, sizes={q.codebook_size for q in qs}, strides=tuple(q.stride for q in qs))
    if family == "dac":
        qs = model.quantizer.quantizers
        return dict(sample_rate=model.sample_rate, channels=1, hop_length=int(model.hop_length), max_codebooks=len(qs),
                    codebook_size=qs[0].codebook_size, sizes={q.codebook_size for q in qs}, strides=())
    if family == "encodec":
        layers = model.quantizer.vq.layers
        return dict(sample_rate=model.sample_rate, channels=model.channels, hop_length=int(model.encoder.hop_length),
                    max_codebooks=len(layers), codebook_size=model.quantizer.bins,
                    sizes={layer.codebook.shape[0] for layer in layers}, strides=())
    if family == "mimi":
        q = model.quantizer
        layers = [*q.rvq_first.vq.layers, *q.rvq_rest.vq.layers]
        return dict(sample_rate=model.sample_rate, channels=model.channels, hop_length=model.frame_size,
                    max_codebooks=model.total_codebooks, codebook_size=model.cardinality,
                    sizes={layer.embedding.shape[0] for layer in layers}, strides=(),
                    semantic_codebooks=tuple(range(q.n_q_semantic)))
    if family == "speechtokenizer":
        layers = model.quantizer.vq.layers
        return dict(sample_rate=model.sample_rate, channels=1, hop_length=model.downsample_rate, max_codebooks=model.n_q,
                    codebook_size=layers[0].codebook_size, sizes={layer.codebook_size for layer in layers}, strides=(),
                    semantic_codebooks=(0,))
    tables = codec.tables
    return dict(sample_rate=codec.info.sample_rate, channels=1, hop_length=codec.basis.shape[1],
                max_codebooks=tables.n_codebooks, codebook_size=tables.envelope.shape[0],
                sizes={tables.envelope.shape[0]}, strides=())


@pytest.mark.parametrize("name", [n for n in CODEC_NAMES if n != "opus"])  # Opus builds no model: no codebooks to report
def test_info_is_what_the_built_model_reports(loaded, name):
    """The info the registry gives without building a model is what the loaded model (random weights in the
    release's format, through the app's own loader) reports, and what its encoder does."""
    codec = loaded(name).codec
    info = entry(name).info()
    assert info == codec.info
    model = reported(codec)
    for field in ("sample_rate", "channels", "hop_length", "max_codebooks", "codebook_size", "strides"):
        assert getattr(info, field) == model[field], (name, field)
    assert model["sizes"] == {info.codebook_size}
    if "semantic_codebooks" in model:
        assert info.semantic_codebooks == model["semantic_codebooks"]
    samples = 2 * info.pad_multiple
    with torch.inference_mode():
        block = codec.encode(0.1 * torch.randn(info.channels, samples, generator=torch.Generator().manual_seed(0)),
                             info.max_codebooks)
    assert [len(c) for c in block.codes] == [samples // info.hop_length // info.stride(k) for k in range(info.max_codebooks)]
    assert all(0 <= int(c.min()) and int(c.max()) < info.codebook_size for c in block.codes)


def test_random_weight_snac_checkpoints_have_the_released_shapes(loaded):
    """tests/random_weights.py writes each SNAC checkpoint with the hub's config.json beside it and tensors
    of the shapes of the model built from it (whose encoder strides are the hub's: see above)."""
    import random_weights

    from snac import SNAC

    for name in HUB_CONFIGS:
        model = loaded(name).codec.model  # loaded from that checkpoint (its weight norms folded since)
        paths = {p.name: p for p in locate(random_weights.spec_of(name)) or []}
        assert json.loads(paths["config.json"].read_text()) == HUB_CONFIGS[name]
        state = torch.load(paths["pytorch_model.bin"], weights_only=True)
        released = SNAC(**HUB_CONFIGS[name])  # the package's model from the hub's config, as the hub's file holds it
        assert {k: tuple(v.shape) for k, v in state.items()} == {k: tuple(v.shape) for k, v in released.state_dict().items()}
        assert int(model.hop_length) == (512 if name == "snac-24khz" else 384)


def test_frame_rate_experiment_states_each_bitrate_with_its_codebook_count(loaded, speech):
    from explorer.services.experiments import frame_rates

    exp = frame_rates([loaded("mimi"), loaded("snac-44khz")], speech)
    by = {r["codec"]: r for r in exp.table}
    assert by["mimi"]["codebooks"] == 8 and by["mimi"]["nominal_kbps"] == 1.1 and by["mimi"]["bits_per_code"] == 11
    assert as_published(by["snac-44khz"]["nominal_kbps"], "2.6")
    mimi, snac = (s.narration for s in exp.steps)
    assert "8 of 32 codebooks at 12.5 Hz, 11 bits a code: 1.10 kbps (all 32: 4.40 kbps)" in mimi
    assert "4 codebooks at 114.84/57.42/28.71/14.36 Hz, 12 bits a code: 2.58 kbps" in snac
    assert "codebook count" in exp.intro
