"""Live (streaming) encoding and decoding, block by block as audio arrives.

Two strategies behind one small interface (:class:`LiveCodec`):

* :class:`MimiLive` runs Mimi through moshi's own streaming state (80 ms frames, state kept across
  steps): its codes equal an offline encode of the same signal exactly.
* :class:`ChunkedLive` serves every other codec: each step encodes a window of ``context`` samples
  before the new block, the block, and ``lookahead`` samples after it (none for causal codecs),
  keeps the block's codes, and decodes the window's latent, keeping the block's samples. For
  rvq-lab, whose frames are local, the codes and the audio equal the offline result; for the
  neural codecs the codes near block borders may differ (their receptive fields are longer).

* :class:`PacketLive` serves Opus, a reference codec that streams by design: one libopus encoder and
  one decoder kept open for the whole run, one 20 ms packet per step. Its algorithmic latency is
  the frame plus libopus's look-ahead (20 + 6.5 ms); the reconstruction runs that look-ahead behind
  the input. It has no codebooks, so there are no codes and edits do not apply.

A codec whose encoder reads the whole clip (SpeechTokenizer's bidirectional LSTM) has no strategy:
:func:`open_live` refuses it in one sentence before any weights are loaded, so the window and the
command line say the same.

Edits apply to every new block; time ranges are ignored live. When compute cannot keep up, the
caller drops whole blocks with :meth:`LiveCodec.skip`, which keeps the frame counter in step with
time. Nothing here touches Qt or devices.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch

from explorer.codecs.base import CodecInfo, PacketCodec
from explorer.codecs.registry import entry
from explorer.codecs.weights import Progress as DownloadProgress
from explorer.core.edits import Edits, random_codes
from explorer.core.errors import CodecError
from explorer.services.engine import Engine, latent_sum, seeded
from explorer.services.session import CodecChoice, open_engine
from explorer.core.types import FloatArray, IntArray


@dataclass
class LiveStep:
    """What one step produced: the new frames' codes per codebook and the new decoded samples."""

    first_frame: int
    codes: list[IntArray]
    audio: FloatArray
    encode_seconds: float = 0.0
    decode_seconds: float = 0.0


class LiveCodec(Protocol):
    block: int
    """Samples (at the codec's rate) consumed per step."""
    latency: int
    """Algorithmic latency in samples: block plus look-ahead."""
    hop: int
    """Samples per frame of the finest codebook."""
    n: int
    """Codebooks produced."""
    frame: int
    """The next step's first frame."""
    edits: Edits

    def push(self, audio: FloatArray) -> list[LiveStep]:
        """Feed ``[channels, n]`` samples at the codec's rate; return the steps now complete."""
        ...

    def skip(self, samples: int) -> None:
        """Drop ``samples`` (a multiple of ``block``) unprocessed: the frame counter moves on."""
        ...


def _gains(edits: Edits, n: int) -> torch.Tensor:
    """Per codebook, 1 where it is heard and 0 where not (a live step is short: the time range does not apply)."""
    return torch.tensor([1.0 if edits.heard(k) else 0.0 for k in range(n)], dtype=torch.float32)


def _randomized(edits: Edits, codes: list[IntArray], first_frame: int, size: int) -> list[IntArray]:
    return [random_codes(edits.seed, k, len(row), size, first_frame) if k in edits.randomize else row
            for k, row in enumerate(codes)]


class _Pending:
    """Samples received but not yet consumed, without quadratic concatenation."""

    def __init__(self, channels: int) -> None:
        self.parts: list[FloatArray] = []
        self.size = 0
        self.channels = channels

    def add(self, audio: FloatArray) -> None:
        self.parts.append(np.asarray(audio, dtype=np.float32))
        self.size += audio.shape[1]

    def take_all(self) -> FloatArray:
        x = np.concatenate(self.parts, axis=1) if self.parts else np.zeros((self.channels, 0), np.float32)
        self.parts = []
        self.size = 0
        return x

    def take_blocks(self, block: int) -> FloatArray:
        """The whole ``block``-sample blocks received so far (none: zero samples); the rest stays pending."""
        if self.size < block:
            return np.zeros((self.channels, 0), np.float32)
        x = self.take_all()
        usable = x.shape[1] // block * block
        if usable < x.shape[1]:
            self.add(x[:, usable:])
        return x[:, :usable]


