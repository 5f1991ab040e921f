"""Closing PortAudio streams safely, shared by playback, capture and monitoring."""

from __future__ import annotations

import logging
import threading
from typing import Any

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
