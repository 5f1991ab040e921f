"""Meta's EnCodec (24 kHz mono, 48 kHz stereo) through the ``encodec`` package.

The 48 kHz model works on 1 s segments overlapping by 1 %, each normalised by its own loudness
scale; the scale travels as side information and the segments are joined with the package's
triangular overlap-add (the engine's segment plan, see :mod:`explorer.core.plan`).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import torch
from encodec.model import EncodecModel

from explorer.codecs.base import CodecInfo, EncodedBlock
from explorer.codecs.checkpoint import load_model
from explorer.codecs.weights import Progress, WeightsSpec, digest_in_name, resolve, torch_hub_checkpoints

ROOT_URL = "https://dl.fbaipublicfiles.com/encodec/v0/"
DEFAULT_KBPS = 6.0
"""The bandwidth a codec starts at: 8 codebooks at 24 kHz, 4 at 48 kHz."""
LICENCE = "CC-BY-NC 4.0 (weights; code MIT)"
"""The weights were published with encodec 0.1.1, whose repository was CC-BY-NC 4.0 as a whole; the repository
was later relicensed ("the code ... under the MIT license"), which says nothing new of the weights."""

VARIANTS = {
    "encodec-24khz": dict(checkpoint="encodec_24khz-d7cc33bc.th", factory="encodec_model_24khz"),
    "encodec-48khz": dict(checkpoint="encodec_48khz-7e698e3e.th", factory="encodec_model_48khz"),
}
"""Each model's release file and the package's factory that builds its architecture, which holds its
settings (rate, channels, bandwidths, causality) where nothing else does: the facts are read from a
model it built."""


def weights_spec(name: str) -> WeightsSpec:
    """Meta's release file, checked against the SHA-256 digits in its name (torch hub's convention)."""
    ckpt = str(VARIANTS[name]["checkpoint"])
    return WeightsSpec(codec=name, files=(ckpt,), urls=(ROOT_URL + ckpt,), digests=(digest_in_name(ckpt),),
                       package_cache=torch_hub_checkpoints())


def build(name: str) -> EncodecModel:
    """The package's own architecture for ``name``, freshly initialised."""
    model: EncodecModel = getattr(EncodecModel, VARIANTS[name]["factory"])(pretrained=False)
    return model


@lru_cache(maxsize=None)
def skeleton(name: str) -> EncodecModel:
    """``name``'s architecture on torch's meta device: built by the package, holding no weights, so
    its facts cost a few milliseconds to read (the codec box asks for them on every switch)."""
    with torch.device("meta"):
        return build(name)


def info(name: str) -> CodecInfo:
    model = skeleton(name)
    rate, hop, q = int(model.sample_rate), int(model.encoder.hop_length), model.quantizer
    choices = tuple(int(q.get_num_quantizers_for_bandwidth(model.frame_rate, bw)) for bw in model.target_bandwidths)
    stereo = model.channels == 2
    causal = bool(model.encoder.model[0].causal)
    length, stride = model.segment_length, model.segment_stride
    return CodecInfo(
        name=name,
        family="encodec",
        sample_rate=rate,
        channels=int(model.channels),
        hop_length=hop,
        codebook_size=int(q.bins),
        max_codebooks=int(q.n_q),
        default_codebooks=int(q.get_num_quantizers_for_bandwidth(model.frame_rate, DEFAULT_KBPS)),
        codebook_choices=choices,
        description=(
            f"Meta EnCodec, {rate // 1000} kHz {'stereo' if stereo else 'mono'}, {'causal' if causal else 'non-causal'}"
            + (f", {model.segment:g} s segments with loudness scale" if model.segment else " SEANet with residual VQ")
        ),
        pad_multiple=hop,
        segment=(length, stride) if length is not None and stride is not None else None,
        chunk_seconds=60.0,
        causal=causal,
        # its decoder's LSTM has no finite receptive field: 16 frames (213 ms) of look-back bring a span
        # within 2e-5 of the peak of the whole decode (measured; tests/test_spans.py holds 1e-3)
        span_context=(16, 0) if causal else (16, 16),
        licence=LICENCE,
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
