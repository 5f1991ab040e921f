"""The state of one open clip: the clip, the codec, its encoding, the edits and the reconstruction.

The window is a view of a :class:`Session`; the CLI and the tests drive it directly. It holds no
Qt object. Loaded codecs are kept in a small cache so switching back to one is instant.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch

from explorer.codecs.registry import DEFAULT_CODEC, load_codec
from explorer.codecs.weights import Progress as DownloadProgress
from explorer.core.audio import Clip, load_audio
from explorer.core.device import resolve_device
from explorer.core.edits import Edits
from explorer.services.engine import Encoding, Engine, Progress
from explorer.core.metrics import CodebookStats, Quality, codebook_stats, reconstruction_quality


@dataclass(frozen=True)
class CodecChoice:
    """Which codec, how many codebooks (None: its default), on which device, with which weights."""

    name: str = DEFAULT_CODEC
    codebooks: int | None = None
    device: str = "auto"
    weights: str | None = None


def open_engine(choice: CodecChoice, download: DownloadProgress | None = None) -> Engine:
    """Load ``choice``'s codec on its device (a fresh instance: live mode keeps streaming state in it)."""
    return Engine(load_codec(choice.name, resolve_device(choice.device), choice.weights, download))


@dataclass
class Decoded:
    """One decode's result, all numpy: what the views show."""

    edits: Edits
    clip: Clip
    quality: Quality
    seconds: float


@dataclass
class Session:
    clip: Clip | None = None
    path: Path | None = None
    choice: CodecChoice = field(default_factory=CodecChoice)
    encoding: Encoding | None = None
    stats: list[CodebookStats] = field(default_factory=list)
    edits: Edits = field(default_factory=Edits)
    decoded: Decoded | None = None
    engines: dict[tuple[str, str, str | None], Engine] = field(default_factory=dict)

    def open(self, path: str | Path, progress: Progress | None = None) -> Clip:
        self.clip = load_audio(path, progress)
        self.path = Path(path)
        self.encoding = None
        self.decoded = None
        return self.clip

    def engine(self, choice: CodecChoice, download: DownloadProgress | None = None) -> Engine:
        key = (choice.name, choice.device, choice.weights)
        if key not in self.engines:
            self.engines[key] = open_engine(choice, download)
        return self.engines[key]

    def encode(self, choice: CodecChoice, progress: Progress | None = None, download: DownloadProgress | None = None) -> Encoding:
        if self.clip is None:
            raise ValueError("no clip open")
        engine = self.engine(choice, download)
        enc = engine.encode(self.clip, choice.codebooks, progress)
        self.choice = choice
        self.encoding = enc
        self.stats = codebook_stats(enc.codes, engine.info.codebook_size, enc.duration)
        self.edits = Edits(seed=self.edits.seed)
        return enc

    def decode(self, edits: Edits, progress: Progress | None = None, on_audio: Callable[[Clip], None] | None = None) -> Decoded:
        """Decode under ``edits``; ``on_audio`` gets the audio before the metrics are computed."""
        if self.encoding is None or self.clip is None:
            raise ValueError("nothing encoded")
        t = time.perf_counter()
        out = self.engine(self.choice).decode(self.encoding, edits, progress)
        seconds = time.perf_counter() - t
        if on_audio is not None:
            on_audio(out)
        self.edits = edits
        self.decoded = Decoded(edits, out, reconstruction_quality(self.clip, out), seconds)
        return self.decoded
