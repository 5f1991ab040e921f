"""Installing like an app: the wheel outside the checkout, the desktop entry, diagnostics, the guide."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_readme_guide_is_the_bundled_guide():
    readme = (ROOT / "README.md").read_text()
    inside = readme.split("<!-- guide:start -->\n", 1)[1].split("<!-- guide:end -->", 1)[0]
    assert inside == (ROOT / "resources" / "guide.md").read_text()


def test_the_wheel_installs_and_runs_from_another_folder(tmp_path):
    dist = tmp_path / "dist"
    p = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(ROOT)],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    wheel = next(dist.glob("codec_explorer-*.whl"))
    import zipfile

    names = zipfile.ZipFile(wheel).namelist()
    for needed in ("explorer/resources/clips/speech_en.wav", "explorer/resources/rvq_lab/codebooks.npz",
                   "explorer/resources/icons/codec-explorer.svg", "explorer/resources/guide.md"):
        assert needed in names, needed
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    # the heavy dependencies come from the test environment; the app itself only from the wheel
    site = Path(subprocess.run([str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
                   check=True, capture_output=True, timeout=300)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    run = lambda *args: subprocess.run(args, cwd=elsewhere, env=env, capture_output=True, text=True, timeout=300)  # noqa: E731
    where = run(str(venv / "bin" / "python"), "-c", "import explorer; from explorer.core.resources import resource; "
                "print(explorer.__file__); print(resource('clips', 'speech_en.wav'))")
    assert where.returncode == 0, where.stderr
    module, clip = where.stdout.split()
    assert module.startswith(str(venv)) and clip.startswith(str(venv)), where.stdout
    codecs = run(str(venv / "bin" / "codec-explorer"), "codecs")
    assert codecs.returncode == 0 and "rvq-lab" in codecs.stdout and "built in" in codecs.stdout, codecs.stderr
    trip = run(str(venv / "bin" / "python"), "-m", "explorer", "roundtrip", clip, "-c", "rvq-lab", "-o", "out.wav")
    assert trip.returncode == 0 and "STOI" in trip.stdout, trip.stderr
    assert (elsewhere / "out.wav").stat().st_size > 10_000
    version = run(str(venv / "bin" / "codec-explorer"), "--version")
    assert version.stdout.startswith("codec-explorer ")


def test_install_desktop_entry_opens_a_file_and_uninstalls(tmp_path):
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "share"), "QT_QPA_PLATFORM": "offscreen"}
    p = subprocess.run([sys.executable, "-m", "explorer", "install-desktop"], env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    entry = tmp_path / "share" / "applications" / "codec-explorer.desktop"
    icon = tmp_path / "share" / "icons" / "hicolor" / "scalable" / "apps" / "codec-explorer.svg"
    assert entry.exists() and icon.read_text().startswith("<svg")
    if shutil.which("desktop-file-validate"):
        check = subprocess.run(["desktop-file-validate", str(entry)], capture_output=True, text=True)
        assert check.returncode == 0 and not check.stdout.strip(), check.stdout
    fields = dict(line.split("=", 1) for line in entry.read_text().splitlines() if "=" in line)
    assert "audio/flac" in fields["MimeType"] and fields["Icon"] == "codec-explorer"
    # what a file manager does on "Open with Codec Explorer": the Exec line with %f = the file
    wav = ROOT / "resources" / "clips" / "speech_de.wav"
    command = [part if part != "%f" else str(wav) for part in shlex.split(fields["Exec"])]
    shot = tmp_path / "opened.png"
    opened = subprocess.run(command + ["--screenshot", str(shot)], env=env, capture_output=True, text=True, timeout=300)
    assert opened.returncode == 0 and shot.stat().st_size > 10_000, opened.stderr[-2000:]
    p = subprocess.run([sys.executable, "-m", "explorer", "install-desktop", "--uninstall"], env=env, capture_output=True, text=True)
    assert p.returncode == 0 and not entry.exists() and not icon.exists()


def test_diagnostics_name_versions_device_and_caches():
    p = subprocess.run([sys.executable, "-m", "explorer", "diagnostics"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    for needed in ("Codec Explorer 0.", "torch 2.9.1", "encodec 0.1.1", "moshi 0.2.13", "snac 1.2.1",
                   "descript-audio-codec 1.0.0", "device in use (auto): cpu", "rvq-lab built in",
                   "encodec-24khz: encodec_24khz-d7cc33bc.th in ", "dac-44khz: weights_44khz_8kbps_0.0.1.pth in ",
                   "mimi: tokenizer-e351c8d8-checkpoint125.safetensors in "):
        assert needed in p.stdout, needed


def test_help_menu_about_diagnostics_guide_and_welcome(qtbot, tmp_path):
    from PySide6.QtCore import QSettings
    from PySide6.QtGui import QGuiApplication

    from explorer.ui.window import MainWindow

    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    w = MainWindow(settings)
    qtbot.addWidget(w)
    qtbot.waitUntil(lambda: w.help.welcome is not None and w.help.welcome.isVisible(), timeout=5000)
    w.help.welcome.never.setChecked(True)
    w.help.welcome.accept()
    assert settings.value("welcome/dismissed", False, bool)
    again = MainWindow(settings)
    qtbot.addWidget(again)
    qtbot.wait(200)
    assert getattr(again, "welcome", None) is None  # dismissed for good
    text = w.help.copy_diagnostics()
    assert QGuiApplication.clipboard().text() == text and "moshi 0.2.13" in text and "settings:" in text
    w.help.show_guide()
    assert "Weights for a computer without internet" in w.help.guide.browser.toPlainText()
    assert not w.windowIcon().isNull()
    again.close()
    w.close()
