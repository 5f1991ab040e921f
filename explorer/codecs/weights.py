"""Finding, downloading and safely loading pretrained weights.

Each pretrained codec's :class:`WeightsSpec` says where its files come from and which folders hold
them; :func:`where` turns it into a row of the one table of weights folders that Help > About and
the guide show, and :func:`locate` looks in exactly those folders, in that order. An explicit path
(Open in the window, ``--weights`` on the command line) comes before all of them.

Two kinds of source:

- A Hugging Face repository (SNAC, Mimi, SpeechTokenizer) is fetched file by file with
  ``huggingface_hub``'s ``hf_hub_download`` at a pinned commit, into its cache (``HF_HOME/hub``, the
  ``models--ORG--NAME/snapshots/COMMIT/`` layout that moshi, snac and transformers read; a model kept
  in a folder of its repository, as SpeechTokenizer's is, sits in that folder of the snapshot),
  honouring ``HF_ENDPOINT`` and ``HF_HUB_OFFLINE``. A cut transfer stays ``blobs/ETAG.incomplete``, which
  the next try resumes; only a whole file is linked into the snapshot.
- A release URL (EnCodec, DAC) is streamed into ``NAME.incomplete`` beside the folder its package
  reads, resumed by an HTTP range request on the next try, and moved into place only once its
  SHA-256 matches the pinned digest (:func:`sha256`, the same hash that names a token file's weights).

So a cut, cancelled or altered download is never taken for a model. Progress is reported as (bytes
done, bytes total); the callback returning False cancels. A release download stops at the next
chunk. ``huggingface_hub`` below 1.0 (moshi pins it there) has no hook to stop a transfer, so on
Cancel the call returns at once and nothing more is fetched, while the file in flight finishes in
the background (whole, or left to resume).

Offline (``CODEC_EXPLORER_OFFLINE=1``, ``HF_HUB_OFFLINE=1``, or no route to the host within a few
seconds) the error names the codec, the files and the folder to put them in.

Checkpoints are data, never code: ``torch.load(weights_only=True)`` or safetensors only.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import socket
import threading
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch

from explorer.core.errors import CancelledError, WeightsError

Progress = Callable[[int, int], bool | None]
"""Called with (bytes done, bytes total or 0); returning False cancels."""

PROBE_TIMEOUT_S = 3.0
POLL_S = 0.1
"""How often a Hugging Face transfer's progress is read from its partial file."""
CHUNK = 1 << 20
"""Bytes read at a time while downloading and hashing."""
HASH_IN_NAME = re.compile(r"-([0-9a-f]{8,64})\.")
"""torch hub's convention: ``NAME-HASH.EXT`` carries the leading hex digits of the file's SHA-256."""

_HASHES: dict[tuple[int, int, int, int], str] = {}


def sha256(path: Path) -> str:
    """The hex SHA-256 of a file's bytes, streamed, cached per file version.

    The package's one hash: a token file's weights identity
    (:func:`explorer.codecs.checkpoint.weights_id`) and the check of a download against its pinned
    digest both use it. The cache key is (device, inode, size, modification time), so a file moved
    into place after its check, or loaded again, is not read again.

    Parameters
    ----------
    path : Path
        The file (a symlink is followed, as in a Hugging Face snapshot).

    Returns
    -------
    str
        64 hex digits.
    """
    st = os.stat(path)
    key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
    if key not in _HASHES:
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            while chunk := f.read(CHUNK):
                digest.update(chunk)
        _HASHES[key] = digest.hexdigest()
    return _HASHES[key]


def digest_in_name(name: str) -> str:
    """The leading hex digits of a file's SHA-256 carried in its name (``encodec_24khz-d7cc33bc.th``), or ""."""
    found = HASH_IN_NAME.search(name)
    return found.group(1) if found else ""


