"""``rvq-lab``: the built-in residual-VQ codec, trained here, that needs no download.

Analysis: an MDCT with a sine window (hop 320 samples at 24 kHz, so 75 frames per second), which
is orthogonal: an error of e in the coefficients is an error of e in the waveform. Frame t covers
samples ``[(t-1)*320, (t+1)*320)``.

Tokens, per frame:

* codebook 0 (the *envelope*): the log2 RMS of 22 ERB-spaced bands, as a deviation from the
  average envelope, vector-quantized with 1024 codes. It is the coarse sketch: gain and formants.
* codebooks 1..31 (*residual stages*): the coefficients divided by the decoded envelope, refined
  stage by stage. Stage k quantizes one slice of bins of what stages 1..k-1 left; which slice,
  and its 1024 codewords, were chosen by the training script (greedy, by the energy each could
  remove; k-means for the codewords).

The latent is ``[22 envelope values ; 320 normalized coefficients]`` and each codebook adds its
codeword into its own part, so muting, soloing and randomizing mean what they mean for the neural
codecs. Decoding: envelope = average + codebook 0's part; coefficients = sum of the stages' parts
times the envelope; inverse MDCT and overlap-add. With codebook 0 muted, the average envelope is
used; with all stages muted, the output is silent.
"""

from __future__ import annotations

from functools import lru_cache
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from explorer.core.types import AnyArray
from explorer.codecs.base import CodecInfo, EncodedBlock, positional_noise
from explorer.codecs.checkpoint import Layout, check_finite, check_layout, npz_layouts, shape_text, unfit, weights_id
from explorer.codecs.weights import Progress, reason
from explorer.core.errors import WeightsError
from explorer.core.resources import resource

SAMPLE_RATE = 24000
HOP = 320
LICENCE = "MIT (this project's own)"
"""The project's licence (pyproject.toml); :mod:`explorer.codecs.rvqlab_train` makes the codebooks from audio it synthesizes."""
BAND_EDGES = (0, 2, 4, 6, 8, 10, 12, 15, 18, 22, 27, 33, 40, 49, 60, 74, 91, 112, 138, 170, 210, 260, 320)
CODEBOOK_FILE = ("rvq_lab", "codebooks.npz")
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
"""How an .npz (a zip archive) starts: with a member, or empty."""
CODEBOOK_ROWS = 1024
"""Codewords a table may hold: the tokens are 10-bit (a small training run makes fewer)."""
MAX_STAGES = 31
"""Residual stages at most: with the envelope, 32 codebooks."""
NOISE_FILL = 0.5
"""RMS of the noise put, relative to the envelope, into bins no heard stage has touched."""


def mdct_basis(n: int = HOP) -> AnyArray:
    """``[2n, n]`` windowed, orthonormal MDCT basis (sine window, Princen-Bradley)."""
    t = np.arange(2 * n)[:, None]
    k = np.arange(n)[None, :]
    window = np.sin(np.pi * (t + 0.5) / (2 * n))
    basis: AnyArray = (window * np.sqrt(2.0 / n) * np.cos(np.pi / n * (t + 0.5 + n / 2) * (k + 0.5))).astype(np.float32)
    return basis


def mdct(x: AnyArray, basis: AnyArray) -> AnyArray:
    """``[frames, n]`` coefficients of 1-D ``x`` (length a multiple of n), frame t over [(t-1)n, (t+1)n)."""
    n = basis.shape[1]
    blocks = np.concatenate([np.zeros((1, n), np.float32), x.astype(np.float32).reshape(-1, n)])
    coefs: AnyArray = blocks[:-1] @ basis[:n] + blocks[1:] @ basis[n:]
    return coefs


