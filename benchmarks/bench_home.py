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
