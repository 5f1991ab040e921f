"""Errors a user can act on.

Every error the core raises on purpose is an :class:`ExplorerError`: its message is one or two
sentences saying what happened and what to do. The CLI prints it on one line and exits non-zero;
the window shows it in a dialog. Anything else that escapes is a bug.
"""


class ExplorerError(Exception):
    """An error with a message meant for the user."""


class AudioError(ExplorerError):
    """An audio file could not be read, written or used."""


class CodecError(ExplorerError):
    """A codec name, setting or token file is not valid."""


class WeightsError(ExplorerError):
    """A codec's weights are missing, unreachable or unreadable."""


class CancelledError(ExplorerError):
    """Long work was cancelled by the user."""
