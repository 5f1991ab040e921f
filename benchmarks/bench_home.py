"""A throwaway home for benchmarks, whose caches receive random-weight checkpoints.

Call :func:`isolated_env` before anything imports huggingface_hub or torch.hub (both read their
cache locations once, at import).
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile


def isolated_env() -> dict[str, str]:
    """The environment with HOME and the model caches in a fresh temporary folder (kept if already set)."""
    env = os.environ.copy()
    if "CODEC_EXPLORER_BENCH_HOME" not in env:
        home = tempfile.mkdtemp(prefix="codec-explorer-bench-")
        atexit.register(shutil.rmtree, home, True)  # its checkpoints take gigabytes
        env.update(HOME=home, TORCH_HOME=f"{home}/.cache/torch", HF_HOME=f"{home}/.cache/huggingface",
                   CODEC_EXPLORER_OFFLINE="1", CODEC_EXPLORER_BENCH_HOME=home)
    return env


def speech_clip(root, seconds):  # type: ignore[no-untyped-def]
    """The bundled speech repeated to ``seconds``."""
    import numpy as np

    from explorer.core.audio import Clip, load_audio

    base = load_audio(root / "resources" / "clips" / "speech_en.wav")
    reps = int(np.ceil(seconds / base.duration))
    return Clip(np.tile(base.samples, reps)[:, : int(seconds * base.sample_rate)], base.sample_rate)


def timer(device):  # type: ignore[no-untyped-def]
    """``timed(fn) -> (seconds, fn())``, waiting for the GPU's queued work on a CUDA ``device``."""
    import time

    import torch

    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)

    def timed(fn):  # type: ignore[no-untyped-def]
        sync()
        t0 = time.perf_counter()
        out = fn()
        sync()
        return time.perf_counter() - t0, out

    return timed
