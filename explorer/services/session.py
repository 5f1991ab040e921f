"""The session model: the open clip, its encoding, the edits and the reconstruction, in one place.

:class:`SessionModel` is owned by one thread (the window's GUI thread) and announces every change
by psygnal event, as napari's layers do; the views listen and redraw. The model never runs a
codec. Work is asked of the inference worker with frozen jobs (:class:`EncodeJob`,
:class:`DecodeJob`) made from the model's state by :meth:`SessionModel.decode_job`; their results
come back as values and :meth:`SessionModel.apply_encoded` / :meth:`SessionModel.apply_decoded`
take them only if they still answer the model's current state (the clip, encoding and edits they
were made from), so a late result never shows over a newer one.

Loaded codecs live in :class:`Engines`, which belongs to the one thread that runs them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

from psygnal import Signal

from explorer.codecs.registry import DEFAULT_CODEC, load_codec
from explorer.codecs.weights import Progress as DownloadProgress
from explorer.core.audio import Clip
from explorer.core.device import describe_device, resolve_device
from explorer.core.edits import Edits, Paint
from explorer.core.metrics import CodebookStats, Quality, codebook_stats, reconstruction_quality
from explorer.core.types import FloatArray
from explorer.services.engine import Encoding, Engine, Progress


@dataclass(frozen=True)
class CodecChoice:
    """Which codec, how many codebooks (None: its default), on which device, with which weights; for a
    packet codec (Opus) its bitrate setting in ``kbps`` instead of codebooks (None: its default).

    Codebooks and kbps are *encode* settings: they travel with the choice in every job down to
    :meth:`Engine.encode`, and an encoding made at one setting keeps its choice (so the window shows,
    saves and restores it). They are not part of which loaded codec serves the job (:class:`Engines`).
    """

    name: str = DEFAULT_CODEC
    codebooks: int | None = None
    device: str = "auto"
    weights: str | None = None
    kbps: int | None = None


def open_engine(choice: CodecChoice, download: DownloadProgress | None = None) -> Engine:
    """Load ``choice``'s codec on its device (a fresh instance: live mode keeps streaming state in it)."""
    return Engine(load_codec(choice.name, resolve_device(choice.device), choice.weights, download))


class Engines:
    """Loaded codecs by (name, device, weights), so switching back to one is instant.

    The key is what a load depends on. Neither the codebook count nor Opus's kbps is in it: both are
    arguments of each encode (Opus opens a fresh libopus encoder at the asked bitrate for every
    encode), so one loaded codec serves every setting and no encoder state is shared between them.

    Not thread-safe on purpose: one instance belongs to the one thread that runs its models (the
    inference worker, the classroom tools' worker), so no model is ever run by two threads at once.
    """

    def __init__(self) -> None:
        self._engines: dict[tuple[str, str, str | None], Engine] = {}

    def get(self, choice: CodecChoice, download: DownloadProgress | None = None) -> Engine:
        key = (choice.name, choice.device, choice.weights)
        if key not in self._engines:
            self._engines[key] = open_engine(choice, download)
        return self._engines[key]

    def named(self, name: str, device: str) -> Engine:
        """The codec ``name`` with its default weights on ``device``."""
        return self.get(CodecChoice(name, device=device))


@dataclass(frozen=True, eq=False)
class Encoded:
    """One encoding of one clip, as the worker hands it back."""

    clip: Clip
    """The clip that was encoded (the model takes the encoding only while this clip is open)."""
    choice: CodecChoice
    encoding: Encoding
    stats: list[CodebookStats]
    device: str
    """The device the codec ran on, in words."""


@dataclass(frozen=True)
class Decoded:
    """One decode's result, all numpy: what the views show."""

    edits: Edits
    clip: Clip
    quality: Quality
    seconds: float


@dataclass(frozen=True)
class OpenJob:
    """Load ``path``, then encode it with ``choice``."""

    path: Path
    choice: CodecChoice


@dataclass(frozen=True)
class EncodeJob:
    clip: Clip
    choice: CodecChoice


