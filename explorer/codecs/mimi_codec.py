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

CONFIG: dict[str, Any] = loaders._mimi_config
"""The settings ``loaders.get_mimi`` builds Mimi from (moshi names them privately; there is no public
accessor): the model is built from them and its facts are read from them."""
DEFAULT_CODEBOOKS = 8
"""The codebooks Moshi models, and those of Mimi's published 1.1 kbps (8 x 11 bits x 12.5 Hz)."""
LICENCE = "CC-BY 4.0 (weights; code MIT)"
"""As kyutai-labs/moshi's README says: "The weights for the models are released under the CC-BY 4.0 license"."""
REVISION = "2bfc9ae6e89079a5cc7ed2a68436010d91a3d289"
"""The pinned commit of moshi's repository (``loaders.DEFAULT_REPO``) that Mimi's weights come from."""


def weights_spec(name: str = "mimi") -> WeightsSpec:
    return WeightsSpec(codec=name, files=(loaders.MIMI_NAME,), repo=loaders.DEFAULT_REPO, revision=REVISION)


def build(num_codebooks: int = CONFIG["quantizer"]["n_q"]) -> Any:
    """The package's Mimi architecture with fresh weights."""
    return loaders.get_mimi(None, CONFIG, device="cpu", num_codebooks=num_codebooks)


def info(name: str = "mimi") -> CodecInfo:
    rate, quantizer = CONFIG["sample_rate"], CONFIG["quantizer"]
    hop = round(rate / CONFIG["frame_rate"])
    n = quantizer["n_q"]
    return CodecInfo(
        name=name,
        family="mimi",
        sample_rate=rate,
        channels=CONFIG["channels"],
        hop_length=hop,
        codebook_size=quantizer["bins"],
        max_codebooks=n,
        default_codebooks=DEFAULT_CODEBOOKS,
        codebook_choices=tuple(sorted({k for k in (1, 2, 4, 8, 16, 32) if k < n} | {n})),
        description=f"Kyutai Mimi, {rate / 1000:g} kHz mono, {CONFIG['frame_rate']:g} Hz, codebook 0 semantic "
                    "(WavLM-distilled), the rest acoustic",
        pad_multiple=hop,
        semantic_codebooks=tuple(range(quantizer.get("n_q_semantic", 1))),  # the package's default: one
        chunk_seconds=60.0,
        context_seconds=4.0,
        causal=True,
        # its decoder transformer looks back 250 frames; 8 frames (640 ms) bring a span within 2e-4 of the
        # peak of the whole decode (measured; tests/test_spans.py holds 1e-3)
        span_context=(8, 0),
        licence=LICENCE,
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