@dataclass(frozen=True)
class WeightsSpec:
    """Where one codec's pretrained files come from and where they are kept.

    ``files`` are fetched together (SNAC needs ``config.json`` beside its weights). For a Hugging
    Face repository ``repo`` and its pinned commit ``revision`` are set, and ``subfolder`` names the
    repository's folder that holds the files (SpeechTokenizer's ``speechtokenizer_hubert_avg``; "" for
    the top); for a release download
    ``urls`` gives one URL per file, ``digests`` the SHA-256 (or its leading hex digits; "" where
    none is published) of each, and ``package_cache`` the folder the package itself reads.
    """

    codec: str
    files: tuple[str, ...]
    repo: str | None = None
    revision: str = "main"
    subfolder: str = ""
    urls: tuple[str, ...] = ()
    digests: tuple[str, ...] = ()
    package_cache: Path | None = None

    def __post_init__(self) -> None:
        if self.repo is None and (self.package_cache is None or len(self.urls) != len(self.files)):
            raise ValueError(f"{self.codec}: a release download needs one URL per file and a folder")

    def sources(self) -> list[str]:
        """The URL of each file."""
        if self.repo:
            from huggingface_hub import hf_hub_url

            return [hf_hub_url(self.repo, name, subfolder=self.subfolder or None, revision=self.revision)
                    for name in self.files]
        return list(self.urls)

    def folder(self) -> Path:
        """Where a download lands, and where to place the files by hand."""
        if self.repo:
            return self.snapshot(self.revision)
        return self.package_cache or Path()  # never empty: __post_init__ requires the folder

    def snapshot(self, commit: str) -> Path:
        """The folder of a hub repository's snapshot at ``commit`` that holds the files (its subfolder, if any)."""
        return hub_repo_folder(self.repo or "") / "snapshots" / commit / self.subfolder


def hub_cache() -> Path:
    """The Hugging Face hub cache: ``HF_HUB_CACHE``, or ``HF_HOME/hub`` (read when huggingface_hub is imported)."""
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def hub_repo_folder(repo: str) -> Path:
    """A model repository's folder in the hub cache: ``models--ORG--NAME``."""
    return hub_cache() / ("models--" + repo.replace("/", "--"))


def torch_hub_checkpoints() -> Path:
    """The folder where ``torch.hub.load_state_dict_from_url`` keeps files (EnCodec's cache)."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def descript_cache() -> Path:
    """The folder where ``dac.utils.download`` keeps DAC weights (all three variants)."""
    return Path.home() / ".cache" / "descript" / "dac"


def folders(spec: WeightsSpec) -> list[Path]:
    """The folders :func:`locate` looks in, in order.

    For a Hugging Face repository: the pinned commit's snapshot, then the snapshot that
    ``refs/main`` names, where the package (moshi, snac) puts what it downloads itself.
    """
    if spec.repo is None:
        return [spec.folder()]
    main = _text(hub_repo_folder(spec.repo) / "refs" / "main")
    later = [spec.snapshot(main)] if main and main != spec.revision else []
    return [spec.folder(), *later]


def _text(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


def locate(spec: WeightsSpec) -> list[Path] | None:
    """Return the local paths of all of ``spec``'s files from the first folder that holds them all, or None."""
    for folder in folders(spec):
        paths = [folder / name for name in spec.files]
        if all(p.is_file() for p in paths):
            return paths
    return None


@dataclass(frozen=True)
class WhereRow:
    """One row of the weights table: a codec, its files, the folders looked in (in order), the source."""

    codec: str
    files: tuple[str, ...]
    folders: tuple[str, ...]
    source: str


MAIN_SNAPSHOT = "<refs/main>"
"""Stands, in a shown folder, for the commit a repository's ``refs/main`` file names."""
TABLE_HEADER = ("codec", "file(s)", "looked for in, in order", "downloaded from")


def shown(path: Path) -> str:
    """A folder as the user reads it: the home folder as ``~``, a trailing slash."""
    home = str(Path.home())
    text = str(path)
    if text == home or text.startswith(home + os.sep):
        text = "~" + text[len(home):]
    return text + "/"


def where(spec: WeightsSpec) -> WhereRow:
    """The weights-table row of ``spec``: exactly the folders :func:`locate` reads and what :func:`download` fetches."""
    if spec.repo:
        main = spec.snapshot(MAIN_SNAPSHOT)
        from huggingface_hub import constants

        return WhereRow(spec.codec, spec.files, (shown(spec.folder()), shown(main)),
                        f"{constants.ENDPOINT}/{spec.repo} at commit {spec.revision[:12]}")
    checks = [f" (SHA-256 {'begins ' if len(d) < 64 else ''}{d})" if d else "" for d in spec.digests]
    checks += [""] * (len(spec.urls) - len(checks))
    return WhereRow(spec.codec, spec.files, (shown(spec.folder()),),
                    " and ".join(url + check for url, check in zip(spec.urls, checks)))