def imdct(coefs: AnyArray, basis: AnyArray) -> AnyArray:
    """Overlap-add inverse of :func:`mdct`: ``frames * n`` samples."""
    n = basis.shape[1]
    blocks = coefs @ basis.T
    # out[j] is sample j - n: frame t's first half lands on samples (t-1)n.., its second half on tn..
    out = np.zeros((len(coefs) + 1) * n, dtype=np.float32)
    out[: len(coefs) * n] += blocks[:, :n].reshape(-1)
    out[n:] += blocks[:, n:].reshape(-1)
    return out[n:]


def band_rms(coefs: AnyArray) -> AnyArray:
    """``[frames, bands]`` RMS of the coefficients in each band."""
    sq = np.add.reduceat(coefs.astype(np.float64) ** 2, BAND_EDGES[:-1], axis=1)
    rms: AnyArray = np.sqrt(sq / np.diff(BAND_EDGES) + 1e-12)
    return rms


def band_to_bins(values: AnyArray) -> AnyArray:
    """Expand per-band values ``[..., bands]`` to per-bin ``[..., 320]``."""
    return np.repeat(values, np.diff(BAND_EDGES), axis=-1)


@dataclass(frozen=True)
class Codebooks:
    """The trained tables: envelope codebook, average envelope, and one slice + codebook per stage."""

    envelope: AnyArray
    mean_envelope: AnyArray
    slices: AnyArray
    stages: tuple[AnyArray, ...]

    @property
    def n_codebooks(self) -> int:
        return 1 + len(self.stages)

    def save(self, path: Path) -> None:
        arrays = {
            "envelope": self.envelope.astype(np.float16),
            "mean_envelope": self.mean_envelope.astype(np.float16),
            "slices": self.slices.astype(np.int32),
            "band_edges": np.asarray(BAND_EDGES, dtype=np.int32),
        }
        arrays.update({f"stage_{k + 1}": s.astype(np.float16) for k, s in enumerate(self.stages)})
        with open(path, "wb") as f:
            np.savez(f, **arrays)  # type: ignore[arg-type]

    @classmethod
    def load(cls, path: Path) -> "Codebooks":
        """Read a codebook file written by :meth:`save`; :func:`read_tables` checks it first and raises
        WeightsError for one that does not fit."""
        a = read_tables(path)
        return cls(
            a["envelope"], a["mean_envelope"], a["slices"].astype(np.int64),
            tuple(a[f"stage_{k + 1}"] for k in range(len(a["slices"]))),
        )


def read_tables(path: Path) -> dict[str, AnyArray]:
    """The arrays of a codebook file, checked before use; floating-point ones as float32.

    The archive's headers are checked (names, shapes, kinds of number) before any table is read,
    so a file that declares a gigantic array allocates nothing; then the bands and finiteness.

    Parameters
    ----------
    path : Path
        The ``.npz`` file.

    Returns
    -------
    dict[str, numpy.ndarray]
        By name: ``band_edges``, ``slices``, ``envelope``, ``mean_envelope``, ``stage_1``...

    Raises
    ------
    WeightsError
        Naming the file and the first thing wrong with it.
    """
    if not path.is_file():
        raise WeightsError(f"rvq-lab: no codebook file at '{path}'.")
    if path.stat().st_size == 0:
        raise WeightsError(f"rvq-lab: '{path.name}' is empty (0 bytes); it is not a usable codebook file.")
    with open(path, "rb") as f:
        if f.read(4) not in ZIP_MAGIC:
            raise _unusable(path, "it is not an .npz archive of tables")
    try:
        archive = np.load(path, allow_pickle=False)
    except Exception as exc:  # noqa: BLE001 - whatever numpy or zipfile raises means the same to the user
        raise _unusable(path, reason(exc)) from exc
    with archive:
        try:
            layouts = npz_layouts(archive, "rvq-lab", path)
            check_layout(layouts, _expected_layouts(archive, layouts, path), "rvq-lab", path, noun="array")
            arrays = {name: archive[name] for name in layouts}
        except WeightsError:
            raise
        except Exception as exc:  # noqa: BLE001 - a member cut short or corrupt, in any of numpy's ways
            raise _unusable(path, reason(exc)) from exc
    if tuple(arrays["band_edges"]) != BAND_EDGES:
        raise unfit("rvq-lab", path, "it was trained for other frequency bands ('band_edges')")
    for name, values in arrays.items():
        if values.dtype.kind == "f":
            arrays[name] = values.astype(np.float32)
            check_finite(name, torch.from_numpy(arrays[name]), "rvq-lab", path)
    return arrays


