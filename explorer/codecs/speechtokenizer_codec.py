"""SpeechTokenizer (Fudan NLP, 16 kHz mono) through the ``speechtokenizer`` package.

An EnCodec-like SEANet encoder and decoder around an 8-stage residual quantizer whose first stage
was distilled from HuBERT (the average of its layers): codebook 0 carries the content and is marked
semantic, codebooks 1-7 add what it leaves out (the voice, the detail). Every stage is a plain
codebook lookup without projection, so a codebook's contribution is its codeword and the latent is
their sum.

The encoder ends in a bidirectional LSTM, so every code depends on the audio after it as well as
before. Offline that only matters at the borders of clips long enough to be encoded in chunks, each
with context on both sides; it rules the codec out of live mode (:attr:`CodecInfo.bidirectional`).
"""

from __future__ import annotations

import math

from pathlib import Path
from typing import Any

import torch
from speechtokenizer import SpeechTokenizer

from explorer.codecs.base import CodecInfo, EncodedBlock
from explorer.codecs.checkpoint import load_with_config
from explorer.codecs.weights import Progress, WeightsSpec, resolve

REPO = "fnlp/SpeechTokenizer"
SUBFOLDER = "speechtokenizer_hubert_avg"
REVISION = "793c3ac97eeb36463bdbb5e1d5e5e9a6b16cc656"
"""The pinned commit of the hub repository: the one that added the model's folder (the one commit after
it changes only the repository's README)."""
FILES = ("config.json", "SpeechTokenizer.pt")
LICENCE = "Apache-2.0"
"""ZhangXInFD/SpeechTokenizer's LICENSE and README ("released under the Apache 2.0 license"); the
fnlp/SpeechTokenizer model card on the hub has no licence field."""
ARCHITECTURE: dict[str, Any] = dict(
    n_filters=64, strides=[8, 5, 4, 2], dimension=1024, semantic_dimension=768, bidirectional=True,
    dilation_base=2, residual_kernel_size=3, n_residual_layers=1, lstm_layers=2, activation="ELU",
    sample_rate=16000, codebook_size=1024, n_q=8,
)
"""The settings of the hub's config.json that the model reads (the file holds its training settings too)."""


def weights_spec(name: str = "speechtokenizer") -> WeightsSpec:
    return WeightsSpec(codec=name, files=FILES, repo=REPO, revision=REVISION, subfolder=SUBFOLDER)


def build() -> Any:
    """The package's SpeechTokenizer architecture with fresh weights."""
    return SpeechTokenizer(ARCHITECTURE)


def info(name: str = "speechtokenizer") -> CodecInfo:
    hop = math.prod(ARCHITECTURE["strides"])  # the encoder's strides: what the built model downsamples by
    return CodecInfo(
        name=name,
        family="speechtokenizer",
        sample_rate=ARCHITECTURE["sample_rate"],
        channels=1,
        hop_length=hop,
        codebook_size=ARCHITECTURE["codebook_size"],
        max_codebooks=ARCHITECTURE["n_q"],
        default_codebooks=ARCHITECTURE["n_q"],
        codebook_choices=(1, 2, 4, 8),
        description="SpeechTokenizer, 16 kHz mono speech, 50 Hz, codebook 0 semantic (HuBERT-distilled), the rest "
                    "acoustic; bidirectional encoder (no live mode)",
        pad_multiple=hop,
        semantic_codebooks=(0,),
        context_seconds=2.0,
        # its decoder's LSTM has no finite receptive field: 16 frames (320 ms) each side bring a span
        # within 5e-5 of the peak of the whole decode (measured; tests/test_spans.py holds 1e-3)
        span_context=(16, 16),
        bidirectional=True,
        label="SpeechTokenizer",
        licence=LICENCE,
    )


class SpeechTokenizerCodec:
    """A SpeechTokenizer model behind :class:`explorer.codecs.base.Codec`."""

    def __init__(self, name: str, device: torch.device, weights: str | Path | None = None, progress: Progress | None = None) -> None:
        self.info = info(name)
        self.device = device
        paths = resolve(weights_spec(name), weights, progress)
        self.model, self.weights_id = load_with_config(name, paths, ARCHITECTURE, "SpeechTokenizer config.json", build,
                                                       device, others=True)

    def encode(self, audio: torch.Tensor, n_codebooks: int) -> EncodedBlock:
        codes = self.model.encode(audio.to(self.device)[None], n_q=n_codebooks)
        return EncodedBlock([codes[k, 0] for k in range(n_codebooks)], {})

    def contributions(self, codes: list[torch.Tensor]) -> torch.Tensor:
        layers = self.model.quantizer.vq.layers
        return torch.stack([layers[k].decode(c.to(self.device)[None])[0] for k, c in enumerate(codes)])

    def decode_latent(self, latent: torch.Tensor, side: dict[str, Any]) -> torch.Tensor:
        out: torch.Tensor = self.model.decoder(latent[None])[0]
        return out

    def decoder_stages(self) -> list[torch.nn.Module]:
        return list(self.model.decoder.model)

    def reference_decode(self, codes: list[torch.Tensor], sides: list[dict[str, Any]]) -> torch.Tensor:
        out: torch.Tensor = self.model.decode(torch.stack(codes)[:, None].to(self.device))[0]
        return out
