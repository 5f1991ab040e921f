"""The classroom tools' worker: one thread that runs their jobs in turn, with its own codecs.

A job is a plain function of this thread's :class:`Engines` and of values the GUI thread read when
it submitted the job (the clip, the codec names, the device): it never reads a widget or the
session model. The comparison dialog and the experiments panel share this one thread, so no two
threads ever run one model. A job's result or error comes back by signal to the callbacks given
with it, on the GUI thread.
"""

from __future__ import annotations

import itertools
import logging
import traceback
from typing import Any, Callable

from PySide6.QtCore import QObject, QThread, Signal

from explorer.core.errors import ExplorerError
from explorer.services.scoring import offloaded, shared
from explorer.services.session import Engines
from explorer.ui.job_queue import JobQueue

log = logging.getLogger(__name__)

Job = Callable[[Engines], Any]


class JobProgress(QObject):
    """A job's progress: the job calls it on the worker thread, ``changed`` carries each report to the GUI thread.

    Answers False (which cancels the job, as the services' ``progress`` callbacks read it) once
    :meth:`cancel` was called or the worker is shutting down.
    """

    changed = Signal(float, str)

    def __init__(self, stopped: Callable[[], bool]) -> None:
        super().__init__()
        self._stopped = stopped
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True

    def __call__(self, fraction: float, what: str) -> bool:
        self.changed.emit(fraction, what)
        return not (self.cancelled or self._stopped())


class ToolWorker(QThread):
    """Runs submitted jobs one after another on one thread."""

    _done = Signal(int, object)
    _failed = Signal(int, str)

    def __init__(self) -> None:
        super().__init__()
        self.engines = Engines()
        """This thread's codecs: only :meth:`run` uses them."""
        self._jobs: JobQueue[tuple[int, Job]] = JobQueue()
        self._ids = itertools.count()
        self._callbacks: dict[int, tuple[Callable[[Any], None], Callable[[str], None]]] = {}
        self._done.connect(self._finish)
        self._failed.connect(self._fail)

    # ------------------------------------------------------------ GUI thread
    def submit(self, job: Job, done: Callable[[Any], None], failed: Callable[[str], None]) -> None:
        """Run ``job(engines)`` after those already waiting; ``done(result)`` or ``failed(message)`` follows."""
        key = next(self._ids)
        self._callbacks[key] = (done, failed)
        self._jobs.put((key, job))
        if not self.isRunning():
            self.start()

    def progress(self) -> JobProgress:
        """A progress for one job of this worker, to pass to the job: it cancels that job, or any once the worker stops."""
        return JobProgress(lambda: self._jobs.stopped)

    def shutdown(self) -> None:
        self._jobs.stop()
        self.wait(30000)

    def _finish(self, key: int, result: Any) -> None:
        done, _ = self._callbacks.pop(key)
        done(result)

    def _fail(self, key: int, message: str) -> None:
        _, failed = self._callbacks.pop(key)
        failed(message)

    # ------------------------------------------------------------ worker thread
    def run(self) -> None:
        while (taken := self._jobs.take()) is not None:
            key, job = taken
            try:
                with offloaded(shared()):  # PESQ and ViSQOL in the scoring process: they hold the GIL for seconds
                    result = job(self.engines)
                self._done.emit(key, result)
            except ExplorerError as exc:
                self._failed.emit(key, str(exc))
            except Exception as exc:  # noqa: BLE001 - shown to the user, logged in full
                log.error("%s", traceback.format_exc())
                self._failed.emit(key, f"{type(exc).__name__}: {exc}")
