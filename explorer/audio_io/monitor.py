"""Monitoring: play a stream of decoded blocks as they arrive, through a ring buffer.

The worker writes blocks; the callback copies what is there and plays silence when the ring runs
dry, counting those underruns. No allocation, locks, Qt or torch in the callback.
"""

from __future__ import annotations

from typing import Any

from explorer.audio_io.capture import RingBuffer
from explorer.audio_io.streams import close_stream
from explorer.core.errors import ExplorerError
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
        try:
            import sounddevice as sd

            info = sd.query_devices(device, "output")
            self.rate = int(info["default_samplerate"])
            self.channels = min(2, int(info["max_output_channels"]))
            self.ring = RingBuffer(self.channels, int(self.seconds * self.rate))
            ring = self.ring

            def callback(outdata: Any, frames: int, time: Any, status: Any) -> None:
                if ring.read_into(outdata) < frames:
                    self.underruns += 1

            self._stream = sd.OutputStream(samplerate=self.rate, channels=self.channels, dtype="float32",
                                           device=device, blocksize=blocksize, callback=callback)
            self._stream.start()
            self.latency = float(self._stream.latency)
        except Exception as exc:  # noqa: BLE001
            self._stream = None
            raise ExplorerError(f"Audio output could not be opened ({exc}); monitoring is off.") from exc

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
