"""Descript Audio Codec (44.1, 24 and 16 kHz) through the ``descript-audio-codec`` package.

DAC checkpoints (``.pth``) hold ``{"state_dict", "metadata": {"kwargs"}}``; the kwargs rebuild the
architecture. We read them with torch's weights-only unpickler instead of ``DAC.load`` (which runs
an unrestricted ``torch.load``), so a checkpoint can never run code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dac
import torch

from explorer.codecs.base import CodecInfo, EncodedBlock
from explorer.codecs.weights import Progress, WeightsSpec, descript_cache, load_state, resolve
from explorer.core.errors import WeightsError

RELEASES = "https://github.com/descriptinc/descript-audio-codec/releases/download/"

# The architectures the package does not configure itself (its DAC() defaults are the 44 kHz model).
VARIANTS: dict[str, dict[str, Any]] = {
    "dac-44khz": dict(
        kwargs=dict(sample_rate=44100, encoder_rates=[2, 4, 8, 8], decoder_rates=[8, 8, 4, 2], n_codebooks=9),
        file="weights_44khz_8kbps_0.0.1.pth", url=RELEASES + "0.0.1/weights.pth",
    ),
    "dac-24khz": dict(
        kwargs=dict(sample_rate=24000, encoder_rates=[2, 4, 5, 8], decoder_rates=[8, 5, 4, 2], n_codebooks=32),
        file="weights_24khz_8kbps_0.0.4.pth", url=RELEASES + "0.0.4/weights_24khz.pth",
    ),
    "dac-16khz": dict(
        kwargs=dict(sample_rate=16000, encoder_rates=[2, 4, 5, 8], decoder_rates=[8, 5, 4, 2], n_codebooks=12),
        file="weights_16khz_8kbps_0.0.5.pth", url=RELEASES + "0.0.5/weights_16khz.pth",
    ),
}
COMMON = dict(encoder_dim=64, decoder_dim=1536, codebook_size=1024, codebook_dim=8)


def weights_spec(name: str) -> WeightsSpec:
    v = VARIANTS[name]
    return WeightsSpec(codec=name, files=(v["file"],), urls=(v["url"],), package_cache=descript_cache())


def build(name: str) -> dac.DAC:
    """The package's architecture for ``name`` with fresh weights."""
    return dac.DAC(**COMMON, **VARIANTS[name]["kwargs"])


def info(name: str) -> CodecInfo:
    kw = VARIANTS[name]["kwargs"]
    hop = 1
    for r in kw["encoder_rates"]:
        hop *= r
    n = kw["n_codebooks"]
    choices = tuple(sorted({c for c in (1, 2, 4, 8, 12, 16, 24, 32) if c < n} | {n}))
    return CodecInfo(
        name=name,
        family="dac",
        sample_rate=kw["sample_rate"],
        channels=1,
        hop_length=hop,
        codebook_size=1024,
        max_codebooks=n,
        default_codebooks=n,
        codebook_choices=choices,
        description=f"Descript Audio Codec, {kw['sample_rate'] / 1000:g} kHz mono, {n} residual codebooks with factorized codes",
        pad_multiple=hop,
        chunk_seconds=10.0 if kw["sample_rate"] > 24000 else 20.0,
    )


class DacCodec:
    """A DAC model behind :class:`explorer.codecs.base.Codec`."""

    def __init__(self, name: str, device: torch.device, weights: str | Path | None = None, progress: Progress | None = None) -> None:
        self.info = info(name)
        self.device = device
        paths = resolve(weights_spec(name), weights, progress)
        state = load_state(paths[0], name)
        if not isinstance(state, dict) or "state_dict" not in state:
            raise WeightsError(f"{name}: '{paths[0].name}' is not a DAC checkpoint (no 'state_dict' inside).")
        kwargs = state.get("metadata", {}).get("kwargs", {})
        expected = VARIANTS[name]["kwargs"]
        if kwargs and int(kwargs.get("sample_rate", expected["sample_rate"])) != expected["sample_rate"]:
            raise WeightsError(f"{name}: '{paths[0].name}' is a {kwargs['sample_rate']} Hz DAC checkpoint, not {expected['sample_rate']} Hz.")
        model = build(name)
        model.load_state_dict(state["state_dict"])
        self.model = model.to(device).eval()

    def encode(self, audio: torch.Tensor, n_codebooks: int) -> EncodedBlock:
        _, codes, *_ = self.model.encode(audio.to(self.device)[None], n_quantizers=n_codebooks)
        return EncodedBlock([codes[0, k] for k in range(n_codebooks)], {})

    def contributions(self, codes: list[torch.Tensor]) -> torch.Tensor:
        qs = self.model.quantizer.quantizers
        return torch.stack([qs[k].out_proj(qs[k].decode_code(c.to(self.device)[None]))[0] for k, c in enumerate(codes)])

    def decode_latent(self, latent: torch.Tensor, side: dict[str, Any]) -> torch.Tensor:
        return self.model.decode(latent[None])[0]

    def reference_decode(self, codes: list[torch.Tensor], sides: list[dict[str, Any]]) -> torch.Tensor:
        z, _, _ = self.model.quantizer.from_codes(torch.stack(codes)[None].to(self.device))
        return self.model.decode(z)[0]
