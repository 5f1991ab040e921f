"""Live capture through real PortAudio streams on the JACK dummy driver, output looped into input."""

from __future__ import annotations

import time

import numpy as np
import pytest

import jackloop
from explorer.core.audio import Clip, StreamResampler, resample

pytestmark = pytest.mark.skipif(not jackloop.running(), reason="needs the JACK dummy driver (scripts/test.sh starts it)")


@pytest.mark.parametrize("name", ["rvq-lab", "mimi"])
def test_tokens_captured_live_equal_an_offline_encode(loaded, speech, name):
    from explorer.audio_io.capture import Capture
    from explorer.services.live import MimiLive, live_codec

    engine = loaded(name)
    before = jackloop.ports()
    capture = Capture(seconds=20)
    capture.open()
    live = live_codec(engine)
    resampler = StreamResampler(capture.rate, engine.info.sample_rate, 1)
    fed, steps, captured = [], [], []
    player = jackloop.feed(speech, before)
    try:
        t0 = time.perf_counter()
        tail = None
        # the dummy driver keeps time only as well as a busy machine lets it: wait for the player
        while time.perf_counter() - t0 < 60 and (tail is None or capture.ring.written < tail):
            if tail is None and not player.playing:
                tail = capture.ring.written + capture.rate // 2
            time.sleep(0.05)
            block = capture.ring.take()
            captured.append(block)
            x = resampler.push(block)
            fed.append(x)
            steps += live.push(x)
    finally:
        player.close()
        capture.close()
        if isinstance(live, MimiLive):
            live.close()
    heard = np.concatenate(captured, axis=1)
    # the loop is digital: what was captured is what was played, delayed
    played = resample(speech.samples, speech.sample_rate, capture.rate)
    lag = int(np.argmax(np.correlate(heard[0, : capture.rate * 2], played[0, : capture.rate // 2], mode="valid")))
    n = min(played.shape[1], heard.shape[1] - lag)
    assert n > 0.9 * played.shape[1]
    assert np.abs(heard[0, lag: lag + n] - played[0, :n]).max() < 1e-4
    assert capture.ring.overruns == 0
    # the tokens produced live equal an offline encode of the same stream
    stream = np.concatenate(fed, axis=1)
    frames = sum(len(s.codes[0]) for s in steps)
    hop = engine.info.hop_length
    offline = engine.encode(Clip(stream[:, : frames * hop], engine.info.sample_rate))
    for k in range(len(offline.codes)):
        live_row = np.concatenate([s.codes[k] for s in steps])
        assert np.array_equal(live_row, offline.codes[k][: len(live_row)]), k
    assert len(steps) > 10 and np.abs(np.concatenate([s.audio for s in steps], axis=1)).max() > 0.01
