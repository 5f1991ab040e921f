"""A live take written to disk as it happens, so a crash or a kill loses at most the last second.

``input.wav`` and ``reconstruction.wav`` grow block by block and are flushed (data and WAV header)
every :data:`FLUSH_SECONDS`; ``tokens.npz`` is rewritten atomically at the same pace. Closing writes
the final tokens. Each WAV has its provenance sidecar (:func:`explorer.core.provenance.write_sidecar`),
written when the take opens and again when it closes (with every edit the take ran under). Runs on
the live worker thread, never in an audio callback.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import soundfile as sf

from explorer.core.errors import AudioError
from explorer.core.output import OutputError, prepare_folder
from explorer.core.provenance import write_sidecar
from explorer.core.types import FloatArray

FLUSH_SECONDS = 1.0
AUDIO_FILES = ("input.wav", "reconstruction.wav")
TAKE_FILES = (*AUDIO_FILES, "tokens.npz")


class TakeWriter:
    def __init__(self, folder: Path, input_rate: int, output_rate: int, channels: int,
                 write_tokens: Callable[[Path], None], provenance: Callable[[], dict[str, Any]] | None = None) -> None:
        self.folder = folder
        self.write_tokens = write_tokens
        self.provenance = provenance
        try:
            prepare_folder(folder)
        except OutputError as exc:
            raise AudioError(f"Cannot record the take: {exc}") from exc
        taken = [name for name in TAKE_FILES if (folder / name).exists()]
        if taken:
            raise AudioError(f"'{folder}' already holds a take ({', '.join(taken)}); record into a new folder, "
                             "so the earlier take is not overwritten.")
        self.write_provenance()
        try:
            self.input: Any = sf.SoundFile(str(folder / "input.wav"), "w", input_rate, 1, subtype="FLOAT")
            self.output: Any = sf.SoundFile(str(folder / "reconstruction.wav"), "w", output_rate, channels, subtype="FLOAT")
        except (OSError, sf.LibsndfileError) as exc:
            raise AudioError(f"Cannot record the take to '{folder}': {exc}") from exc
        self._last_flush = time.perf_counter()
        self.input_frames = 0

    def write_provenance(self) -> None:
        """The provenance sidecar of each WAV of the take (none without a ``provenance`` callable)."""
        if self.provenance is None:
            return
        record = self.provenance()
        try:
            for name in AUDIO_FILES:
                write_sidecar(self.folder / name, record)
        except OutputError as exc:
            raise AudioError(f"Cannot record the take's provenance to '{self.folder}': {exc}") from exc

    def add(self, captured: FloatArray | None, decoded: list[FloatArray]) -> None:
        """Append captured input ``[1, n]`` and decoded blocks ``[channels, n]``; flush once a second."""
        if captured is not None and captured.shape[1]:
            self.input.write(np.ascontiguousarray(captured[:1].T))
            self.input_frames += captured.shape[1]
        for block in decoded:
            self.output.write(np.ascontiguousarray(block.T))
        if time.perf_counter() - self._last_flush >= FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        self._last_flush = time.perf_counter()
        self.input.flush()
        self.output.flush()
        self.write_tokens(self.folder / "tokens.npz")

    def close(self) -> None:
        try:
            self.flush()
            self.write_provenance()
        finally:
            self.input.close()
            self.output.close()
