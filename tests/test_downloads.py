"""Downloads through the real code path, against a local server laid out like the Hugging Face hub.

Hub downloads run in a child process whose ``HF_ENDPOINT`` and ``HF_HOME`` point at the local
server and a fresh folder, because huggingface_hub reads both once, at import. Release-URL
downloads (EnCodec, DAC) run here, with a spec whose URL is the local server's.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from huggingface_hub import constants

from explorer.codecs import dac_codec, encodec_codec, mimi_codec, snac_codec, speechtokenizer_codec
from explorer.codecs.weights import WeightsSpec, digest_in_name, download, locate
from explorer.core.errors import CancelledError, WeightsError

ROOT = Path(__file__).resolve().parent.parent


class Server:
    """A local server with a hub's file routes (``/ORG/NAME/resolve/REV/FILE``, HEAD and ranged GET) and plain files.

    ``cuts`` is how many GETs of a file are cut after ``cut_at`` bytes; ``pause`` slows every 64 KiB.
    ``log`` records (method, path, Range header) of every request.
    """

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.commits: dict[str, str] = {}
        self.cuts, self.cut_at, self.pause = 0, 0, 0.0
        self.log: list[tuple[str, str, str]] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_HEAD(self) -> None:  # noqa: N802 - the stdlib's name
                server.answer(self, body=False)

            def do_GET(self) -> None:  # noqa: N802
                server.answer(self, body=True)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def add_repo(self, repo: str, commit: str, files: dict[str, bytes]) -> None:
        self.commits[repo] = commit
        for name, data in files.items():
            self.files[f"/{repo}/resolve/{commit}/{name}"] = data

    def answer(self, h: http.server.BaseHTTPRequestHandler, body: bool) -> None:
        rng = h.headers.get("Range", "")
        self.log.append((h.command, h.path, rng))
        data = self.files.get(h.path)
        if data is None:
            h.send_response(404)
            h.send_header("X-Error-Code", "EntryNotFound" if "/resolve/" in h.path else "")
            h.send_header("Content-Length", "0")
            h.end_headers()
            return
        start = int(rng.removeprefix("bytes=").split("-")[0]) if rng else 0
        if start >= len(data) and rng:
            h.send_response(416)
            h.send_header("Content-Length", "0")
            h.end_headers()
            return
        h.send_response(206 if rng else 200)
        repo = h.path.split("/resolve/")[0].lstrip("/")
        if repo in self.commits:
            h.send_header("X-Repo-Commit", self.commits[repo])
            h.send_header("ETag", f'"{hashlib.sha256(data).hexdigest()}"')
        if rng:
            h.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        h.send_header("Content-Length", str(len(data) - start))
        h.send_header("Accept-Ranges", "bytes")
        h.end_headers()
        if body:
            self.send_body(h, data[start:])

    def send_body(self, h: http.server.BaseHTTPRequestHandler, rest: bytes) -> None:
        cut = self.cuts > 0
        if cut:
            self.cuts -= 1
            rest = rest[: self.cut_at]
        try:
            for i in range(0, len(rest), 1 << 16):
                h.wfile.write(rest[i: i + (1 << 16)])
                h.wfile.flush()
                time.sleep(self.pause)
        except OSError:  # the client went away
            pass
        if cut:
            h.close_connection = True
            h.wfile.flush()
            h.connection.shutdown(2)

    def gets(self, name: str) -> list[str]:
        """The Range header of every GET of a file called ``name`` (empty when none was sent)."""
        return [rng for method, path, rng in self.log if method == "GET" and path.endswith("/" + name)]

    def close(self) -> None:
        self.httpd.shutdown()


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


def child_env(home: Path, endpoint: str, **env: str) -> dict[str, str]:
    """The environment of a fresh Python whose hub and home are ``home``, whose hub server is ``endpoint``, and
    which may download (this session's switches to offline are left out)."""
    full = {k: v for k, v in os.environ.items() if k not in ("CODEC_EXPLORER_OFFLINE", "HF_HUB_OFFLINE", "HF_HUB_CACHE")}
    full.update(HOME=str(home), HF_HOME=str(home / "hf"), TORCH_HOME=str(home / "torch"), HF_ENDPOINT=endpoint,
                HF_HUB_DISABLE_TELEMETRY="1", PYTHONPATH=str(ROOT), **env)
    return full


def child(script: str, home: Path, endpoint: str, **env: str) -> dict:
    """Run ``script`` in a fresh Python set up by :func:`child_env`.

    The script prints one JSON object as its last line; that object is returned.
    """
    p = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True,
                       env=child_env(home, endpoint, **env), cwd=ROOT, timeout=120)
    assert p.returncode == 0, p.stderr[-3000:]
    return json.loads(p.stdout.strip().splitlines()[-1])


MIMI_BYTES = bytes(range(256)) * 100_000  # 25.6 MB, not a model: these tests are about the transfer
MIMI_NAME = mimi_codec.weights_spec().files[0]

