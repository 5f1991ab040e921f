"""Choosing the torch device a codec runs on."""

from __future__ import annotations

import torch

from explorer.core.errors import ExplorerError

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


def resolve_device(name: str = "auto") -> torch.device:
    """Return the device for ``name``: ``auto`` picks CUDA, then MPS, then the CPU.

    Parameters
    ----------
    name : str
        ``auto``, ``cpu``, ``cuda``, ``cuda:N`` or ``mps``.
    """
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ExplorerError(f"Device '{name}' was asked for, but torch sees no CUDA GPU here; choose the cpu or auto device instead.")
        try:
            device = torch.device(name)
        except (RuntimeError, ValueError):
            raise ExplorerError(f"'{name}' is not a device name; write cuda or cuda:N (N from 0 to {torch.cuda.device_count() - 1}).") from None
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ExplorerError(f"There is no GPU {device.index} here; torch sees {torch.cuda.device_count()} (cuda:0 to "
                                f"cuda:{torch.cuda.device_count() - 1}).")
        return device
    if name == "mps":
        if not torch.backends.mps.is_available():
            raise ExplorerError("Device 'mps' was asked for, but Apple's Metal backend is not available here; choose the cpu or auto device instead.")
        return torch.device("mps")
    raise ExplorerError(f"Unknown device '{name}'; choose one of {', '.join(DEVICE_CHOICES)} or cuda:N.")


def describe_device(device: torch.device) -> str:
    """A human label such as ``cuda:0 (NVIDIA H100)`` or ``cpu``."""
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return f"cuda:{index} ({torch.cuda.get_device_name(index)})"
    return str(device)