def _expected_layouts(archive: np.lib.npyio.NpzFile, layouts: dict[str, Layout], path: Path) -> dict[str, Layout]:
    """The arrays a codebook file must hold; the stages' widths follow from its (checked) slices."""
    floating, integer = np.dtype(np.float32), np.dtype(np.int32)
    slices = layouts.get("slices")
    if slices is None or slices.kind != "integer" or len(slices.shape) != 2 or slices.shape[1] != 2 or slices.shape[0] > MAX_STAGES:
        found = "missing" if slices is None else f"{shape_text(slices.shape)} {slices.dtype}"
        raise unfit("rvq-lab", path, f"its array 'slices' is {found}, the codec needs up to {MAX_STAGES} rows of 2 integers")
    bins = np.asarray(archive["slices"], dtype=np.int64)
    if len(bins) and ((bins[:, 0] < 0) | (bins[:, 1] > HOP) | (bins[:, 0] >= bins[:, 1])).any():
        raise unfit("rvq-lab", path, f"its array 'slices' names bins outside a frame's 0..{HOP}")
    envelope = layouts.get("envelope")
    rows = envelope.shape[0] if envelope is not None and len(envelope.shape) == 2 else CODEBOOK_ROWS
    if not 1 <= rows <= CODEBOOK_ROWS:
        raise unfit("rvq-lab", path, f"its array 'envelope' has {rows} codewords; rvq-lab's tokens are 10-bit, so at most {CODEBOOK_ROWS}")
    n_env = len(BAND_EDGES) - 1
    expected = {
        "band_edges": Layout.of((len(BAND_EDGES),), integer),
        "slices": Layout.of(slices.shape, integer),
        "envelope": Layout.of((rows, n_env), floating),
        "mean_envelope": Layout.of((n_env,), floating),
    }
    expected.update({f"stage_{k + 1}": Layout.of((rows, int(hi - lo)), floating) for k, (lo, hi) in enumerate(bins)})
    return expected


def _unusable(path: Path, why: str) -> WeightsError:
    return WeightsError(f"rvq-lab: '{path.name}' is not a usable codebook file ({why}).")


def shipped_path() -> Path:
    return resource(*CODEBOOK_FILE)


def roles(tables: Codebooks) -> tuple[str, ...]:
    """What each codebook carries, for labelling the grid's rows."""
    out = ["envelope: gain and spectral shape"]
    for k, (lo, hi) in enumerate(tables.slices, start=1):
        out.append(f"residual stage {k}: {lo * SAMPLE_RATE / 2 / HOP:.0f}-{hi * SAMPLE_RATE / 2 / HOP:.0f} Hz")
    return tuple(out)


@lru_cache(maxsize=1)
def _shipped() -> Codebooks:
    return Codebooks.load(shipped_path())


def info(name: str = "rvq-lab", tables: Codebooks | None = None) -> CodecInfo:
    tables = tables or _shipped()
    n_codebooks = tables.n_codebooks
    return CodecInfo(
        name=name,
        family="rvq-lab",
        sample_rate=SAMPLE_RATE,
        channels=1,
        hop_length=HOP,
        codebook_size=int(tables.envelope.shape[0]),
        max_codebooks=n_codebooks,
        default_codebooks=n_codebooks,
        codebook_choices=tuple(c for c in (1, 2, 4, 8, 16, 32) if c <= n_codebooks),
        description="Built-in: MDCT (75 Hz), codebook 0 = spectral envelope, then residual VQ stages; no download",
        pad_multiple=HOP,
        chunk_seconds=120.0,
        context_seconds=HOP / SAMPLE_RATE * 2,
        span_context=(1, 2),  # sample j comes from frames j // HOP and the next (the MDCT's overlap)
        roles=roles(tables),
        licence=LICENCE,
    )


