"""Token files: ``.npz`` with one 1-D integer array per codebook and a JSON ``meta`` string.

Layout: ``codebook_0`` ... ``codebook_{K-1}`` (int64) and ``meta`` (a 0-d unicode array holding
JSON: codec, the weights' identity, sample rates, frame rates, sample counts, the blocks' side
information, edits, and the provenance record of :mod:`explorer.core.provenance`, which files
written before it existed lack and still load). Reading is defensive, since a token file may come from anywhere:

1. the zip directory is read first: only the expected entries, each with a declared size under
   :data:`TOKEN_BUDGET` bytes (an 11 MB deflated file of 1.5e9 zeros is refused unread);
2. each ``.npy`` header is read before its data: 1-D, an integer dtype, a length whose bytes
   match the entry's size; ``allow_pickle=False`` always (an object array is refused, never unpickled);
3. the meta is checked against a pydantic schema (:class:`TokenMeta`): types, ranges, and that
   the sample counts agree with each other, so no field can ask for a 4 GB output.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import Annotated, Any, Iterable

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from explorer.core.audio import MAX_RATE, MEMORY_BUDGET, MIN_RATE
from explorer.core.edits import EditsSchema, Seconds
from explorer.core.errors import CodecError
from explorer.core.output import OutputError, output_file
from explorer.core.types import FloatArray, IntArray

FORMAT_VERSION = 1
TOKEN_BUDGET = 512 << 20
"""Bytes of codes one token file may unpack to (32 codebooks of a 2-hour clip at 75 Hz take 138 MB)."""
META_BUDGET = 16 << 20
MAX_CODEBOOKS = 64

Count = Annotated[int, Field(strict=True, ge=1)]


class BlockMeta(BaseModel):
    """One encoded block: its latent frames and the family's side information (EnCodec 48 kHz's scale)."""

    model_config = ConfigDict(extra="forbid")
    frames: Count
    scale: Annotated[float, Field(gt=0.0, allow_inf_nan=False)] | None = None

    def side(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class WeightsMeta(BaseModel):
    """Which weights made the tokens: the checkpoint's file name and its sha256."""

    model_config = ConfigDict(extra="forbid")
    file: Annotated[str, Field(max_length=4096)]
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class TokenMeta(BaseModel):
    """The ``meta`` entry of a token file. Unknown keys are kept (newer files may add some)."""

    model_config = ConfigDict(extra="allow")
    format_version: Annotated[int, Field(strict=True, ge=1, le=FORMAT_VERSION)] = FORMAT_VERSION
    codec: Annotated[str, Field(pattern=r"^[A-Za-z0-9._@+-]{1,100}$")]
    weights: WeightsMeta | None = None
    codebooks: Count | None = None
    input_sample_rate: Annotated[int, Field(strict=True, ge=MIN_RATE, le=MAX_RATE)]
    num_samples: Count
    codec_samples: Count
    blocks: Annotated[list[BlockMeta], Field(min_length=1, max_length=1_000_000)]
    edits: EditsSchema = EditsSchema()
    live_skipped_seconds: Seconds | None = None
    provenance: dict[str, Any] | None = None
    """What made the file (:func:`explorer.core.provenance.provenance`); None in files from before it."""

    @field_validator("num_samples", "codec_samples")
    @classmethod
    def _fits_in_memory(cls, v: int) -> int:
        if v * 4 > MEMORY_BUDGET:
            raise ValueError(f"{v} samples would not fit in memory ({MEMORY_BUDGET // 10**6} MB)")
        return v

    @property
    def latent_frames(self) -> int:
        return sum(b.frames for b in self.blocks)


def save_tokens(path: str | os.PathLike[str], codes: list[IntArray], meta: dict[str, Any],
                inputs: Iterable[str | os.PathLike[str] | None] = ()) -> None:
    """Write codes and meta by the output policy (:mod:`explorer.core.output`)."""
    p = Path(path)
    if p.suffix.lower() != ".npz":
        raise CodecError(f"Token files end in .npz; '{p.name}' does not. Name the output like tokens.npz.")
    arrays: dict[str, FloatArray] = {f"codebook_{k}": np.asarray(row, dtype=np.int64) for k, row in enumerate(codes)}
    arrays["meta"] = np.array(json.dumps({"format_version": FORMAT_VERSION, **meta}, allow_nan=False))
    try:
        with output_file(p, inputs) as tmp, open(tmp, "wb") as f:
            np.savez(f, **arrays)  # type: ignore[arg-type]
    except OutputError as exc:
        raise CodecError(str(exc)) from exc


