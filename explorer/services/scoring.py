"""PESQ and ViSQOL off the GUI's process: a long-lived scoring process, newest request wins.

The ``pesq`` package's C code holds Python's lock for its whole run (about 0.2 s per 10 s of speech),
and ViSQOL takes about 0.5 s more: run on a thread, they would stall the GUI thread. So they run in
one worker process of their own, started on first use, at low priority (it must never slow the next
edit's decode). A request waiting for that process is dropped when a newer one comes; the one
running finishes and its caller checks whether it still matters.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing.connection import wait

from explorer.core.audio import Clip
from explorer.core.perceptual import SlowQuality, slow_quality

log = logging.getLogger(__name__)


def _start_scoring_process() -> None:
    """In the scoring process: yield the CPU to the app (decodes come first), and end when the app does.

    An app that ends without closing the pool (``os._exit``, a crash, SIGKILL) would otherwise leave
    this process waiting forever, holding the app's stdout and stderr open.
    """
    try:
        os.nice(10)
    except OSError:  # not permitted: scoring still works, only sooner
        pass
    app = multiprocessing.parent_process()
    if app is None:
        return

    def watch(sentinel: int) -> None:
        wait([sentinel])  # readable once the app has gone, however it ended
        os._exit(0)

    threading.Thread(target=watch, args=(app.sentinel,), name="watch-app", daemon=True).start()


class Scorer:
    """Submit reconstructions to score; each :class:`Future` resolves in the scoring process."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None
        self._waiting: Future[SlowQuality] | None = None

    def submit(self, original: Clip, reconstruction: Clip, delay: int | None = None) -> Future[SlowQuality]:
        """Score ``reconstruction`` against ``original``; a request still waiting is cancelled."""
        if self._waiting is not None:
            self._waiting.cancel()
        if self._pool is None:
            self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"), initializer=_start_scoring_process)
        self._waiting = self._pool.submit(slow_quality, original, reconstruction, delay=delay)
        return self._waiting

    def close(self) -> None:
        """Stop the scoring process (a score in progress is abandoned)."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
