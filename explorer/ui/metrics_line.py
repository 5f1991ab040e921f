"""The metrics line beside the transport: quality, bitrate heard, decode time and edit-to-sound."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget

from explorer.core.metrics import fmt
from explorer.services.session import Decoded
from explorer.ui.grid_data import GridData


class MetricsLine(QLabel):
    """One line of figures for the reconstruction shown; a metric that does not apply reads n/a, with
    its reason in the tooltip."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("", parent)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.setWordWrap(True)  # a narrow window gets two lines, never a field cut off

    def show_figures(self, codec: str, decoded: Decoded, grid: GridData, edit_to_sound_ms: float | None) -> None:
        """The figures of ``codec``'s reconstruction ``decoded``."""
        q = decoded.quality
        shown = (("SI-SDR", "si_sdr", q.si_sdr, ".2f", " dB"), ("mel", "mel_distance", q.mel_distance, ".3f", ""),
                 ("STOI", "stoi", q.stoi, ".3f", ""))
        parts = [f"{codec}:"] + [f"{label} {fmt(value, spec, unit)}" for label, _, value, spec, unit in shown]
        parts += [f"{grid.heard_bitrate(decoded.edits) / 1000:.2f} kbps heard", f"decode {decoded.seconds:.2f} s"]
        if edit_to_sound_ms is not None:
            parts.append(f"edit→sound {edit_to_sound_ms:.0f} ms")
        self.setText("   ".join(parts))
        self.setToolTip("\n".join(f"{label} n/a: {q.reason(name) or 'not a finite number'}"
                                  for label, name, value, spec, _ in shown if fmt(value, spec) == "n/a"))
