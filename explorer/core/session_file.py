"""``session.json``: the open clip's state, autosaved so that a restart (or a crash) restores it.

The file is checked field by field against :class:`SessionState` (pydantic): a field of the
wrong type or value is dropped with a note and the others are kept, so a damaged file costs what
is damaged and never the start of the app. A file that is not a JSON object at all (garbage,
binary, a list, too large, not a regular file) gives the defaults and one note. Reading never
raises; :func:`read_session` returns a :class:`LoadedSession` whose notes say what was dropped.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Collection, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from explorer.core.edits import MAX_PAINT, Edits, Paint, PaintSchema
from explorer.core.errors import ExplorerError

SESSION_VERSION: Final = 1
MAX_SESSION_BYTES = 1 << 20
"""A session file is a few hundred bytes; a larger one is not ours and is not read."""
MAX_CODEBOOKS = 1024
"""More codebooks than any codec has: an edit or count beyond it is damage."""
SPECTROGRAM_MODES = ("original", "reconstruction", "difference")
FIELD_LABELS = {
    "file": "the whole file",
    "version": "its version number",
    "path": "the clip",
    "edits": "the edits",
    "view": "the zoomed time range",
    "spectrogram": "the spectrogram choice",
    "codec": "the codec",
    "codebooks": "the codebook count",
}
"""What each field is called in the window's messages."""

Codebook = Annotated[int, Field(strict=True, ge=0, lt=MAX_CODEBOOKS)]
Seconds = Annotated[float, Field(strict=True, ge=0, allow_inf_nan=False)]
ViewEdge = Annotated[float, Field(strict=True, allow_inf_nan=False)]


class SessionEdits(BaseModel):
    """The edits as stored: :meth:`Edits.to_dict` with every value checked."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mute: list[Codebook] = Field(default_factory=list, max_length=MAX_CODEBOOKS)
    solo: list[Codebook] = Field(default_factory=list, max_length=MAX_CODEBOOKS)
    randomize: list[Codebook] = Field(default_factory=list, max_length=MAX_CODEBOOKS)
    keep: Annotated[int, Field(strict=True, ge=1, le=MAX_CODEBOOKS)] | None = None
    seed: Annotated[int, Field(strict=True, ge=0, lt=2**63)] = 0
    start: Seconds | None = None
    end: Seconds | None = None
    paint: list[PaintSchema] = Field(default_factory=list, max_length=MAX_PAINT)

    @model_validator(mode="after")
    def _range(self) -> "SessionEdits":
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError("the edit range must end after it starts")
        return self

    def edits(self) -> Edits:
        """The :class:`Edits` value these fields describe."""
        return Edits(mute=frozenset(self.mute), solo=frozenset(self.solo), randomize=frozenset(self.randomize),
                     keep=self.keep, seed=self.seed, start=self.start, end=self.end,
                     paint=tuple(Paint(p.codebook, p.first, p.last, p.action, p.token) for p in self.paint))


class SessionState(BaseModel):
    """What ``session.json`` holds. Every field has a default, so a file lacking any still loads.

    Unknown keys are ignored (a newer version may add some). ``codec`` is checked against the
    names passed as validation context ``{"codecs": [...]}``, when given.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    version: Literal[1] = SESSION_VERSION
    path: Annotated[str, Field(strict=True, min_length=1, max_length=4096)] | None = None
    edits: SessionEdits = Field(default_factory=SessionEdits)
    view: tuple[ViewEdge, ViewEdge] | None = None
    spectrogram: Literal["original", "reconstruction", "difference"] = "original"
    codec: Annotated[str, Field(strict=True, max_length=100)] | None = None
    codebooks: Annotated[int, Field(strict=True, ge=1, le=MAX_CODEBOOKS)] | None = None

    @field_validator("path")
    @classmethod
    def _no_nul(cls, value: str | None) -> str | None:
        if value is not None and "\0" in value:
            raise ValueError("a file name cannot contain a NUL character")
        return value

    @field_validator("view")
    @classmethod
    def _ordered(cls, value: tuple[float, float] | None) -> tuple[float, float] | None:
        if value is not None and not value[1] > value[0]:
            raise ValueError("the range must end after it starts")
        return value

    @field_validator("codec")
    @classmethod
    def _known_codec(cls, value: str | None, info: ValidationInfo) -> str | None:
        names = (info.context or {}).get("codecs")
        if value is not None and names is not None and value not in names:
            raise ValueError(f"no codec is called {value[:40]!r}")
        return value

    def clip(self) -> Path | None:
        """The clip's path if it is still a readable regular file, else None."""
        if self.path is None:
            return None
        try:
            return Path(self.path) if stat.S_ISREG(os.stat(self.path).st_mode) else None
        except (OSError, ValueError):
            return None


