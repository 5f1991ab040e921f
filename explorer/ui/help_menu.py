"""The Help menu: the first-run welcome, the guide, diagnostics for a bug report, About."""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QObject, QSettings, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QKeySequence
from PySide6.QtWidgets import QMenu, QWidget

from explorer.ui.help import AboutDialog, GuideDialog, WelcomeDialog
from explorer.ui.settings_schema import setting


class HelpMenu(QObject):
    message = Signal(str, int)

    def __init__(self, window: QWidget, menu: QMenu, settings: QSettings, device: Callable[[], str],
                 shortcuts: Callable[[], None]) -> None:
        super().__init__(window)
        self.window, self.settings, self._device = window, settings, device
        self.welcome: WelcomeDialog | None = None
        self.guide: GuideDialog | None = None
        self.about: AboutDialog | None = None
        menu.addAction("&Guide", self.show_guide)
        menu.addAction("&Keyboard shortcuts", QKeySequence("F1"), shortcuts)
        menu.addAction("&Welcome", self.show_welcome)
        menu.addSeparator()
        menu.addAction("&Diagnostics (copy for a bug report)", self.copy_diagnostics)
        menu.addAction("&About Codec Explorer", self.show_about)

    def restore_state(self, s: QSettings, welcome: bool) -> None:
        """Show the welcome soon after the start, unless ``welcome`` is off or it was dismissed for good."""
        if welcome and not setting(s, "welcome/dismissed", False):
            QTimer.singleShot(0, self.show_welcome)

    def show_welcome(self) -> None:
        """The first-run welcome: what is on screen and what to try; can be dismissed for good."""
        self.welcome = WelcomeDialog(self.window)
        self.welcome.dismissed.connect(lambda: self.settings.setValue("welcome/dismissed", True))
        self.welcome.guide_requested.connect(self.show_guide)
        self.welcome.show()

    def show_guide(self) -> None:
        self.guide = GuideDialog(self.window)
        self.guide.show()

    def diagnostics_text(self) -> str:
        from explorer.services.diagnostics import report

        return report(self._device()) + f"\nsettings: {self.settings.fileName()}"

    def copy_diagnostics(self) -> str:
        text = self.diagnostics_text()
        QGuiApplication.clipboard().setText(text)
        self.message.emit("Diagnostics copied to the clipboard: paste them into your bug report.", 8000)
        return text

    def show_about(self) -> None:
        """What the app is, and the table of where each codec's weights are looked for (the guide's, from the code)."""
        from explorer.codecs.registry import weights_available, weights_table

        rows = weights_table()
        self.about = AboutDialog(self.window, rows, {r.codec: weights_available(r.codec) for r in rows})
        self.about.show()
