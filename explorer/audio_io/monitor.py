"""Monitoring: play a stream of decoded blocks as they arrive, through a ring buffer.

The worker writes blocks; the callback copies what is there and plays silence when the ring runs
dry, counting those underruns. No allocation, locks, Qt or torch in the callback.
"""

from __future__ import annotations

from typing import Any, Callable

from explorer.audio_io.capture import RingBuffer
from explorer.audio_io.streams import close_stream, open_stream
from explorer.core.types import FloatArray


class Monitor:
    def __init__(self, seconds: float = 5.0) -> None:
        self.seconds = seconds
        self.ring: RingBuffer | None = None
        self.rate = 0
        self.channels = 0
        self.underruns = 0
        self.latency = 0.0
        self._stream: Any = None

    def open(self, device: int | None = None, blocksize: int = 512) -> None:
        """Start an output stream at the device's own rate; raises ExplorerError when impossible."""
        self.close()
        def make_callback(rate: int, channels: int) -> Callable[..., None]:
            self.rate, self.channels = rate, channels
            self.ring = ring = RingBuffer(channels, int(self.seconds * rate))

            def callback(outdata: Any, frames: int, time: Any, status: Any) -> None:
                if ring.read_into(outdata) < frames:
                    self.underruns += 1
            return callback

        self._stream, _, _ = open_stream("output", device, 2, blocksize, make_callback,
                                         "Audio output could not be opened ({}); monitoring is off.")
        self.latency = float(self._stream.latency)

    def write(self, block: FloatArray) -> None:
        """Queue ``[channels, n]`` samples at the device rate (mono is sent to every channel)."""
        if self.ring is None:
            return
        if block.shape[0] != self.channels:
            block = block[:1].repeat(self.channels, axis=0)
        self.ring.write(block.T)

    @property
    def queued(self) -> int:
        """Samples written but not yet played."""
        return self.ring.written - self.ring.read if self.ring is not None else 0

    def close(self) -> None:
        if self._stream is not None:
            close_stream(self._stream, "output")
            self._stream = None
