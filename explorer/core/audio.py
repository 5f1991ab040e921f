"""Audio clips: reading, writing, resampling and channel conversion.

A :class:`Clip` carries its own sample rate; nothing in the project assumes one. Files are read with
soundfile (torchaudio 2.9 no longer reads files). Resampling runs as a stream, block
by block (:class:`StreamResampler`), so a long clip never needs more than a few blocks of extra
memory and the live path uses the same code; odd rate ratios go to libsoxr, whose cost does not
grow with the ratio (``benchmarks/resample.py`` measures both filters).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import stat
import struct
import tempfile
from typing import Any, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from explorer.core.types import FloatArray
from explorer.core.output import OutputError, output_file
from explorer.core.errors import AudioError, CancelledError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Clip:
    """Audio as float32 samples shaped ``[channels, frames]`` with its sample rate.

    ``notes`` records what was done to the audio on the way in (resampled, mixed down, repaired),
    so the UI and the CLI can say what was converted.
    """

    samples: FloatArray
    sample_rate: int
    notes: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.samples.ndim != 2:
            raise AudioError(f"Audio must be shaped [channels, frames]; got shape {self.samples.shape}.")
        if self.sample_rate <= 0:
            raise AudioError(f"Sample rate must be positive; got {self.sample_rate}.")

    @property
    def channels(self) -> int:
        return int(self.samples.shape[0])

    @property
    def frames(self) -> int:
        return int(self.samples.shape[1])

    @property
    def duration(self) -> float:
        return self.frames / self.sample_rate


MIN_RATE, MAX_RATE = 1000, 768_000
"""Sample rates outside this range are not audio we can encode: the header is probably damaged."""
MEMORY_BUDGET = 1_200_000_000
"""Bytes of float32 samples one clip may take; longer files are mixed to mono while reading, then refused."""
READ_BLOCK_SECONDS = 30.0


def load_audio(path: str | os.PathLike[str], progress: Callable[[float, str], bool | None] | None = None) -> Clip:
    """Read an audio file (WAV, FLAC, OGG, MP3, ... whatever libsndfile reads) block by block.

    ``progress(fraction, "Reading")`` is called after each 30 s block (a 2-hour file shows progress).
    A file that would take more than :data:`MEMORY_BUDGET` bytes is mixed to mono while it is read
    (noted); beyond that it is refused with a way out.

    Raises
    ------
    AudioError
        With a one-sentence reason when the file is missing, unreadable, not audio, empty, has an
        impossible sample rate, or is too long to hold.
    """
    p = Path(path)
    denied = f"'{p}' cannot be read: permission denied (check the file's and its folders' permissions)."
    try:
        if not p.exists():
            raise AudioError(f"No file at '{p}'.")
        if p.is_dir():
            raise AudioError(f"'{p}' is a folder, not an audio file.")
        if not os.access(p, os.R_OK):
            raise PermissionError(p)
        _check_regular(p)
    except PermissionError:
        raise AudioError(denied) from None
    if p.stat().st_size == 0:
        raise AudioError(f"'{p.name}' is empty (0 bytes): there is no audio in it.")
    notes: list[str] = []
    try:
        promised = declared_frames(_head(p))
        with _quiet_decoder(p), sf.SoundFile(os.fsencode(p)) as f:
            rate, channels, frames = int(f.samplerate), int(f.channels), int(f.frames)
            _check_header(p.name, rate, channels, frames)
            mono = frames * channels * 4 > MEMORY_BUDGET and channels > 1
            if frames * (1 if mono else channels) * 4 > MEMORY_BUDGET:
                hours = frames / rate / 3600
                raise AudioError(f"'{p.name}' is {hours:.1f} h at {rate} Hz: more than Codec Explorer holds in memory "
                                 f"({MEMORY_BUDGET // 10**6} MB of samples, about {MEMORY_BUDGET / 4 / rate / 60:.0f} min at this rate). "
                                 f"Cut it first, e.g. sox '{p.name}' part.wav trim 0 30:00")
            if mono:
                notes.append(f"mixed {channels} channels to mono while reading, to fit in memory")
            samples, nonfinite, clipped = _read_blocks(f, frames, rate, mono, progress)
    except PermissionError:
        raise AudioError(denied) from None
    except (sf.LibsndfileError, RuntimeError, ValueError, TypeError, OverflowError, MemoryError, EOFError, OSError) as exc:
        # libsndfile says "does not exist or is not a regular file" for any file it cannot recognise
        reason = "not a format it recognises" if "not a regular file" in str(exc) else str(exc)
        raise AudioError(f"'{p.name}' could not be read as audio ({reason}); it may be corrupt or in an unsupported format.") from exc
    return _finish(p, samples, rate, frames if promised is None else promised, nonfinite, clipped, notes)


def _check_regular(p: Path) -> None:
    """Refuse FIFOs, devices and sockets before opening them: opening a FIFO with no writer blocks forever."""
    mode = p.stat().st_mode
    if not stat.S_ISREG(mode):
        kind = "a named pipe (FIFO)" if stat.S_ISFIFO(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a regular file"
        raise AudioError(f"'{p}' is {kind}, not an audio file; save the audio to a file first and open that.")


@contextlib.contextmanager
def _quiet_decoder(p: Path) -> Iterator[None]:
    """Keep libmpg123's own messages about a damaged MP3 off the terminal (they go to the log).

    mpg123 writes to file descriptor 2 from C, so the descriptor itself is pointed at a temporary
    file while an MP3 is opened and read. Other formats are read untouched.
    """
    if p.suffix.lower() not in (".mp3", ".mpga", ".mp2") and not _looks_like_mpeg(p):
        yield
        return
    with tempfile.TemporaryFile() as sink:
        saved = os.dup(2)
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            said = sink.read(4000).decode("utf-8", "replace").strip()
            if said:
                log.info("the MP3 decoder said about '%s': %s", p.name, said)


def _looks_like_mpeg(p: Path) -> bool:
    with open(p, "rb") as f:
        head = f.read(3)
    return head == b"ID3" or (len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0)


def _finish(p: Path, samples: FloatArray, rate: int, frames: int, nonfinite: int, clipped: int, notes: list[str]) -> Clip:
    """The clip, with notes on what the file lacked: ``frames`` is the length its header promises."""
    if samples.shape[1] == 0 and frames > 0:
        raise AudioError(f"'{p.name}' ends before its audio begins: its header promises {_seconds(frames / rate)}, "
                         "none of it is there (the file was cut short).")
    if samples.shape[1] == 0:
        raise AudioError(f"'{p.name}' holds no audio samples.")
    if samples.shape[1] < frames:
        notes.append(f"the file ends early: its header promises {_seconds(frames / rate)}, {_seconds(samples.shape[1] / rate)} are there")
    if nonfinite:
        notes.append(f"replaced {nonfinite} NaN or infinite samples with silence")
    if clipped > 0.001 * samples.size:
        notes.append(f"{100 * clipped / samples.size:.1f}% of the samples are at full scale: the recording is clipped")
    return Clip(samples, rate, tuple(notes))


def _seconds(s: float) -> str:
    """A duration for a note: "6.76 s", or milliseconds below 10 ms (never "0.00 s" for a few samples)."""
    return f"{s:.2f} s" if s >= 0.01 or s == 0 else f"{1000 * s:.2f} ms"


HEAD_BYTES = 65536
"""How much of a file :func:`declared_frames` looks at: the chunks before the audio (fmt, LIST, bext, iXML…)."""
STREAMED_SIZE = 0x7FFF_F000
"""A data size from here up is a placeholder: a program writing WAV to a pipe cannot go back to fill in
the length, so it writes a large number (sox writes 0x7ffff000, others 0xffffffff)."""
WAV_FRAMED = (0x0001, 0x0003, 0x0006, 0x0007)
"""WAV codings whose frames are one block each (integer and float PCM, A-law, mu-law): frames = bytes / block align."""


def _head(p: Path) -> bytes:
    with open(p, "rb") as f:
        return f.read(HEAD_BYTES)


def declared_frames(head: bytes) -> int | None:
    """The length in frames that a WAV (RIFF, RIFX, RF64) or AIFF/AIFC header declares, from the file's first bytes.

    libsndfile trims its frame count for these formats to the data actually present, so a file cut short
    reads as a short file without a word; the header still says how long it was meant to be. FLAC needs no
    help (libsndfile reports what STREAMINFO declares). Returns None for other formats, for a header that
    declares no length (a pipe writer's placeholder) and for one this does not understand.
    """
    kind, form = head[:4], head[8:12]
    if form == b"WAVE" and kind in (b"RIFF", b"RIFX", b"RF64"):
        return _wav_frames(head, ">" if kind == b"RIFX" else "<", kind == b"RF64")
    if kind == b"FORM" and form in (b"AIFF", b"AIFC"):
        at, size = _chunks(head, ">").get(b"COMM", (0, 0))
        return (int(struct.unpack_from(">I", head, at + 2)[0]) or None) if size >= 6 and at + 6 <= len(head) else None
    return None


def _chunks(head: bytes, endian: str) -> dict[bytes, tuple[int, int]]:
    """The first of each chunk in ``head`` (after the 12-byte form header): id -> (where its body starts, its declared size)."""
    found: dict[bytes, tuple[int, int]] = {}
    at = 12
    while at + 8 <= len(head):
        size = int(struct.unpack_from(endian + "I", head, at + 4)[0])
        found.setdefault(head[at: at + 4], (at + 8, size))
        at += 8 + size + (size & 1)
    return found


def _wav_frames(head: bytes, endian: str, rf64: bool) -> int | None:
    chunks = _chunks(head, endian)
    (fmt_at, fmt_size), (_, size) = chunks.get(b"fmt ", (0, 0)), chunks.get(b"data", (0, 0))
    if fmt_size < 16 or fmt_at + 16 > len(head):
        return None
    tag, block_align = (int(v) for v in struct.unpack_from(endian + "H10xH", head, fmt_at))
    if tag == 0xFFFE and fmt_size >= 26 and fmt_at + 26 <= len(head):  # WAVE_FORMAT_EXTENSIBLE: the coding's tag opens its GUID
        tag = int(struct.unpack_from(endian + "H", head, fmt_at + 24)[0])
    ds64_at = chunks.get(b"ds64", (0, 0))[0]
    if rf64 and size == 0xFFFF_FFFF and ds64_at and ds64_at + 16 <= len(head):
        size = int(struct.unpack_from("<Q", head, ds64_at + 8)[0])
    elif size == 0 or size >= STREAMED_SIZE:
        return None
    if tag not in WAV_FRAMED:
        fact_at, fact_size = chunks.get(b"fact", (0, 0))  # compressed codings state their length here
        return (int(struct.unpack_from(endian + "I", head, fact_at)[0]) or None) if fact_size >= 4 and fact_at + 4 <= len(head) else None
    return size // block_align if block_align else None


def _check_header(name: str, rate: int, channels: int, frames: int) -> None:
    if not MIN_RATE <= rate <= MAX_RATE:
        raise AudioError(f"'{name}' says its sample rate is {rate} Hz; audio needs {MIN_RATE} to {MAX_RATE} Hz, "
                         "so the file is probably damaged.")
    if not 1 <= channels <= 64:
        raise AudioError(f"'{name}' says it has {channels} channels; up to 64 can be read.")
    if frames < 0:
        raise AudioError(f"'{name}' announces a negative length; the file is damaged.")


def _read_blocks(f: Any, frames: int, rate: int, mono: bool,
                 progress: Callable[[float, str], bool | None] | None) -> tuple[FloatArray, int, int]:
    """Read every block into one preallocated ``[channels, frames]`` array (growing only if the header
    undercounts), silencing NaN and infinite samples on the way; returns the samples and how many
    samples were not finite and how many at full scale (counted per block: no full-size temporaries)."""
    nonfinite = clipped = 0
    channels = 1 if mono else int(f.channels)
    out: FloatArray = np.empty((channels, max(frames, 0)), np.float32)
    pos = 0
    block = max(1, int(READ_BLOCK_SECONDS * rate))
    for data in _decoded(f, block):
        chunk = data.mean(axis=1, keepdims=True).T if mono else data.T
        bad = ~np.isfinite(chunk)
        if bad.any():
            nonfinite += int(bad.sum())
            chunk = np.where(bad, np.float32(0.0), chunk)
        clipped += int(np.count_nonzero(np.abs(chunk) >= 0.999))
        n = chunk.shape[1]
        if pos + n > out.shape[1]:
            out = np.concatenate([out[:, :pos], np.empty((channels, pos + n - out.shape[1] + block), np.float32)], axis=1)
        out[:, pos: pos + n] = chunk
        pos += n
        if progress is not None and frames > 0 and progress(min(1.0, pos / frames), "Reading") is False:
            raise CancelledError("Reading was cancelled.")
    result: FloatArray = np.ascontiguousarray(out[:, :pos])
    return result, nonfinite, clipped


SALVAGE_FRAMES = 1024
"""When the decoder fails inside a block, the block is read again in pieces this long, up to the failure."""


def _decoded(f: Any, block: int) -> Iterator[FloatArray]:
    """``f``'s samples, ``[frames, channels]`` float32, ``block`` frames at a time, until the end of the data.

    libsndfile raises part way through a FLAC cut short ("flac decoder lost sync", "psf_fseek() failed"),
    losing the whole block it was reading. Then the block is read again in small pieces and what decodes
    before the failure is kept: the file is as long as what could be read (the caller notes that it
    ends early). A failure before any sample could be decoded is raised.
    """
    pos, size, failure = 0, block, None
    while True:
        try:
            if failure is not None and f.tell() != pos:
                f.seek(pos)
            data = f.read(size, dtype="float32", always_2d=True)
        except (sf.LibsndfileError, RuntimeError) as exc:
            failure = failure or exc
            if size == SALVAGE_FRAMES or not f.seekable():
                if pos == 0:
                    raise failure from None
                log.info("the decoder stopped after %d frames of '%s': %s", pos, f.name, failure)
                return
            size = SALVAGE_FRAMES
            continue
        if not len(data):
            return
        pos += len(data)
        yield data


OUTPUT_FORMATS: dict[str, tuple[str, str]] = {
    ".wav": ("WAV", "PCM_24"),
    ".flac": ("FLAC", "PCM_24"),
    ".ogg": ("OGG", "VORBIS"),
    ".oga": ("OGG", "VORBIS"),
    ".aiff": ("AIFF", "PCM_24"),
    ".aif": ("AIFF", "PCM_24"),
    ".mp3": ("MP3", "MPEG_LAYER_III"),
}
"""Audio outputs by file extension: (libsndfile format, the subtype written unless another is asked for).

WAV is 24-bit PCM by default: every audio tool reads it cleanly (sox warns about libsndfile's float
WAV header, and some players refuse float). 32-bit float (``FLOAT``) keeps peaks over full scale and
every bit of the reconstruction; WAV and AIFF hold it, the others do not."""
FLOAT = "FLOAT"


def output_format(path: str | os.PathLike[str], subtype: str | None = None) -> tuple[str, str]:
    """The (format, subtype) for an audio output at ``path``: the format from its extension, the subtype
    ``subtype`` or the format's default.

    Raises
    ------
    AudioError
        For an extension we do not write (or one this libsndfile build cannot write), or a subtype
        the format cannot hold (32-bit float in a FLAC).
    """
    ext = Path(path).suffix.lower()
    if ext not in OUTPUT_FORMATS or OUTPUT_FORMATS[ext][0] not in sf.available_formats():
        usable = ", ".join(e for e, (f, _) in OUTPUT_FORMATS.items() if f in sf.available_formats())
        raise AudioError(f"Cannot write audio as '{ext or Path(path).name}': name the file with one of {usable}.")
    fmt, default = OUTPUT_FORMATS[ext]
    if subtype is not None and not sf.check_format(fmt, subtype):
        holds = ", ".join(e for e, (f, _) in OUTPUT_FORMATS.items() if sf.check_format(f, subtype))
        raise AudioError(f"Cannot write {sf.available_subtypes().get(subtype, subtype)} samples to a {ext} file: {fmt} does not hold them"
                         + (f"; name the file with one of {holds}." if holds else "."))
    return fmt, subtype or default


MAX_OUTPUT_RATES = {"OGG": 192_000, "FLAC": 655_350}
"""Above these rates the encoders fail (FLAC) or crash the process (libvorbis, above about 200 kHz)."""
MP3_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)


def _check_rate(p: Path, fmt: str, rate: int) -> None:
    """Refuse a sample rate the output format cannot hold, before the encoder sees it."""
    limit = MAX_OUTPUT_RATES.get(fmt)
    if (limit is not None and rate > limit) or (fmt == "MP3" and rate not in MP3_RATES):
        allowed = f"at most {limit} Hz" if fmt != "MP3" else "one of " + ", ".join(map(str, MP3_RATES)) + " Hz"
        raise AudioError(f"Cannot write '{p.name}': {fmt} holds {allowed}, and this audio is at {rate} Hz. "
                         "Write a .wav instead.")


def save_audio(path: str | os.PathLike[str], clip: Clip, subtype: str | None = None,
               inputs: Iterable[str | os.PathLike[str] | None] = ()) -> tuple[str, ...]:
    """Write ``clip`` by the output policy (:mod:`explorer.core.output`); the format follows the extension,
    the subtype is ``subtype`` (e.g. :data:`FLOAT`) or the format's default (:data:`OUTPUT_FORMATS`).

    Formats that store integers or are lossy get samples limited to full scale. Returns notes on
    what was changed on the way (e.g. peaks limited), for the caller to show.

    Raises
    ------
    AudioError
        For an unknown extension, or an output the policy refuses or that cannot be written.
    """
    p = Path(path)
    fmt, subtype = output_format(p, subtype)
    _check_rate(p, fmt, clip.sample_rate)
    data = clip.samples
    notes: tuple[str, ...] = ()
    if subtype not in ("FLOAT", "DOUBLE"):
        peak = float(np.abs(data).max()) if data.size else 0.0
        if peak > 1.0:
            data = np.clip(data, -1.0, 1.0)
            notes = (f"limited peaks of {peak:.2f} to full scale for {fmt} ({subtype})",)
    try:
        with output_file(p, inputs) as tmp:
            sf.write(tmp, data.T, clip.sample_rate, subtype=subtype, format=fmt)
    except OutputError as exc:
        raise AudioError(str(exc)) from exc
    except (sf.LibsndfileError, RuntimeError, ValueError, TypeError) as exc:
        raise AudioError(f"Could not write '{p}' as {fmt} ({subtype}): {exc}") from exc
    return notes


def resample(samples: FloatArray, rate_in: int, rate_out: int, block_seconds: float = 20.0) -> FloatArray:
    """Band-limited resampling of ``[channels, frames]`` audio, streamed block by block (:class:`StreamResampler`).

    The output has ``ceil(frames * rate_out / rate_in)`` frames; its cost and memory do not depend
    on the rate ratio, and extra memory is a few blocks whatever the length.
    """
    if rate_in == rate_out:
        return samples
    out_len = math.ceil(samples.shape[1] * rate_out / rate_in)
    out = np.empty((samples.shape[0], out_len), dtype=np.float32)
    stream = StreamResampler(rate_in, rate_out, samples.shape[0])
    block = max(1, int(block_seconds * rate_in))
    pos = 0
    for start in range(0, samples.shape[1], block):
        pos = _put(out, pos, stream.push(samples[:, start: start + block]))
    pos = _put(out, pos, stream.flush())
    if pos < out_len:
        out[:, pos:] = 0.0
    return out


def _put(out: FloatArray, pos: int, y: FloatArray) -> int:
    n = min(y.shape[1], out.shape[1] - pos)
    out[:, pos: pos + n] = y[:, :n]
    return pos + y.shape[1]


POLYPHASE_MAX = 1000
"""Rate ratios whose reduced terms are both at most this use torchaudio's polyphase filter; others libsoxr."""


class StreamResampler:
    """Resample a stream block by block; the joined output equals :func:`resample` of the whole.

    Two filters, chosen by the rate ratio reduced to lowest terms (``up/down``):

    * common ratios (44.1 → 24 kHz is 80/147; every standard rate has terms ≤ 320) use torchaudio's
      polyphase sinc filter, which holds back only about 10 ms: the live path's latency stays low;
    * any other ratio (44,101 Hz, 767,957 Hz) uses libsoxr, whose cost does not grow with the terms
      (torchaudio's filter has ``up`` phases: 19 GB for 3.7 s at 47,999 Hz). It holds back 20–30 ms.

    Both start their output at the stream's time zero, so joined blocks line up sample for sample.
    """

    def __init__(self, rate_in: int, rate_out: int, channels: int) -> None:
        self.rate_in, self.rate_out, self.channels = rate_in, rate_out, channels
        g = math.gcd(rate_in, rate_out)
        up, down = rate_out // g, rate_in // g
        self._impl: _Polyphase | _Soxr | None = None
        if rate_in != rate_out:
            self._impl = _Polyphase(rate_in, rate_out, up, down, channels) if max(up, down) <= POLYPHASE_MAX \
                else _Soxr(rate_in, rate_out, channels)

    def push(self, x: FloatArray) -> FloatArray:
        """Feed ``[channels, n]`` samples; return the ``[channels, m]`` output ready so far."""
        return x if self._impl is None else self._impl.push(x)

    def flush(self) -> FloatArray:
        """End the stream: return what the filter held back (zeros stand for the time after it)."""
        return np.zeros((self.channels, 0), np.float32) if self._impl is None else self._impl.flush()


class _Polyphase:
    """torchaudio's polyphase filter, cut on whole periods of the ratio (``down`` input samples give
    ``up`` output samples), holding back a margin of input on each side of every cut."""

    def __init__(self, rate_in: int, rate_out: int, up: int, down: int, channels: int) -> None:
        self.rate_in, self.rate_out, self.up, self.down = rate_in, rate_out, up, down
        self.margin = (math.ceil(256 / down) + 1) * down
        self.buffer: FloatArray = np.zeros((channels, self.margin), np.float32)
        """Input not yet consumed; it starts with ``margin`` zeros standing for the time before the stream."""

    def push(self, x: FloatArray) -> FloatArray:
        import torch
        import torchaudio.functional as AF

        self.buffer = np.concatenate([self.buffer, x.astype(np.float32)], axis=1)
        ready = (self.buffer.shape[1] - 2 * self.margin) // self.down * self.down
        if ready <= 0:
            return np.zeros((self.buffer.shape[0], 0), np.float32)
        chunk = torch.from_numpy(np.ascontiguousarray(self.buffer[:, : ready + 2 * self.margin]))
        y = AF.resample(chunk, self.rate_in, self.rate_out).numpy()
        skip = self.margin // self.down * self.up
        out: FloatArray = y[:, skip: skip + ready // self.down * self.up]
        self.buffer = self.buffer[:, ready:]
        return out

    def flush(self) -> FloatArray:
        return self.push(np.zeros((self.buffer.shape[0], 2 * self.margin + self.down), np.float32))


class _Soxr:
    """libsoxr's stream resampler (quality ``HQ``), for any ratio at the same cost."""

    def __init__(self, rate_in: int, rate_out: int, channels: int) -> None:
        self.channels = channels
        self.stream = soxr.ResampleStream(float(rate_in), float(rate_out), channels, dtype="float32", quality="HQ")

    def push(self, x: FloatArray, last: bool = False) -> FloatArray:
        y = self.stream.resample_chunk(np.ascontiguousarray(x.T, dtype=np.float32), last=last)
        return np.ascontiguousarray(y.reshape(-1, self.channels).T)

    def flush(self) -> FloatArray:
        return self.push(np.zeros((self.channels, 0), np.float32), last=True)


def convert(clip: Clip, sample_rate: int, channels: int) -> Clip:
    """Return ``clip`` at ``sample_rate`` with ``channels`` channels, noting what changed.

    Mono codecs get the mean of all channels; stereo codecs get a mono clip on both sides, or the
    first two channels of a clip with more.
    """
    x = mix_channels(clip.samples, channels)
    if clip.sample_rate != sample_rate:
        x = resample(x, clip.sample_rate, sample_rate)
    return Clip(np.ascontiguousarray(x, dtype=np.float32), sample_rate, conversion_notes(clip, sample_rate, channels))


def mix_channels(x: FloatArray, channels: int) -> FloatArray:
    """``[c, n]`` samples as ``channels`` channels: the mean for mono, mono copied, or the first ones kept."""
    if x.shape[0] == channels:
        return x
    if channels == 1:
        mixed: FloatArray = x.mean(axis=0, keepdims=True)
        return mixed
    return np.repeat(x, channels, axis=0) if x.shape[0] == 1 else x[:channels]


def conversion_notes(clip: Clip, sample_rate: int, channels: int) -> tuple[str, ...]:
    """What :func:`convert` changes, in words, after the clip's own notes."""
    notes = list(clip.notes)
    if clip.channels != channels:
        if channels == 1:
            notes.append(f"mixed {clip.channels} channels down to mono")
        elif clip.channels == 1:
            notes.append(f"copied mono to {channels} channels")
        else:
            notes.append(f"kept the first {channels} of {clip.channels} channels")
    if clip.sample_rate != sample_rate:
        notes.append(f"resampled {clip.sample_rate} Hz to {sample_rate} Hz")
    return tuple(notes)


class ConvertedStream:
    """:func:`convert` of a clip, produced block by block as an encoder walks it in order.

    ``window(start, end)`` returns codec-rate samples (zero-padded past the end) equal to slicing
    the whole converted clip, while holding only what later windows still need: a 2-hour clip is
    never resampled into a second full-length copy. Windows must not start before earlier ones.
    """

    BLOCK_SECONDS = 10.0

    def __init__(self, clip: Clip, sample_rate: int, channels: int) -> None:
        self.clip, self.channels, self.sample_rate = clip, channels, sample_rate
        same = clip.sample_rate == sample_rate
        self.frames = clip.frames if same else math.ceil(clip.frames * sample_rate / clip.sample_rate)
        self.notes = conversion_notes(clip, sample_rate, channels)
        self._resampler = None if same else StreamResampler(clip.sample_rate, sample_rate, channels)
        self._read = 0
        self._buf: FloatArray = np.zeros((channels, 0), np.float32)
        self._start = 0

    def window(self, start: int, end: int) -> FloatArray:
        if start < self._start:
            raise ValueError("windows must not start before an earlier window's start")
        while self._start + self._buf.shape[1] < min(end, self.frames):
            self._produce()
        self._buf = self._buf[:, start - self._start:]
        self._start = start
        return np.ascontiguousarray(fit_length(self._buf[:, : end - start], end - start))

    def _produce(self) -> None:
        rate_in = self.clip.sample_rate
        x = mix_channels(self.clip.samples[:, self._read: self._read + int(self.BLOCK_SECONDS * rate_in)], self.channels)
        self._read += x.shape[1]
        y = x if self._resampler is None else self._resampler.push(x)
        if self._resampler is not None and self._read >= self.clip.frames:
            y = np.concatenate([y, self._resampler.flush()], axis=1)
        self._buf = np.concatenate([self._buf, y.astype(np.float32)], axis=1)[:, : self.frames - self._start]


def fit_length(samples: FloatArray, frames: int) -> FloatArray:
    """Trim or zero-pad ``[channels, n]`` samples to exactly ``frames`` frames."""
    n = samples.shape[1]
    if n >= frames:
        return samples[:, :frames]
    return np.pad(samples, ((0, 0), (0, frames - n)))
