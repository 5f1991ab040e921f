"""`codec-explorer live` end to end on its own JACK dummy server, which the test then stops."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

import jackloop

pytestmark = pytest.mark.skipif(shutil.which("jackd") is None, reason="needs jackd (Debian jackd2)")


def test_live_records_and_survives_the_device_vanishing(tmp_path):
    from explorer.core.audio import load_audio
    from explorer.core.tokens import load_tokens

    with jackloop.own_server("codec-explorer-unplug") as (env, server):
        take = tmp_path / "take"
        app = subprocess.Popen([sys.executable, "-m", "explorer", "live", "-c", "rvq-lab", "--seconds", "60",
                                "--record", str(take), "--monitor", "reconstruction"],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        t0 = time.perf_counter()  # a loaded machine may take a while to start: wait for the take to grow
        while time.perf_counter() - t0 < 60 and not (take / "tokens.npz").exists() and app.poll() is None:
            time.sleep(0.2)
        time.sleep(2.5)
        assert app.poll() is None, app.communicate()[1]
        jackloop.unplug(server)  # the audio device vanishes mid-stream
        out, err = app.communicate(timeout=30)
    assert app.returncode == 1, err
    assert "stopped delivering audio" in err and "RTF" in err
    captured = load_audio(take / "input.wav")
    assert captured.duration > 1.5
    codes, meta = load_tokens(take / "tokens.npz")
    assert meta["codec"] == "rvq-lab" and len(codes) == 32 and len(codes[0]) > 75
    recon = load_audio(take / "reconstruction.wav")
    assert abs(recon.duration - len(codes[0]) / 75) < 0.05 and np.isfinite(recon.samples).all()


def test_a_take_survives_the_app_being_killed(tmp_path):
    """SIGKILL mid-take: what was captured up to the last second is on disk and readable."""
    import signal

    from explorer.core.audio import load_audio
    from explorer.core.tokens import load_tokens

    with jackloop.own_server("codec-explorer-kill") as (env, server):
        take = tmp_path / "take"
        app = subprocess.Popen([sys.executable, "-m", "explorer", "live", "-c", "rvq-lab", "--record", str(take)],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < 60 and not (take / "tokens.npz").exists():
            time.sleep(0.2)
        time.sleep(3.0)
        ran = time.perf_counter() - t0
        app.send_signal(signal.SIGKILL)
        app.wait(10)
    captured = load_audio(take / "input.wav")
    recon = load_audio(take / "reconstruction.wav")
    codes, meta = load_tokens(take / "tokens.npz")
    assert captured.duration > 2.5 and captured.duration <= ran
    assert recon.duration > 2.0 and len(codes) == 32 and len(codes[0]) > 2.0 * 75