@dataclass(frozen=True)
class LoadedSession:
    """The state read from a session file and a note per field (or for the file) that was dropped."""

    state: SessionState
    notes: tuple[tuple[str, str], ...] = ()

    def summary(self) -> str:
        """One sentence for the status bar naming what was not restored, or '' when nothing was dropped."""
        if not self.notes:
            return ""
        parts = [f"{FIELD_LABELS.get(name, name)} ({reason})" for name, reason in self.notes]
        return "The saved session was damaged; not restored: " + "; ".join(parts) + "."


def parse_session(raw: bytes, codecs: Collection[str] | None = None) -> LoadedSession:
    """Check the bytes of a session file field by field; never raises.

    Parameters
    ----------
    raw
        The file's bytes.
    codecs
        The codec names a session may name (None: any name).
    """
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        reason = "not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else "not valid JSON"
        return LoadedSession(SessionState(), (("file", reason),))
    if not isinstance(data, dict):
        return LoadedSession(SessionState(), (("file", f"a JSON {type(data).__name__}, not an object"),))
    return _validate(data, {"codecs": codecs} if codecs is not None else None)


def _validate(data: dict[str, Any], context: dict[str, Any] | None) -> LoadedSession:
    """Validate ``data``, dropping each field that fails (with a note) until the rest passes."""
    notes: list[tuple[str, str]] = []
    while True:
        try:
            return LoadedSession(SessionState.model_validate(data, context=context), tuple(notes))
        except ValidationError as exc:
            failed: dict[str, str] = {}
            for error in exc.errors(include_url=False, include_input=False):
                field = str(error["loc"][0]) if error["loc"] else "file"
                failed.setdefault(field, _reason(error["msg"]))
            if "file" in failed or not set(failed) & set(data):
                return LoadedSession(SessionState(), (*notes, ("file", failed.get("file", "not a session"))))
            notes.extend(failed.items())
            data = {k: v for k, v in data.items() if k not in failed}


def _reason(message: str) -> str:
    """pydantic's message, shortened and without its 'Value error, ' prefix."""
    text = message.removeprefix("Value error, ")
    return text[:1].lower() + text[1:120]


def read_session(path: Path, codecs: Collection[str] | None = None) -> LoadedSession | None:
    """Read ``path`` (None if it does not exist); never raises, never blocks on a FIFO.

    Anything but a regular file of at most :data:`MAX_SESSION_BYTES` gives the defaults and a note.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return LoadedSession(SessionState(), (("file", f"cannot be read: {exc.strerror or exc}"),))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return LoadedSession(SessionState(), (("file", "not a regular file"),))
        if info.st_size > MAX_SESSION_BYTES:
            return LoadedSession(SessionState(), (("file", f"{info.st_size} bytes, far too large"),))
        with os.fdopen(os.dup(fd), "rb") as f:
            raw = f.read(MAX_SESSION_BYTES + 1)
    except OSError as exc:
        return LoadedSession(SessionState(), (("file", f"cannot be read: {exc.strerror or exc}"),))
    finally:
        os.close(fd)
    return parse_session(raw, codecs)


def session_json(path: Path, edits: Edits, view: tuple[float, float], spectrogram: str,
                 codec: str | None, codebooks: int | None) -> str:
    """The text of a session file for this state (checked by the same schema that reads it).

    Raises
    ------
    ExplorerError
        When a value does not fit the schema (a bug in the caller, never the user's data).
    """
    fields = {"path": str(path), "edits": edits.to_dict(), "view": view, "spectrogram": spectrogram,
              "codec": codec, "codebooks": codebooks}
    try:
        state = SessionState.model_validate(fields)
    except ValidationError as exc:
        error = exc.errors(include_url=False, include_input=False)[0]
        raise ExplorerError(f"The session could not be saved: {error['loc'][0]}: {_reason(error['msg'])}.") from exc
    return state.model_dump_json()
