"""Locating bundled resources (clips, the built-in codec's codebooks, the icon, the guide).

They are the package ``explorer.resources`` (the checkout's top-level ``resources/`` folder, mapped
into the wheel by pyproject.toml), found through :mod:`importlib.resources` wherever it is installed.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from explorer.core.errors import ExplorerError


def resources_dir() -> Path:
    """The folder of bundled resources (installed packages are plain folders, never zip files)."""
    try:
        root = Path(str(resources.files("explorer.resources")))
    except ModuleNotFoundError:
        root = Path()
    if not root.is_dir():
        raise ExplorerError("The bundled resources are missing; reinstall Codec Explorer.")
    return root


def resource(*parts: str) -> Path:
    """Path of a bundled resource, e.g. ``resource("clips", "speech_en.wav")``."""
    path = resources_dir().joinpath(*parts)
    if not path.exists():
        raise ExplorerError(f"Bundled resource '{'/'.join(parts)}' is missing; reinstall Codec Explorer.")
    return path