def load_tokens(path: str | os.PathLike[str]) -> tuple[list[IntArray], dict[str, Any]]:
    """Read a token file, checking sizes before reading and the meta against :class:`TokenMeta`.

    Returns the codes and the validated meta as a dict (``blocks`` as side-information dicts).

    Raises
    ------
    CodecError
        With one sentence on what is wrong, for anything that is not a token file we can decode.
    """
    p = Path(path)
    if not p.is_file():
        raise CodecError(f"No token file at '{p}'." if not p.exists() else f"'{p}' is not a regular file.")
    try:
        with zipfile.ZipFile(p) as zf:
            names = _entries(zf, p.name)
            meta = _read_meta(zf, p.name)
            codes = [_read_row(zf, f"codebook_{k}.npy", p.name) for k in range(names)]
    except CodecError:
        raise
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError, RuntimeError) as exc:
        raise CodecError(f"'{p.name}' is not a readable token file ({type(exc).__name__}: {str(exc)[:200] or 'damaged'}).") from None
    _check_agreement(p.name, codes, meta)
    return codes, {**meta.model_dump(exclude_none=True, exclude={"blocks"}), "blocks": [b.side() for b in meta.blocks]}


def _entries(zf: zipfile.ZipFile, name: str) -> int:
    """Check the zip directory: only meta and codebook_0..K-1, sizes within budget; return K."""
    infos = zf.infolist()
    if len(infos) > MAX_CODEBOOKS + 1:
        raise CodecError(f"'{name}' has {len(infos)} entries; a token file has at most {MAX_CODEBOOKS} codebooks and a meta.")
    found = {i.filename: i for i in infos}
    if len(found) != len(infos):
        raise CodecError(f"'{name}' holds the same entry twice; it is damaged or not ours.")
    if "meta.npy" not in found:
        raise CodecError(f"'{name}' has no 'meta' entry; it is not a Codec Explorer token file.")
    k = len(found) - 1
    expected = {f"codebook_{i}.npy" for i in range(k)} | {"meta.npy"}
    if set(found) != expected or k == 0:
        listed = ", ".join(sorted(n.removesuffix(".npy") for n in found if n != "meta.npy")) or "none"
        raise CodecError(f"'{name}' must hold codebook_0 ... codebook_N with no gaps and nothing else; it has {listed}.")
    total = sum(i.file_size for i in infos)
    if total > TOKEN_BUDGET or found["meta.npy"].file_size > META_BUDGET:
        raise CodecError(f"'{name}' unpacks to {total / 2**20:.0f} MB, more than a token file can hold "
                         f"({TOKEN_BUDGET >> 20} MB); it is damaged or not ours.")
    return k


def _header(f: Any) -> tuple[tuple[int, ...], np.dtype[Any]]:
    fmt: Any = np.lib.format  # its functions carry no type hints
    version = fmt.read_magic(f)
    read = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
    shape, fortran, dtype = read(f, max_header_size=10000)
    return tuple(shape), np.dtype(dtype)


def _read_row(zf: zipfile.ZipFile, entry: str, name: str) -> IntArray:
    info = zf.getinfo(entry)
    with zf.open(entry) as f:
        shape, dtype = _header(f)
        label = entry.removesuffix(".npy")
        if len(shape) != 1 or dtype.kind not in "iu" or dtype.hasobject:
            raise CodecError(f"'{name}': {label} must be a 1-D integer array; it is {dtype} shaped {shape}.")
        if shape[0] == 0:
            raise CodecError(f"'{name}': {label} holds no codes (zero frames); there is nothing to decode.")
        if shape[0] * dtype.itemsize > info.file_size:
            raise CodecError(f"'{name}': {label} declares {shape[0]} codes but holds fewer; the file is damaged.")
        row = np.frombuffer(f.read(shape[0] * dtype.itemsize), dtype)
    if len(row) != shape[0]:
        raise CodecError(f"'{name}': {label} is cut short; the file is damaged.")
    return row.astype(np.int64)


def _read_meta(zf: zipfile.ZipFile, name: str) -> TokenMeta:
    with zf.open("meta.npy") as f:
        shape, dtype = _header(f)
        if shape != () or dtype.kind != "U":
            raise CodecError(f"'{name}': 'meta' must be a JSON string; it is {dtype} shaped {shape}.")
        text = np.frombuffer(f.read(dtype.itemsize), dtype)[0] if dtype.itemsize else ""
    try:
        raw = json.loads(str(text))
    except ValueError as exc:
        raise CodecError(f"'{name}': its meta is not valid JSON ({exc}).") from None
    if not isinstance(raw, dict):
        raise CodecError(f"'{name}': its meta must be a JSON object; it is a {type(raw).__name__}.")
    try:
        return TokenMeta.model_validate(raw)
    except ValidationError as exc:
        raise CodecError(f"'{name}': its meta is not valid: {describe_validation(exc)}.") from None


def describe_validation(exc: ValidationError, most: int = 3) -> str:
    """A pydantic error as one short sentence: ``edits.seed: must be ≥ 0; num_samples: ...``."""
    parts = []
    for err in exc.errors()[:most]:
        where = ".".join(str(x) for x in err["loc"]) or "value"
        parts.append(f"{where}: {err['msg']}")
    more = len(exc.errors()) - most
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


def _check_agreement(name: str, codes: list[IntArray], meta: TokenMeta) -> None:
    """The codebook count in the meta must agree with the codes (the engine checks the rest against its codec)."""
    if meta.codebooks is not None and meta.codebooks != len(codes):
        raise CodecError(f"'{name}': its meta says {meta.codebooks} codebooks but it holds {len(codes)}.")
