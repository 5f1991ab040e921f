"""Finding, downloading and safely loading pretrained weights.

Each pretrained codec names where its package publishes its weights (a Hugging Face repository or
a release URL) and where that package caches them. :func:`locate` looks, in order, at an explicit
``--weights`` path, the package's own cache, and our cache; :func:`download` fetches with a progress
callback into a ``.part`` file that is renamed only when complete, so an interrupted download is
never taken for a model. Offline (no route to the host within a few seconds, or
``CODEC_EXPLORER_OFFLINE=1``) the error names the codec, the file looked for and where to put it.

Checkpoints are data, never code: ``torch.load(weights_only=True)`` or safetensors only.
"""

from __future__ import annotations

import os
import socket
import http.client
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch

from explorer.core.output import output_file
from explorer.core.errors import CancelledError, WeightsError

Progress = Callable[[int, int], bool | None]
"""Called with (bytes done, bytes total or 0); returning False cancels."""

HF_ENDPOINT = "https://huggingface.co"
PROBE_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class WeightsSpec:
    """Where one codec's pretrained files come from and where its package keeps them.

    ``files`` are fetched together (SNAC needs ``config.json`` beside its weights). For a Hugging
    Face repository ``repo`` is set; for a release download ``urls`` gives one URL per file and
    ``package_cache`` the folder the package itself downloads to.
    """

    codec: str
    files: tuple[str, ...]
    repo: str | None = None
    urls: tuple[str, ...] = ()
    package_cache: Path | None = None

    def sources(self) -> list[str]:
        if self.repo:
            return [f"{HF_ENDPOINT}/{self.repo}/resolve/main/{name}" for name in self.files]
        return list(self.urls)

    def own_cache(self) -> Path:
        return cache_root() / self.codec


