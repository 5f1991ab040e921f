"""Desktop integration: a freedesktop menu entry and icon for the user, and their removal.

``codec-explorer install-desktop`` writes ``codec-explorer.desktop`` to the user's applications
folder (``$XDG_DATA_HOME/applications``, by default ``~/.local/share/applications``) and the SVG
icon to the hicolor theme, so the app appears in the desktop's menu and in file managers'
"Open with" for WAV, FLAC, MP3 and OGG files. It runs this very interpreter (``python -m
explorer``), so it works from any virtual environment.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from explorer.core.resources import resource

APP_ID = "codec-explorer"
MIME_TYPES = ("audio/x-wav", "audio/wav", "audio/vnd.wave", "audio/flac", "audio/x-flac", "audio/mpeg", "audio/ogg",
              "audio/x-vorbis+ogg", "audio/aiff", "audio/x-aiff")


def data_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


def targets() -> tuple[Path, Path]:
    """Where the menu entry and the icon go."""
    home = data_home()
    return home / "applications" / f"{APP_ID}.desktop", home / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg"


def desktop_entry(command: list[str]) -> str:
    """The entry's text; ``command`` starts the app (``%f`` is added: the file the user opened)."""
    exec_line = " ".join(_exec_quote(part) for part in command)
    return "\n".join([
        "[Desktop Entry]",
        "Type=Application",
        "Name=Codec Explorer",
        "GenericName=Neural audio codec explorer",
        "Comment=See and hear what neural audio codecs do with your audio",
        f"Exec={exec_line} open %f",
        f"Icon={APP_ID}",
        "Terminal=false",
        "Categories=AudioVideo;Audio;",
        "Keywords=codec;tokens;EnCodec;DAC;SNAC;Mimi;SpeechTokenizer;RVQ;",
        f"MimeType={';'.join(MIME_TYPES)};",
        "StartupWMClass=codec-explorer",
        "",
    ])


def _exec_quote(arg: str) -> str:
    """Quote one Exec argument as the Desktop Entry Specification asks (double quotes, escaped)."""
    if not any(c in arg for c in ' \t\n"\'\\><~|&;$*?#()`'):
        return arg
    escaped = arg.replace("\\", "\\\\").replace('"', '\\"').replace("`", "\\`").replace("$", "\\$")
    return f'"{escaped}"'


def install() -> list[Path]:
    """Write the entry and the icon; returns the files written."""
    entry, icon = targets()
    entry.parent.mkdir(parents=True, exist_ok=True)
    icon.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(resource("icons", f"{APP_ID}.svg"), icon)
    entry.write_text(desktop_entry([sys.executable, "-m", "explorer"]), encoding="utf-8")
    entry.chmod(0o755)
    _refresh(entry.parent)
    return [entry, icon]


def uninstall() -> list[Path]:
    """Remove what :func:`install` wrote; returns the files removed."""
    removed = []
    for path in targets():
        if path.exists():
            path.unlink()
            removed.append(path)
    _refresh(targets()[0].parent)
    return removed


def _refresh(applications: Path) -> None:
    """Let the desktop notice at once, where its database tool is installed (it is optional)."""
    tool = shutil.which("update-desktop-database")
    if tool and applications.is_dir():
        subprocess.run([tool, str(applications)], capture_output=True, timeout=30)
