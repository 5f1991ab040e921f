"""The codec bar: which codec, how many codebooks and which torch device encode the open clip.

Opus, the reference codec, has no codebooks: when it is chosen the codebook box gives way to a
bitrate box (its ``kbps_choices``), and the choice carries ``kbps`` instead of codebooks.

The bar remembers the last choice that worked (:attr:`CodecBar.working`, confirmed by the window when
an encoding arrives). A choice that fails puts the boxes back to it and is never saved; a saved
choice that fails at start falls back to the same codec on ``auto``, then to the built-in codec.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QSettings, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QComboBox, QFileDialog, QLabel, QMessageBox, QToolBar, QWidget

from explorer.codecs.registry import CODEC_NAMES, DEFAULT_CODEC, entry, weights_available
from explorer.services.session import CodecChoice
from explorer.ui.combo import fill, select
from explorer.ui.settings_schema import setting

DEVICES = ("auto", "cpu", "cuda", "mps")


def codec_usable(name: str) -> bool:
    """Whether ``name`` can be used without a download: the built-in default, or its weights are here."""
    return name in CODEC_NAMES and (name == DEFAULT_CODEC or weights_available(name))


class CodecBar(QToolBar):
    """Codec, codebooks and device; announces the choice to encode with when the user changes one."""

    encode_requested = Signal(object)
    """A :class:`CodecChoice` the user picked (with ``weights`` when they chose a checkpoint file)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Codec", parent)
        self.setObjectName("codec-bar")
        self.codec_box = QComboBox()
        for name in CODEC_NAMES:
            self.codec_box.addItem(name + ("" if codec_usable(name) else "  (download)"), name)
        self.codebooks_box = QComboBox()
        self.kbps_box = QComboBox()
        self.kbps_box.setToolTip("Opus's bitrate setting; the metrics line shows the bitrate its packets measure")
        self.device_box = QComboBox()
        self.device_box.addItems(DEVICES)
        self.device_label = QLabel("device: –")
        self.working: CodecChoice | None = None
        """The last choice an encoding was made with (None until the first)."""
        self.setting_actions: dict[str, list[QAction]] = {}
        """The label and box of each setting ("codebooks", "kbps"): shown only for the codecs that have it."""
        for w, label, key in ((self.codec_box, "Codec ", ""), (self.codebooks_box, "  Codebooks ", "codebooks"),
                              (self.kbps_box, "  Bitrate ", "kbps"), (self.device_box, "  Device ", "")):
            actions = [self.addWidget(QLabel(label)), self.addWidget(w)]
            if key:
                self.setting_actions[key] = actions
        self.addWidget(QLabel("  "))
        self.addWidget(self.device_label)
        self.codec_box.activated.connect(lambda _: self._codec_chosen())
        self.codebooks_box.activated.connect(lambda _: self.encode_requested.emit(self.choice()))
        self.kbps_box.activated.connect(lambda _: self.encode_requested.emit(self.choice()))
        self.device_box.activated.connect(lambda _: self.encode_requested.emit(self.choice()))
        self._fill_codebooks()

    def choice(self) -> CodecChoice:
        """The boxes' choice: codebooks for a token codec, kbps for Opus (the other None)."""
        tokens = entry(self.codec).info().tokens
        return CodecChoice(self.codec_box.currentData(), self.codebooks_box.currentData() if tokens else None,
                           self.device_box.currentText(), kbps=None if tokens else self.kbps_box.currentData())

    @property
    def codec(self) -> str:
        return str(self.codec_box.currentData())

    @property
    def device(self) -> str:
        return self.device_box.currentText()

    def select(self, name: str, codebooks: int | None = None, kbps: int | None = None) -> None:
        """Show codec ``name`` with ``codebooks`` (its default if it has no such choice) or, for Opus,
        ``kbps`` (None: the bitrate shown last, else its default), announcing nothing."""
        select(self.codec_box, name)
        self._fill_codebooks(codebooks, kbps)

    def _fill_codebooks(self, choose: int | None = None, kbps: int | None = None) -> None:
        """Fill the setting the codec has (codebooks, or Opus's kbps) and show only that one."""
        info = entry(self.codec).info()
        fill(self.codebooks_box, ((f"{n}", n) for n in info.codebook_choices))
        select(self.codebooks_box, choose if choose in info.codebook_choices else info.default_codebooks)
        if not info.tokens:
            shown = kbps or self.kbps_box.currentData()
            fill(self.kbps_box, ((f"{k} kbps", k) for k in info.kbps_choices))
            select(self.kbps_box, shown if shown in info.kbps_choices else info.default_kbps)
        for key, actions in self.setting_actions.items():
            for action in actions:
                action.setVisible((key == "codebooks") == info.tokens)

    def show_device(self, device: str) -> None:
        self.device_label.setText(f"device: {device}")

    def show_choice(self, choice: CodecChoice) -> None:
        """Show ``choice`` in the boxes, announcing nothing."""
        self.select(choice.name, choice.codebooks, choice.kbps)
        select(self.device_box, choice.device)

    def confirm(self, choice: CodecChoice) -> None:
        """An encoding was made with ``choice``: it is the one to keep, show and save."""
        self.working = choice
        self.show_choice(choice)
        for i in range(self.codec_box.count()):  # weights fetched since the list was made: no "(download)"
            name = self.codec_box.itemData(i)
            self.codec_box.setItemText(i, name + ("" if codec_usable(name) else "  (download)"))

    def fallback(self, failed: CodecChoice) -> CodecChoice | None:
        """The choice to use now that ``failed`` could not be, shown in the boxes; None if there is none.

        The last one that worked if it differs; else (at start, or when that one broke) the same codec
        on ``auto``, then the built-in codec on ``auto``.
        """
        if self.working is not None and self.working != failed:
            choice = self.working
        elif failed.device != "auto":
            choice = replace(failed, device="auto")
        elif failed.name != DEFAULT_CODEC:
            choice = CodecChoice(DEFAULT_CODEC)
        else:
            return None
        self.show_choice(choice)
        return choice

    def _codec_chosen(self) -> None:
        name = self.codec
        self._fill_codebooks()
        if codec_usable(name):
            self.encode_requested.emit(self.choice())
            return
        answer = QMessageBox.question(
            self, "Weights needed",
            f"{name}'s weights are not on this computer. Download them now (progress is shown and can be "
            "cancelled), or choose a local checkpoint file?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Open | QMessageBox.StandardButton.Cancel,
        )
        if answer == QMessageBox.StandardButton.Open:
            path, _ = QFileDialog.getOpenFileName(self, f"{name} checkpoint", str(Path.home()))
            if path:
                self.encode_requested.emit(replace(self.choice(), weights=path))
        elif answer == QMessageBox.StandardButton.Yes:
            self.encode_requested.emit(self.choice())

    def choose(self, name: str) -> None:
        """Pick codec ``name`` as the user would (asking about weights it needs) and announce it."""
        select(self.codec_box, name)
        self._codec_chosen()

    def save_state(self, s: QSettings) -> None:
        """Save the last choice that worked (a failed one never; nothing before the first encoding)."""
        if self.working is None:
            return
        s.beginGroup("codec")
        s.setValue("name", self.working.name)
        s.setValue("codebooks", int(self.working.codebooks or 0))
        s.setValue("kbps", int(self.working.kbps or 0))
        s.setValue("device", self.working.device)
        s.endGroup()

    def restore_state(self, s: QSettings) -> None:
        s.beginGroup("codec")
        name = setting(s, "name", DEFAULT_CODEC)
        codebooks = setting(s, "codebooks", 0) or None
        kbps = setting(s, "kbps", 0) or None
        device = setting(s, "device", "auto")
        s.endGroup()
        self.select(name if codec_usable(name) else DEFAULT_CODEC, codebooks, kbps)
        select(self.device_box, device)
