"""Listing devices and opening and closing PortAudio streams safely, shared by playback, capture and monitoring."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any, Callable, Literal

from explorer.core.errors import ExplorerError

log = logging.getLogger(__name__)


def close_stream(stream: Any, what: str, timeout: float = 2.0) -> None:
    """Stop and close a PortAudio stream without ever hanging the caller.

    With the device gone (a JACK server that died), PortAudio's stop can block forever, so it runs
    in a daemon thread that is abandoned after ``timeout`` seconds.
    """

    def work() -> None:
        try:
            stream.abort()
            stream.close()
        except Exception as exc:  # noqa: BLE001 - a vanished device fails in many ways
            log.info("closing the %s stream: %s", what, exc)

    t = threading.Thread(target=work, name=f"close-{what}", daemon=True)
    t.start()
    t.join(timeout)
    if t.is_alive():
        log.warning("the %s device did not close within %.0f s; it has probably vanished", what, timeout)


@dataclass(frozen=True)
class AudioDevice:
    index: int
    name: str
    channels: int
    default_rate: float
    host_api: str


def audio_devices(direction: Literal["input", "output"]) -> list[AudioDevice]:
    """The devices PortAudio sees for ``direction``; empty (never an exception) when there are none."""
    key = f"max_{direction}_channels"
    try:
        import sounddevice as sd

        apis = [str(a["name"]) for a in sd.query_hostapis()]
        return [
            AudioDevice(i, str(d["name"]), int(d[key]), float(d["default_samplerate"]), apis[int(d["hostapi"])])
            for i, d in enumerate(sd.query_devices())
            if int(d[key]) > 0
        ]
    except Exception as exc:  # noqa: BLE001 - PortAudio missing or broken: no devices
        log.info("no audio %s devices: %s", direction, exc)
        return []


def same_device(input_device: int | None, output_device: int | None) -> bool:
    """Whether capture and monitoring would use one physical device (a feedback risk without headphones)."""
    try:
        import sounddevice as sd

        a = sd.query_devices(input_device, "input")
        b = sd.query_devices(output_device, "output")
    except Exception:  # noqa: BLE001 - no devices, no feedback
        return False
    return bool(a["name"] == b["name"] and a["hostapi"] == b["hostapi"])


def open_stream(direction: Literal["input", "output"], device: int | None, channels: int, blocksize: int,
                make_callback: Callable[[int, int], Callable[..., None]], failure: str) -> tuple[Any, int, int]:
    """Open and start a float32 PortAudio stream at the device's own rate; the one place streams are opened.

    ``make_callback(rate, channels)`` builds the callback once the device's rate and channel count
    (at most ``channels``) are known. Returns (stream, rate, channels). Any PortAudio failure raises
    ExplorerError with ``failure`` (``{}`` stands for PortAudio's words).
    """
    try:
        import sounddevice as sd

        info = sd.query_devices(device, direction)
        rate = int(info["default_samplerate"])
        channels = min(channels, int(info[f"max_{direction}_channels"]))
        stream_class = sd.InputStream if direction == "input" else sd.OutputStream
        stream = stream_class(samplerate=rate, channels=channels, dtype="float32", device=device,
                              blocksize=blocksize, callback=make_callback(rate, channels))
        stream.start()
    except Exception as exc:  # noqa: BLE001 - any PortAudio failure means the same to the user
        raise ExplorerError(failure.format(exc)) from exc
    return stream, rate, channels
