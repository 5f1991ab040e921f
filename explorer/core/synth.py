"""Test and training audio made on this machine: speech with espeak-ng, music with sox.

Both tools are Debian packages (``espeak-ng``, ``sox``); nothing here downloads anything.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from explorer.core.types import FloatArray
from explorer.core.audio import Clip, convert, load_audio
from explorer.core.errors import ExplorerError


def _need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise ExplorerError(f"'{tool}' is not installed; install the Debian package '{tool}' to make test audio.")
    return path


def speak(text: str, voice: str = "en", rate: int = 24000, speed: int = 160, pitch: int = 50) -> Clip:
    """``text`` spoken by espeak-ng with ``voice`` (e.g. ``en``, ``de``, ``fr+f3``), resampled to ``rate``."""
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "speech.wav"
        subprocess.run(
            [_need("espeak-ng"), "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(wav), text],
            check=True, capture_output=True,
        )
        clip = load_audio(wav)
    return convert(clip, rate, 1)


def sox_synth(effects: list[str], seconds: float, rate: int = 24000) -> Clip:
    """Render ``sox -n out.wav synth SECONDS <effects>`` (plus any following effects) to a mono clip."""
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "music.wav"
        subprocess.run(
            [_need("sox"), "-R", "-n", "-r", str(rate), "-c", "1", "-b", "16", str(wav), "synth", str(seconds), *effects],
            check=True, capture_output=True,
        )
        return load_audio(wav)


def concat(clips: list[Clip], gap: float = 0.15) -> Clip:
    """Clips of one rate joined with ``gap`` seconds of silence between them."""
    rate = clips[0].sample_rate
    silence = np.zeros((1, int(gap * rate)), dtype=np.float32)
    parts: list[FloatArray] = []
    for c in clips:
        parts += [c.samples, silence]
    return Clip(np.concatenate(parts, axis=1), rate)


def pluck_phrase(notes: list[str], note_seconds: float = 0.35, rate: int = 24000) -> Clip:
    """A plucked-string phrase, one note after another (note names like ``E3``)."""
    clips = [sox_synth(["pluck", n, "fade", "0", str(note_seconds), str(note_seconds * 0.6), "gain", "-6"], note_seconds, rate) for n in notes]
    return concat(clips, gap=0.02)


def chord(notes: list[str], seconds: float, wave: str = "sawtooth", rate: int = 24000) -> Clip:
    """A chord of ``wave`` tones, low-passed and faded, like a pad."""
    effects: list[str] = []
    for n in notes:
        effects += [wave, n]
    effects += ["lowpass", "2500", "fade", "0.05", str(seconds), "0.3", "gain", "-12"]
    return sox_synth(effects, seconds, rate)


def noise_texture(kind: str, seconds: float, rate: int = 24000) -> Clip:
    """Filtered noise (``whitenoise``, ``pinknoise``, ``brownnoise``) with a slow tremolo."""
    return sox_synth([kind, "tremolo", "3", "60", "bandpass", "1500", "2q", "gain", "-15"], seconds, rate)