def markdown_table(rows: list[WhereRow]) -> str:
    """The weights table in Markdown, as the guide holds it."""
    lines = ["| " + " | ".join(TABLE_HEADER) + " |", "|" + "---|" * len(TABLE_HEADER)]
    for r in rows:
        files = ", ".join(f"`{f}`" for f in r.files)
        looked = " then ".join(f"`{f}`" for f in r.folders)
        lines.append(f"| {r.codec} | {files} | {looked} | {r.source} |")
    return "\n".join(lines)


def is_offline(url: str) -> bool:
    """True when downloads are switched off or the URL's host cannot be reached quickly."""
    return bool(offline_reason(url))


def offline_reason(url: str) -> str:
    """Why nothing can be downloaded from ``url`` now, in a few words, or "" when its host answers.

    Downloads are off when ``CODEC_EXPLORER_OFFLINE=1`` or ``HF_HUB_OFFLINE=1``; otherwise the host is
    asked for a connection, which must come within :data:`PROBE_TIMEOUT_S`.
    """
    from huggingface_hub import constants

    if os.environ.get("CODEC_EXPLORER_OFFLINE") == "1":
        return "downloads are switched off (CODEC_EXPLORER_OFFLINE=1)"
    if constants.HF_HUB_OFFLINE:
        return "downloads are switched off (HF_HUB_OFFLINE=1)"
    parts = urllib.parse.urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        socket.create_connection((parts.hostname or "", port), timeout=PROBE_TIMEOUT_S).close()
    except (OSError, ValueError) as exc:
        return f"{parts.hostname or url} cannot be reached ({type(exc).__name__})"
    return ""


def placement_hint(spec: WeightsSpec) -> str:
    """What to do without a download, in words that fit the window and the command line alike."""
    if spec.repo:
        them = "them" if len(spec.files) > 1 else "it"
        get = f"download {', '.join(spec.files)} from {' and '.join(spec.sources())} and place {them} in {spec.folder()}"
    else:  # a release file's own name may differ from the one its package looks for
        get = " and ".join(f"download {url} and save it as {spec.folder() / name}" for name, url in zip(spec.files, spec.urls))
    return (
        f"on a computer that is online, {get}, or point Codec Explorer at the file you have "
        "(in the window: Open when it asks about weights; on the command line: --weights)"
    )


def download(spec: WeightsSpec, progress: Progress | None = None) -> list[Path]:
    """Fetch ``spec``'s files into the folder :meth:`WeightsSpec.folder` names, with progress; return their paths.

    Raises
    ------
    WeightsError
        Offline, or when a transfer fails or a file does not match its pinned digest.
    CancelledError
        When ``progress`` returns False.
    """
    sources = spec.sources()
    if is_offline(sources[0]):
        raise WeightsError(
            f"{spec.codec}: weights are not on this computer ({', '.join(spec.files)}) and "
            f"{urllib.parse.urlsplit(sources[0]).hostname} cannot be reached; {placement_hint(spec)}."
        )
    if spec.repo:
        return _hub_download(spec, progress)
    spec.folder().mkdir(parents=True, exist_ok=True)
    digests = [*spec.digests, *[""] * len(spec.files)]
    return [_fetch(url, spec.folder() / name, digest, spec.codec, progress)
            for name, url, digest in zip(spec.files, sources, digests)]


def _hub_download(spec: WeightsSpec, progress: Progress | None) -> list[Path]:
    """Every file of ``spec``'s repository at its pinned commit, one after the other, with one progress over all."""
    from huggingface_hub import get_hf_file_metadata

    try:
        metas = [get_hf_file_metadata(url) for url in spec.sources()]
    except Exception as exc:  # noqa: BLE001 - huggingface_hub, requests and OS errors all mean the same here
        raise _hub_failed(spec, exc) from exc
    sizes = [m.size or 0 for m in metas]
    total, done, paths = sum(sizes), 0, []

    def report(n: int) -> bool:
        return progress is None or progress(done + n, total) is not False

    for name, meta, size in zip(spec.files, metas, sizes):
        if not report(0):
            raise CancelledError(f"{spec.codec}: download cancelled before {name}.")
        partial = hub_repo_folder(spec.repo or "") / "blobs" / f"{meta.etag}.incomplete"
        paths.append(_hub_file(spec, name, partial, report))
        done += size
    report(0)
    return paths


