"""Provenance: one record of what made an export, the same in every file Codec Explorer writes.

:func:`provenance` builds it from plain values; what only a loaded codec knows comes in as
:class:`CodecRun` (the engine describes itself as one). The record holds the app's version, the
versions of numpy, torch and each codec's own package (read with :mod:`importlib.metadata`, so no
heavy package is imported), each codec's name, weights (file name and sha256), device and dtype,
the distinct edits applied (each with its seed) and the seeds, the time it was written (UTC), and
the Python version and platform. It is plain JSON, its keys always in the same order.

Where it goes:

* a token file: the ``provenance`` entry of its meta (files written before it existed still load);
* an audio file or a CSV table: a sidecar ``NAME.provenance.json`` beside it (:func:`write_sidecar`).
  A sidecar rather than ``#`` comment lines at the top of the CSV: pandas can skip those
  (``comment='#'``), but Excel, LibreOffice and most CSV readers take them for rows of data and
  lose the header, so the table stays a plain table;
* an HTML report: a visible "Provenance" table; a narration: a final block
  (both from :func:`provenance_lines`);
* ``roundtrip --json``: a ``provenance`` key.
"""

from __future__ import annotations

import functools
import json
import os
import platform
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import explorer
from explorer.core.edits import Edits
from explorer.core.output import write_text

PROVENANCE_VERSION = 1
BASE_PACKAGES = ("numpy", "torch")
"""Packages every codec runs on; each codec's own package follows them."""
SIDECAR_SUFFIX = ".provenance.json"


@dataclass(frozen=True)
class CodecRun:
    """A loaded codec as provenance names it."""

    name: str
    package: str | None
    """The distribution its model code comes from (``encodec``, ``moshi``…); None when built into Codec Explorer."""
    weights: Mapping[str, str] | None
    """``{"file": name, "sha256": hex digest}`` of the weights it was built from."""
    device: str
    dtype: str
    """The floating-point type of the latent it decodes (``float32``)."""

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "package": self.package, "weights": None if self.weights is None else dict(self.weights),
                "device": self.device, "dtype": self.dtype}


@functools.cache
def package_version(name: str) -> str | None:
    """The installed version of distribution ``name`` (None when it is not installed), without importing it."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


@functools.cache
def _platform() -> str:
    return platform.platform()  # reads the interpreter's binary for its libc: once per process


def provenance(codecs: Sequence[CodecRun], edits: Iterable[Edits] = (), written: datetime | None = None) -> dict[str, Any]:
    """The provenance record of an export made by ``codecs`` under ``edits``.

    Parameters
    ----------
    codecs : sequence of CodecRun
        The codecs that made it (one, or each codec of a comparison); repeats are listed once.
    edits : iterable of Edits
        The edits applied, in the order applied; repeats are listed once.
    written : datetime, optional
        When it was written (default: now).

    Returns
    -------
    dict
        JSON-serialisable, keys in a fixed order: ``provenance_version``, ``app``, ``app_version``,
        ``written_utc``, ``python``, ``platform``, ``packages`` (name: version, None when not
        installed), ``codecs`` (:meth:`CodecRun.to_dict`), ``edits`` (:meth:`Edits.to_dict`), ``seeds``.
    """
    runs: list[dict[str, Any]] = []
    for run in (c.to_dict() for c in codecs):
        if run not in runs:
            runs.append(run)
    applied = list(dict.fromkeys(edits))
    names = dict.fromkeys([*BASE_PACKAGES, *(r["package"] for r in runs if r["package"])])
    when = (written or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return {
        "provenance_version": PROVENANCE_VERSION,
        "app": "codec-explorer",
        "app_version": explorer.__version__,
        "written_utc": when.isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "platform": _platform(),
        "packages": {name: package_version(name) for name in names},
        "codecs": runs,
        "edits": [e.to_dict() for e in applied],
        "seeds": sorted({e.seed for e in applied}),
    }


def provenance_lines(record: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``record`` as (label, value) lines for people: a report's table, a narration's last block."""
    packages = ", ".join(f"{name} {version or 'not installed'}" for name, version in record["packages"].items())
    lines = [("app", f"{record['app']} {record['app_version']}"), ("written (UTC)", record["written_utc"]),
             ("Python", f"{record['python']} on {record['platform']}"), ("packages", packages)]
    for run in record["codecs"]:
        weights = run["weights"]
        lines += [("codec", f"{run['name']} ({run['package'] or 'built in'}) on {run['device']}, {run['dtype']}"),
                  ("weights", f"{weights['file']}, sha256 {weights['sha256']}" if weights else "none recorded")]
    lines += [("edits", json.dumps(e)) for e in record["edits"]]
    lines.append(("seeds", ", ".join(str(s) for s in record["seeds"]) or "none"))
    return lines


def provenance_text(record: Mapping[str, Any]) -> str:
    """The block a narration ends with: ``Provenance`` and one ``label: value`` line each."""
    return "\n".join(["Provenance"] + [f"  {label}: {value}" for label, value in provenance_lines(record)]) + "\n"


def sidecar_path(path: str | os.PathLike[str]) -> Path:
    """``out.wav`` → ``out.wav.provenance.json`` (the whole name is kept: ``out.wav`` and ``out.flac`` differ)."""
    p = Path(path)
    return p.with_name(p.name + SIDECAR_SUFFIX)


def write_sidecar(path: str | os.PathLike[str], record: Mapping[str, Any],
                  inputs: Iterable[str | os.PathLike[str] | None] = ()) -> Path | None:
    """Write ``record`` beside the file ``path`` as :func:`sidecar_path`, by the output policy.

    Returns the sidecar's path; None when ``path`` is a device or a pipe (``-o /dev/null``), which
    has no folder of its own to write beside.
    """
    real = Path(os.path.realpath(path))
    if real.exists() and not real.is_file():
        return None
    side = sidecar_path(path)
    write_text(side, json.dumps(record, indent=2, allow_nan=False) + "\n", inputs)
    return side
