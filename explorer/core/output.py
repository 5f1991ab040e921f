"""The one output policy every writer follows (audio, tokens, CSV, PNG, HTML, the session file).

:func:`output_file` yields a temporary path to write; when the writer is done, the bytes are put
where the user asked, by these rules:

* an output that is the same file as one of the command's inputs is refused (``encode x.wav -o
  x.wav`` would destroy the recording);
* a symbolic link is followed: the file it points to is replaced, the link stays a link;
* a regular file (or a new one) is replaced atomically (temporary file in the same folder, then
  a rename), keeping the existing file's permission bits; a crash or a full disk leaves the old
  file, never half a new one;
* an existing character device (``/dev/null``, a terminal) is written in place, never replaced;
* a FIFO is written only when a reader is already attached (opened without blocking), else refused;
* anything else that exists (a folder, a socket, a block device) is refused.

Temporary files are named ``.NAME.PID.XXXX.part``. A process killed mid-write (SIGKILL) cannot
remove its own; the next write to the same target removes those whose process is gone.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import os
import re
import shutil
import stat
import tempfile
from pathlib import Path
from typing import Any, Iterable, Iterator

from explorer.core.errors import ExplorerError


class OutputError(ExplorerError):
    """An output path that cannot or must not be written."""


PathLike = str | os.PathLike[str]


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def check_output(path: PathLike, inputs: Iterable[PathLike | None] = ()) -> Path:
    """Validate ``path`` as an output of a command reading ``inputs``; return the resolved target.

    Raises
    ------
    OutputError
        When the output is one of the inputs, is a folder or another kind of file that is not
        written, its folder does not exist, or it cannot even be looked at (permission denied).
    """
    try:
        return _check_output(Path(path), inputs)
    except OSError as exc:
        raise OutputError(f"Cannot write '{path}': {exc.strerror or exc}.") from exc


def _check_output(path: Path, inputs: Iterable[PathLike | None]) -> Path:
    p = path
    if p.is_symlink():
        try:
            os.stat(p)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise OutputError(f"'{p}' is a symbolic link that points back at itself; remove it or choose another name.") from None
    real = Path(os.path.realpath(p))
    for source in inputs:
        if source is not None and Path(source).exists() and _same_file(real, Path(source)):
            raise OutputError(f"'{p}' is also this command's input: writing it would destroy the input. Choose another output name.")
    if real.exists():
        mode = real.stat().st_mode
        if stat.S_ISDIR(mode):
            raise OutputError(f"'{p}' is a folder; give a file name inside it.")
        if not (stat.S_ISREG(mode) or stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)):
            raise OutputError(f"'{p}' is not a regular file (a socket or a block device); choose a file name.")
    folder = real.parent
    if not folder.is_dir():
        what = "is a file, not a folder" if folder.exists() else "does not exist"
        raise OutputError(f"Cannot write '{p}': '{folder}' {what}.")
    return real


def prepare_folder(path: PathLike) -> Path:
    """Create the output folder ``path`` (and its parents) or say clearly why it cannot be one."""
    try:
        return _prepare_folder(Path(path))
    except OSError as exc:
        raise OutputError(f"Cannot write into '{path}': {exc.strerror or exc}. Choose another folder.") from exc


def _prepare_folder(p: Path) -> Path:
    for parent in [p, *p.parents]:
        if parent.exists() and not parent.is_dir():
            raise OutputError(f"Cannot write into '{p}': '{parent}' is a file, not a folder.")
        if parent.exists():
            break
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"Cannot create the folder '{p}': {exc.strerror or exc}.") from exc
    if not os.access(p, os.W_OK | os.X_OK):
        raise OutputError(f"Cannot write into '{p}': permission denied. Choose another folder.")
    return p


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, owned by another user
    return True


def remove_stale_parts(target: Path) -> list[Path]:
    """Delete ``.NAME.PID.*.part`` files beside ``target`` whose writing process no longer runs."""
    removed: list[Path] = []
    pattern = re.compile(r"^\." + re.escape(target.name) + r"\.(\d+)\.[^/]*\.part$")
    try:
        names = os.listdir(target.parent)
    except OSError:
        return removed
    for name in names:
        m = pattern.match(name)
        if m and int(m.group(1)) != os.getpid() and not _pid_alive(int(m.group(1))):
            with contextlib.suppress(OSError):
                (target.parent / name).unlink()
                removed.append(target.parent / name)
    return removed


def _default_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextlib.contextmanager
def output_file(path: PathLike, inputs: Iterable[PathLike | None] = ()) -> Iterator[Path]:
    """Yield a temporary path to write; on success place its bytes at ``path`` by the policy above.

    Raises
    ------
    OutputError
        Before anything is written, when the policy refuses ``path``; or when placing fails
        (disk full, permission denied), in which case any previous file is left untouched.
    """
    p = Path(path)
    real = check_output(p, inputs)
    kind = real.stat().st_mode if real.exists() else None
    if kind is not None and (stat.S_ISCHR(kind) or stat.S_ISFIFO(kind)):
        with _special_target(p, real, stat.S_ISFIFO(kind)) as tmp:
            yield tmp
        return
    remove_stale_parts(real)
    try:
        fd, name = tempfile.mkstemp(prefix=f".{real.name}.{os.getpid()}.", suffix=".part", dir=real.parent)
    except OSError as exc:
        raise OutputError(f"Cannot write '{p}': {exc.strerror or exc}.") from exc
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        mode = stat.S_IMODE(kind) if kind is not None else _default_mode()
        os.chmod(tmp, mode)
        os.replace(tmp, real)
    except OSError as exc:
        raise OutputError(f"Could not write '{p}': {exc.strerror or exc}.") from exc
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def _special_target(p: Path, real: Path, fifo: bool) -> Iterator[Path]:
    """Write to a temporary file, then copy it into the device or FIFO in place."""
    fd = -1
    if fifo:
        try:
            fd = os.open(real, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as exc:
            if exc.errno == errno.ENXIO:
                raise OutputError(f"'{p}' is a named pipe with no program reading it; start the reader first.") from None
            raise OutputError(f"Cannot write '{p}': {exc.strerror}.") from exc
        os.set_blocking(fd, True)
    with tempfile.TemporaryDirectory(prefix="codec-explorer-out-") as folder:
        tmp = Path(folder) / real.name
        try:
            yield tmp
            with open(tmp, "rb") as src, (os.fdopen(fd, "wb") if fifo else open(real, "wb")) as dst:
                fd = -1
                shutil.copyfileobj(src, dst, 1 << 20)
        except OSError as exc:
            raise OutputError(f"Could not write '{p}': {exc.strerror or exc}.") from exc
        finally:
            if fd >= 0:
                os.close(fd)


def write_text(path: PathLike, text: str, inputs: Iterable[PathLike | None] = ()) -> None:
    """Write UTF-8 text by the output policy."""
    with output_file(path, inputs) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_bytes(path: PathLike, data: bytes, inputs: Iterable[PathLike | None] = ()) -> None:
    """Write bytes by the output policy."""
    with output_file(path, inputs) as tmp:
        tmp.write_bytes(data)


def write_table(path: PathLike, rows: list[dict[str, Any]], fields: list[str] | None = None,
                inputs: Iterable[PathLike | None] = ()) -> None:
    """A CSV with a header (``fields``, default the first row's keys), written by the output policy.

    Missing values (None) are written as empty cells.
    """
    with output_file(path, inputs) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=fields or (list(rows[0]) if rows else []))
        writer.writeheader()
        writer.writerows(rows)
