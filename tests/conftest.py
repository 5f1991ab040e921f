"""Test set-up: an isolated home with random-weight checkpoints in the packages' cache layouts.

The environment is set before anything imports huggingface_hub or torch.hub, because both read
their cache locations once at import.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

_HOME = Path(tempfile.mkdtemp(prefix="codec-explorer-tests-"))
os.environ["HOME"] = str(_HOME)
os.environ["TORCH_HOME"] = str(_HOME / ".cache" / "torch")
os.environ["HF_HOME"] = str(_HOME / ".cache" / "huggingface")
os.environ["CODEC_EXPLORER_CACHE"] = str(_HOME / ".cache" / "codec-explorer")
os.environ["CODEC_EXPLORER_OFFLINE"] = "1"
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).parent))

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(2)

from explorer.core.audio import Clip  # noqa: E402


def pytest_unconfigure(config: pytest.Config) -> None:
    """Remove the test home: its random-weight checkpoints take about 2 GB per run."""
    shutil.rmtree(_HOME, ignore_errors=True)


@pytest.fixture(scope="session")
def home() -> Path:
    return _HOME


@pytest.fixture(scope="session")
def loaded():
    """Load codecs once per session, writing random weights first where needed."""
    import random_weights

    from explorer.codecs.registry import load_codec
    from explorer.services.engine import Engine

    cache: dict[str, Engine] = {}

    def get(name: str) -> Engine:
        if name not in cache:
            if name != "rvq-lab":
                random_weights.ensure(name)
            cache[name] = Engine(load_codec(name, torch.device("cpu")))
        return cache[name]

    return get


def shows_nan(text: str) -> bool:
    """Whether ``text`` shows a NaN to its reader: the word ``nan`` on its own ("provenance" does not count)."""
    import re

    return re.search(r"(?<![A-Za-z])nan(?![A-Za-z])", text, re.IGNORECASE) is not None


def tone_clip(seconds: float, rate: int, channels: int = 1, seed: int = 0) -> Clip:
    """A decaying chord with a little noise: deterministic, band-limited, non-trivial."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    chans = []
    for c in range(channels):
        x = sum(0.15 * np.sin(2 * np.pi * f * (1 + 0.01 * c) * t) for f in (220.0, 277.2, 329.6, 880.0))
        x = x * (0.6 + 0.4 * np.sin(2 * np.pi * 1.5 * t)) + 0.01 * rng.standard_normal(len(t))
        chans.append(x)
    return Clip(np.asarray(chans, dtype=np.float32), rate)


@pytest.fixture(scope="session")
def speech() -> Clip:
    from explorer.core.synth import speak

    return speak("Codec explorer opens up neural audio codecs for everyone.", "en-us", rate=24000)


@pytest.fixture()
def speech_wav(tmp_path, speech):
    """The session's spoken clip as a WAV file in the test's own folder."""
    from explorer.core.audio import save_audio

    path = tmp_path / "speech.wav"
    save_audio(path, speech)
    return path


@pytest.fixture()
def window(qtbot, tmp_path):
    """The explorer window with its own settings file, shown (dialogs may appear: tests patch them)."""
    from PySide6.QtCore import QSettings

    from explorer.ui.window import MainWindow

    w = MainWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(w)
    w.show()
    yield w
    w.close()


@pytest.fixture(autouse=True)
def _delete_windows_after_each_test():
    """Delete every top-level Qt widget a test left while Qt still runs."""
    yield
    if "PySide6.QtWidgets" not in sys.modules:
        return
    import gc

    from PySide6.QtCore import QCoreApplication, QEvent
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        return
    for widget in QApplication.topLevelWidgets():
        widget.close()
        widget.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()
