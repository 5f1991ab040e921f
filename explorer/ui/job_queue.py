"""The jobs waiting for one worker thread: put from the GUI thread, taken in turn by the worker.

Both workers (the inference worker and the classroom tools' worker) wait on one of these; they
differ only in which waiting jobs a new one replaces (the inference worker: newest of a kind wins).
"""

from __future__ import annotations

import threading
from typing import Callable, Generic, TypeVar

T = TypeVar("T")


class JobQueue(Generic[T]):
    def __init__(self) -> None:
        self._cv = threading.Condition()
        self._items: list[T] = []
        self.stopped = False
        """Set once by :meth:`stop`; the worker's jobs may read it to give up early."""

    def put(self, item: T, replaces: Callable[[T], bool] | None = None) -> None:
        """Queue ``item`` after the others, dropping those waiting that ``replaces`` says it replaces."""
        with self._cv:
            if replaces is not None:
                self._items = [i for i in self._items if not replaces(i)]
            self._items.append(item)
            self._cv.notify()

    def take(self) -> T | None:
        """The next item, waiting for one; None once stopped."""
        with self._cv:
            while not self._items and not self.stopped:
                self._cv.wait()
            return None if self.stopped else self._items.pop(0)

    def waiting(self, test: Callable[[T], bool]) -> bool:
        """Whether an item that passes ``test`` is waiting."""
        with self._cv:
            return any(test(i) for i in self._items)

    def stop(self) -> None:
        """Drop what waits and wake the worker, whose :meth:`take` now returns None."""
        with self._cv:
            self.stopped = True
            self._items.clear()
            self._cv.notify()
