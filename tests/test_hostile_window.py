"""Hostile input in the window: a damaged session file, bad clips, impossible edits and outputs.

None of it may crash the app, hang it, or destroy a file; the unattended screenshot run fails fast
with the real reason.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import shows_nan, tone_clip
from explorer.core.audio import save_audio

pytest.importorskip("pytestqt")


@pytest.fixture()
def tone_wav(tmp_path) -> Path:
    path = tmp_path / "tone.wav"
    save_audio(path, tone_clip(1.0, 24000))
    return path


@pytest.fixture()
def dialogs(monkeypatch) -> list[tuple[str, str]]:
    """Every warning or critical box the window would show, as (title, text), instead of showing it."""
    from PySide6.QtWidgets import QMessageBox

    shown: list[tuple[str, str]] = []
    for name in ("warning", "critical"):
        monkeypatch.setattr(QMessageBox, name, lambda parent, title, text, *a: shown.append((title, text)))
    return shown


START_SCRIPT = r"""
import json, os
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox
app = QApplication([])
dialogs = []
QMessageBox.warning = QMessageBox.critical = lambda parent, title, text, *a: dialogs.append(text)
from explorer.ui.app import run
from explorer.ui.window import MainWindow
seen = {}
def poll():
    shown = [w for w in app.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
    if shown and shown[0].decoded is not None:
        w = shown[0]
        seen.update(message=w.statusBar().currentMessage(), path=str(w.model.path), mute=sorted(w.model.edits.mute),
                    view=list(w.views.wave.viewRange()[0]), spectrogram=w.file_view.spectrogram, dialogs=dialogs,
                    codec=w.grid.info.name if w.grid else None, device=w.codec_bar.device)
        w.close()
    else:
        QTimer.singleShot(100, poll)
QTimer.singleShot(100, poll)
seen["code"] = run(None, None)
print(json.dumps(seen), flush=True)
os._exit(0)
"""


def start_app_until_drawn(home: Path, session: bytes | None, settings: str = "") -> dict[str, object]:
    """A plain start (``explorer.ui.app.run(None, None)``, which restores the session) in a child whose
    home holds ``session`` as session.json and ``settings`` in its settings file; what the window
    showed once the reconstruction is drawn.

    A child, because ``app.exec`` ending leaves this process's Qt application quitting."""
    config = home / ".config" / "codec-explorer"
    config.mkdir(parents=True, exist_ok=True)
    (config / "Codec Explorer.conf").write_text("[welcome]\ndismissed=true\n" + settings)
    if session is not None:
        (config / "session.json").write_bytes(session)
    p = subprocess.run([sys.executable, "-c", START_SCRIPT], capture_output=True, text=True, timeout=300,
                       env={**os.environ, "HOME": str(home), "QT_QPA_PLATFORM": "offscreen"})
    lines = p.stdout.strip().splitlines()
    assert lines and lines[-1].startswith("{"), p.stderr[-3000:]
    return json.loads(lines[-1])


@pytest.mark.parametrize("damage, kept", [
    ({"view": "ab"}, "edits"),
    ({"view": [1, "x"], "edits": {"mute": ["x"]}, "spectrogram": 5}, "path"),
    (b"\x00\xffgarbage\x89PNG" * 50, None),
    (b"[1, " * 20_000, None),
], ids=["bad view", "bad view, edits and spectrogram", "binary garbage", "deep JSON list"])
def test_a_damaged_session_file_opens_the_window_with_a_note(tmp_path, tone_wav, damage, kept):
    """Today's code: "Unexpected error", no window, then an abort (QThread destroyed while running)."""
    good = {"version": 1, "path": str(tone_wav), "edits": {"mute": [2]}, "view": [0.2, 0.7], "spectrogram": "difference",
            "codec": "rvq-lab", "codebooks": 32}
    seen = start_app_until_drawn(tmp_path / "home", damage if isinstance(damage, bytes) else json.dumps({**good, **damage}).encode())
    message = str(seen["message"])
    assert seen["code"] == 0 and not seen["dialogs"], seen
    assert "The saved session was damaged; not restored:" in message, seen
    if kept is None:  # nothing usable: the bundled clip
        assert Path(str(seen["path"])).name == "speech_en.wav" and "the whole file" in message
        return
    assert seen["path"] == str(tone_wav) and "the zoomed time range" in message
    if kept == "edits":
        assert seen["mute"] == [2] and seen["spectrogram"] == "difference"
        assert "Restored your last session: tone.wav" in message
    else:
        assert seen["mute"] == [] and seen["spectrogram"] == "reconstruction"  # the default: the reconstruction under the original
        assert "the edits" in message and "the spectrogram choice" in message


def run_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "explorer", *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})


