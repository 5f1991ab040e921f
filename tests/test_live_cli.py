"""`codec-explorer live` end to end on its own JACK dummy server, which the test then stops."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

pytestmark = pytest.mark.skipif(shutil.which("jackd") is None, reason="needs jackd (Debian jackd2)")


def test_live_records_and_survives_the_device_vanishing(tmp_path):
    from explorer.core.audio import load_audio
    from explorer.core.tokens import load_tokens

    env = {**os.environ, "JACK_DEFAULT_SERVER": "codec-explorer-unplug", "JACK_NO_AUDIO_RESERVATION": "1"}
    server = subprocess.Popen(["jackd", "--no-realtime", "-d", "dummy", "-r", "48000"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if subprocess.run(["jack_lsp"], env=env, capture_output=True).returncode == 0:
                break
            time.sleep(0.1)
        take = tmp_path / "take"
        app = subprocess.Popen([sys.executable, "-m", "explorer", "live", "-c", "rvq-lab", "--seconds", "60",
                                "--record", str(take), "--monitor", "reconstruction"],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(4.0)
        assert app.poll() is None, app.communicate()[1]
        server.terminate()  # the audio device vanishes mid-stream
        server.wait(10)
        out, err = app.communicate(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
    assert app.returncode == 1, err
    assert "stopped delivering audio" in err and "RTF" in err
    captured = load_audio(take / "input.wav")
    assert captured.duration > 1.5
    codes, meta = load_tokens(take / "tokens.npz")
    assert meta["codec"] == "rvq-lab" and len(codes) == 32 and len(codes[0]) > 75
    recon = load_audio(take / "reconstruction.wav")
    assert abs(recon.duration - len(codes[0]) / 75) < 0.05 and np.isfinite(recon.samples).all()
