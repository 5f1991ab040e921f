"""The live worker: a thread that loads its own codec, polls a :class:`LiveRun` and feeds the views.

It owns the run: it loads a fresh codec instance (Mimi keeps its streaming state in the model, so
live mode never shares the file view's; one that cannot stream is refused with the services' one
sentence, :func:`explorer.services.live.open_live`), opens the devices, polls every 10 ms, and hands the new
columns to the GUI thread by signal as numpy (:class:`ViewChunk`). The GUI talks to it through
immutable values (edits, monitor mode) and a stop flag. Whatever ends the run (Stop, the device
vanishing, an error), the take is written before :attr:`ended` is announced.
"""

from __future__ import annotations

import logging
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QThread, Signal

from explorer.services.live_run import FEEDBACK_WARNING, LiveRun, live_status
from explorer.core.edits import Edits
from explorer.core.errors import ExplorerError
from explorer.services.live import open_live
from explorer.services.session import CodecChoice

log = logging.getLogger(__name__)

POLL_SECONDS = 0.01
STATUS_SECONDS = 0.5


@dataclass(frozen=True)
class LiveRequest:
    choice: CodecChoice
    input_device: int | None
    output_device: int | None
    monitor: str
    record: Path | None
    edits: Edits


class LiveWorker(QThread):
    ready = Signal(object, int, int, str)
    """The run has started: codec info, codebooks, samples per frame, a line about it."""
    chunks = Signal(object)
    """A list of :class:`ViewChunk` s."""
    status = Signal(str, bool)
    """Measured figures, and whether compute is falling behind."""
    ended = Signal(str, object, bool)
    """Why the run ended, the take's folder (None when nothing was recorded), and whether that is a problem."""

    def __init__(self, request: LiveRequest) -> None:
        super().__init__()
        self.request = request
        self.run_: LiveRun | None = None
        self._stop = False
        self._edits = request.edits
        self._monitor = request.monitor

    def set_edits(self, edits: Edits) -> None:
        self._edits = edits
        if self.run_ is not None:
            self.run_.set_edits(edits)

    def set_monitor(self, mode: str) -> None:
        self._monitor = mode
        if self.run_ is not None:
            self.run_.set_monitor(mode)

    def stop(self) -> None:
        self._stop = True

    def run(self) -> None:
        r = self.request
        reason = "Live mode stopped."
        problem = False
        folder = None
        try:
            engine = open_live(r.choice)
            run = LiveRun(engine, r.record, r.monitor, self._edits, r.input_device, r.output_device,
                          codebooks=r.choice.codebooks, kbps=r.choice.kbps, views=True)
            run.start()
            self.run_ = run
            run.set_edits(self._edits)
            run.set_monitor(self._monitor)
        except ExplorerError as exc:
            self.ended.emit(str(exc), None, True)
            return
        except Exception as exc:  # noqa: BLE001 - shown to the user, never lost
            log.error("live mode could not start: %s", traceback.format_exc())
            self.ended.emit(f"Live mode could not start: {exc}", None, True)
            return
        info = engine.info
        line = (f"{info.name} on {engine.codec.device}: algorithmic latency {1000 * run.live.latency / info.sample_rate:.0f} ms, "
                f"input {run.capture.rate} Hz")
        if run.feedback_risk:
            line += ". " + FEEDBACK_WARNING
        elif run.monitor_error:
            line += ". " + run.monitor_error
        self.ready.emit(info, run.live.n, run.live.hop, line)
        last = 0.0
        try:
            while not self._stop:
                if not run.poll():
                    reason = "The input device stopped delivering audio (unplugged?)."
                    problem = True
                    break
                views = run.take_views()
                if views:
                    self.chunks.emit(views)
                now = time.perf_counter()
                if now - last >= STATUS_SECONDS:
                    last = now
                    self.status.emit(live_status(run).strip(), run.stats.behind)
                time.sleep(POLL_SECONDS)
        except Exception as exc:  # noqa: BLE001
            log.error("live mode failed: %s", traceback.format_exc())
            reason = f"Live mode failed: {exc}."
            problem = True
        finally:
            try:
                folder = run.stop()
            except ExplorerError as exc:
                reason += f" The take could not be saved: {exc}"
                problem = True
            self.run_ = None
            self.ended.emit(reason, folder, problem)