def our_error(p: subprocess.CompletedProcess[str]) -> str:
    """The one line we print, which must be the last: ``codec-explorer: error: ...``."""
    last = p.stderr.strip().splitlines()[-1] if p.stderr.strip() else ""
    assert last.startswith("codec-explorer: error: ") and "Traceback" not in p.stderr and "QThread" not in p.stderr, p.stderr
    return last


@pytest.mark.parametrize("make, reason", [
    (lambda d: os.mkfifo(d / "pipe.wav") or d / "pipe.wav", "named pipe"),
    (lambda d: (d / "r.wav").write_bytes(os.urandom(5000)) and d / "r.wav", "could not be read"),
    (lambda d: (d / "e.wav").write_bytes(b"") or d / "e.wav", "empty"),
], ids=["fifo without a writer", "random bytes", "empty file"])
def test_a_screenshot_of_a_bad_clip_fails_fast_with_the_reason(tmp_path, make, reason):
    """Today: the reason is hidden behind "no reconstruction within 300 s", or a modal box hangs the run."""
    out = tmp_path / "out.png"
    start = time.monotonic()
    p = run_cli("open", str(make(tmp_path)), "--screenshot", str(out))
    assert p.returncode == 1 and time.monotonic() - start < 30, p.stderr
    assert reason in our_error(p) and "no reconstruction" not in p.stderr
    assert not out.exists()


def test_a_screenshot_with_an_edit_of_a_missing_codebook_fails(tmp_path, tone_wav):
    """Today: the edit is silently dropped and the run succeeds."""
    out = tmp_path / "out.png"
    p = run_cli("open", str(tone_wav), "--mute", "99", "--screenshot", str(out))
    assert p.returncode == 1 and "Codebook 99 does not exist" in our_error(p)
    assert not out.exists()


@pytest.mark.parametrize("target", ["missing/x.png", "tone.wav/x.png", "/proc/x.png", "tone.wav"],
                         ids=["missing folder", "under a file", "unwritable folder", "the clip itself"])
def test_a_screenshot_that_cannot_be_written_says_why(tmp_path, tone_wav, target):
    """Today: the error escapes a Qt slot and the run aborts (status 134)."""
    before = tone_wav.read_bytes()
    p = run_cli("open", str(tone_wav), "--screenshot", str(tmp_path / target))
    message = our_error(p)
    assert p.returncode in (1, 2) and ("Cannot write" in message or "is also this command's input" in message), p.stderr
    assert [line for line in p.stderr.splitlines() if "codec-explorer" in line] == [message]
    assert tone_wav.read_bytes() == before


def test_exporting_onto_the_open_clip_is_refused(qtbot, window, tone_wav, dialogs):  # noqa: F811
    before = tone_wav.read_bytes()
    with qtbot.waitSignal(window.reconstruction_ready, timeout=120_000):
        window.open_file(tone_wav)
    for export in (window.exports.export_wav, window.exports.export_tokens, window.exports.export_png):
        export(tone_wav)
    assert [title for title, _ in dialogs] == ["Export failed"] * 3, dialogs
    assert "would destroy the input" in dialogs[0][1] and "would destroy the input" in dialogs[2][1]  # tokens: not .npz
    assert tone_wav.read_bytes() == before
    window.exports.export_png(tone_wav.with_suffix(".png"))
    assert tone_wav.with_suffix(".png").stat().st_size > 10_000 and len(dialogs) == 3


def test_a_metric_that_does_not_apply_reads_n_a_with_its_reason(qtbot, window, tmp_path):  # noqa: F811
    short = tmp_path / "short.wav"
    save_audio(short, tone_clip(0.3, 24000))
    with qtbot.waitSignal(window.reconstruction_ready, timeout=120_000):
        window.open_file(short)
    text, tip = window.metrics.text(), window.metrics.toolTip()
    assert "STOI n/a" in text and not shows_nan(text), text
    assert "STOI n/a:" in tip and "0.4 s" in tip, tip
    assert window.decoded.quality.reason("stoi") in tip


def test_opening_a_fifo_shows_an_error_and_the_app_stays_usable(qtbot, window, tmp_path, tone_wav, dialogs):  # noqa: F811
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    with qtbot.waitSignal(window.worker.failed, timeout=10_000):
        window.open_file(fifo)
    qtbot.waitUntil(lambda: bool(dialogs), timeout=5_000)
    assert "named pipe" in dialogs[0][1]
    with qtbot.waitSignal(window.reconstruction_ready, timeout=120_000):
        window.open_file(tone_wav)
    assert window.decoded is not None and window.model.path == tone_wav
