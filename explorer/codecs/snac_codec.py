"""SNAC (24, 32 and 44 kHz) through the ``snac`` package.

SNAC's codebooks run at different frame rates: codebook k covers ``vq_strides[k]`` latent frames
per code, and its contribution is its decoded vector repeated over those frames. Its decoder adds
noise (NoiseBlock): here each noise block draws it by position (:func:`positional_noise`, keyed by
the seed the engine sets and the block), so the same codes always sound the same and a span decoded
alone (the playhead's first block, a re-decoded range) equals the same span of the whole decode.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
from snac import SNAC

from explorer.codecs.base import CodecInfo, EncodedBlock, positional_noise
from explorer.codecs.checkpoint import load_with_config
from explorer.codecs.weights import Progress, WeightsSpec, resolve

# The hub config.json of each pretrained model, exactly: the model is built from it, its facts
# (hop = product of the encoder rates, strides, codebook size and count) are read from it, and a
# config.json beside the weights must equal it. The 32 and 44 kHz models are not the ``SNAC()``
# constructor's defaults (encoder rates [3, 3, 7, 7], hop 441) but hop 384 ([2, 3, 8, 8]): only that
# gives their published 1.9 and 2.6 kbps (12 bits x 1.875 codes per finest frame x rate / 384).
CONFIGS: dict[str, dict[str, Any]] = {
    "snac-24khz": dict(
        sampling_rate=24000, encoder_dim=48, encoder_rates=[2, 4, 8, 8], decoder_dim=1024, decoder_rates=[8, 8, 4, 2],
        attn_window_size=None, codebook_size=4096, codebook_dim=8, vq_strides=[4, 2, 1], noise=True, depthwise=True,
    ),
    "snac-32khz": dict(
        sampling_rate=32000, encoder_dim=64, encoder_rates=[2, 3, 8, 8], decoder_dim=1536, decoder_rates=[8, 8, 3, 2],
        attn_window_size=32, codebook_size=4096, codebook_dim=8, vq_strides=[8, 4, 2, 1], noise=True, depthwise=True,
    ),
    "snac-44khz": dict(
        sampling_rate=44100, encoder_dim=64, encoder_rates=[2, 3, 8, 8], decoder_dim=1536, decoder_rates=[8, 8, 3, 2],
        attn_window_size=32, codebook_size=4096, codebook_dim=8, vq_strides=[8, 4, 2, 1], noise=True, depthwise=True,
    ),
}
FILES = ("config.json", "pytorch_model.bin")
LICENCE = "MIT"
"""The hubertsiuzdak/snac_* model cards' licence field, and the snac package's LICENSE."""
REVISIONS = {
    "snac-24khz": "d73ad176a12188fcf4f360ba3bf2c2fbbe8f58ec",
    "snac-32khz": "c84c6ac842dc7a44a6fb0f3b576ce94b48a7780f",
    "snac-44khz": "873ebef9718b89660340c6f55a2b515e98cfa1d9",
}
"""The pinned commit of each hub repository."""


def repo(name: str) -> str:
    return "hubertsiuzdak/snac_" + name.split("-")[1]


def weights_spec(name: str) -> WeightsSpec:
    return WeightsSpec(codec=name, files=FILES, repo=repo(name), revision=REVISIONS[name])


def info(name: str) -> CodecInfo:
    c = CONFIGS[name]
    hop = math.prod(c["encoder_rates"])
    strides = tuple(c["vq_strides"])
    n = len(strides)
    return CodecInfo(
        name=name,
        family="snac",
        sample_rate=c["sampling_rate"],
        channels=1,
        hop_length=hop,
        codebook_size=c["codebook_size"],
        max_codebooks=n,
        default_codebooks=n,
        codebook_choices=(n,),
        description=f"SNAC, {c['sampling_rate'] / 1000:g} kHz mono, {n} codebooks at multiple time scales",
        pad_multiple=hop * math.lcm(strides[0], c["attn_window_size"] or 1),
        strides=strides,
        chunk_seconds=20.0,
        licence=LICENCE,
    )


class PositionalNoise(torch.nn.Module):
    """SNAC's NoiseBlock (``x + noise * linear(x)``) with its noise drawn by sample position."""

    def __init__(self, linear: torch.nn.Module, key: int, scale: int) -> None:
        super().__init__()
        self.linear, self.key, self.scale = linear, key, scale
        self.offset = 0
        """The position, at this block's rate, of the first sample of the latent being decoded."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, t = x.shape
        noise = torch.from_numpy(positional_noise(torch.initial_seed(), self.key, self.offset, t)).to(x.device, x.dtype)
        out: torch.Tensor = x + noise.expand(b, 1, t) * self.linear(x)
        return out


def positional_noise_blocks(decoder: torch.nn.Module) -> list[PositionalNoise]:
    """Swap each NoiseBlock of ``decoder`` for a :class:`PositionalNoise` with the same weights, knowing its
    rate (samples per latent frame: the product of the transposed convolutions' strides before it)."""
    scales: dict[int, int] = {}
    scale = 1
    for module in decoder.modules():  # in the order they run: a block's transposed convolution comes before its noise
        if isinstance(module, torch.nn.ConvTranspose1d):
            scale *= module.stride[0]
        elif type(module).__name__ == "NoiseBlock":
            scales[id(module)] = scale
    swapped: list[PositionalNoise] = []
    for parent in list(decoder.modules()):
        for name, child in list(parent.named_children()):
            if id(child) in scales:
                block = PositionalNoise(getattr(child, "linear"), len(swapped) + 1, scales[id(child)])
                setattr(parent, name, block)
                swapped.append(block)
    return swapped


class SnacCodec:
    """A SNAC model behind :class:`explorer.codecs.base.Codec`."""

    def __init__(self, name: str, device: torch.device, weights: str | Path | None = None, progress: Progress | None = None) -> None:
        self.info = info(name)
        self.device = device
        paths = resolve(weights_spec(name), weights, progress)
        self.model, self.weights_id = load_with_config(name, paths, CONFIGS[name], "SNAC config.json",
                                                       lambda: SNAC(**CONFIGS[name]), device)
        self.noise_blocks = positional_noise_blocks(self.model.decoder)

    def encode(self, audio: torch.Tensor, n_codebooks: int) -> EncodedBlock:
        codes = self.model.encode(audio.to(self.device)[None])
        return EncodedBlock([c[0] for c in codes[:n_codebooks]], {})

    def contributions(self, codes: list[torch.Tensor]) -> torch.Tensor:
        qs = self.model.quantizer.quantizers
        parts = []
        for k, c in enumerate(codes):
            z = qs[k].out_proj(qs[k].decode_code(c.to(self.device)[None]))[0]
            parts.append(z.repeat_interleave(qs[k].stride, dim=-1))
        return torch.stack(parts)

    def decode_latent(self, latent: torch.Tensor, side: dict[str, Any]) -> torch.Tensor:
        for block in self.noise_blocks:
            block.offset = int(side.get("offset", 0)) * block.scale
        out: torch.Tensor = self.model.decoder(latent[None])[0]
        return out

    def decoder_stages(self) -> list[torch.nn.Module]:
        return list(self.model.decoder.model)

    def reference_decode(self, codes: list[torch.Tensor], sides: list[dict[str, Any]]) -> torch.Tensor:
        out: torch.Tensor = self.model.decode([c[None].to(self.device) for c in codes])[0]
        return out
