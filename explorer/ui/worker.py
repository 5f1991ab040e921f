"""The one inference worker: a thread that runs the session's jobs, newest request wins.

Jobs are frozen snapshots (:mod:`explorer.services.session`): the worker never reads the model or
a widget. A decode job replaces any decode still waiting, and the decode in flight is cancelled
(through the engine's progress callback) as soon as a newer one arrives, so a burst of edits costs
one decode. Results and errors go back to the GUI thread by Qt signal, as values (numpy arrays and
plain data; torch tensors never leave the worker); the model takes them only if they still match.

A decode's sound goes out before its figures: blocks from the playhead first, each twice as long
as the one before (the first is short, so an edit is heard within a breath), written into a copy of
what the player holds and sent as each is done, until they reach where the playhead will be when
the whole clip is decoded (from the codec's measured speed); then the whole reconstruction once.
Each block is decoded with its receptive-field context, so it equals those samples of the whole
decode (:meth:`Engine.decode_frames`). An edit that changes the latent over a range only (the
selection, painted cells) or that was decoded before (undo) skips the blocks: the engine
re-decodes the range or remembers the audio, which is quicker than any block. All of it is
prepared at the player's rate and channels here, off the GUI thread. Loaded codecs stay in this
thread's own :class:`Engines`.
"""

from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtCore import QThread, Signal

from explorer.audio_io.playback import prepare
from explorer.core.audio import Clip, load_audio
from explorer.core.errors import CancelledError, ExplorerError
from explorer.core.spectrogram import spectrogram_db
from explorer.core.types import FloatArray
from explorer.services import session
from explorer.services.session import DecodeJob, EncodeJob, Engines, Job, OpenJob
from explorer.services.token_stats import grid_colours
from explorer.ui.grid_data import GridData
from explorer.ui.job_queue import JobQueue

log = logging.getLogger(__name__)

FIRST_SPAN_SECONDS = 0.1
"""How much audio from the playhead is decoded (and heard) first; each next block is twice as long."""
MAX_BLOCKS = 5
"""Blocks from the playhead at most before the whole decode (each one copies what the player holds)."""
SPAN_FIRST_AFTER = 8.0
"""Clips longer than this (seconds) are decoded from the playhead first even when it is at 0."""


@dataclass(frozen=True)
class Spectra:
    """Spectrograms in dB, ``[frames, bins]``, computed off the GUI thread."""

    original: FloatArray
    reconstruction: FloatArray | None
    difference: FloatArray | None


