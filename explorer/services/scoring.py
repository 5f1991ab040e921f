"""PESQ and ViSQOL off the GUI's process: a long-lived scoring process, newest request wins.

The ``pesq`` package's C code holds Python's lock for its whole run (about 0.2 s per 10 s of speech),
and ViSQOL takes about 0.5 s more: run on a thread, they would stall the GUI thread. So they run in
one worker process of their own, started on first use, at low priority (it must never slow the next
edit's decode). A request waiting for that process is dropped when a newer one comes; the one
running finishes and its caller checks whether it still matters.

The services that score many reconstructions in a row (compare, the experiments, the picker) call
:func:`slow` instead of ``slow_quality``: in the CLI it computes in the calling process, and on a
thread that runs inside :func:`offloaded` (the window's tools worker) it waits for the scoring process
instead, so those scores never hold the lock the GUI thread needs either.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import atexit
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from multiprocessing.connection import wait
from typing import Iterator

from explorer.core.audio import Clip
from explorer.core.perceptual import SLOW_METRICS, SlowQuality, slow_quality

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
        self._lock = threading.Lock()  # the GUI thread and the tools worker both submit

    def submit(self, original: Clip, reconstruction: Clip, delay: int | None = None, speech: bool | None = None,
               metrics: tuple[str, ...] = SLOW_METRICS, replace: bool = True) -> Future[SlowQuality]:
        """Score ``reconstruction`` against ``original`` (see ``slow_quality``). With ``replace`` (the
        metrics line: only the newest matters) a replacing request still waiting is cancelled; without,
        the request waits its turn and is never dropped."""
        with self._lock:
            if replace and self._waiting is not None:
                self._waiting.cancel()
            if self._pool is None:
                self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                                                 initializer=_start_scoring_process)
            future = self._pool.submit(slow_quality, original, reconstruction, speech, delay, metrics)
            if replace:
                self._waiting = future
            return future

    def close(self) -> None:
        """Stop the scoring process (a score in progress is abandoned)."""
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None


_SHARED: Scorer | None = None


def shared() -> Scorer:
    """The app's one scoring process, shared by its windows and its tools, started on first use."""
    global _SHARED
    if _SHARED is None:
        _SHARED = Scorer()
        atexit.register(_SHARED.close)
    return _SHARED


_OFFLOAD: ContextVar[Scorer | None] = ContextVar("scoring_offload", default=None)


@contextmanager
def offloaded(scorer: Scorer) -> Iterator[None]:
    """Within this block, on this thread, :func:`slow` scores in ``scorer``'s process."""
    token = _OFFLOAD.set(scorer)
    try:
        yield
    finally:
        _OFFLOAD.reset(token)


def slow(original: Clip, reconstruction: Clip, speech: bool | None = None, delay: int | None = None,
         metrics: tuple[str, ...] = SLOW_METRICS) -> SlowQuality:
    """``slow_quality``, computed here, or in the scoring process when this thread is :func:`offloaded`
    (the caller then waits without holding Python's lock: the GUI keeps drawing)."""
    scorer = _OFFLOAD.get()
    if scorer is None:
        return slow_quality(original, reconstruction, speech, delay, metrics)
    return scorer.submit(original, reconstruction, delay, speech, metrics, replace=False).result()
