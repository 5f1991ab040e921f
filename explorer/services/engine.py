"""The engine: encode a clip with a codec, decode it back under edits.

Flow of one round trip::

    clip (any rate, any channels)
      -> convert to the codec's channels and rate, zero-pad to its pad unit
      -> encode block by block (plan.py)          -> codes per codebook, side info per block
      -> per-codebook latent contributions         (cached on the device while they fit the budget)
      -> latent = sum_k gain_k(t) * contribution_k(t)   with edits applied (edits.py)
      -> decode block by block, overlap-add        -> audio at the codec rate
      -> resample back, trim to the input length   -> reconstruction aligned sample for sample

Every decode runs with torch's RNG seeded to the edit's seed (and the caller's RNG state restored
afterwards), so SNAC's noise injection makes the same sound every time.

A reference codec (Opus, a :class:`PacketCodec`) takes a shorter path: the converted clip goes
through one encoder kept open, frame by frame, and its packets through one decoder; the encoding
holds the packets instead of codes, and its bitrate is measured from their sizes. It has no
codebooks, so an edit of one is refused in one sentence (:func:`refuse_edits`).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections import OrderedDict
import functools
import logging
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import numpy as np
import torch

from explorer.core.types import AnyArray, FloatArray, IntArray
from explorer.codecs.base import Codec, CodecInfo, PacketCodec, Packets, conv_context
from explorer.codecs.registry import PACKAGES
from explorer.core.audio import Clip, ConvertedStream, fit_length, resample
from explorer.core.device import describe_device
from explorer.core.edits import Edits, edited_codes, gains, heard_bitrate
from explorer.core.errors import CancelledError, CodecError
from explorer.core.plan import OverlapAdd, context_decode_plan, context_encode_plan, segment_decode_plan
from explorer.core.provenance import CodecRun, provenance

log = logging.getLogger(__name__)

Progress = Callable[[float, str], bool | None]
MIN_CHUNK_SECONDS = 1.0
"""The smallest decode block the out-of-memory fallback tries."""
"""Called with (fraction done, what is happening); returning False cancels."""

CONTRIBUTION_BUDGET = 256 << 20
REUSE_BUDGET = 256 << 20
"""Bytes of earlier decodes (codec-rate audio) the engine keeps when asked to reuse them (the window's)."""
REUSE_MAX_SHARE = 0.5
"""A changed range wider than this share of the clip is decoded whole instead."""
CROSSFADE_SECONDS = 0.01
PACKET_BLOCK_SECONDS = 10.0
"""A packet codec is fed this much converted audio at a time (a long clip is never converted whole)."""
PACKET_PROGRESS_EVERY = 500
"""Packets decoded between progress reports (10 s of Opus)."""


@dataclass
class Encoding:
    """The codes of one clip and what is needed to decode them back to that clip's timeline."""

    info: CodecInfo
    codes: list[IntArray]
    sides: list[dict[str, Any]]
    input_rate: int
    input_samples: int
    codec_samples: int
    notes: tuple[str, ...] = ()
    weights: dict[str, str] | None = None
    """The identity of the weights that made the codes (file name and sha256; None for old token files)."""
    source: CodecRun | None = None
    """The loaded codec that encoded or read the codes (:meth:`Engine.describe`), for provenance."""
    cache: Any = field(default=None, repr=False)
    """Engine-private: contributions ``[K, D, frames]`` on the codec's device, when they fit."""
    packets: Packets | None = None
    """A packet codec's bitstream (Opus), in place of codes: ``codes`` is then empty."""

    @property
    def n_codebooks(self) -> int:
        return len(self.codes)

    @property
    def latent_frames(self) -> int:
        return sum(int(s["frames"]) for s in self.sides)

    @property
    def duration(self) -> float:
        return self.input_samples / self.input_rate

    def frame_times(self, k: int) -> AnyArray:
        """Start time in seconds of each code of codebook ``k``."""
        info = self.info
        step = info.hop_length * info.stride(k)
        if info.segment is None:
            return np.arange(len(self.codes[k])) * (step / info.sample_rate)
        stride = info.segment[1]
        return np.concatenate([
            (i * stride + np.arange(int(s["frames"]) // info.stride(k)) * step) / info.sample_rate
            for i, s in enumerate(self.sides)
        ])

    @property
    def frame_rates(self) -> list[float]:
        """Codes per second of audio, per codebook (EnCodec 48 kHz's overlapping segments included)."""
        return [len(row) / self.duration for row in self.codes]

    @property
    def bitrate(self) -> float:
        """Bits per second, measured: from the codes produced, or a packet codec's packet bytes."""
        if self.packets is not None:
            return self.packets.bits / self.duration
        return sum(len(row) for row in self.codes) * math.log2(self.info.codebook_size) / self.duration

    def heard_bitrate(self, edits: Edits) -> float:
        """Bits per second of the codebooks ``edits`` lets through (muted and unkept ones cost nothing);
        a packet codec's measured bitrate (it has no codebooks to leave out)."""
        if self.packets is not None:
            return self.bitrate
        bits = math.log2(self.info.codebook_size)
        return heard_bitrate([len(row) * bits / self.duration for row in self.codes], edits)

    def provenance(self, *edits: Edits) -> dict[str, Any]:
        """The provenance record (:func:`explorer.core.provenance.provenance`) of an export of these codes
        under ``edits``, by the codec that holds them."""
        return provenance([self.source] if self.source is not None else [], edits)

    def meta(self, edits: Edits | None = None) -> dict[str, Any]:
        """A token file's meta for these codes under ``edits``, its provenance included.

        Raises
        ------
        CodecError
            For a packet codec's encoding (:func:`refuse_token_file`).
        """
        refuse_token_file(self.info)
        edits = edits or Edits()
        return {
            "codec": self.info.name,
            "weights": self.weights,
            "codebooks": self.n_codebooks,
            "sample_rate": self.info.sample_rate,
            "channels": self.info.channels,
            "codebook_size": self.info.codebook_size,
            "frame_rates": self.frame_rates,
            "strides": [self.info.stride(k) for k in range(self.n_codebooks)],
            "input_sample_rate": self.input_rate,
            "num_samples": self.input_samples,
            "codec_samples": self.codec_samples,
            "blocks": self.sides,
            "edits": edits.to_dict(),
            "provenance": self.provenance(edits),
        }


def packet_ms(info: CodecInfo) -> int:
    """A packet codec's packet length in milliseconds (Opus: 20)."""
    return round(1000 * info.hop_length / info.sample_rate)


def refuse_token_file(info: CodecInfo) -> None:
    """A codec without tokens has nothing a token file can hold: refuse to write one.

    Its packets are not stored in a token file on purpose: the format's reader accepts only integer
    code rows that it can validate, and what Opus's bitstream is for is the reconstruction.

    Raises
    ------
    CodecError
        One sentence, for the command line's ``encode``, the window's token export and a live take.
    """
    if not info.tokens:
        raise CodecError(f"{info.spoken} has no tokens to save: it codes the waveform in {packet_ms(info)} ms packets, "
                         "and a token file holds codebook codes. Save the reconstruction as audio instead "
                         f"(roundtrip -c {info.name} -o out.wav).")


def refuse_edits(info: CodecInfo, edits: Edits) -> None:
    """A codec without tokens has no codebooks to mute, solo, keep or randomize: refuse any such edit.

    Raises
    ------
    CodecError
        One sentence, the same for the engine, live mode and the command line.
    """
    if not info.tokens and not edits.is_identity:
        raise CodecError(f"{info.spoken} has no codebooks, so there is nothing to mute, solo, keep or randomize: "
                         "it codes the waveform itself. Drop the edits, or pick a token codec.")


def latent_sum(contributions: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    """The quantized latent ``Σ_k weight_k · contribution_k``: ``[K, D, T]`` contributions, ``weight``
    per codebook ``[K]`` or per codebook and frame ``[K, T]`` (None: every codebook heard)."""
    if weight is None:
        return contributions.sum(dim=0)
    w = weight.to(contributions.device, contributions.dtype)
    w = w[:, None, None] if w.ndim == 1 else w[:, None, :]
    return (contributions * w).sum(dim=0)


@contextlib.contextmanager
def seeded(seed: int, device: torch.device) -> Iterator[None]:
    """Run with torch's RNG seeded, restoring the caller's RNG state afterwards."""
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


def report(progress: Progress | None, fraction: float, what: str) -> None:
    """Tell ``progress`` that ``what`` is ``fraction`` done; raise :class:`CancelledError` if it answers False."""
    if progress is not None and progress(fraction, what) is False:
        raise CancelledError(f"{what}: cancelled.")


def within(progress: Progress | None, lo: float, hi: float) -> Progress | None:
    """``progress`` for one part of a longer task: the part's fraction 0..1 is reported as ``lo..hi`` of the whole."""
    if progress is None:
        return None
    whole = progress
    return lambda fraction, what: whole(lo + (hi - lo) * fraction, what)


class Engine:
    """Encodes and decodes clips with one loaded codec."""

    def __init__(self, codec: Codec | PacketCodec, contribution_budget: int = CONTRIBUTION_BUDGET) -> None:
        self.codec = codec
        self.info = codec.info
        if isinstance(codec, PacketCodec) == self.info.tokens:
            raise CodecError(f"{self.info.name}'s info says tokens={self.info.tokens}, but its codec is "
                             f"{'' if isinstance(codec, PacketCodec) else 'not '}a packet codec.")
        self.budget = contribution_budget
        self.chunk_scale = 1.0
        """Shrinks by 4 each time the device runs out of memory (see :meth:`decode_native`)."""
        self._codewords: list[FloatArray] | None = None
        self._span_context: tuple[int, int] | None = None
        self._decodes: OrderedDict[Edits, FloatArray] = OrderedDict()
        """Recent decodes of :attr:`_decodes_of` by their edits, newest last (see :meth:`decode`'s ``reuse``)."""
        self._decodes_of: Encoding | None = None
        self._plan: tuple[tuple[Edits, Edits], tuple[Edits, tuple[int, int] | None] | None] | None = None
        """The last :meth:`_reuse_plan` asked for: ((remembered edits, new edits), its answer)."""
        self.last_reuse = ""
        """How the last decode with ``reuse`` was made: "remembered", "range F-L" (latent frames) or "whole"."""
        self.notices: list[str] = []
        """What the engine did differently to succeed (e.g. smaller blocks after running out of memory)."""

    @property
    def token_codec(self) -> Codec:
        """The codec as a token codec: what every codes, latent and decoder path runs.

        Raises
        ------
        CodecError
            For a packet codec (Opus), which has none of these.
        """
        if isinstance(self.codec, PacketCodec):
            raise CodecError(f"{self.info.spoken} has no tokens: it codes the waveform in {packet_ms(self.info)} ms packets.")
        return self.codec

    # ---------------------------------------------------------------- encode
    def encode(self, clip: Clip, n_codebooks: int | None = None, progress: Progress | None = None,
               kbps: int | None = None) -> Encoding:
        """Encode ``clip`` with the first ``n_codebooks`` codebooks (the codec's default if None), or for a
        packet codec at ``kbps`` (its default if None); each setting is refused for the other kind."""
        info = self.info
        setting = info.kbps_setting(kbps, n_codebooks)
        if isinstance(self.codec, PacketCodec):
            return self._encode_packets(self.codec, clip, setting, progress)
        n = info.default_codebooks if n_codebooks is None else n_codebooks
        if not 1 <= n <= info.max_codebooks:
            raise CodecError(f"{info.name} has 1 to {info.max_codebooks} codebooks; {n} were asked for.")
        if clip.frames == 0:
            raise CodecError("The clip is empty: there is nothing to encode.")
        native = ConvertedStream(clip, info.sample_rate, info.channels)  # block by block: no full-length copy
        codec_samples = native.frames
        padded = math.ceil(codec_samples / info.pad_multiple) * info.pad_multiple

        def window(start: int, end: int) -> torch.Tensor:
            return torch.from_numpy(native.window(start, end))
        rows: list[list[IntArray]] = [[] for _ in range(n)]
        sides: list[dict[str, Any]] = []
        with torch.inference_mode():
            if info.segment is not None:
                length, stride = info.segment
                offsets = list(range(0, codec_samples, stride))
                for i, off in enumerate(offsets):
                    report(progress, i / len(offsets), f"Encoding with {info.name}")
                    seg = window(off, off + math.ceil(min(length, codec_samples - off) / info.hop_length) * info.hop_length)
                    block = self.token_codec.encode(seg, n)
                    for k in range(n):
                        rows[k].append(block.codes[k].cpu().numpy())
                    sides.append({"frames": int(block.codes[0].shape[-1]), **block.side})
            else:
                chunk, context = self._chunk_samples()
                plan = context_encode_plan(padded, chunk, context)
                for i, piece in enumerate(plan):
                    report(progress, i / len(plan), f"Encoding with {info.name}")
                    block = self.token_codec.encode(window(*piece.audio), n)
                    for k in range(n):
                        per = info.hop_length * info.stride(k)
                        rows[k].append(block.codes[k][piece.skip // per: (piece.skip + piece.length) // per].cpu().numpy())
                    sides.append({"frames": piece.length // info.hop_length, **block.side})
        report(progress, 1.0, f"Encoding with {info.name}")
        codes = [np.concatenate(r).astype(np.int64) for r in rows]
        enc = Encoding(info, codes, sides, clip.sample_rate, clip.frames, codec_samples, native.notes, self.weights_id, self.describe())
        self._fill_cache(enc)
        return enc

    def _encode_packets(self, codec: PacketCodec, clip: Clip, kbps: int, progress: Progress | None) -> Encoding:
        """Encode ``clip`` through one encoder kept open, a few seconds of converted audio at a time."""
        info = self.info
        if clip.frames == 0:
            raise CodecError("The clip is empty: there is nothing to encode.")
        native = ConvertedStream(clip, info.sample_rate, info.channels)
        encoder = codec.encoder(kbps)
        step = max(1, round(PACKET_BLOCK_SECONDS * info.sample_rate / encoder.frame)) * encoder.frame
        packets: list[bytes] = []
        for start in range(0, native.frames, step):
            report(progress, start / native.frames, f"Encoding with {info.name}")
            end = min(native.frames, start + step)
            padded = start + -(-(end - start) // encoder.frame) * encoder.frame
            packets += encoder.encode(native.window(start, padded))
        packets += encoder.flush()
        report(progress, 1.0, f"Encoding with {info.name}")
        return Encoding(info, [], [{"frames": len(packets)}], clip.sample_rate, clip.frames, native.frames, native.notes,
                        packets=Packets(tuple(packets), encoder.header, kbps))

    def _decode_packets(self, codec: PacketCodec, enc: Encoding, progress: Progress | None) -> FloatArray:
        """Every packet through one decoder, trimmed to the codec-rate length (the decoder aligns them)."""
        assert enc.packets is not None
        decoder = codec.decoder(enc.packets.header)
        what = f"Decoding with {self.info.name}"
        parts = []
        for i, packet in enumerate(enc.packets.data):
            if i % PACKET_PROGRESS_EVERY == 0:
                report(progress, i / len(enc.packets.data), what)
            parts.append(decoder.decode(packet))
        report(progress, 1.0, what)
        return fit_length(np.concatenate(parts, axis=1), enc.codec_samples)

    @property
    def weights_id(self) -> dict[str, str] | None:
        """The loaded weights' identity (file name and sha256), as token files record it."""
        wid = getattr(self.codec, "weights_id", None)
        return dict(wid) if wid else None

    @functools.cached_property
    def dtype(self) -> str:
        """The floating-point type the codec computes its latent in: that of one code's contribution (a
        packet codec's: the samples it is handed, libopus's 32-bit float)."""
        if isinstance(self.codec, PacketCodec):
            return "float32"
        with torch.inference_mode():
            return str(self.token_codec.contributions([torch.zeros(1, dtype=torch.int64)]).dtype).removeprefix("torch.")

    def describe(self) -> CodecRun:
        """The loaded codec as provenance names it: name, package, weights, device and dtype."""
        return CodecRun(self.info.name, PACKAGES.get(self.info.family), self.weights_id, describe_device(self.codec.device), self.dtype)

    def _chunk_samples(self) -> tuple[int, int]:
        info = self.info
        unit = info.pad_multiple
        chunk = max(1, round(info.chunk_seconds * self.chunk_scale * info.sample_rate / unit)) * unit
        context = max(1, math.ceil(info.context_seconds * info.sample_rate / unit)) * unit
        return chunk, context

    def _fill_cache(self, enc: Encoding) -> None:
        unit = min(enc.latent_frames, self.info.pad_multiple // self.info.hop_length)
        k, dim, _ = self._contributions(enc.codes, 0, unit).shape
        enc.cache = None
        if k * dim * enc.latent_frames * 4 <= self.budget:
            enc.cache = self._contributions(enc.codes, 0, enc.latent_frames)

    def _contributions(self, codes: list[IntArray], first: int, last: int) -> torch.Tensor:
        """Contributions of all codebooks over latent frames ``[first, last)``."""
        rows = []
        for k, row in enumerate(codes):
            s = self.info.stride(k)
            rows.append(torch.from_numpy(row[first // s: -(-last // s)]))
        with torch.inference_mode():
            return self.token_codec.contributions(rows)

    # ---------------------------------------------------------------- decode
    def latent(self, enc: Encoding, edits: Edits, first: int = 0, last: int | None = None) -> torch.Tensor:
        """The edited quantized latent over latent frames ``[first, last)``, ``[D, frames]``."""
        return self._latent(enc, self._applied(enc, edits), first, enc.latent_frames if last is None else last)

    def contributions(self, enc: Encoding, first: int = 0, last: int | None = None) -> torch.Tensor:
        """Each codebook's unedited contribution over latent frames ``[first, last)``, ``[K, D, frames]``
        on the CPU (from the cache when it holds them): what the stats and the energy view read."""
        last = enc.latent_frames if last is None else last
        c = enc.cache[:, :, first:last] if enc.cache is not None else self._contributions(enc.codes, first, last)
        return c[:, :, : last - first].float().cpu()

    def codeword_vectors(self, k: int) -> FloatArray:
        """What each code of codebook ``k`` adds to the latent, ``[codebook_size, D]``, as the decoder sees
        it: through the codec's own :meth:`~explorer.codecs.base.Codec.contributions` (its output
        projection included), so it holds for every family without a second definition. Computed once
        per engine (one loaded model), for all codebooks at once, in blocks of code ids."""
        if self._codewords is None:
            self._codewords = self._all_codeword_vectors()
        return self._codewords[k]

    def _all_codeword_vectors(self, block: int = 256) -> list[FloatArray]:
        info = self.info
        size, n = info.codebook_size, info.max_codebooks
        strides = [info.stride(k) for k in range(n)]
        span = math.lcm(*strides)  # latent frames each code id takes, in every codebook at once
        parts: list[list[FloatArray]] = [[] for _ in range(n)]
        for first in range(0, size, block):
            ids = np.arange(first, min(size, first + block))
            rows = [torch.from_numpy(np.repeat(ids, span // s)) for s in strides]
            with torch.inference_mode():
                c = self.token_codec.contributions(rows).float().cpu()  # [K, D, len(ids) * span]
            for k in range(n):
                parts[k].append(c[k, :, ::span].T.numpy().copy())
        return [np.concatenate(p) for p in parts]

    def _applied(self, enc: Encoding, edits: Edits) -> tuple[list[IntArray] | None, list[FloatArray] | None]:
        """Codes with randomized rows and painted ids swapped in (None: use the cache) and per-frame gains
        (None: all 1)."""
        times = [enc.frame_times(k) for k in range(enc.n_codebooks)]
        codes = None
        if enc.cache is None or edits.replaces_codes:
            codes = edited_codes(enc.codes, edits, times, self.info.codebook_size)
        g = None if edits.is_identity else gains(edits, times)
        return codes, g

    def _latent(self, enc: Encoding, applied: tuple[list[IntArray] | None, list[FloatArray] | None], first: int, last: int) -> torch.Tensor:
        codes, g = applied
        contrib = enc.cache[:, :, first:last] if codes is None else self._contributions(codes, first, last)
        if g is None:
            return latent_sum(contrib)
        info = self.info
        weight = torch.stack([
            torch.from_numpy(np.repeat(gk[first // info.stride(k): -(-last // info.stride(k))], info.stride(k))[: last - first])
            for k, gk in enumerate(g)
        ])
        return latent_sum(contrib, weight)

    def decode(self, enc: Encoding, edits: Edits | None = None, progress: Progress | None = None,
               reuse: bool = False) -> Clip:
        """Decode ``enc`` under ``edits`` to a clip at the input's rate and length.

        With ``reuse`` (the window's decodes, one edit after another), recent decodes of ``enc`` are kept:
        edits decoded before (an undo) give that audio again bit for bit, and edits that change the
        latent only over a range (an edit confined to the selection, painted cells) re-decode just that
        range with its context (:meth:`decode_frames`) into the newest decode.
        """
        edits = edits or Edits()
        refuse_edits(self.info, edits)
        edits.check(enc.n_codebooks, enc.duration, [len(row) for row in enc.codes], self.info.codebook_size)
        audio = self._reused(enc, edits) if reuse else None
        if audio is None:
            audio = self.decode_native(enc, edits, progress)
            self.last_reuse = "whole"
        if reuse:
            self._remember(enc, edits, audio)
        if not np.isfinite(audio).all():
            raise CodecError(f"{self.info.name} produced NaN or infinite samples from these codes: its weights or the "
                             "tokens are damaged. Nothing was written.")
        out = resample(audio, self.info.sample_rate, enc.input_rate)
        notes, self.notices = tuple(self.notices), []
        return Clip(np.ascontiguousarray(fit_length(out, enc.input_samples)), enc.input_rate, notes)

    def decode_native(self, enc: Encoding, edits: Edits, progress: Progress | None = None) -> FloatArray:
        """Decode to ``[channels, codec_samples]`` at the codec's own rate.

        When the device runs out of memory (a long clip on a small GPU), the blocks shrink by 4 and
        the decode starts again, down to :data:`MIN_CHUNK_SECONDS`; :attr:`notices` says so.
        A packet codec's encoding is its packets decoded (it has no edits).
        """
        if isinstance(self.codec, PacketCodec):
            return self._decode_packets(self.codec, enc, progress)
        while True:
            try:
                return self._decode_native(enc, edits, progress)
            except torch.OutOfMemoryError as exc:
                if self.info.segment is not None or self.info.chunk_seconds * self.chunk_scale / 4 < MIN_CHUNK_SECONDS:
                    raise CodecError(f"{self.info.name} ran out of memory on {self.codec.device} even in small blocks ({exc}). "
                                     "Choose the cpu device instead.") from exc
                if torch.cuda.is_available():
                    torch.cuda.empty_cache()
                self.chunk_scale /= 4
                seconds = self.info.chunk_seconds * self.chunk_scale
                log.warning("out of memory on %s: decoding in %.1f s blocks", self.codec.device, seconds)
                self.notices.append(f"{self.codec.device} ran out of memory, so the clip was decoded in {seconds:.1f} s blocks")

    def _decode_native(self, enc: Encoding, edits: Edits, progress: Progress | None) -> FloatArray:
        info = self.info
        hop = info.hop_length
        if info.segment is not None:
            plan = segment_decode_plan([int(s["frames"]) for s in enc.sides], hop, info.segment[1])
        else:
            chunk, context = self._chunk_samples()
            plan = context_decode_plan(enc.latent_frames, hop, chunk // hop, context // hop, round(CROSSFADE_SECONDS * info.sample_rate))
        total = max(p.at + p.keep[1] - p.keep[0] for p in plan)
        acc = OverlapAdd(info.channels, max(total, enc.codec_samples))
        applied = self._applied(enc, edits)
        what = f"Decoding with {info.name}"
        with torch.inference_mode(), seeded(edits.seed, self.codec.device), self._stage_progress(progress, len(plan), what) as block:
            for i, piece in enumerate(plan):
                block[0] = i
                report(progress, i / len(plan), what)
                z = self._latent(enc, applied, *piece.frames)
                side = {**enc.sides[piece.block], "offset": piece.frames[0]}
                y = self.token_codec.decode_latent(z, side).float().cpu().numpy()
                acc.add(piece, y)
        report(progress, 1.0, what)
        return acc.result()[:, : enc.codec_samples]

    @contextlib.contextmanager
    def _stage_progress(self, progress: Progress | None, blocks: int, what: str) -> Iterator[list[int]]:
        """Report progress (and take a cancel) after each decoder stage of each block: the yielded list
        holds the block being decoded. A cancel raises :class:`CancelledError` out of the stage."""
        stages = self.token_codec.decoder_stages() if progress is not None else []
        block = [0]
        done = {"block": -1, "stages": 0}

        def after_stage(*_: Any) -> None:
            if done["block"] != block[0]:
                done.update(block=block[0], stages=0)
            done["stages"] += 1
            report(progress, (block[0] + min(done["stages"], len(stages)) / (len(stages) + 1)) / blocks, what)

        handles = [stage.register_forward_hook(after_stage) for stage in stages]
        try:
            yield block
        finally:
            for handle in handles:
                handle.remove()

    def would_reuse(self, enc: Encoding, edits: Edits) -> bool:
        """Whether :meth:`decode` with ``reuse`` would remember or re-decode a range, not decode whole."""
        return self._reuse_plan(enc, edits) is not None

    def _reuse_plan(self, enc: Encoding, edits: Edits) -> tuple[Edits, tuple[int, int] | None] | None:
        """What a reusing decode of ``edits`` starts from: the remembered decode's edits and the latent frames
        to re-decode into it (None: none, it is the same sound), or None: decode whole.

        The answer for the last pair asked about is kept: the worker asks before a decode and the decode
        asks again, and comparing two edits' codes and gains over a long clip is not free."""
        if enc is not self._decodes_of or not self._decodes or self.info.segment is not None or not self.info.tokens:
            return None
        if edits in self._decodes:
            return edits, None
        base = next(reversed(self._decodes))
        if self._plan is not None and self._plan[0] == (base, edits):
            return self._plan[1]
        plan: tuple[Edits, tuple[int, int] | None] | None = (base, None)
        span = self.changed_frames(enc, base, edits)
        if span is not None and span[1] - span[0] > REUSE_MAX_SHARE * enc.latent_frames:
            plan = None
        elif span is not None:
            before, after = self.span_context()
            unit = self.info.pad_multiple // self.info.hop_length
            plan = base, (max(0, span[0] - after) // unit * unit, min(enc.latent_frames, -(-(span[1] + before) // unit) * unit))
        self._plan = ((base, edits), plan)
        return plan

    def _reused(self, enc: Encoding, edits: Edits) -> FloatArray | None:
        """A remembered decode of ``edits``, or the newest one re-decoded over the range that changed (None:
        decode whole)."""
        plan = self._reuse_plan(enc, edits)
        if plan is None:
            return None
        base, frames = plan
        self._decodes.move_to_end(base)
        old = self._decodes[base]
        if frames is None:
            self.last_reuse = "remembered"
            return old
        a, b = frames
        y = self.decode_frames(enc, edits, a, b)
        out = old.copy()
        hop = self.info.hop_length
        n = max(0, min(y.shape[1], out.shape[1] - a * hop))
        out[:, a * hop: a * hop + n] = y[:, :n]
        self.last_reuse = f"range {a}-{b}"
        return out

    def _remember(self, enc: Encoding, edits: Edits, audio: FloatArray) -> None:
        if enc is not self._decodes_of:
            self._decodes.clear()
            self._decodes_of, self._plan = enc, None
        if audio.nbytes > REUSE_BUDGET:
            return
        self._decodes[edits] = audio
        self._decodes.move_to_end(edits)
        while sum(a.nbytes for a in self._decodes.values()) > REUSE_BUDGET:
            self._decodes.popitem(last=False)

    def changed_frames(self, enc: Encoding, old: Edits, new: Edits) -> tuple[int, int] | None:
        """The latent frames ``(first, last)`` whose latent differs between ``old`` and ``new`` edits (None:
        none does). A new seed changes every frame (the noise some decoders add is drawn from it)."""
        if old.seed != new.seed:
            return 0, enc.latent_frames
        (ca, ga), (cb, gb) = self._applied(enc, old), self._applied(enc, new)
        changed = np.zeros(enc.latent_frames, dtype=bool)
        for k in range(enc.n_codebooks):
            diff = (enc.codes[k] if ca is None else ca[k]) != (enc.codes[k] if cb is None else cb[k])
            one = np.ones(len(enc.codes[k]), dtype=np.float32)
            diff |= (one if ga is None else ga[k]) != (one if gb is None else gb[k])
            s = self.info.stride(k)
            changed[: len(diff) * s] |= np.repeat(diff, s)[: enc.latent_frames]
        where = np.flatnonzero(changed)
        return (int(where[0]), int(where[-1]) + 1) if len(where) else None

    def span_context(self) -> tuple[int, int]:
        """Latent frames (before, after) a span is decoded with so that it equals the same span of the whole
        clip's decode: the family's measured bound (:attr:`CodecInfo.span_context`), or a convolutional
        decoder's receptive field (:func:`conv_context`); none after for a causal decoder. Rounded up to
        whole pad units (SNAC's attention windows stay where the whole decode has them)."""
        if self._span_context is None:
            info = self.info
            if info.span_context is not None:
                before, after = info.span_context
            else:
                before = conv_context([m for stage in self.token_codec.decoder_stages() for m in stage.modules()])
                after = 0 if info.causal else before
            unit = info.pad_multiple // info.hop_length
            self._span_context = (-(-before // unit) * unit, -(-after // unit) * unit)
        return self._span_context

    def decode_frames(self, enc: Encoding, edits: Edits, first: int, last: int,
                      applied: tuple[list[IntArray] | None, list[FloatArray] | None] | None = None) -> FloatArray:
        """Latent frames ``first`` to ``last`` decoded alone, with :meth:`span_context` around them:
        ``[channels, (last - first) * hop]`` at the codec's rate, equal to those samples of the whole decode
        (exactly for a convolutional decoder, within 1e-3 of the peak for the others). ``first`` and
        ``last`` are whole pad units. Not for EnCodec 48 kHz's segments."""
        info = self.info
        before, after = self.span_context()
        left, right = max(0, first - before), min(enc.latent_frames, last + after)
        with torch.inference_mode(), seeded(edits.seed, self.codec.device):
            z = self._latent(enc, applied or self._applied(enc, edits), left, right)
            y = self.token_codec.decode_latent(z, {**enc.sides[0], "offset": left}).float().cpu().numpy()
        return y[:, (first - left) * info.hop_length: (last - left) * info.hop_length]

    def span_frames(self, enc: Encoding, start: float, seconds: float) -> tuple[int, int]:
        """The latent frames, in whole pad units, that cover ``seconds`` of audio from ``start``."""
        info = self.info
        unit = info.pad_multiple // info.hop_length
        rate = info.latent_frame_rate
        first = min(enc.latent_frames, int(start * rate) // unit * unit)
        last = min(enc.latent_frames, max(first + unit, -(-int(math.ceil((start + seconds) * rate)) // unit) * unit))
        return first, last

    def decode_span(self, enc: Encoding, edits: Edits, start: float, seconds: float) -> tuple[int, FloatArray]:
        """Decode about ``seconds`` of audio from ``start``, at the input's rate, quickly.

        Returns the first input sample it covers and the samples. It makes an edit heard at the
        playhead before the whole clip is decoded, with the context :meth:`span_context` says, so it
        equals those samples of the whole decode that follows. EnCodec 48 kHz decodes its segments
        whole, and so does a packet codec (Opus decodes a minute in a fraction of a second).
        """
        info = self.info
        if not info.tokens:
            return 0, self.decode(enc, edits).samples
        if info.segment is not None:
            return self._segments_span(enc, edits, start, seconds)
        first, last = self.span_frames(enc, start, seconds)
        y = self.decode_frames(enc, edits, first, last)
        at = round(first * info.hop_length * enc.input_rate / info.sample_rate)
        return at, resample(y, info.sample_rate, enc.input_rate)

    def _segments_span(self, enc: Encoding, edits: Edits, start: float, seconds: float) -> tuple[int, FloatArray]:
        """EnCodec 48 kHz: the segments that cover the span, overlap-added as the whole decode adds them, so
        every sample of the span gets all its segments (equal to the whole decode there)."""
        info = self.info
        assert info.segment is not None
        plan = segment_decode_plan([int(s["frames"]) for s in enc.sides], info.hop_length, info.segment[1])
        s0 = min(int(start * info.sample_rate), max(0, enc.codec_samples - 1))
        s1 = min(enc.codec_samples, max(s0 + 1, int((start + seconds) * info.sample_rate)))
        chosen = [p for p in plan if p.at < s1 and p.at + p.keep[1] - p.keep[0] > s0]
        lo, hi = min(p.at for p in chosen), max(p.at + p.keep[1] - p.keep[0] for p in chosen)
        acc = OverlapAdd(info.channels, hi - lo)
        applied = self._applied(enc, edits)
        with torch.inference_mode(), seeded(edits.seed, self.codec.device):
            for p in chosen:
                z = self._latent(enc, applied, *p.frames)
                acc.add(dataclasses.replace(p, at=p.at - lo), self.token_codec.decode_latent(z, enc.sides[p.block]).float().cpu().numpy())
        y = acc.result()[:, s0 - lo: s1 - lo]
        return round(s0 * enc.input_rate / info.sample_rate), resample(y, info.sample_rate, enc.input_rate)

    def reference_decode(self, enc: Encoding, seed: int = 0) -> FloatArray:
        """The package's own decode of ``enc``'s codes (no edits), trimmed to the codec-rate length."""
        with torch.inference_mode(), seeded(seed, self.codec.device):
            y = self.token_codec.reference_decode([torch.from_numpy(r) for r in enc.codes], enc.sides)
        return fit_length(y.float().cpu().numpy(), enc.codec_samples)

    # ---------------------------------------------------------------- tokens
    def from_tokens(self, codes: list[IntArray], meta: dict[str, Any]) -> Encoding:
        """Rebuild an :class:`Encoding` from a token file's contents (as :func:`load_tokens` validated
        them), checking that they fit this codec and that the meta's counts agree with each other."""
        info = self.info
        if not info.tokens:
            raise CodecError(f"{info.spoken} has no tokens, so no token file can hold an encoding of it; "
                             "this file cannot have been written by Codec Explorer.")
        if meta.get("codec") != info.name:
            raise CodecError(f"These tokens were made by '{meta.get('codec')}', not '{info.name}'; decode them with -c {meta.get('codec')}.")
        if not 1 <= len(codes) <= info.max_codebooks:
            raise CodecError(f"{info.name} has 1 to {info.max_codebooks} codebooks; the file holds {len(codes)}.")
        sides = [dict(s) for s in meta["blocks"]]
        frames = sum(int(s["frames"]) for s in sides)
        rate, samples, codec_samples = int(meta["input_sample_rate"]), int(meta["num_samples"]), int(meta["codec_samples"])
        self._check_lengths(sides, frames, rate, samples, codec_samples)
        for k, row in enumerate(codes):
            expected = frames // info.stride(k)
            if len(row) != expected:
                raise CodecError(f"codebook_{k} has {len(row)} codes; {expected} were expected for {frames} frames.")
            if row.min() < 0 and "live_skipped_seconds" in meta:
                raise CodecError(f"This live take has frames that were never computed (code -1: the codec fell behind "
                                 f"for {meta['live_skipped_seconds']} s); open the take's input.wav to encode it whole.")
            if row.min() < 0 or row.max() >= info.codebook_size:
                raise CodecError(f"codebook_{k} holds codes outside 0..{info.codebook_size - 1}.")
        enc = Encoding(info, codes, sides, rate, samples, codec_samples, self._weights_notes(meta.get("weights")), meta.get("weights"),
                       self.describe())
        self._fill_cache(enc)
        return enc

    def _check_lengths(self, sides: list[dict[str, Any]], frames: int, rate: int, samples: int, codec_samples: int) -> None:
        """The sample counts must be the ones encoding would have written: no field asks for more audio."""
        info = self.info
        expected = samples if rate == info.sample_rate else math.ceil(samples * info.sample_rate / rate)
        if abs(codec_samples - expected) > 1:
            raise CodecError(f"The token file's meta disagrees with itself: {samples} samples at {rate} Hz are "
                             f"{expected} at {info.sample_rate} Hz, not {codec_samples}; the file is damaged.")
        if info.segment is not None:
            blocks = math.ceil(codec_samples / info.segment[1])
            ok = len(sides) == blocks
        else:
            ok = codec_samples <= frames * info.hop_length < codec_samples + info.pad_multiple
        if not ok:
            raise CodecError(f"The token file's meta disagrees with itself: {frames} frames of {info.name} do not "
                             f"make {codec_samples} samples; the file is damaged.")

    def _weights_notes(self, recorded: dict[str, str] | None) -> tuple[str, ...]:
        """A warning when the tokens were made with other weights than the ones loaded."""
        mine = self.weights_id
        if recorded is None or mine is None or recorded.get("sha256") == mine.get("sha256"):
            return ()
        return (f"warning: these tokens were made with other {self.info.name} weights ({recorded.get('file')}, "
                f"sha256 {str(recorded.get('sha256'))[:12]}…) than the ones loaded ({mine.get('file')}, "
                f"sha256 {str(mine.get('sha256'))[:12]}…); the sound will not be what was encoded",)
