"""JACK helpers for tests: list the ports and loop a player's output into a capture stream's input."""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from typing import Iterator

from explorer.audio_io.playback import Player
from explorer.core.audio import Clip


def running() -> bool:
    return subprocess.run(["pgrep", "-x", "jackd"], capture_output=True).returncode == 0


def ports() -> dict[str, list[str]]:
    """Every JACK port and the ports it is connected to."""
    out = subprocess.run(["jack_lsp", "-c"], capture_output=True, text=True).stdout.splitlines()
    links: dict[str, list[str]] = {}
    current = ""
    for line in out:
        if line.startswith(" "):
            links[current].append(line.strip())
        else:
            current = line.strip()
            links[current] = []
    return links


def new_inputs(before: dict[str, list[str]], timeout: float = 10.0) -> list[str]:
    """Input ports of PortAudio clients that appeared since ``before`` (waits for them)."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        found = [p for p in set(ports()) - set(before) if "in" in p.split(":")[1]]
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError("no new JACK input port appeared")


def feed(clip: Clip, before: dict[str, list[str]]) -> Player:
    """Play ``clip`` into the capture stream opened since ``before``, instead of the dummy's silence."""
    inputs = new_inputs(before)
    player = Player()
    player.load(clip.samples, clip.sample_rate)
    mid = set(ports())
    player.open()
    outputs = [p for p in set(ports()) - mid if "out" in p.split(":")[1]]
    assert outputs, "the player's JACK output port did not appear"
    for port in inputs:
        for src in ports()[port]:
            subprocess.run(["jack_disconnect", src, port], check=True)
        subprocess.run(["jack_connect", outputs[0], port], check=True)
    player.play()
    return player


@contextlib.contextmanager
def own_server(name: str, **env_extra: str) -> Iterator[tuple[dict[str, str], subprocess.Popen[bytes]]]:
    """A JACK dummy server of our own (the test may stop it: the device vanishes); yields (env, server)."""
    env = {**os.environ, "JACK_DEFAULT_SERVER": name, "JACK_NO_AUDIO_RESERVATION": "1", **env_extra}
    server = subprocess.Popen(["jackd", "--no-realtime", "-d", "dummy", "-r", "48000"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if subprocess.run(["jack_lsp"], env=env, capture_output=True).returncode == 0:
                break
            time.sleep(0.1)
        yield env, server
    finally:
        if server.poll() is None:
            server.kill()


def unplug(server: subprocess.Popen[bytes]) -> None:
    """Stop the server: every stream on it loses its device mid-stream."""
    server.terminate()
    server.wait(10)