class MimiLive:
    """Mimi through its streaming API; ``frames`` 80 ms frames per step."""

    def __init__(self, engine: Engine, n_codebooks: int = 8, frames: int = 1, edits: Edits | None = None) -> None:
        self.engine = engine
        self.model = engine.token_codec.model  # type: ignore[attr-defined]
        self.n = n_codebooks
        self.hop = 1920
        self.block = self.hop * frames
        self.latency = self.block
        self.edits = edits or Edits()
        self.frame = 0
        self.model.set_num_codebooks(n_codebooks)
        self._stream = self.model.streaming(batch_size=1)
        self._stream.__enter__()
        self._pending = _Pending(1)

    def close(self) -> None:
        self._stream.__exit__(None, None, None)

    def skip(self, samples: int) -> None:
        self.frame += samples // self.hop

    def push(self, audio: FloatArray) -> list[LiveStep]:
        self._pending.add(audio)
        steps: list[LiveStep] = []
        x = self._pending.take_blocks(self.block)
        with torch.inference_mode():
            for start in range(0, x.shape[1], self.block):
                t0 = time.perf_counter()
                block = torch.from_numpy(np.ascontiguousarray(x[None, :, start: start + self.block]))
                codes = self.model.encode(block)[0].numpy().astype(np.int64)
                rows = [codes[k] for k in range(self.n)]
                t1 = time.perf_counter()
                edits = self.edits
                heard = _randomized(edits, rows, self.frame, 2048)
                codec = self.engine.token_codec
                contrib = codec.contributions([torch.from_numpy(r) for r in heard])
                latent = latent_sum(contrib, _gains(edits, self.n))
                with seeded(edits.seed, codec.device):
                    out = codec.decode_latent(latent, {}).numpy()
                steps.append(LiveStep(self.frame, rows, out, t1 - t0, time.perf_counter() - t1))
                self.frame += len(rows[0])
        return steps


