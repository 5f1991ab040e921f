"""Kyutai's Mimi through the ``moshi`` package.

Mimi's quantizer is split: codebook 0 is a separate "semantic" residual quantizer (distilled from
WavLM) and codebooks 1.. form the acoustic one, each half with its own output projection. Both
projections are linear without bias, so each codebook's contribution is its own codeword pushed
through its half's projection, and the latent is their sum.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from moshi.models import loaders

from explorer.codecs.base import CodecInfo, EncodedBlock
from explorer.codecs.checkpoint import load_model
from explorer.codecs.weights import Progress, WeightsSpec, resolve

MAX_CODEBOOKS = 32
REVISION = "2bfc9ae6e89079a5cc7ed2a68436010d91a3d289"
"""The pinned commit of moshi's repository (``loaders.DEFAULT_REPO``) that Mimi's weights come from."""


def weights_spec(name: str = "mimi") -> WeightsSpec:
    return WeightsSpec(codec=name, files=(loaders.MIMI_NAME,), repo=loaders.DEFAULT_REPO, revision=REVISION)


def build(num_codebooks: int = MAX_CODEBOOKS) -> Any:
    """The package's Mimi architecture with fresh weights."""
    return loaders.get_mimi(None, device="cpu", num_codebooks=num_codebooks)


def info(name: str = "mimi") -> CodecInfo:
    return CodecInfo(
        name=name,
        family="mimi",
        sample_rate=24000,
        channels=1,
        hop_length=1920,
        codebook_size=2048,
        max_codebooks=MAX_CODEBOOKS,
        default_codebooks=8,
        codebook_choices=(1, 2, 4, 8, 16, 32),
        description="Kyutai Mimi, 24 kHz mono, 12.5 Hz, codebook 0 semantic (WavLM-distilled), the rest acoustic",
        pad_multiple=1920,
        semantic_codebooks=(0,),
        chunk_seconds=60.0,
        context_seconds=4.0,
        causal=True,
    )


class MimiCodec:
    """A Mimi model behind :class:`explorer.codecs.base.Codec`."""

    def __init__(self, name: str, device: torch.device, weights: str | Path | None = None, progress: Progress | None = None) -> None:
        self.info = info(name)
        self.device = device
        path = resolve(weights_spec(name), weights, progress)[0]
        self.model, self.weights_id = load_model(name, path, build, device)

    def encode(self, audio: torch.Tensor, n_codebooks: int) -> EncodedBlock:
        self.model.set_num_codebooks(n_codebooks)
        codes = self.model.encode(audio.to(self.device)[None])
        return EncodedBlock([codes[0, k] for k in range(n_codebooks)], {})

    def contributions(self, codes: list[torch.Tensor]) -> torch.Tensor:
        q = self.model.quantizer
        parts = []
        for k, c in enumerate(codes):
            half = q.rvq_first if k < q.n_q_semantic else q.rvq_rest
            layer = half.vq.layers[k if k < q.n_q_semantic else k - q.n_q_semantic]
            parts.append(half.output_proj(layer.decode(c.to(self.device)[None]))[0])
        return torch.stack(parts)

    def decode_latent(self, latent: torch.Tensor, side: dict[str, Any]) -> torch.Tensor:
        emb = self.model._to_encoder_framerate(latent[None])
        (emb,) = self.model.decoder_transformer(emb)
        out: torch.Tensor = self.model.decoder(emb)[0]
        return out

    def decoder_stages(self) -> list[torch.nn.Module]:
        return [self.model.decoder_transformer, *self.model.decoder.model]

    def reference_decode(self, codes: list[torch.Tensor], sides: list[dict[str, Any]]) -> torch.Tensor:
        out: torch.Tensor = self.model.decode(torch.stack(codes)[None].to(self.device))[0]
        return out
