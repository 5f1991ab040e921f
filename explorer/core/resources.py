"""Locating bundled resources (clips, the built-in codec's codebooks, icons)."""

from __future__ import annotations

from pathlib import Path

import explorer
from explorer.core.errors import ExplorerError


def resources_dir() -> Path:
    """The folder of bundled resources: the checkout's ``resources/`` or the installed copy."""
    here = Path(explorer.__file__).resolve().parent
    for candidate in (here / "resources", here.parent / "resources"):
        if candidate.is_dir():
            return candidate
    raise ExplorerError("The bundled resources folder is missing; reinstall Codec Explorer.")


def resource(*parts: str) -> Path:
    """Path of a bundled resource, e.g. ``resource("clips", "speech_en.wav")``."""
    path = resources_dir().joinpath(*parts)
    if not path.exists():
        raise ExplorerError(f"Bundled resource '{'/'.join(parts)}' is missing; reinstall Codec Explorer.")
    return path
