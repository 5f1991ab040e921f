"""Token files: ``.npz`` with one 1-D integer array per codebook and a JSON ``meta`` string.

Layout: ``codebook_0`` ... ``codebook_{K-1}`` (int64) and ``meta`` (a 0-d unicode array holding
JSON: codec, sample rates, frame rates, sample count, the blocks' side information, edits).
Files are read with ``allow_pickle=False``: an object array inside is refused, never unpickled.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from explorer.core.types import FloatArray, IntArray
from explorer.core.atomic import atomic_write
from explorer.core.errors import CodecError

FORMAT_VERSION = 1


def save_tokens(path: str | os.PathLike[str], codes: list[IntArray], meta: dict[str, Any]) -> None:
    """Write codes and meta atomically (temporary file in the same folder, then rename)."""
    p = Path(path)
    arrays: dict[str, FloatArray] = {f"codebook_{k}": np.asarray(row, dtype=np.int64) for k, row in enumerate(codes)}
    arrays["meta"] = np.array(json.dumps({"format_version": FORMAT_VERSION, **meta}))
    try:
        with atomic_write(p) as tmp, open(tmp, "wb") as f:
            np.savez(f, **arrays)  # type: ignore[arg-type]
    except OSError as exc:
        raise CodecError(f"Could not write tokens to '{p}': {exc}") from exc


def load_tokens(path: str | os.PathLike[str]) -> tuple[list[IntArray], dict[str, Any]]:
    """Read a token file, checking its structure; return (codes, meta)."""
    p = Path(path)
    if not p.is_file():
        raise CodecError(f"No token file at '{p}'.")
    if not zipfile.is_zipfile(p):
        raise CodecError(f"'{p.name}' is not a readable token file (not an .npz archive).")
    try:
        with np.load(p, allow_pickle=False) as data:
            names = list(data.files)
            if "meta" not in names:
                raise CodecError(f"'{p.name}' has no 'meta' entry; it is not a Codec Explorer token file.")
            meta = json.loads(str(data["meta"][()]))
            keys = sorted((n for n in names if n.startswith("codebook_")), key=lambda n: int(n.split("_")[1]))
            codes = [data[n] for n in keys]
    except CodecError:
        raise
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise CodecError(f"'{p.name}' contains pickled objects, which are never loaded; it is not a token file we wrote.") from exc
        raise CodecError(f"'{p.name}' is not a readable token file ({exc}).") from exc
    except (OSError, zipfile.BadZipFile, json.JSONDecodeError, io.UnsupportedOperation) as exc:
        raise CodecError(f"'{p.name}' is not a readable token file ({exc}).") from exc
    if [f"codebook_{k}" for k in range(len(keys))] != keys or not keys:
        raise CodecError(f"'{p.name}' must hold codebook_0 ... codebook_N with no gaps; it has {', '.join(keys) or 'none'}.")
    for k, row in enumerate(codes):
        if row.ndim != 1 or not np.issubdtype(row.dtype, np.integer):
            raise CodecError(f"'{p.name}': codebook_{k} must be a 1-D integer array; it is {row.dtype} shaped {row.shape}.")
    return [np.asarray(row, dtype=np.int64) for row in codes], meta
