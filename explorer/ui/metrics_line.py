"""The metrics line under the transport: quality, bitrate heard, decode time and edit-to-sound.

SI-SDR, mel distance and STOI come with the reconstruction; PESQ and ViSQOL read "…" until the
app's scoring process (:mod:`explorer.services.scoring`) sends them, and are shown only if that
reconstruction is still the one on screen.
"""

from __future__ import annotations

from concurrent.futures import Future

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QWidget

from explorer.core.audio import Clip
from explorer.core.metrics import fmt
from explorer.core.perceptual import SlowQuality
from explorer.services.scoring import shared
from explorer.services.session import Decoded
from explorer.ui.grid_data import GridData


class MetricsLine(QLabel):
    """One line of figures for the reconstruction shown; a metric that does not apply reads n/a, with
    its reason in the tooltip."""

    _scored = Signal(object, object)  # the Decoded scored, and its SlowQuality or why there is none

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("", parent)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.setWordWrap(True)  # a narrow window gets two lines, never a field cut off
        self._fast: list[str] = []
        self._rest: list[str] = []
        self._tips: list[str] = []
        self._shown: Decoded | None = None
        self._scored.connect(self._take)

    def show_figures(self, codec: str, decoded: Decoded, grid: GridData, edit_to_sound_ms: float | None) -> None:
        """The figures of ``codec``'s reconstruction ``decoded``; PESQ and ViSQOL read "…" until
        :meth:`show_scores` brings them."""
        q = decoded.quality
        shown = (("SI-SDR", "si_sdr", q.si_sdr, ".2f", " dB"), ("mel", "mel_distance", q.mel_distance, ".3f", ""),
                 ("STOI", "stoi", q.stoi, ".3f", ""))
        self._fast = [f"{codec}:"] + [f"{label} {fmt(value, spec, unit)}" for label, _, value, spec, unit in shown]
        kbps = f"{grid.heard_bitrate(decoded.edits) / 1000:.2f} kbps {'heard' if grid.info.tokens else 'measured'}"
        self._rest = [kbps, f"decode {decoded.seconds:.2f} s"]
        if edit_to_sound_ms is not None:
            self._rest.append(f"edit→sound {edit_to_sound_ms:.0f} ms")
        self._tips = [f"{label} n/a: {q.reason(name) or 'not a finite number'}"
                      for label, name, value, spec, _ in shown if fmt(value, spec) == "n/a"]
        self._show(["PESQ …", "ViSQOL …"], ["PESQ and ViSQOL are being computed (about 1 s per 10 s of audio)."])

    def score(self, original: Clip, decoded: Decoded) -> None:
        """Have PESQ and ViSQOL of ``decoded`` computed in the scoring process; shown if it is still shown then."""
        self._shown = decoded
        future = shared().submit(original, decoded.clip, decoded.quality.delay_samples)
        future.add_done_callback(lambda done: self._arrived(decoded, done))

    def _arrived(self, decoded: Decoded, done: Future[SlowQuality]) -> None:
        """On the scoring pool's thread: only hand the result to the GUI thread."""
        if done.cancelled():
            return
        error = done.exception()
        try:
            self._scored.emit(decoded, done.result() if error is None else f"the scoring process failed ({error})")
        except RuntimeError:  # the window closed meanwhile
            pass

    def _take(self, decoded: Decoded, result: SlowQuality | str) -> None:
        if decoded is not self._shown:
            return  # a newer reconstruction is shown
        if isinstance(result, str):
            self._show(["PESQ n/a", "ViSQOL n/a"], [f"PESQ and ViSQOL n/a: {result}"])
        else:
            self.show_scores(result)

    def show_scores(self, slow: SlowQuality) -> None:
        """PESQ (wide band) and ViSQOL of the reconstruction shown; n/a with the reason in the tooltip."""
        scores = (("PESQ", "pesq", slow.pesq), ("ViSQOL", "visqol", slow.visqol))
        self._show([f"{label} {fmt(value, '.2f')}" for label, _, value in scores],
                   [f"{label} n/a: {slow.reason(name) or 'not a finite number'}" for label, name, value in scores
                    if fmt(value, ".2f") == "n/a"])

    def _show(self, slow: list[str], tips: list[str]) -> None:
        self.setText("   ".join(self._fast + slow + self._rest))
        self.setToolTip("\n".join(self._tips + tips))