def cache_root() -> Path:
    """Our download cache: ``$CODEC_EXPLORER_CACHE`` or ``~/.cache/codec-explorer``."""
    env = os.environ.get("CODEC_EXPLORER_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "codec-explorer"


def torch_hub_checkpoints() -> Path:
    """The folder where ``torch.hub.load_state_dict_from_url`` keeps files (EnCodec's cache)."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def descript_cache() -> Path:
    """The folder where ``dac.utils.download`` keeps DAC weights."""
    return Path.home() / ".cache" / "descript" / "dac"


def _hf_cached(repo: str, name: str) -> Path | None:
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(repo, name)
    return Path(found) if isinstance(found, str) else None


def locate(spec: WeightsSpec) -> list[Path] | None:
    """Return the local paths of all of ``spec``'s files, or None if any is missing."""
    candidates: list[Callable[[str], Path | None]] = []
    if spec.repo:
        candidates.append(lambda name: _hf_cached(spec.repo or "", name))
    if spec.package_cache is not None:
        candidates.append(lambda name: _existing(spec.package_cache / name if spec.package_cache else None))
    candidates.append(lambda name: _existing(spec.own_cache() / name))
    for find in candidates:
        paths = [find(name) for name in spec.files]
        if all(p is not None for p in paths):
            return [p for p in paths if p is not None]
    return None


def _existing(path: Path | None) -> Path | None:
    return path if path is not None and path.is_file() else None


def is_offline(url: str) -> bool:
    """True when downloads are switched off or the URL's host cannot be reached quickly."""
    if os.environ.get("CODEC_EXPLORER_OFFLINE") == "1" or os.environ.get("HF_HUB_OFFLINE") == "1":
        return True
    host = urllib.parse.urlsplit(url).hostname or ""
    try:
        socket.create_connection((host, 443), timeout=PROBE_TIMEOUT_S).close()
    except OSError:
        return True
    return False


def placement_hint(spec: WeightsSpec) -> str:
    """One sentence telling the user which file to get and where to put it."""
    target = spec.package_cache if spec.package_cache is not None else spec.own_cache()
    files = ", ".join(spec.files)
    return (
        f"download {files} from {' and '.join(spec.sources())} on a machine that is online and "
        f"place {'them' if len(spec.files) > 1 else 'it'} in {target}, or pass --weights PATH"
    )


def download(spec: WeightsSpec, progress: Progress | None = None) -> list[Path]:
    """Fetch ``spec``'s files into the package cache (or ours), with progress; return their paths."""
    sources = spec.sources()
    if is_offline(sources[0]):
        raise WeightsError(
            f"{spec.codec}: weights are not on this machine ({', '.join(spec.files)}) and "
            f"{urllib.parse.urlsplit(sources[0]).hostname} cannot be reached; {placement_hint(spec)}."
        )
    folder = spec.package_cache if spec.package_cache is not None else spec.own_cache()
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, url in zip(spec.files, sources):
        paths.append(_fetch(url, folder / name, spec.codec, progress))
    return paths


def _fetch(url: str, target: Path, codec: str, progress: Progress | None) -> Path:
    """Stream ``url`` into a temporary file renamed to ``target`` only when every byte arrived."""
    try:
        with output_file(target) as part, urllib.request.urlopen(url, timeout=30) as response, open(part, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0)
            done = 0
            while chunk := response.read(1 << 20):
                out.write(chunk)
                done += len(chunk)
                if progress is not None and progress(done, total) is False:
                    raise CancelledError(f"{codec}: download of {target.name} cancelled.")
            if total and done != total:
                raise WeightsError(f"{codec}: download of {target.name} stopped at {done} of {total} bytes; try again.")
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        raise WeightsError(f"{codec}: downloading {url} failed ({exc}); try again, or place the file by hand.") from exc
    return target


def load_state(path: Path, codec: str) -> Any:
    """Load a checkpoint as data only (safetensors, or torch's weights-only unpickler).

    Parameters
    ----------
    path : Path
        The checkpoint file.
    codec : str
        The codec's name, for messages.

    Returns
    -------
    Any
        Whatever the file holds; :mod:`explorer.codecs.checkpoint` checks it against the model.

    Raises
    ------
    WeightsError
        If the file is missing, empty, or cannot be read as data.
    """
    if not path.is_file():
        raise WeightsError(f"{codec}: no checkpoint file at '{path}'.")
    if path.stat().st_size == 0:
        raise WeightsError(f"{codec}: '{path.name}' is empty (0 bytes); download or copy it again.")
    try:
        if path.suffix in (".safetensors", ".sft"):
            from safetensors.torch import load_file

            return load_file(str(path), device="cpu")
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - every failure here means the same to the user
        raise WeightsError(
            f"{codec}: '{path.name}' is not a usable checkpoint ({reason(exc)}); "
            "it may be truncated, corrupt, or contain code, which is never loaded."
        ) from exc


def reason(exc: BaseException, limit: int = 90) -> str:
    """An exception in a few words for a one-line message: its type and its first line, shortened.

    Parameters
    ----------
    exc : BaseException
        The exception; its message may be empty or span many lines.
    limit : int
        The most characters of the message kept.

    Returns
    -------
    str
        ``"Type: first line"``, or ``"Type"`` when the message is empty.
    """
    first = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
    if len(first) > limit:
        first = first[: limit - 3].rstrip() + "..."
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def resolve(spec: WeightsSpec, explicit: str | os.PathLike[str] | None, progress: Progress | None = None) -> list[Path]:
    """The paths to load: ``explicit`` if given, else the cache, else a download."""
    if explicit is not None:
        p = Path(explicit)
        if p.is_dir():
            paths = [p / name for name in spec.files]
            missing = [str(q) for q in paths if not q.is_file()]
            if missing:
                raise WeightsError(f"{spec.codec}: folder '{p}' lacks {', '.join(missing)}.")
            return paths
        if not p.is_file():
            raise WeightsError(f"{spec.codec}: no weights file at '{p}'.")
        return [p]
    found = locate(spec)
    if found is not None:
        return found
    return download(spec, progress)