class InferenceWorker(QThread):
    """Runs jobs one at a time, off the GUI thread."""

    opened = Signal(object, object, object)  # OpenJob, Clip, Spectra
    encoded = Signal(object, object, object)  # job, Encoded, GridData
    sound = Signal(object, object, object)  # DecodeJob, samples [channels, n] at the clip's rate, prepared or None
    decoded = Signal(object, object, object)  # DecodeJob, Decoded, Spectra
    progress = Signal(float, str)
    failed = Signal(str, str)  # title, message
    encode_failed = Signal(object, str)  # the EncodeJob whose codec could not be used, and why

    def __init__(self) -> None:
        super().__init__()
        self.engines = Engines()
        """This thread's codecs: only :meth:`run` uses them."""
        self._jobs: JobQueue[Job] = JobQueue()
        self.cancel_requested = False
        self._original: tuple[Clip | None, FloatArray] = (None, np.zeros((0, 0), np.float32))
        self._running: Job | None = None
        self._rtf: dict[int, float] = {}
        """Seconds of compute per second of audio of each engine's last whole decode (by ``id``)."""

    # ------------------------------------------------------------ GUI thread
    def submit(self, job: Job) -> None:
        """Queue ``job``, replacing a waiting one of its kind (newest wins)."""
        self._jobs.put(job, lambda waiting: type(waiting) is type(job))

    def cancel(self) -> None:
        self.cancel_requested = True

    def shutdown(self) -> None:
        self._jobs.stop()
        self.cancel_requested = True
        self.wait(10000)

    # ------------------------------------------------------------ worker thread
    def _newer_waiting(self) -> bool:
        return self._jobs.waiting(lambda waiting: isinstance(waiting, DecodeJob))

    def _progress(self, cancel_on_newer: bool) -> Any:
        def report(fraction: float, what: str) -> bool:
            self.progress.emit(fraction, what)
            if self.cancel_requested or self._jobs.stopped:
                return False
            return not (cancel_on_newer and self._newer_waiting())

        return report

    def run(self) -> None:
        while (job := self._jobs.take()) is not None:
            self.cancel_requested = False
            self._running = job
            try:
                self._handle(job)
            except CancelledError:
                self.progress.emit(1.0, "Cancelled")
            except ExplorerError as exc:
                self._fail("Codec Explorer", str(exc))
            except Exception as exc:  # noqa: BLE001 - report, keep the worker alive
                log.error("worker failed:\n%s", traceback.format_exc())
                self._fail("Unexpected error", f"{type(exc).__name__}: {exc}")

    def _fail(self, title: str, message: str) -> None:
        """Report a failure; one while encoding also says which choice failed, so the window can fall back."""
        if isinstance(self._running, EncodeJob):
            self.encode_failed.emit(self._running, message)
        self.failed.emit(title, message)

    def _handle(self, job: Job) -> None:
        if isinstance(job, OpenJob):
            clip = load_audio(job.path, self._progress(False))
            self.opened.emit(job, clip, Spectra(self._original_spectrum(clip), None, None))
            job = self._running = EncodeJob(clip, job.choice)
        if isinstance(job, EncodeJob):
            engine = self.engines.get(job.choice, self._download_progress)
            encoded = session.encode(engine, job, self._progress(False))
            colours = grid_colours(engine, encoded.encoding) if engine.info.tokens else None
            self.encoded.emit(job, encoded, GridData.of(encoded.encoding, encoded.stats, colours))
        elif isinstance(job, DecodeJob):
            self._decode(job)

    def _decode(self, job: DecodeJob) -> None:
        engine = self.engines.get(job.encoded.choice)
        enc = job.encoded.encoding
        if (job.heard is not None and (job.playhead > 0 or enc.duration > SPAN_FIRST_AFTER)
                and not engine.would_reuse(enc, job.edits)):
            if not self._from_playhead(engine, job):
                return
        decoded = session.decode(engine, job, self._progress(True), lambda clip: self._send(job, clip.samples))
        if engine.last_reuse == "whole" and enc.duration > 0:
            self._rtf[id(engine)] = decoded.seconds / enc.duration
        recon = spectrogram_db(decoded.clip.samples, decoded.clip.sample_rate)
        original = self._original_spectrum(job.encoded.clip)
        n = min(len(recon), len(original))
        self.decoded.emit(job, decoded, Spectra(original, recon, recon[:n] - original[:n]))

    def _from_playhead(self, engine: Any, job: DecodeJob) -> bool:
        """Decode and send blocks from the playhead until the whole decode, at the codec's last measured
        speed, will be done before the playhead passes them; False when a newer job is waiting."""
        enc = job.encoded.encoding
        assert job.heard is not None
        rtf = self._rtf.get(id(engine), 0.5)
        reach = min(enc.duration, job.playhead + 1.25 * rtf * enc.duration + 0.25)
        heard, ready = job.heard, job.heard_ready
        position, seconds = job.playhead, FIRST_SPAN_SECONDS
        for _ in range(MAX_BLOCKS):
            at, samples = engine.decode_span(enc, job.edits, position, seconds)
            if self._newer_waiting():
                return False
            heard = heard.copy()  # arrays already sent are never written again
            end = min(heard.shape[1], at + samples.shape[1])
            heard[:, at:end] = samples[: heard.shape[0], : end - at]
            ready = self._spliced(job, ready, at, samples)
            self.sound.emit(job, heard, ready)
            position, seconds = end / enc.input_rate, 2 * seconds
            if position >= reach or rtf >= 1.0:  # slower than real time: no block keeps ahead of the playhead
                break
        return True

    def _spliced(self, job: DecodeJob, ready: FloatArray | None, at: int, samples: FloatArray) -> FloatArray | None:
        """The span ``samples`` (from clip sample ``at``) written into a copy of ``ready`` (what the player
        plays): only the span is prepared for the stream."""
        out = job.output
        if out is None or ready is None:
            return None
        rate = job.encoded.clip.sample_rate
        span = prepare(samples, rate, out.rate, out.channels)
        merged = ready.copy()
        start = min(len(merged), round(at * out.rate / rate))
        end = min(len(merged), start + len(span))
        merged[start:end] = span[: end - start]
        return merged

    def _send(self, job: DecodeJob, samples: FloatArray) -> None:
        """The sound of ``job``, prepared for the player's stream when the job says what that is."""
        out = job.output
        ready = prepare(samples, job.encoded.clip.sample_rate, out.rate, out.channels) if out else None
        self.sound.emit(job, samples, ready)

    def _original_spectrum(self, clip: Clip) -> FloatArray:
        """The open clip's spectrogram, computed once per clip."""
        if self._original[0] is not clip:
            self._original = (clip, spectrogram_db(clip.samples, clip.sample_rate))
        return self._original[1]

    def _download_progress(self, done: int, total: int) -> bool:
        self.progress.emit(done / total if total else 0.0, "Downloading weights")
        return not self.cancel_requested
