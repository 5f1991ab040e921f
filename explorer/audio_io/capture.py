"""Capture from an input device into a ring buffer.

The PortAudio callback copies the device's block into a preallocated ring and counts overruns:
no allocation, no locks, no Qt, no torch. One consumer (the live worker) reads what has arrived.
Positions are monotonically increasing sample counters; reading and writing each touch only their
own counter, which is safe for one producer and one consumer under the GIL.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from explorer.audio_io.streams import close_stream, open_stream
from explorer.core.types import FloatArray


class RingBuffer:
    """A single-producer, single-consumer ring of ``[capacity, channels]`` float32 samples."""

    def __init__(self, channels: int, capacity: int) -> None:
        self.data = np.zeros((capacity, channels), dtype=np.float32)
        self.capacity = capacity
        self.written = 0
        self.read = 0
        self.overruns = 0

    def write(self, block: Any) -> None:
        """Copy ``[frames, channels]`` in (audio thread). Older unread samples are overwritten."""
        n = len(block)
        start = self.written % self.capacity
        first = min(n, self.capacity - start)
        np.copyto(self.data[start: start + first], block[:first])
        if first < n:
            np.copyto(self.data[: n - first], block[first:n])
        self.written += n
        if self.written - self.read > self.capacity:
            self.overruns += 1

    def read_into(self, out: Any) -> int:
        """Fill ``out`` ``[frames, channels]`` from the oldest unread samples, zeros past the end
        (audio thread, as the consumer of a playback ring). Returns how many samples were real."""
        n = min(len(out), self.written - self.read)
        start = self.read % self.capacity
        first = min(n, self.capacity - start)
        np.copyto(out[:first], self.data[start: start + first])
        if first < n:
            np.copyto(out[first:n], self.data[: n - first])
        out[n:].fill(0)
        self.read += n
        return n

    def take(self) -> FloatArray:
        """Everything written since the last take, ``[channels, n]`` (consumer thread)."""
        end = self.written
        begin = max(self.read, end - self.capacity)
        n = end - begin
        idx = (np.arange(begin, end) % self.capacity) if n else np.zeros(0, dtype=np.int64)
        out: FloatArray = np.ascontiguousarray(self.data[idx].T)
        self.read = end
        return out


class Capture:
    """An input stream that fills a :class:`RingBuffer` (``seconds`` long)."""

    def __init__(self, seconds: float = 10.0) -> None:
        self.seconds = seconds
        self.ring: RingBuffer | None = None
        self.rate = 0
        self.channels = 0
        self.latency = 0.0
        """The device's own latency in seconds, as PortAudio reports it."""
        self._stream: Any = None

    def open(self, device: int | None = None, channels: int = 1, blocksize: int = 512) -> None:
        """Start capturing at the device's own rate. Raises ExplorerError when no input can be opened."""
        self.close()
        def make_callback(rate: int, channels: int) -> Callable[..., None]:
            self.rate, self.channels = rate, channels
            self.ring = ring = RingBuffer(channels, int(self.seconds * rate))

            def callback(indata: Any, frames: int, time: Any, status: Any) -> None:
                ring.write(indata)
            return callback

        self._stream, _, _ = open_stream("input", device, channels, blocksize, make_callback,
                                         "Audio input could not be opened ({}); live mode needs an input device.")
        self.latency = float(self._stream.latency)

    @property
    def is_open(self) -> bool:
        return self._stream is not None

    def close(self) -> None:
        if self._stream is not None:
            close_stream(self._stream, "input")
            self._stream = None
