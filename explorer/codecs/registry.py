"""The user-facing codec names and how to build each.

Imports of the codec packages happen only when a codec is loaded, so listing codecs is instant.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from explorer.codecs.base import Codec, CodecInfo, PacketCodec
from explorer.codecs.weights import Progress, WeightsSpec, WhereRow, locate, where
from explorer.core.errors import CodecError

DEFAULT_CODEC = "rvq-lab"


@dataclass(frozen=True)
class Entry:
    name: str
    module: str
    cls: str

    def _mod(self) -> ModuleType:
        return importlib.import_module(f"explorer.codecs.{self.module}")

    def info(self) -> CodecInfo:
        info: Callable[[str], CodecInfo] = self._mod().info
        return info(self.name)

    def weights_spec(self) -> WeightsSpec | None:
        spec = getattr(self._mod(), "weights_spec", None)
        return spec(self.name) if spec is not None else None


_ENTRIES = [
    Entry("rvq-lab", "rvqlab", "RvqLabCodec"),
    Entry("encodec-24khz", "encodec_codec", "EncodecCodec"),
    Entry("encodec-48khz", "encodec_codec", "EncodecCodec"),
    Entry("dac-44khz", "dac_codec", "DacCodec"),
    Entry("dac-24khz", "dac_codec", "DacCodec"),
    Entry("dac-16khz", "dac_codec", "DacCodec"),
    Entry("snac-24khz", "snac_codec", "SnacCodec"),
    Entry("snac-32khz", "snac_codec", "SnacCodec"),
    Entry("snac-44khz", "snac_codec", "SnacCodec"),
    Entry("mimi", "mimi_codec", "MimiCodec"),
    Entry("speechtokenizer", "speechtokenizer_codec", "SpeechTokenizerCodec"),
    Entry("opus", "opus_codec", "OpusCodec"),
]
REGISTRY: dict[str, Entry] = {e.name: e for e in _ENTRIES}
CODEC_NAMES = tuple(REGISTRY)
PACKAGES = {"encodec": "encodec", "dac": "descript-audio-codec", "snac": "snac", "mimi": "moshi",
            "speechtokenizer": "speechtokenizer", "opus": "av"}
"""The distribution whose model code each codec family runs (rvq-lab is built in; Opus runs PyAV's libopus):
provenance names its version."""


def entry(name: str) -> Entry:
    try:
        return REGISTRY[name]
    except KeyError:
        raise CodecError(f"Unknown codec '{name}'; choose one of: {', '.join(CODEC_NAMES)}.") from None


def weights_available(name: str) -> bool:
    """True when the codec can load without a download."""
    spec = entry(name).weights_spec()
    return spec is None or locate(spec) is not None


def weights_table() -> list[WhereRow]:
    """Where each pretrained codec's weights are looked for and come from, in the registry's order.

    The one table: Help > About shows it, and the guide's copy is checked against it.
    """
    return [where(spec) for e in _ENTRIES if (spec := e.weights_spec()) is not None]


def load_codec(name: str, device: torch.device, weights: str | Path | None = None,
               progress: Progress | None = None) -> Codec | PacketCodec:
    """Build codec ``name`` on ``device``: weights from ``weights``, the cache, or a download (a
    :class:`PacketCodec` for a reference codec, whose info has ``tokens=False``)."""
    e = entry(name)
    cls = getattr(e._mod(), e.cls)
    codec: Codec | PacketCodec = cls(name, device, weights, progress)
    return codec