@dataclass(frozen=True)
class OutputFormat:
    """The player's stream: reconstructions are prepared at its rate and channel count off the GUI thread."""

    rate: int
    channels: int


@dataclass(frozen=True, eq=False)
class DecodeJob:
    """Decode ``encoded`` under ``edits``, from ``playhead`` first; a snapshot of the model and the player.

    ``heard`` is the reconstruction the player holds (``[channels, n]`` at the clip's rate; arrays
    handed between threads are never written again), and ``heard_ready`` the same as the player
    plays it (prepared for ``output``): the span decoded from the playhead first is written into
    copies of them, so the rest of the clip keeps sounding until the whole decode is done, and only
    the span is resampled.
    """

    encoded: Encoded
    edits: Edits
    playhead: float
    submitted: float = field(default_factory=time.perf_counter)
    output: OutputFormat | None = None
    heard: FloatArray | None = None
    heard_ready: FloatArray | None = None


Job = OpenJob | EncodeJob | DecodeJob

UNDO_DEPTH = 200
"""Edits remembered for undo (each is a few small sets and the painted runs)."""


class SessionModel:
    """The state of the open clip, owned by the GUI thread; each change is announced by an event."""

    clip_opened = Signal(object)
    """A new clip is open (the :class:`Clip`); its encoding follows."""
    encoding_changed = Signal(object)
    """A new :class:`Encoded` for the open clip; the edits were cleared just before."""
    edits_changed = Signal(object)
    """The edits (an :class:`Edits`) changed."""
    reconstructed = Signal(object)
    """A :class:`Decoded` of the current encoding under the current edits."""
    selection_changed = Signal(object)
    """The selected time range ``(start, end)`` in seconds, or None when nothing is selected."""

    def __init__(self) -> None:
        self.path: Path | None = None
        self.clip: Clip | None = None
        self.encoded: Encoded | None = None
        self.edits = Edits()
        self.decoded: Decoded | None = None
        self.selection: tuple[float, float] | None = None
        self.undo_stack: list[Edits] = []
        """Earlier edits of this encoding, newest last (Ctrl+Z takes them back one by one)."""
        self.redo_stack: list[Edits] = []

    @property
    def encoding(self) -> Encoding | None:
        return self.encoded.encoding if self.encoded is not None else None

    def set_clip(self, path: Path, clip: Clip) -> None:
        self.path, self.clip = path, clip
        self.encoded, self.decoded = None, None
        self.set_selection(None)
        self.clip_opened.emit(clip)

    def cleared(self) -> Edits:
        """No edits, keeping the randomization seed (so a reset and a redo sound the same)."""
        return Edits(seed=self.edits.seed)

    def set_edits(self, edits: Edits, undoable: bool = True) -> bool:
        """Make ``edits`` the model's; False (and no event) when they are the same. An ``undoable``
        change can be taken back with :meth:`undo` (and a new one forgets what was undone)."""
        if edits == self.edits:
            return False
        if undoable:
            self.undo_stack.append(self.edits)
            del self.undo_stack[:-UNDO_DEPTH]
            self.redo_stack.clear()
        self.edits = edits
        self.edits_changed.emit(edits)
        return True

    def undo(self) -> bool:
        """Back to the edits before the last change (False: there is none)."""
        if not self.undo_stack:
            return False
        self.redo_stack.append(self.edits)
        return self._restored(self.undo_stack.pop())

    def redo(self) -> bool:
        """Forward to the edits the last :meth:`undo` took back (False: none)."""
        if not self.redo_stack:
            return False
        self.undo_stack.append(self.edits)
        return self._restored(self.redo_stack.pop())

    def _restored(self, edits: Edits) -> bool:
        """Edits taken back or forward; the selection follows a range they are confined to."""
        changed = self.set_edits(edits, undoable=False)
        if edits.start is not None and self.clip is not None:
            self._select((edits.start, edits.end if edits.end is not None else self.clip.duration))
        return changed

    def paint(self, runs: tuple[Paint, ...]) -> bool:
        """Add painted runs (one stroke: one undo step)."""
        return bool(runs) and self.set_edits(replace(self.edits, paint=self.edits.paint + runs))

    def set_selection(self, selection: tuple[float, float] | None) -> None:
        """Select ``(start, end)`` seconds within the clip (None, or nothing of it inside the clip: nothing).
        Edits confined to a range follow the selection, so "apply to selection" always means the range shown."""
        if self._select(selection) and self.selection is not None and self.confined:
            self.set_edits(replace(self.edits, start=self.selection[0], end=self.selection[1]))

    def _select(self, selection: tuple[float, float] | None) -> bool:
        """Make ``selection``, cut to the clip, the model's and announce it; False when it is the same."""
        if selection is not None:
            lo, hi = sorted(selection)
            lo, hi = max(0.0, lo), hi if self.clip is None else min(hi, self.clip.duration)
            selection = (lo, hi) if hi > lo else None
        if selection == self.selection:
            return False
        self.selection = selection
        self.selection_changed.emit(selection)
        return True

    @property
    def confined(self) -> bool:
        """Whether the codebook edits apply to a time range only."""
        return self.edits.start is not None or self.edits.end is not None

    def confine(self, on: bool) -> bool:
        """Confine the codebook edits to the selection (``on``), or apply them to the whole clip."""
        if on and self.selection is None:
            return False
        lo, hi = self.selection if on and self.selection is not None else (None, None)
        return self.set_edits(replace(self.edits, start=lo, end=hi))

    def apply_encoded(self, result: Encoded) -> bool:
        """Take a worker's encoding if it is of the open clip: the edits are cleared (silently) first."""
        if result.clip is not self.clip:
            return False
        self.encoded, self.decoded = result, None
        self.edits = self.cleared()
        self.undo_stack.clear()  # earlier edits named this encoding's cells and codebooks, not the new one's
        self.redo_stack.clear()
        self.encoding_changed.emit(result)
        return True

    def current(self, job: DecodeJob) -> bool:
        """Whether ``job`` still asks for what the model shows: its encoding, its edits."""
        return job.encoded is self.encoded and job.edits == self.edits

    def apply_decoded(self, job: DecodeJob, result: Decoded) -> bool:
        """Take a worker's reconstruction if its job is still :meth:`current`."""
        if not self.current(job):
            return False
        self.decoded = result
        self.reconstructed.emit(result)
        return True

    def decode_job(self, playhead: float, output: OutputFormat | None = None, heard: FloatArray | None = None,
                   heard_ready: FloatArray | None = None) -> DecodeJob | None:
        """A frozen request for the current encoding under the current edits (None before one exists)."""
        if self.encoded is None:
            return None
        return DecodeJob(self.encoded, self.edits, playhead, time.perf_counter(), output, heard, heard_ready)


def decode(engine: Engine, job: DecodeJob, progress: Progress | None = None,
           on_audio: Callable[[Clip], None] | None = None) -> Decoded:
    """Run ``job`` on ``engine`` (the thread that owns it): the reconstruction (reusing the engine's recent
    decodes of the encoding: an undo, an edit over a range), then its quality against the clip;
    ``on_audio`` gets the audio before the metrics are computed."""
    t = time.perf_counter()
    out = engine.decode(job.encoded.encoding, job.edits, progress, reuse=True)
    seconds = time.perf_counter() - t
    if on_audio is not None:
        on_audio(out)
    return Decoded(job.edits, out, reconstruction_quality(job.encoded.clip, out), seconds)


def encode(engine: Engine, job: EncodeJob, progress: Progress | None = None) -> Encoded:
    """Run ``job`` on ``engine``: the codes and their statistics."""
    enc = engine.encode(job.clip, job.choice.codebooks, progress, job.choice.kbps)
    stats = codebook_stats(enc.codes, engine.info.codebook_size, enc.duration) if engine.info.tokens else []
    return Encoded(job.clip, job.choice, enc, stats, describe_device(engine.codec.device))
