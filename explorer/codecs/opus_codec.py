"""Opus through PyAV's libopus: the reference codec that the neural codecs are measured against.

Opus codes the waveform itself in 20 ms packets (a hybrid of SILK's linear prediction and CELT's
MDCT); it has no codebooks, no tokens and no latent to edit (``CodecInfo.tokens`` is False). It is
here so that a bitrate means something: a neural codec at 1.5 kbps can be heard beside the codec
the world actually uses at 6, 12 and 20 kbps.

Settings, and why:

* 48 kHz mono: Opus's native rate (every other rate is resampled inside libopus anyway), and one
  channel like most of the neural codecs it stands beside.
* 20 ms frames: Opus's default and the frame every VoIP stack uses; it is also what makes live
  mode stream one packet per 20 ms step.
* Constrained VBR: packets vary in size with the signal, but the average stays at the setting.
  libopus's unconstrained VBR overshoots badly at higher settings (measured on the bundled speech:
  114 kbps for a 64 kbps setting; constrained: 64.0), so a bitrate on the ladder would not mean what
  it says. Every figure reports the *measured* bitrate (packet bytes over the clip's duration).
* ``application=audio``: the general-purpose mode, which aims at fidelity to the input, music as
  much as speech. ``voip`` tunes for speech intelligibility (it high-passes and emphasises
  formants), which would favour Opus on speech and handicap it on the bundled music, and make its
  waveform metrics (SI-SDR) less comparable with codecs that try to reproduce the input.

PyAV's manylinux wheels carry libopus, so nothing outside the Python packages is needed. The
FFmpeg decoder trims Opus's pre-skip (312 samples, 6.5 ms of look-ahead) from the first packet, so
decoded audio lines up with the input sample for sample; the encoder's final packets (flushed at
the end) carry the last frame's look-ahead.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Literal

import av
from av.audio.codeccontext import AudioCodecContext
import numpy as np
import torch

from explorer.codecs.base import CodecInfo, PacketCodec, PacketDecoder, PacketEncoder
from explorer.codecs.weights import Progress
from explorer.core.errors import CodecError
from explorer.core.types import FloatArray

RATE = 48000
FRAME = 960
"""Samples per packet: 20 ms at 48 kHz."""
KBPS_CHOICES = (6, 12, 20, 32, 64)
DEFAULT_KBPS = 20
KBPS_RANGE = (6, 256)
"""libopus's range for one channel: 6 kbps is its floor, and FFmpeg's wrapper refuses over 256 kbps per channel."""
APPLICATION = "audio"
LICENCE = "BSD-3-Clause (libopus; no weights)"
"""libopus's licence (opus-codec.org/license), as bundled in PyAV's wheels; Opus has no trained weights."""


def info(name: str) -> CodecInfo:
    return CodecInfo(
        name=name,
        family="opus",
        sample_rate=RATE,
        channels=1,
        hop_length=FRAME,
        codebook_size=0,
        max_codebooks=0,
        default_codebooks=0,
        codebook_choices=(),
        description="Opus (libopus through PyAV), 48 kHz mono, 20 ms packets, constrained VBR: a reference codec, no tokens",
        pad_multiple=FRAME,
        causal=True,
        label="Opus",
        licence=LICENCE,
        tokens=False,
        kbps_choices=KBPS_CHOICES,
        default_kbps=DEFAULT_KBPS,
        kbps_range=KBPS_RANGE,
    )


def _context(mode: Literal["r", "w"]) -> AudioCodecContext:
    try:
        return av.codec.CodecContext.create("libopus", mode)
    except (av.error.FFmpegError, ValueError) as exc:  # a PyAV built without libopus
        raise CodecError(f"Opus is not available: this PyAV has no libopus ({exc}); reinstall the 'av' package.") from exc


class OpusEncoder(PacketEncoder):
    """libopus's encoder, open until :meth:`flush`: whole 20 ms frames in, one packet each out."""

    def __init__(self, kbps: int) -> None:
        ctx = _context("w")
        ctx.sample_rate = RATE
        ctx.layout = "mono"
        ctx.format = "flt"
        ctx.bit_rate = kbps * 1000
        ctx.options = {"application": APPLICATION, "frame_duration": "20", "vbr": "constrained"}
        try:
            ctx.open()
        except av.error.FFmpegError as exc:
            raise CodecError(f"libopus refused {kbps} kbps ({exc}).") from exc
        self.ctx = ctx
        self.frame = FRAME
        self.header = bytes(ctx.extradata or b"")
        self.lookahead = int(struct.unpack("<H", self.header[10:12])[0]) if len(self.header) >= 12 else 0
        self._pts = 0

    def encode(self, audio: FloatArray) -> list[bytes]:
        if audio.shape[1] % FRAME:
            raise ValueError(f"Opus encodes whole {FRAME}-sample frames; got {audio.shape[1]} samples")
        packets: list[bytes] = []
        for start in range(0, audio.shape[1], FRAME):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(audio[:1, start: start + FRAME], np.float32),
                                               format="flt", layout="mono")
            frame.sample_rate = RATE
            frame.pts = self._pts
            self._pts += FRAME
            packets += [bytes(p) for p in self.ctx.encode(frame)]
        return packets

    def flush(self) -> list[bytes]:
        return [bytes(p) for p in self.ctx.encode(None)]


class OpusDecoder(PacketDecoder):
    """libopus's decoder, asked for float samples; FFmpeg drops the pre-skip from the first packet."""

    def __init__(self, header: bytes) -> None:
        ctx = _context("r")
        ctx.sample_rate = RATE
        ctx.layout = "mono"
        ctx.extradata = header
        ctx.options = {"request_sample_fmt": "flt"}
        ctx.open()
        self.ctx = ctx

    def decode(self, packet: bytes) -> FloatArray:
        try:
            frames = self.ctx.decode(av.Packet(packet))
        except av.error.FFmpegError as exc:
            raise CodecError(f"An Opus packet could not be decoded ({exc}): the packets are damaged.") from exc
        parts = [f.to_ndarray().reshape(1, -1).astype(np.float32) for f in frames]
        return np.concatenate(parts, axis=1) if parts else np.zeros((1, 0), np.float32)


class OpusCodec(PacketCodec):
    """Opus behind :class:`explorer.codecs.base.PacketCodec`: no weights, runs on the CPU whatever the device."""

    def __init__(self, name: str, device: torch.device, weights: str | Path | None = None, progress: Progress | None = None) -> None:
        if weights is not None:
            raise CodecError("Opus has no weights: leave out --weights.")
        self.info = info(name)
        self.device = torch.device("cpu")
        self.weights_id: dict[str, str] = {}

    def encoder(self, kbps: int) -> PacketEncoder:
        return OpusEncoder(kbps)

    def decoder(self, header: bytes) -> PacketDecoder:
        return OpusDecoder(header)