def nearest(x: AnyArray, codebook: AnyArray) -> AnyArray:
    """Index of the nearest codeword for each row of ``x`` (squared Euclidean)."""
    xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    cb = torch.from_numpy(np.ascontiguousarray(codebook, dtype=np.float32))
    d = (cb * cb).sum(1)[None, :] - 2.0 * xt @ cb.T
    return d.argmin(dim=1).numpy()


class RvqLabCodec:
    """The built-in codec behind :class:`explorer.codecs.base.Codec`."""

    def __init__(self, name: str, device: torch.device, weights: str | Path | None = None, progress: Progress | None = None) -> None:
        path = Path(weights) if weights is not None else shipped_path()
        if weights is not None and path.is_dir():
            path = path / CODEBOOK_FILE[1]
        self.tables = Codebooks.load(path) if weights is not None else _shipped()
        self.weights_id = weights_id(path)
        self.info = info(name, self.tables)
        self.device = torch.device("cpu")
        self.basis = mdct_basis()
        self.n_env = len(BAND_EDGES) - 1

    def encode(self, audio: torch.Tensor, n_codebooks: int) -> EncodedBlock:
        coefs = mdct(audio[0].numpy(), self.basis)
        env = np.log2(band_rms(coefs)) - self.tables.mean_envelope
        env_codes = nearest(env, self.tables.envelope)
        scale = band_to_bins(np.exp2(self.tables.envelope[env_codes] + self.tables.mean_envelope))
        residual = coefs / scale
        codes = [env_codes]
        for k in range(1, n_codebooks):
            lo, hi = self.tables.slices[k - 1]
            table = self.tables.stages[k - 1]
            idx = nearest(residual[:, lo:hi], table)
            residual[:, lo:hi] -= table[idx]
            codes.append(idx)
        return EncodedBlock([torch.from_numpy(c.astype(np.int64)) for c in codes], {})

    def contributions(self, codes: list[torch.Tensor]) -> torch.Tensor:
        frames = len(codes[0])
        out = np.zeros((len(codes), self.n_env + HOP, frames), dtype=np.float32)
        for k, c in enumerate(codes):
            idx = c.numpy()
            if k == 0:
                out[0, : self.n_env] = self.tables.envelope[idx].T
            else:
                lo, hi = self.tables.slices[k - 1]
                out[k, self.n_env + lo: self.n_env + hi] = self.tables.stages[k - 1][idx].T
        return torch.from_numpy(out)

    def decoder_stages(self) -> list[torch.nn.Module]:
        return []  # an inverse MDCT in numpy: one step, quicker than a progress report

    def decode_latent(self, latent: torch.Tensor, side: dict[str, Any]) -> torch.Tensor:
        z = latent.numpy().T
        scale = band_to_bins(np.exp2(z[:, : self.n_env] + self.tables.mean_envelope))
        coefs = z[:, self.n_env:]
        if NOISE_FILL > 0:  # the same noise at the same frame whatever span is decoded (seeded by the engine)
            offset = int(side.get("offset", 0))
            noise = positional_noise(torch.initial_seed(), 0, offset * coefs.shape[1], coefs.size).reshape(coefs.shape)
            coefs = np.where(coefs == 0.0, noise * NOISE_FILL, coefs)
        return torch.from_numpy(imdct(coefs * scale, self.basis)[None])

    def reference_decode(self, codes: list[torch.Tensor], sides: list[dict[str, Any]]) -> torch.Tensor:
        return self.decode_latent(self.contributions(codes).sum(0), {})
