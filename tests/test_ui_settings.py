"""The window's settings: one group per component, values not indexes, migrated between versions."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

VERSION_1 = """[General]
version=1

[audio]
input=system
output=system

[codec]
codebooks=4
device=cpu
name=encodec-24khz

[files]
recent=/music/a.wav, /music/b.wav

[live]
monitor=input
record=false

[welcome]
dismissed=true
"""


@pytest.fixture()
def ini(tmp_path):
    path = tmp_path / "settings.ini"
    path.write_text(VERSION_1)
    return path


def test_a_version_1_file_is_migrated_not_cleared(ini):
    from PySide6.QtCore import QSettings

    from explorer.ui.settings_schema import SETTINGS_VERSION, migrate

    s = QSettings(str(ini), QSettings.Format.IniFormat)
    assert migrate(s) == 1 and SETTINGS_VERSION == 2
    assert s.value("version", 0, int) == 2
    assert s.value("transport/output", "", str) == "system" and s.value("live/input", "", str) == "system"
    assert not s.contains("audio/output") and not s.contains("audio/input")
    assert s.value("codec/name", "", str) == "encodec-24khz" and s.value("codec/codebooks", 0, int) == 4
    assert s.value("files/recent", [], list) == ["/music/a.wav", "/music/b.wav"]
    assert s.value("welcome/dismissed", False, bool) is True
    assert migrate(s) == 2 and s.value("transport/output", "", str) == "system"  # idempotent


def test_a_newer_file_is_read_not_cleared(tmp_path):
    from PySide6.QtCore import QSettings

    from explorer.ui.settings_schema import migrate

    path = tmp_path / "settings.ini"
    path.write_text("[General]\nversion=7\n\n[codec]\nname=mimi\n\n[future]\nthing=1\n")
    s = QSettings(str(path), QSettings.Format.IniFormat)
    assert migrate(s) == 7
    assert s.value("version", 0, int) == 7 and s.value("codec/name", "", str) == "mimi" and s.contains("future/thing")


def test_the_window_restores_a_migrated_file_and_saves_values(qtbot, ini, loaded):
    from PySide6.QtCore import QSettings

    from explorer.ui.window import MainWindow

    loaded("encodec-24khz")  # its weights are here: the saved choice is usable
    w = MainWindow(QSettings(str(ini), QSettings.Format.IniFormat), welcome=False)
    qtbot.addWidget(w)
    assert w.codec_bar.choice().name == "encodec-24khz" and w.codec_bar.choice().codebooks == 4
    assert w.codec_bar.device == "cpu"
    assert w.live_bar.monitor_box.currentText() == "input" and not w.live_bar.record_box.isChecked()
    assert w.file_menu.files == ["/music/a.wav", "/music/b.wav"]
    w.live_bar.monitor_box.setCurrentText("off")
    from explorer.services.session import CodecChoice

    w.codec_bar.confirm(CodecChoice("rvq-lab", 8, "cpu"))  # what the window does when an encoding arrives
    w.close()
    s = QSettings(str(ini), QSettings.Format.IniFormat)
    assert s.value("version", 0, int) == 2
    assert s.value("codec/name", "", str) == "rvq-lab" and s.value("codec/codebooks", 0, int) == 8
    assert s.value("live/monitor", "", str) == "off" and s.value("live/record", True, bool) is False
    assert s.value("welcome/dismissed", False, bool) is True


def test_a_codec_whose_weights_are_gone_falls_back_to_the_default(qtbot, tmp_path, monkeypatch):
    from PySide6.QtCore import QSettings

    from explorer.codecs.registry import DEFAULT_CODEC, weights_available
    from explorer.ui.window import MainWindow

    # other tests of the session may have written DAC weights into the shared test home: look elsewhere
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CODEC_EXPLORER_CACHE", str(tmp_path / "cache"))
    missing = "dac-44khz"
    assert not weights_available(missing)
    path = tmp_path / "settings.ini"
    path.write_text(f"[General]\nversion=2\n\n[codec]\nname={missing}\ncodebooks=abc\n")
    w = MainWindow(QSettings(str(path), QSettings.Format.IniFormat), welcome=False)
    qtbot.addWidget(w)
    assert w.codec_bar.codec == DEFAULT_CODEC
    w.close()
