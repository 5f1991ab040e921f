"""The one interface every codec family implements.

A codec turns a block of audio at its own rate into integer codes, one row per codebook, and back.
Between the two sits the *quantized latent*: the sum of one contribution per codebook. Exposing
those contributions is what lets the engine mute, solo or randomize a single codebook by what it
really adds, rather than by writing a fake code, and what makes an edit cost one decoder pass.

Frames: every contribution is returned at the *latent* frame rate (``hop_length`` samples per
frame). A codebook whose codes are coarser (SNAC's scales) states its ``stride``: how many latent
frames one of its codes covers.

A *reference* codec (Opus) has none of this: it codes the waveform itself in packets, with no
codebooks, no latent and so nothing to edit. It implements :class:`PacketCodec` instead of
:class:`Codec`, and its :class:`CodecInfo` says so (``tokens=False``, ``max_codebooks=0``), so the
engine, the views and the command line branch on a stated fact, never on a probe.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch

from explorer.core.errors import CodecError
from explorer.core.types import FloatArray


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
    span_context: tuple[int, int] | None = None
    """Latent frames (before, after) a span must be decoded with to match the whole clip's decode within
    1e-3 of its peak, for decoders with no finite receptive field (LSTMs, transformers): measured per
    family, and held by the tests. None: the decoder is convolutional and the engine computes its
    receptive field from its layers (:func:`conv_context`)."""
    bidirectional: bool = False
    """The encoder reads the clip both ways (SpeechTokenizer's BiLSTM): every code depends on all the
    audio after it too, so the codec cannot encode block by block as audio arrives (no live mode)."""
    label: str = ""
    """The family's name as a sentence writes it (``SpeechTokenizer``); empty: the codec's name."""
    licence: str = ""
    """The licence its weights are published under, as their publisher states it (and the code's where it
    differs); empty: not stated. The codec picker and ``codec-explorer codecs`` show it."""
    tokens: bool = True
    """The codec codes audio as integer tokens in codebooks (every neural codec here). False for a
    reference codec that codes the waveform in packets (Opus): it has no codebooks (``max_codebooks``
    is 0), no token grid and no edits, its bitrate is a setting in kbps (:attr:`kbps_choices`) rather
    than a codebook count, and its measured bitrate comes from the packets' sizes."""
    kbps_choices: tuple[int, ...] = ()
    """The bitrate settings a packet codec offers in the codec box, in kbps; empty for token codecs."""
    default_kbps: int = 0
    """The bitrate a packet codec encodes at when none is asked for (0 for token codecs)."""
    kbps_range: tuple[int, int] = (0, 0)
    """The lowest and highest bitrate setting a packet codec accepts, in kbps."""

    @property
    def spoken(self) -> str:
        """How a sentence names this codec: its family's :attr:`label`, or else its name."""
        return self.label or self.name

    def kbps_setting(self, kbps: int | None, codebooks: int | None = None) -> int:
        """The bitrate setting to encode at: ``kbps``, or the default when None (0 for a token codec).

        Raises
        ------
        CodecError
            One sentence, when ``kbps`` is given to a token codec (its bitrate is its codebook count),
            ``codebooks`` to a packet codec (it has none), or ``kbps`` lies outside :attr:`kbps_range`.
        """
        if self.tokens:
            if kbps is not None:
                raise CodecError(f"--kbps sets Opus's bitrate; {self.spoken} is a token codec whose bitrate is its "
                                 "codebook count: choose that with -n/--codebooks (or NAME@N in compare).")
            return 0
        if codebooks is not None:
            raise CodecError(f"{self.spoken} has no codebooks; set its bitrate in kbps instead "
                             f"(--kbps, or {self.name}@KBPS in compare).")
        if kbps is None:
            return self.default_kbps
        lo, hi = self.kbps_range
        if not lo <= kbps <= hi:
            raise CodecError(f"{self.spoken} encodes at {lo} to {hi} kbps; {kbps} kbps was asked for.")
        return kbps

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


def conv_context(modules: list[torch.nn.Module]) -> int:
    """Latent frames on each side that one output sample of a convolutional decoder depends on.

    ``modules`` are the decoder's layers in the order they run. Each convolution widens the receptive
    field by ``(kernel - 1) * dilation`` samples at its own rate, a transposed convolution by
    ``(kernel - 1) / stride`` of its input frames before multiplying the rate by its stride, and a
    windowed attention (SNAC's LocalMHA, ``window_size`` frames) by its window; summed in latent
    frames, that is the whole width, and half of it (rounded up, plus one) lies on each side of a
    centred ("same"-padded) layer stack. Residual branches count in full: an upper bound.
    """
    scale, width = 1.0, 0.0
    for m in modules:
        if isinstance(m, torch.nn.ConvTranspose1d):
            width += (m.kernel_size[0] - 1) / m.stride[0] / scale
            scale *= m.stride[0]
        elif isinstance(m, torch.nn.Conv1d):
            width += (m.kernel_size[0] - 1) * m.dilation[0] / scale
        elif isinstance(getattr(m, "window_size", None), int):
            width += 2 * int(getattr(m, "window_size")) / scale
    return math.ceil(width / 2) + 1


def positional_noise(seed: int, key: int, start: int, n: int, block: int = 4096) -> FloatArray:
    """Standard normal noise for samples ``start`` to ``start + n`` of a stream, the same whatever span is
    asked for: drawn in blocks of ``block`` samples, each from its own generator keyed by
    ``(seed, key, block index)``. A decoder that adds noise (SNAC's NoiseBlock, rvq-lab's noise fill)
    draws it here, so a span decoded alone sounds as the same span of the whole clip."""
    first, last = start // block, (start + n - 1) // block + 1 if n > 0 else start // block
    parts = [np.random.default_rng([seed, key, b]).standard_normal(block, dtype=np.float32) for b in range(first, last)]
    out: FloatArray = np.concatenate(parts)[start - first * block: start - first * block + n] if parts else np.zeros(0, np.float32)
    return out


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
        """Decode a ``[D, latent_frames]`` latent to ``[channels, latent_frames * hop_length]`` audio.

        ``side`` may hold ``offset``: the latent frame of the block this latent starts at (0 if absent),
        where a decoder that adds noise starts drawing it (:func:`positional_noise`)."""
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


@dataclass(frozen=True)
class Packets:
    """A packet codec's bitstream of one clip: its packets in order and the header that decodes them."""

    data: tuple[bytes, ...]
    header: bytes
    """What the decoder needs before the first packet (Opus: its identification header, with the pre-skip)."""
    kbps: int
    """The bitrate setting they were encoded at (what they measure is :attr:`bits` over the duration)."""

    @property
    def bits(self) -> int:
        """Every bit of every packet: what a measured bitrate counts."""
        return 8 * sum(len(p) for p in self.data)


class PacketEncoder(ABC):
    """An encoder kept open across calls: audio in, packets out, one per :attr:`frame` samples."""

    frame: int
    """Samples per packet, at the codec's rate."""
    lookahead: int
    """Samples the decoded stream lags its input by before the decoder's own trimming (Opus's pre-skip):
    the look-ahead part of the algorithmic latency."""
    header: bytes

    @abstractmethod
    def encode(self, audio: FloatArray) -> list[bytes]:
        """Encode ``[channels, k * frame]`` samples: ``k`` packets (fewer while the encoder fills)."""

    @abstractmethod
    def flush(self) -> list[bytes]:
        """The packets still held (the look-ahead's); the encoder is finished afterwards."""


class PacketDecoder(ABC):
    """A decoder kept open across packets; its output is aligned with the encoder's input."""

    @abstractmethod
    def decode(self, packet: bytes) -> FloatArray:
        """Decode one packet to ``[channels, n]`` samples (the first is shorter by the look-ahead)."""


class PacketCodec(ABC):
    """A reference codec that codes the waveform in packets (Opus); its :attr:`info` has ``tokens=False``.

    An ABC rather than a Protocol: the engine tells it from a :class:`Codec` by ``isinstance``, a
    nominal fact, and the two must agree with ``info.tokens`` (the tests check that they do).
    """

    info: CodecInfo
    device: torch.device
    weights_id: dict[str, str]

    @abstractmethod
    def encoder(self, kbps: int) -> PacketEncoder:
        """A fresh encoder at ``kbps`` (checked against ``info.kbps_range`` by the caller)."""

    @abstractmethod
    def decoder(self, header: bytes) -> PacketDecoder:
        """A fresh decoder for packets made by an encoder with this ``header``."""
