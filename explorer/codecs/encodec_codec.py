"""Meta's EnCodec (24 kHz mono, 48 kHz stereo) through the ``encodec`` package.

The 48 kHz model works on 1 s segments overlapping by 1 %, each normalised by its own loudness
scale; the scale travels as side information and the segments are joined with the package's
triangular overlap-add (the engine's segment plan, see :mod:`explorer.core.plan`).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
from encodec.model import EncodecModel

from explorer.codecs.base import CodecInfo, EncodedBlock
from explorer.codecs.checkpoint import load_model
from explorer.codecs.weights import Progress, WeightsSpec, digest_in_name, resolve, torch_hub_checkpoints

ROOT_URL = "https://dl.fbaipublicfiles.com/encodec/v0/"

VARIANTS = {
    "encodec-24khz": dict(checkpoint="encodec_24khz-d7cc33bc.th", rate=24000, channels=1, bandwidths=(1.5, 3.0, 6.0, 12.0, 24.0)),
    "encodec-48khz": dict(checkpoint="encodec_48khz-7e698e3e.th", rate=48000, channels=2, bandwidths=(3.0, 6.0, 12.0, 24.0)),
}


def weights_spec(name: str) -> WeightsSpec:
    """Meta's release file, checked against the SHA-256 digits in its name (torch hub's convention)."""
    ckpt = str(VARIANTS[name]["checkpoint"])
    return WeightsSpec(codec=name, files=(ckpt,), urls=(ROOT_URL + ckpt,), digests=(digest_in_name(ckpt),),
                       package_cache=torch_hub_checkpoints())


def build(name: str) -> EncodecModel:
    """The package's own architecture for ``name``, freshly initialised."""
    factory = EncodecModel.encodec_model_24khz if name == "encodec-24khz" else EncodecModel.encodec_model_48khz
    model: EncodecModel = factory(pretrained=False)
    return model


def info(name: str) -> CodecInfo:
    v = VARIANTS[name]
    rate = int(v["rate"])  # type: ignore[call-overload]
    hop = 320
    frame_rate = math.ceil(rate / hop)
    bits = 10
    choices = tuple(int(bw * 1000 // (frame_rate * bits)) for bw in v["bandwidths"])  # type: ignore[attr-defined]
    stereo = rate == 48000
    return CodecInfo(
        name=name,
        family="encodec",
        sample_rate=rate,
        channels=int(v["channels"]),  # type: ignore[call-overload]
        hop_length=hop,
        codebook_size=1 << bits,
        max_codebooks=choices[-1],
        default_codebooks=choices[2] if not stereo else choices[1],
        codebook_choices=choices,
        description=(
            "Meta EnCodec, 48 kHz stereo, non-causal, 1 s segments with loudness scale"
            if stereo
            else "Meta EnCodec, 24 kHz mono, causal SEANet with residual VQ"
        ),
        pad_multiple=hop,
        segment=(rate, max(1, int(0.99 * rate))) if stereo else None,
        chunk_seconds=60.0,
        causal=not stereo,
    )


class EncodecCodec:
    """An EnCodec model behind :class:`explorer.codecs.base.Codec`."""

    def __init__(self, name: str, device: torch.device, weights: str | Path | None = None, progress: Progress | None = None) -> None:
        self.info = info(name)
        self.device = device
        path = resolve(weights_spec(name), weights, progress)[0]
        self.model, self.weights_id = load_model(name, path, lambda: build(name), device)

    def encode(self, audio: torch.Tensor, n_codebooks: int) -> EncodedBlock:
        x = audio.to(self.device)[None]
        side: dict[str, Any] = {}
        if self.model.normalize:
            volume = x.mean(dim=1, keepdim=True).pow(2).mean(dim=2, keepdim=True).sqrt()
            scale = 1e-8 + volume
            x = x / scale
            side["scale"] = float(scale.item())
        emb = self.model.encoder(x)
        codes = self.model.quantizer.vq.encode(emb, n_q=n_codebooks)
        return EncodedBlock([c[0] for c in codes], side)

    def contributions(self, codes: list[torch.Tensor]) -> torch.Tensor:
        layers = self.model.quantizer.vq.layers
        return torch.stack([layers[k].decode(c.to(self.device)[None])[0] for k, c in enumerate(codes)])

    def decode_latent(self, latent: torch.Tensor, side: dict[str, Any]) -> torch.Tensor:
        out: torch.Tensor = self.model.decoder(latent[None])[0]
        if "scale" in side:
            out = out * side["scale"]
        return out

    def decoder_stages(self) -> list[torch.nn.Module]:
        return list(self.model.decoder.model)

    def reference_decode(self, codes: list[torch.Tensor], sides: list[dict[str, Any]]) -> torch.Tensor:
        frames = []
        start = 0
        for side in sides:
            stacked = torch.stack([c[start: start + side["frames"]] for c in codes])[None].to(self.device)
            scale = torch.tensor([[side["scale"]]], device=self.device) if "scale" in side else None
            frames.append((stacked, scale))
            start += side["frames"]
        return self.model.decode(frames)[0]
