"""The one interface every codec family implements.

A codec turns a block of audio at its own rate into integer codes, one row per codebook, and back.
Between the two sits the *quantized latent*: the sum of one contribution per codebook. Exposing
those contributions is what lets the engine mute, solo or randomize a single codebook by what it
really adds, rather than by writing a fake code, and what makes an edit cost one decoder pass.

Frames: every contribution is returned at the *latent* frame rate (``hop_length`` samples per
frame). A codebook whose codes are coarser (SNAC's scales) states its ``stride``: how many latent
frames one of its codes covers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol

import torch


@dataclass(frozen=True)
class CodebookInfo:
    """What one codebook is: its size, its frame rate and the part it plays."""

    index: int
    size: int
    frame_rate: float
    stride: int
    role: str

    @property
    def bitrate(self) -> float:
        """Nominal bits per second: one code of ``log2(size)`` bits per frame."""
        return self.frame_rate * math.log2(self.size)


@dataclass(frozen=True)
class CodecInfo:
    """The fixed facts of a codec, as the views and the CLI need them."""

    name: str
    family: str
    sample_rate: int
    channels: int
    hop_length: int
    codebook_size: int
    max_codebooks: int
    default_codebooks: int
    codebook_choices: tuple[int, ...]
    description: str
    pad_multiple: int
    strides: tuple[int, ...] = ()
    semantic_codebooks: tuple[int, ...] = ()
    segment: tuple[int, int] | None = None
    chunk_seconds: float = 30.0
    context_seconds: float = 1.0
    roles: tuple[str, ...] = ()
    causal: bool = False
    """Output at time t depends only on codes up to t (no look-ahead needed when decoding a span)."""
    bidirectional: bool = False
    """The encoder reads the clip both ways (SpeechTokenizer's BiLSTM): every code depends on all the
    audio after it too, so the codec cannot encode block by block as audio arrives (no live mode)."""
    label: str = ""
    """The family's name as a sentence writes it (``SpeechTokenizer``); empty: the codec's name."""
    licence: str = ""
    """The licence its weights are published under, as their publisher states it (and the code's where it
    differs); empty: not stated. The codec picker and ``codec-explorer codecs`` show it."""

    @property
    def spoken(self) -> str:
        """How a sentence names this codec: its family's :attr:`label`, or else its name."""
        return self.label or self.name

    @property
    def latent_frame_rate(self) -> float:
        return self.sample_rate / self.hop_length

    def stride(self, k: int) -> int:
        return self.strides[k] if self.strides else 1

    def role(self, k: int) -> str:
        if self.roles:
            return self.roles[k]
        if k in self.semantic_codebooks:
            return "semantic"
        if self.strides:
            return f"scale {k} ({self.latent_frame_rate / self.stride(k):.1f} Hz)"
        return "acoustic" if self.semantic_codebooks else f"residual stage {k}"

    def frame_rates(self, n: int | None = None) -> list[float]:
        """The distinct frame rates of the first ``n`` codebooks, fastest first (SNAC has three)."""
        return sorted({round(c.frame_rate, 5) for c in self.codebooks(n)}, reverse=True)

    def bitrate(self, n: int | None = None) -> float:
        """The nominal bits per second of the first ``n`` codebooks (the default ones if ``n`` is None).

        What the codec's authors publish: frame rate times bits per code, summed over the codebooks
        (EnCodec 24 kHz with 8 codebooks: 75 Hz x 10 bits x 8 = 6 kbps). An encoding's own bitrate
        counts the codes it produced, so a padded clip comes out a little above this.
        """
        return sum(c.bitrate for c in self.codebooks(n))

    def codebooks(self, n: int | None = None) -> list[CodebookInfo]:
        """Describe the first ``n`` codebooks (all the default ones if ``n`` is None)."""
        n = self.default_codebooks if n is None else n
        return [
            CodebookInfo(k, self.codebook_size, self.latent_frame_rate / self.stride(k), self.stride(k), self.role(k))
            for k in range(n)
        ]


@dataclass
class EncodedBlock:
    """Codes of one block of audio: one 1-D tensor per codebook, plus side information.

    ``side`` holds what a family needs besides the codes to decode the block (EnCodec 48 kHz's
    per-segment loudness scale); it is JSON-serialisable.
    """

    codes: list[torch.Tensor]
    side: dict[str, Any]


class Codec(Protocol):
    """A loaded codec model on a device."""

    info: CodecInfo
    device: torch.device
    weights_id: dict[str, str]
    """The weights this codec was built from: ``{"file": name, "sha256": hex digest of its bytes}``
    (SNAC: the weights file, not its config.json; rvq-lab: its codebook file)."""

    def encode(self, audio: torch.Tensor, n_codebooks: int) -> EncodedBlock:
        """Encode ``[channels, samples]`` audio at ``info.sample_rate``.

        ``samples`` is a multiple of ``info.pad_multiple``; codebook k returns
        ``samples / hop_length / stride(k)`` codes.
        """
        ...

    def contributions(self, codes: list[torch.Tensor]) -> torch.Tensor:
        """Each codebook's additive part of the quantized latent, ``[K, D, latent_frames]``."""
        ...

    def decode_latent(self, latent: torch.Tensor, side: dict[str, Any]) -> torch.Tensor:
        """Decode a ``[D, latent_frames]`` latent to ``[channels, latent_frames * hop_length]`` audio."""
        ...

    def decoder_stages(self) -> list[torch.nn.Module]:
        """The decoder's top-level stages, in the order :meth:`decode_latent` runs them (empty when it has
        none): the engine counts them to report progress within a block, which on a slow codec and a
        short clip is the only progress there is."""
        ...

    def reference_decode(self, codes: list[torch.Tensor], sides: list[dict[str, Any]]) -> torch.Tensor:
        """The package's own decode of these codes, for checking the engine against it.

        ``sides`` has one entry per encoded block, each with its ``frames`` (latent frames) and
        whatever :meth:`encode` put in its side information.
        """
        ...