PRELUDE = """
    import json, time
    from explorer.codecs import mimi_codec
    from explorer.codecs.weights import download, locate
    from explorer.core.errors import CancelledError, WeightsError
    spec = mimi_codec.weights_spec()
    out = {}
    def attempt(key, progress=None):
        t = time.perf_counter()
        try:
            out[key] = [str(p) for p in download(spec, progress)]
        except (CancelledError, WeightsError) as exc:
            out[key] = type(exc).__name__ + ": " + str(exc)
        out[key + "_s"] = time.perf_counter() - t
        out[key + "_found"] = [str(p) for p in locate(spec) or []]
"""


def test_a_hub_download_is_pinned_and_lands_where_moshi_finds_it(server, tmp_path):
    server.add_repo(mimi_codec.weights_spec().repo, mimi_codec.REVISION, {MIMI_NAME: MIMI_BYTES})
    out = child(PRELUDE + """
    seen = []
    attempt("first", lambda done, total: seen.append((done, total)))
    out["seen"] = seen
    print(json.dumps(out))
    """, tmp_path, server.url)
    snapshot = tmp_path / "hf" / "hub" / "models--kyutai--moshiko-pytorch-bf16" / "snapshots" / mimi_codec.REVISION
    assert out["first"] == [str(snapshot / MIMI_NAME)] == out["first_found"]
    assert (snapshot / MIMI_NAME).read_bytes() == MIMI_BYTES
    assert out["seen"][-1] == [len(MIMI_BYTES)] * 2
    assert server.gets(MIMI_NAME) and all(f"/resolve/{mimi_codec.REVISION}/" in p for _, p, _ in server.log)
    assert not (tmp_path / ".cache" / "codec-explorer").exists()  # no second copy beside the hub cache

    found = child(f"""
    import json
    from huggingface_hub import try_to_load_from_cache
    from moshi.models import loaders
    print(json.dumps({{"moshi": str(loaders.hf_get(loaders.MIMI_NAME, loaders.DEFAULT_REPO, revision="{mimi_codec.REVISION}")),
                      "hub": try_to_load_from_cache(loaders.DEFAULT_REPO, loaders.MIMI_NAME, revision="{mimi_codec.REVISION}")}}))
    """, tmp_path, server.url, HF_HUB_OFFLINE="1")
    assert found == {"moshi": str(snapshot / MIMI_NAME), "hub": str(snapshot / MIMI_NAME)}


def test_a_cut_hub_download_is_never_used_and_the_next_try_resumes(server, tmp_path):
    server.add_repo(mimi_codec.weights_spec().repo, mimi_codec.REVISION, {MIMI_NAME: MIMI_BYTES})
    server.cuts, server.cut_at = 1, 15_000_000
    out = child(PRELUDE + """
    attempt("cut")
    attempt("again")
    print(json.dumps(out))
    """, tmp_path, server.url)
    assert out["cut"].startswith("WeightsError: mimi: downloading kyutai/moshiko-pytorch-bf16 at commit 2bfc9ae6e890 failed")
    assert "try again (a cut download resumes where it stopped)" in out["cut"]
    assert out["cut_found"] == []
    assert out["again"] == out["again_found"] and Path(out["again"][0]).read_bytes() == MIMI_BYTES
    # huggingface_hub writes 10 MiB at a time: the second try asks only for what followed the first 10 MiB
    assert server.gets(MIMI_NAME) == ["", f"bytes={constants.DOWNLOAD_CHUNK_SIZE}-"]


def test_a_cancelled_hub_download_returns_at_once_and_is_never_used(server, tmp_path):
    server.add_repo(mimi_codec.weights_spec().repo, mimi_codec.REVISION, {MIMI_NAME: MIMI_BYTES})
    server.pause = 0.005  # about 2 s for the file
    out = child(PRELUDE + """
    calls = []
    attempt("cancelled", lambda done, total: calls.append(done) or len(calls) < 2)  # Cancel at the first report in flight
    attempt("again")
    print(json.dumps(out))
    """, tmp_path, server.url)
    assert out["cancelled"].startswith("CancelledError: mimi: download of tokenizer-")
    assert out["cancelled_s"] < 0.8 and out["cancelled_found"] == []
    assert Path(out["again"][0]).read_bytes() == MIMI_BYTES


def test_hf_hub_offline_fails_at_once_and_says_where_the_file_goes(server, tmp_path):
    out = child(PRELUDE + """
    attempt("offline")
    print(json.dumps(out))
    """, tmp_path, server.url, HF_HUB_OFFLINE="1")
    folder = tmp_path / "hf" / "hub" / "models--kyutai--moshiko-pytorch-bf16" / "snapshots" / mimi_codec.REVISION
    assert out["offline"].startswith("WeightsError: mimi: weights are not on this computer") and out["offline_s"] < 1
    assert f"place it in {folder}" in out["offline"] and f"{server.url}/kyutai/moshiko-pytorch-bf16/resolve/" in out["offline"]
    assert server.log == []