def _hub_file(spec: WeightsSpec, name: str, partial: Path, report: Callable[[int], bool]) -> Path:
    """``hf_hub_download`` of one file in a helper thread, its progress read from ``partial``; see the module's note on Cancel."""
    from huggingface_hub import hf_hub_download

    outcome: dict[str, Any] = {}

    def fetch() -> None:
        try:
            outcome["path"] = Path(hf_hub_download(spec.repo or "", name, subfolder=spec.subfolder or None,
                                                   revision=spec.revision))
        except Exception as exc:  # noqa: BLE001 - handed to the calling thread
            outcome["error"] = exc

    worker = threading.Thread(target=fetch, name=f"download {name}", daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(POLL_S)
        if not report(_size(partial)) and worker.is_alive():
            raise CancelledError(f"{spec.codec}: download of {name} cancelled; nothing of it is used.")
    if "error" in outcome:
        raise _hub_failed(spec, outcome["error"]) from outcome["error"]
    path: Path = outcome["path"]
    return path


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _hub_failed(spec: WeightsSpec, exc: BaseException) -> WeightsError:
    return WeightsError(
        f"{spec.codec}: downloading {spec.repo} at commit {spec.revision[:12]} failed ({reason(exc)}); try again "
        f"(a cut download resumes where it stopped), or {placement_hint(spec)}."
    )


def _fetch(url: str, target: Path, digest: str, codec: str, progress: Progress | None) -> Path:
    """Download ``url`` into ``target``: through a resumable partial file, checked against ``digest`` before the move."""
    partial = target.with_name(target.name + ".incomplete")
    try:
        _stream(url, partial, codec, progress)
    except urllib.error.HTTPError as exc:
        if exc.code != 416 or not partial.is_file():  # 416: the partial file already holds every byte
            raise WeightsError(f"{codec}: downloading {url} failed ({reason(exc)}); try again later.") from exc
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        raise WeightsError(
            f"{codec}: downloading {url} failed ({reason(exc)}); try again: the download resumes where it stopped."
        ) from exc
    check_digest(partial, digest, codec, target.name)
    os.replace(partial, target)
    return target


def _stream(url: str, partial: Path, codec: str, progress: Progress | None) -> None:
    """Append ``url``'s bytes to ``partial``, asking only for the ones it lacks; raise unless all arrived."""
    have = _size(partial)
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    with urllib.request.urlopen(request, timeout=30) as response:
        done = have if response.status == 206 else 0  # a server that ignores the range sends it all again
        total = done + int(response.headers.get("Content-Length") or 0)
        with open(partial, "ab" if done else "wb") as out:
            while chunk := response.read(CHUNK):
                out.write(chunk)
                done += len(chunk)
                if progress is not None and progress(done, total) is False:
                    raise CancelledError(f"{codec}: download of {url.rsplit('/', 1)[-1]} cancelled; nothing of it is used.")
    if total > done:
        raise WeightsError(
            f"{codec}: the download of {url.rsplit('/', 1)[-1]} stopped at {done} of {total} bytes; "
            "try again: it resumes where it stopped."
        )


def check_digest(path: Path, digest: str, codec: str, name: str) -> None:
    """Refuse, and delete, a downloaded file whose SHA-256 is not the pinned ``digest`` (or does not begin with it).

    Raises
    ------
    WeightsError
        Naming both hashes, when they differ.
    """
    if not digest:
        return
    got = sha256(path)
    if not got.startswith(digest.lower()):
        path.unlink(missing_ok=True)
        pinned = f"begins {digest}" if len(digest) < 64 else f"is {digest[:16]}..."
        raise WeightsError(
            f"{codec}: the downloaded {name} is not the published file (its SHA-256 is {got[:16]}..., the pinned one "
            f"{pinned}), so it was deleted and not used; try again, and if it happens again something on the way "
            "(a proxy, a changed release) alters the file."
        )


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
    """The paths to load: ``explicit`` if given, else the folders of :func:`folders`, else a download."""
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
