"""The one inference worker: a thread that runs session work, newest request wins.

Requests are frozen objects. A decode request replaces any decode still waiting, and the decode
in flight is cancelled (through the engine's progress callback) as soon as a newer one arrives, so
a burst of edits costs one decode. Results and errors go back to the GUI thread by Qt signal, as
numpy arrays and plain data; torch tensors never leave the worker.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QThread, Signal

from explorer.core.edits import Edits
from explorer.core.errors import CancelledError, ExplorerError
from explorer.services.session import CodecChoice, Session
from explorer.core.spectrogram import spectrogram_db
from explorer.core.types import FloatArray

log = logging.getLogger(__name__)

FIRST_SPAN_SECONDS = 1.0
"""How much audio from the playhead is decoded (and heard) before the rest of the clip."""


@dataclass(frozen=True)
class OpenRequest:
    path: Path
    choice: CodecChoice


@dataclass(frozen=True)
class EncodeRequest:
    choice: CodecChoice


@dataclass(frozen=True)
class DecodeRequest:
    edits: Edits
    playhead: float
    submitted: float


Request = OpenRequest | EncodeRequest | DecodeRequest


@dataclass(frozen=True)
class Spectra:
    """Spectrograms in dB, ``[frames, bins]``, computed off the GUI thread."""

    original: FloatArray
    reconstruction: FloatArray | None
    difference: FloatArray | None


class InferenceWorker(QThread):
    """Runs requests against ``session`` one at a time, off the GUI thread."""

    opened = Signal(object, object)  # Clip, Spectra
    encoded = Signal(object, object)  # Encoding view (GridData), device label
    partial = Signal(object, int, object)  # request, first sample, samples
    decoded = Signal(object, object, object)  # request, Decoded, Spectra
    progress = Signal(float, str)
    failed = Signal(str, str)  # title, message

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        self._cv = threading.Condition()
        self._queue: list[Request] = []
        self._stop = False
        self.cancel_requested = False

    # ------------------------------------------------------------ GUI thread
    def submit(self, request: Request) -> None:
        with self._cv:
            if isinstance(request, DecodeRequest):
                self._queue = [r for r in self._queue if not isinstance(r, DecodeRequest)]
            else:
                self._queue = [r for r in self._queue if type(r) is not type(request)]
            self._queue.append(request)
            self._cv.notify()

    def cancel(self) -> None:
        self.cancel_requested = True

    def shutdown(self) -> None:
        with self._cv:
            self._stop = True
            self._queue.clear()
            self._cv.notify()
        self.cancel_requested = True
        self.wait(10000)

    _original_spec: FloatArray = np.zeros((0, 0), np.float32)

    # ------------------------------------------------------------ worker thread
    def _newer_waiting(self) -> bool:
        with self._cv:
            return any(isinstance(r, DecodeRequest) for r in self._queue)

    def _progress(self, cancel_on_newer: bool) -> Any:
        def report(fraction: float, what: str) -> bool:
            self.progress.emit(fraction, what)
            if self.cancel_requested or self._stop:
                return False
            return not (cancel_on_newer and self._newer_waiting())

        return report

    def run(self) -> None:
        while True:
            with self._cv:
                while not self._queue and not self._stop:
                    self._cv.wait()
                if self._stop:
                    return
                request = self._queue.pop(0)
            self.cancel_requested = False
            try:
                self._handle(request)
            except CancelledError:
                self.progress.emit(1.0, "Cancelled")
            except ExplorerError as exc:
                self.failed.emit("Codec Explorer", str(exc))
            except Exception as exc:  # noqa: BLE001 - report, keep the worker alive
                log.error("worker failed:\n%s", traceback.format_exc())
                self.failed.emit("Unexpected error", f"{type(exc).__name__}: {exc}")

    def _handle(self, request: Request) -> None:
        s = self.session
        if isinstance(request, OpenRequest):
            clip = s.open(request.path, self._progress(False))
            self._original_spec = spectrogram_db(clip.samples, clip.sample_rate)
            self.opened.emit(clip, Spectra(self._original_spec, None, None))
            request = EncodeRequest(request.choice)
        if isinstance(request, EncodeRequest):
            if s.clip is None:
                return
            enc = s.encode(request.choice, self._progress(False), self._download_progress)
            engine = s.engine(request.choice)
            from explorer.core.device import describe_device
            from explorer.ui.grid_data import GridData

            self.encoded.emit(GridData.of(enc, s.stats), describe_device(engine.codec.device))
            request = DecodeRequest(s.edits, 0.0, time.perf_counter())
        if isinstance(request, DecodeRequest):
            if s.encoding is None:
                return
            engine = s.engine(s.choice)
            if request.playhead > 0 or s.encoding.duration > 8:
                at, samples = engine.decode_span(s.encoding, request.edits, request.playhead, FIRST_SPAN_SECONDS)
                if self._newer_waiting():
                    return
                self.partial.emit(request, at, samples)
            decoded = s.decode(request.edits, self._progress(True), lambda clip: self.partial.emit(request, 0, clip.samples))
            recon = spectrogram_db(decoded.clip.samples, decoded.clip.sample_rate)
            n = min(len(recon), len(self._original_spec))
            self.decoded.emit(request, decoded, Spectra(self._original_spec, recon, recon[:n] - self._original_spec[:n]))

    def _download_progress(self, done: int, total: int) -> bool:
        self.progress.emit(done / total if total else 0.0, "Downloading weights")
        return not self.cancel_requested
