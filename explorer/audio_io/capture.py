"""Capture from an input device into a ring buffer.

The PortAudio callback copies the device's block into a preallocated ring and counts overruns:
no allocation, no locks, no Qt, no torch. One consumer (the live worker) reads what has arrived.
Positions are monotonically increasing sample counters; reading and writing each touch only their
own counter, which is safe for one producer and one consumer under the GIL.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from explorer.audio_io.streams import close_stream
from explorer.core.errors import ExplorerError
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
        try:
            import sounddevice as sd

            info = sd.query_devices(device, "input")
            self.rate = int(info["default_samplerate"])
            self.channels = min(channels, int(info["max_input_channels"]))
            self.ring = RingBuffer(self.channels, int(self.seconds * self.rate))
            ring = self.ring

            def callback(indata: Any, frames: int, time: Any, status: Any) -> None:
                ring.write(indata)

            self._stream = sd.InputStream(samplerate=self.rate, channels=self.channels, dtype="float32",
                                          device=device, blocksize=blocksize, callback=callback)
            self._stream.start()
            self.latency = float(self._stream.latency)
        except Exception as exc:  # noqa: BLE001 - any PortAudio failure means the same to the user
            self._stream = None
            raise ExplorerError(f"Audio input could not be opened ({exc}); live mode needs an input device.") from exc

    @property
    def is_open(self) -> bool:
        return self._stream is not None

    def close(self) -> None:
        if self._stream is not None:
            close_stream(self._stream, "input")
            self._stream = None
