"""Descript Audio Codec (44.1, 24 and 16 kHz) through the ``descript-audio-codec`` package.

DAC checkpoints (``.pth``) hold ``{"state_dict", "metadata": {"kwargs"}}``; the kwargs rebuild the
architecture. We read them with torch's weights-only unpickler instead of ``DAC.load`` (which runs
an unrestricted ``torch.load``), so a checkpoint can never run code.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import dac
import torch

from explorer.codecs.base import CodecInfo, EncodedBlock
from explorer.codecs.checkpoint import describe, load_model, unfit
from explorer.codecs.weights import Progress, WeightsSpec, descript_cache, resolve

RELEASES = "https://github.com/descriptinc/descript-audio-codec/releases/download/"

# The architectures the package does not configure itself (its DAC() defaults are the 44 kHz model).
# ``sha256``: the release file's published digest, checked after a download. Only the 44 kHz one could
# be found (306,717,287 bytes); the 24 and 16 kHz files are pinned by their release tag alone, and
# any DAC checkpoint is still checked against the architecture and sample rate before it is used.
VARIANTS: dict[str, dict[str, Any]] = {
    "dac-44khz": dict(
        kwargs=dict(sample_rate=44100, encoder_rates=[2, 4, 8, 8], decoder_rates=[8, 8, 4, 2], n_codebooks=9),
        file="weights_44khz_8kbps_0.0.1.pth", url=RELEASES + "0.0.1/weights.pth",
        sha256="a88eed82a7024ccc1facdb1e605c4c2f99281c8118c22c9895ffa846d8fb61aa",
    ),
    "dac-24khz": dict(
        kwargs=dict(sample_rate=24000, encoder_rates=[2, 4, 5, 8], decoder_rates=[8, 5, 4, 2], n_codebooks=32),
        file="weights_24khz_8kbps_0.0.4.pth", url=RELEASES + "0.0.4/weights_24khz.pth", sha256="",
    ),
    "dac-16khz": dict(
        kwargs=dict(sample_rate=16000, encoder_rates=[2, 4, 5, 8], decoder_rates=[8, 5, 4, 2], n_codebooks=12),
        file="weights_16khz_8kbps_0.0.5.pth", url=RELEASES + "0.0.5/weights_16khz.pth", sha256="",
    ),
}
COMMON = dict(encoder_dim=64, decoder_dim=1536, codebook_size=1024, codebook_dim=8)
CODEBOOK_CHOICES = (1, 2, 4, 8, 12, 16, 24, 32)
"""The counts offered below a model's own: DAC is trained with quantizer dropout, so any first k decode."""
LICENCE = "MIT"
"""As descript-audio-codec's README says: "Weights are released as part of this repo under MIT license"."""


def weights_spec(name: str) -> WeightsSpec:
    """A GitHub release file, kept where ``dac.utils.download`` keeps it (all three variants)."""
    v = VARIANTS[name]
    return WeightsSpec(codec=name, files=(v["file"],), urls=(v["url"],), digests=(v["sha256"],), package_cache=descript_cache())


def config(name: str) -> dict[str, Any]:
    """The ``dac.DAC`` arguments of ``name``: the model is built from them and its facts read from them."""
    return {**COMMON, **VARIANTS[name]["kwargs"]}


def build(name: str) -> dac.DAC:
    """The package's architecture for ``name`` with fresh weights."""
    return dac.DAC(**config(name))


def info(name: str) -> CodecInfo:
    c = config(name)
    hop = math.prod(c["encoder_rates"])
    n = c["n_codebooks"]
    rate = c["sample_rate"]
    return CodecInfo(
        name=name,
        family="dac",
        sample_rate=rate,
        channels=1,
        hop_length=hop,
        codebook_size=c["codebook_size"],
        max_codebooks=n,
        default_codebooks=n,
        codebook_choices=tuple(sorted({k for k in CODEBOOK_CHOICES if k < n} | {n})),
        description=f"Descript Audio Codec, {rate / 1000:g} kHz mono, {n} residual codebooks with factorized codes",
        pad_multiple=hop,
        chunk_seconds=10.0 if rate > 24000 else 20.0,
        licence=LICENCE,
    )


def unwrap(checkpoint: object, name: str, path: Path) -> object:
    """The weights inside a DAC checkpoint, once its wrapper and sample rate are known to fit ``name``.

    Parameters
    ----------
    checkpoint : object
        What the ``.pth`` file held: ``{"state_dict": ..., "metadata": {"kwargs": {...}}}``.
    name : str
        The DAC variant the weights are for.
    path : Path
        The checkpoint file, for messages.

    Returns
    -------
    object
        The ``state_dict`` entry, for :func:`explorer.codecs.checkpoint.load_checked` to check.

    Raises
    ------
    WeightsError
        If the wrapper is not a DAC checkpoint's, or describes another sample rate.
    """
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise unfit(name, path, "it is not a DAC checkpoint (no 'state_dict' inside)")
    metadata = checkpoint.get("metadata", {})
    if not isinstance(metadata, dict):
        raise unfit(name, path, f"its metadata is {describe(metadata)} where a table belongs")
    kwargs = metadata.get("kwargs", {})
    if not isinstance(kwargs, dict):
        raise unfit(name, path, f"its metadata's kwargs are {describe(kwargs)} where a table belongs")
    rate = kwargs.get("sample_rate", VARIANTS[name]["kwargs"]["sample_rate"])
    if type(rate) not in (int, float) or rate != VARIANTS[name]["kwargs"]["sample_rate"]:
        raise unfit(name, path, f"it is a DAC checkpoint for {repr(rate)[:20]} Hz, not {VARIANTS[name]['kwargs']['sample_rate']} Hz")
    return checkpoint["state_dict"]


class DacCodec:
    """A DAC model behind :class:`explorer.codecs.base.Codec`."""

    def __init__(self, name: str, device: torch.device, weights: str | Path | None = None, progress: Progress | None = None) -> None:
        self.info = info(name)
        self.device = device
        path = resolve(weights_spec(name), weights, progress)[0]
        self.model, self.weights_id = load_model(name, path, lambda: build(name), device, lambda state: unwrap(state, name, path))

    def encode(self, audio: torch.Tensor, n_codebooks: int) -> EncodedBlock:
        _, codes, *_ = self.model.encode(audio.to(self.device)[None], n_quantizers=n_codebooks)
        return EncodedBlock([codes[0, k] for k in range(n_codebooks)], {})

    def contributions(self, codes: list[torch.Tensor]) -> torch.Tensor:
        qs = self.model.quantizer.quantizers
        return torch.stack([qs[k].out_proj(qs[k].decode_code(c.to(self.device)[None]))[0] for k, c in enumerate(codes)])

    def decode_latent(self, latent: torch.Tensor, side: dict[str, Any]) -> torch.Tensor:
        out: torch.Tensor = self.model.decode(latent[None])[0]
        return out

    def decoder_stages(self) -> list[torch.nn.Module]:
        return list(self.model.decoder.model)

    def reference_decode(self, codes: list[torch.Tensor], sides: list[dict[str, Any]]) -> torch.Tensor:
        z, _, _ = self.model.quantizer.from_codes(torch.stack(codes)[None].to(self.device))
        out: torch.Tensor = self.model.decode(z)[0]
        return out
