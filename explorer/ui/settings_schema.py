"""The window's QSettings: a schema version and the small migrations from each older one.

Each component saves and restores its own group (``save_state`` / ``restore_state``, friture's
per-dock pattern). A settings file of an older version is migrated key by key, never cleared, so an
upgrade keeps the user's codec, devices, recent files and dismissed welcome.

Version 1: the output and input device names were kept in ``audio/output`` and ``audio/input``.
Version 2: each component has its own group; the devices moved to ``transport/output`` and ``live/input``.
"""

from __future__ import annotations

from typing import Callable, TypeVar

from PySide6.QtCore import QSettings

SETTINGS_VERSION = 2

_MOVES_TO_2 = {"audio/output": "transport/output", "audio/input": "live/input"}


def _to_2(s: QSettings) -> None:
    for old, new in _MOVES_TO_2.items():
        if s.contains(old):
            if not s.contains(new):
                s.setValue(new, s.value(old))
            s.remove(old)


MIGRATIONS: dict[int, Callable[[QSettings], None]] = {1: _to_2}
"""``MIGRATIONS[v]`` turns a version ``v`` file into version ``v + 1``."""


def migrate(s: QSettings) -> int:
    """Bring ``s`` up to :data:`SETTINGS_VERSION` in place; returns the version it was.

    A file without a version is new (nothing to migrate). A file from a newer release is left as it
    is: every read has a default, so keys this release does not know are simply not used.
    """
    found = setting(s, "version", SETTINGS_VERSION)
    version = found
    while version < SETTINGS_VERSION and version in MIGRATIONS:
        MIGRATIONS[version](s)
        version += 1
    if version <= SETTINGS_VERSION:
        s.setValue("version", SETTINGS_VERSION)
    return found


T = TypeVar("T", int, str, bool)


def setting(s: QSettings, key: str, default: T) -> T:
    """The setting ``key`` as the type of ``default``; ``default`` when it is missing or unreadable."""
    value = s.value(key, default, type(default))
    return value if isinstance(value, type(default)) else default
