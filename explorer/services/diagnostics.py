"""What a bug report needs: versions, the device, audio devices and where weights are cached (Qt-free)."""

from __future__ import annotations

import platform
import sys

import explorer
from explorer.core.provenance import package_version

PACKAGES = ("torch", "torchaudio", "numpy", "encodec", "moshi", "snac", "descript-audio-codec",
            "descript-audiotools", "speechtokenizer", "PySide6-Essentials", "pyqtgraph", "sounddevice", "soundfile",
            "pystoi", "pesq", "visqol-python", "av")
"""``av`` is PyAV, whose wheels carry the libopus that the Opus reference codec runs."""


def package_versions() -> dict[str, str]:
    return {name: package_version(name) or "not installed" for name in PACKAGES}


def report(device: str = "auto") -> str:
    """A plain-text report, the same in Help > Diagnostics and ``codec-explorer diagnostics``."""
    import torch

    from explorer.audio_io.streams import audio_devices
    from explorer.codecs.registry import CODEC_NAMES, DEFAULT_CODEC, entry, weights_available, weights_table
    from explorer.core.device import describe_device, resolve_device
    from explorer.core.resources import resources_dir

    lines = [f"Codec Explorer {explorer.__version__}",
             f"Python {sys.version.split()[0]} on {platform.platform()}",
             ""]
    lines += [f"{name} {version}" for name, version in package_versions().items()]
    try:
        dev = resolve_device(device)
        lines += ["", f"device in use ({device}): {describe_device(dev)}"]
    except Exception as exc:  # noqa: BLE001 - a report must never fail
        lines += ["", f"device in use ({device}): unavailable ({exc})"]
    lines.append(f"CUDA available: {torch.cuda.is_available()}"
                 + (f", {torch.cuda.device_count()} device(s): {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else ""))
    ins, outs = audio_devices("input"), audio_devices("output")
    lines += [f"audio inputs: {', '.join(d.name for d in ins) or 'none'}",
              f"audio outputs: {', '.join(d.name for d in outs) or 'none'}",
              "",
              "weights are looked for in (the same table as Help > About and the guide):"]
    lines += [f"  {row.codec}: {', '.join(row.files)} in {' then '.join(row.folders)}" for row in weights_table()]
    lines += ["weights on this computer: " + ", ".join(
                  f"{n} {'built in' if n == DEFAULT_CODEC else 'none needed' if entry(n).weights_spec() is None else ('yes' if weights_available(n) else 'no')}"
                  for n in CODEC_NAMES),
              f"bundled resources: {resources_dir()}"]
    return "\n".join(lines)