def test_snac_fetches_both_files_of_its_pinned_commit(server, tmp_path):
    files = {"config.json": b'{"a": 1}', "pytorch_model.bin": b"w" * 300_000}
    server.add_repo("hubertsiuzdak/snac_32khz", snac_codec.REVISIONS["snac-32khz"], files)
    out = child("""
    import json
    from explorer.codecs import snac_codec
    from explorer.codecs.weights import download
    seen = []
    paths = download(snac_codec.weights_spec("snac-32khz"), lambda d, t: seen.append((d, t)))
    print(json.dumps({"paths": [str(p) for p in paths], "seen": seen}))
    """, tmp_path, server.url)
    assert [Path(p).read_bytes() for p in out["paths"]] == list(files.values())
    assert out["seen"][-1] == [300_008, 300_008] and [d for d, _ in out["seen"]] == sorted(d for d, _ in out["seen"])


def test_speechtokenizer_fetches_its_repository_folder_at_its_pinned_commit(server, tmp_path):
    st = speechtokenizer_codec
    files = {"config.json": b'{"n_q": 8}', "SpeechTokenizer.pt": b"w" * 200_000}
    server.add_repo(st.REPO, st.REVISION, {f"{st.SUBFOLDER}/{name}": data for name, data in files.items()})
    out = child("""
    import json
    from explorer.codecs import speechtokenizer_codec
    from explorer.codecs.weights import download, locate
    spec = speechtokenizer_codec.weights_spec()
    paths = download(spec)
    print(json.dumps({"paths": [str(p) for p in paths], "found": [str(p) for p in locate(spec) or []]}))
    """, tmp_path, server.url)
    folder = tmp_path / "hf" / "hub" / "models--fnlp--SpeechTokenizer" / "snapshots" / st.REVISION / st.SUBFOLDER
    assert out["paths"] == out["found"] == [str(folder / name) for name in files]
    assert [Path(p).read_bytes() for p in out["paths"]] == list(files.values())
    assert server.gets("SpeechTokenizer.pt") and all(f"/resolve/{st.REVISION}/{st.SUBFOLDER}/" in p for _, p, _ in server.log)


@pytest.fixture
def online(monkeypatch):
    monkeypatch.delenv("CODEC_EXPLORER_OFFLINE", raising=False)


def release_spec(server: Server, folder: Path, name: str, data: bytes, digest: str) -> WeightsSpec:
    server.files[f"/releases/{name}"] = data
    return WeightsSpec(codec="encodec-24khz", files=(name,), urls=(f"{server.url}/releases/{name}",),
                       digests=(digest,), package_cache=folder)


def test_a_release_file_with_the_wrong_hash_is_refused_and_not_kept(server, tmp_path, online):
    name = encodec_codec.VARIANTS["encodec-24khz"]["checkpoint"]  # its name says its SHA-256 begins d7cc33bc
    spec = release_spec(server, tmp_path, name, b"not the published file", digest_in_name(name))
    with pytest.raises(WeightsError) as err:
        download(spec)
    assert str(err.value).startswith(f"encodec-24khz: the downloaded {name} is not the published file")
    assert "the pinned one begins d7cc33bc), so it was deleted and not used" in str(err.value)
    assert list(tmp_path.iterdir()) == [] and locate(spec) is None


def test_a_release_file_with_the_right_hash_is_moved_into_place(server, tmp_path, online):
    data = b"published weights" * 1000
    name = f"model-{hashlib.sha256(data).hexdigest()[:8]}.th"
    seen: list[tuple[int, int]] = []
    spec = release_spec(server, tmp_path, name, data, digest_in_name(name))
    assert download(spec, lambda done, total: seen.append((done, total))) == [tmp_path / name]
    assert (tmp_path / name).read_bytes() == data and seen[-1] == (len(data), len(data))
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_a_cut_or_cancelled_release_download_is_never_used_and_resumes(server, tmp_path, online):
    data = os.urandom(3 << 20)
    spec = release_spec(server, tmp_path, "weights.pth", data, hashlib.sha256(data).hexdigest())
    server.cuts, server.cut_at = 1, 1 << 20
    with pytest.raises(WeightsError, match=r"stopped at 1048576 of 3145728 bytes; try again: it resumes where it stopped"):
        download(spec)
    assert locate(spec) is None
    with pytest.raises(CancelledError, match="nothing of it is used"):
        download(spec, lambda done, total: done < (2 << 20))
    assert locate(spec) is None
    assert download(spec) == [tmp_path / "weights.pth"] and (tmp_path / "weights.pth").read_bytes() == data
    assert server.gets("weights.pth") == ["", "bytes=1048576-", f"bytes={(2 << 20)}-"]


def test_release_specs_pin_what_could_be_found():
    assert encodec_codec.weights_spec("encodec-48khz").digests == ("7e698e3e",)
    assert dac_codec.weights_spec("dac-44khz").digests[0].startswith("a88eed82")
    assert {snac_codec.weights_spec(n).revision for n in snac_codec.CONFIGS} == set(snac_codec.REVISIONS.values())
    assert all(len(r) == 40 for r in [*snac_codec.REVISIONS.values(), mimi_codec.REVISION, speechtokenizer_codec.REVISION])