class ChunkedLive:
    """Any codec, by overlapping windows: ``context`` before, ``lookahead`` after each block."""

    def __init__(self, engine: Engine, n_codebooks: int | None = None, block_seconds: float = 0.08,
                 context_seconds: float | None = None, edits: Edits | None = None) -> None:
        info = engine.info
        self.engine = engine
        self.n = n_codebooks or info.default_codebooks
        unit = info.pad_multiple
        self.block = max(1, round(block_seconds * info.sample_rate / unit)) * unit
        seconds = min(0.5, info.context_seconds) if context_seconds is None else context_seconds
        self.context = max(1, math.ceil(seconds * info.sample_rate / unit)) * unit
        self.lookahead = 0 if info.causal else unit
        self.latency = self.block + self.lookahead
        self.hop = info.hop_length
        self.edits = edits or Edits()
        self.frame = 0
        self.history: FloatArray = np.zeros((info.channels, self.context), np.float32)
        self._pending = _Pending(info.channels)

    def push(self, audio: FloatArray) -> list[LiveStep]:
        self._pending.add(audio)
        steps: list[LiveStep] = []
        need = self.block + self.lookahead
        if self._pending.size < need:
            return steps
        x = self._pending.take_all()
        start = 0
        while x.shape[1] - start >= need:
            window = np.concatenate([self.history, x[:, start: start + need]], axis=1)
            steps.append(self._step(window))
            self.history = window[:, self.block: self.block + self.context]
            start += self.block
        self._pending.add(x[:, start:])
        return steps

    def skip(self, samples: int) -> None:
        self.frame += samples // self.hop

    def _step(self, window: FloatArray) -> LiveStep:
        info, codec = self.engine.info, self.engine.token_codec
        hop = info.hop_length
        with torch.inference_mode():
            t0 = time.perf_counter()
            block = codec.encode(torch.from_numpy(np.ascontiguousarray(window)), self.n)
            codes = [c.cpu().numpy().astype(np.int64) for c in block.codes]
            t1 = time.perf_counter()
            heard = _randomized(self.edits, codes, self.frame, info.codebook_size)
            contrib = codec.contributions([torch.from_numpy(r) for r in heard])
            latent = latent_sum(contrib, _gains(self.edits, self.n))
            side = {**block.side, "offset": max(0, self.frame - self.context // hop)}  # noise drawn where the window is
            with seeded(self.edits.seed, codec.device):
                out = codec.decode_latent(latent, side).float().cpu().numpy()
        first = self.context // hop
        new = [c[first // info.stride(k): (first + self.block // hop) // info.stride(k)] for k, c in enumerate(codes)]
        audio = np.zeros((info.channels, self.block), np.float32)
        piece = out[:, self.context: self.context + self.block]
        audio[:, : piece.shape[1]] = piece
        step = LiveStep(self.frame, new, audio, t1 - t0, time.perf_counter() - t1)
        self.frame += self.block // hop
        return step


class PacketLive:
    """A packet codec (Opus) through one encoder and one decoder kept open: a packet per frame.

    The decoder trims the encoder's look-ahead from its first packet, so the decoded stream would
    start that many samples short; the output starts with that many samples of silence instead, and
    every step then gives exactly one frame of audio: the input's, ``lookahead`` samples later.
    """

    def __init__(self, engine: Engine, codec: PacketCodec, kbps: int, edits: Edits | None = None) -> None:
        self.encoder = codec.encoder(kbps)
        self.decoder = codec.decoder(self.encoder.header)
        self.n = 0
        self.hop = self.block = self.encoder.frame
        self.latency = self.block + self.encoder.lookahead
        self.edits = edits or Edits()
        """Kept for the interface: a codec without codebooks has nothing to edit."""
        self.frame = 0
        channels = engine.info.channels
        self._pending = _Pending(channels)
        self._out = _Pending(channels)
        self._out.add(np.zeros((channels, self.encoder.lookahead), np.float32))

    def skip(self, samples: int) -> None:
        self.frame += samples // self.hop

    def push(self, audio: FloatArray) -> list[LiveStep]:
        self._pending.add(audio)
        steps: list[LiveStep] = []
        x = self._pending.take_blocks(self.block)
        for start in range(0, x.shape[1], self.block):
            t0 = time.perf_counter()
            packets = self.encoder.encode(x[:, start: start + self.block])
            t1 = time.perf_counter()
            for packet in packets:
                self._out.add(self.decoder.decode(packet))
            out = self._out.take_all()
            self._out.add(out[:, self.block:])
            audio = np.zeros((out.shape[0], self.block), np.float32)
            audio[:, : min(self.block, out.shape[1])] = out[:, : self.block]
            steps.append(LiveStep(self.frame, [], audio, t1 - t0, time.perf_counter() - t1))
            self.frame += 1
        return steps


def check_live(info: CodecInfo) -> None:
    """Refuse a codec that cannot encode block by block as audio arrives.

    Raises
    ------
    CodecError
        One sentence, the same in the window and on the command line, when the codec's encoder
        reads the whole clip (:attr:`CodecInfo.bidirectional`).
    """
    if info.bidirectional:
        raise CodecError(f"{info.spoken}'s encoder looks at the whole clip (bidirectional), so it cannot run live; "
                         "pick Mimi or EnCodec for live mode.")


def open_live(choice: CodecChoice, download: DownloadProgress | None = None) -> Engine:
    """Load ``choice``'s codec for a live run (a fresh instance: Mimi keeps its streaming state in the
    model), after :func:`check_live` has refused one that cannot stream, before any weights load."""
    check_live(entry(choice.name).info())
    return open_engine(choice, download)


def live_codec(engine: Engine, n_codebooks: int | None = None, edits: Edits | None = None,
               block_seconds: float | None = None, kbps: int | None = None) -> LiveCodec:
    """The streaming strategy for ``engine``'s codec; ``block_seconds`` per step (None: 160 ms for Mimi,
    two of its frames, the fewest that keep up on a 2-core CPU; 80 ms for the others). Opus streams
    one 20 ms packet per step at ``kbps`` (None: its default), whatever ``block_seconds`` says.

    Raises
    ------
    CodecError
        For a codec that cannot stream (:func:`check_live`).
    """
    check_live(engine.info)
    setting = engine.info.kbps_setting(kbps, n_codebooks)
    if isinstance(engine.codec, PacketCodec):
        return PacketLive(engine, engine.codec, setting, edits)
    if engine.info.family == "mimi":
        frames = max(1, round((block_seconds or 0.16) / 0.08))
        return MimiLive(engine, n_codebooks or engine.info.default_codebooks, frames=frames, edits=edits)
    return ChunkedLive(engine, n_codebooks, block_seconds=block_seconds or 0.08, edits=edits)
