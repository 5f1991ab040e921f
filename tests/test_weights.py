"""Weights: cache layouts, the one table of weights folders, explicit paths, offline failure, refusing code.

Downloads themselves are tested in ``test_downloads.py``.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import random_weights
from explorer.codecs import encodec_codec
from explorer.codecs.registry import CODEC_NAMES, DEFAULT_CODEC, load_codec, weights_available, weights_table
from explorer.codecs.weights import load_state, locate
from explorer.core.errors import WeightsError

ROOT = Path(__file__).resolve().parent.parent


class Payload:
    """A pickled object whose unpickling would run code."""

    def __reduce__(self):
        return (os.system, ("touch /tmp/codec-explorer-pwned",))


def test_hf_cache_layout_is_found(loaded):
    loaded("snac-24khz")
    paths = locate(random_weights.spec_of("snac-24khz"))
    assert paths is not None
    assert "models--hubertsiuzdak--snac_24khz/snapshots" in str(paths[0])


def test_explicit_weights_path_is_used(tmp_path, loaded):
    loaded("encodec-24khz")
    src = locate(random_weights.spec_of("encodec-24khz"))[0]
    dst = tmp_path / "my-encodec.th"
    dst.write_bytes(src.read_bytes())
    codec = load_codec("encodec-24khz", torch.device("cpu"), weights=dst)
    assert codec.info.name == "encodec-24khz"
    with pytest.raises(WeightsError, match="no weights file"):
        load_codec("encodec-24khz", torch.device("cpu"), weights=tmp_path / "missing.th")


def test_offline_without_weights_fails_fast_and_says_where_to_put_them(monkeypatch, tmp_path):
    monkeypatch.delenv("CODEC_EXPLORER_OFFLINE", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("CODEC_EXPLORER_CACHE", str(tmp_path / "cache"))
    assert not weights_available("dac-24khz")
    t = time.perf_counter()
    with pytest.raises(WeightsError) as err:
        load_codec("dac-24khz", torch.device("cpu"))
    assert time.perf_counter() - t < 5
    message = str(err.value)
    assert message.startswith("dac-24khz: weights are not on this computer (weights_24khz_8kbps_0.0.4.pth)")
    assert f"/0.0.4/weights_24khz.pth and save it as {tmp_path}/.cache/descript/dac/weights_24khz_8kbps_0.0.4.pth" in message
    # the same words serve the window and the command line: no bare flag to "pass"
    assert "(in the window: Open when it asks about weights; on the command line: --weights)" in message
    assert "pass --weights" not in message and "PATH" not in message


def test_checkpoint_with_code_is_refused(tmp_path):
    bad = tmp_path / "evil.th"
    torch.save({"state": Payload()}, bad)
    with pytest.raises(WeightsError, match="never loaded"):
        load_state(bad, "encodec-24khz")
    assert not os.path.exists("/tmp/codec-explorer-pwned")
    raw = tmp_path / "evil.pth"
    raw.write_bytes(pickle.dumps(Payload()))
    with pytest.raises(WeightsError):
        load_codec("dac-16khz", torch.device("cpu"), weights=raw)
    assert not os.path.exists("/tmp/codec-explorer-pwned")


def test_truncated_checkpoint_gives_a_clear_error(tmp_path, loaded):
    loaded("encodec-24khz")
    src = locate(random_weights.spec_of("encodec-24khz"))[0]
    cut = tmp_path / encodec_codec.VARIANTS["encodec-24khz"]["checkpoint"]
    cut.write_bytes(src.read_bytes()[:5000])
    with pytest.raises(WeightsError, match="truncated, corrupt"):
        load_codec("encodec-24khz", torch.device("cpu"), weights=cut)


def in_a_default_home(tmp_path: Path, script: str) -> dict:
    """Run ``script`` in a fresh Python with an empty home and no cache variables set: the default folders."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("HF_HOME", "HF_HUB_CACHE", "TORCH_HOME", "XDG_CACHE_HOME", "HF_ENDPOINT", "CODEC_EXPLORER_CACHE")}
    env.update(HOME=str(tmp_path), PYTHONPATH=str(ROOT))
    p = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    return json.loads(p.stdout.strip().splitlines()[-1])


def test_the_guides_weights_table_is_the_one_the_code_makes(tmp_path):
    made = in_a_default_home(tmp_path, "import json\n"
                             "from explorer.codecs.registry import weights_table\n"
                             "from explorer.codecs.weights import markdown_table\n"
                             "print(json.dumps(markdown_table(weights_table())))")
    guide = (ROOT / "resources" / "guide.md").read_text().splitlines()
    start = guide.index(made.splitlines()[0])
    end = next(i for i in range(start, len(guide)) if not guide[i].startswith("|"))
    assert "\n".join(guide[start:end]) == made, "paste this table into resources/guide.md:\n" + made


def test_each_codec_is_found_in_the_first_folder_its_row_names(tmp_path):
    """The table tells the truth: files put where a row says are found, and only there (not the hub cache's root)."""
    found = in_a_default_home(tmp_path, """
import json
from pathlib import Path
from explorer.codecs.registry import weights_available, weights_table
out = {}
for row in weights_table():
    loose = Path(row.folders[0].replace("~", str(Path.home()), 1)).parents[2]  # the hub cache's root; ~/.cache
    for name in row.files:
        (loose / name).parent.mkdir(parents=True, exist_ok=True)
        (loose / name).write_bytes(b"x")
    before = weights_available(row.codec)
    folder = Path(row.folders[0].replace("~", str(Path.home()), 1))
    folder.mkdir(parents=True, exist_ok=True)
    for name in row.files:
        (folder / name).write_bytes(b"x")
    out[row.codec] = [before, weights_available(row.codec)]
print(json.dumps(out))
""")
    assert set(found) == set(CODEC_NAMES) - {DEFAULT_CODEC, "opus"}  # rvq-lab is built in; Opus has no weights
    assert all(v == [False, True] for v in found.values()), found


def test_the_table_says_where_each_family_really_looks():
    rows = {r.codec: r for r in weights_table()}
    for dac in ("dac-44khz", "dac-24khz", "dac-16khz"):  # all DAC variants use descript's folder, none the hub's
        assert rows[dac].folders == (f"{Path.home()}/.cache/descript/dac/".replace(str(Path.home()), "~", 1),)
    mimi = rows["mimi"].folders
    assert mimi[0].endswith("/hub/models--kyutai--moshiko-pytorch-bf16/snapshots/2bfc9ae6e89079a5cc7ed2a68436010d91a3d289/")
    assert mimi[1].endswith("/hub/models--kyutai--moshiko-pytorch-bf16/snapshots/<refs/main>/")
    st = rows["speechtokenizer"]  # its files sit in a folder of the repository, in every snapshot
    assert st.files == ("config.json", "SpeechTokenizer.pt")
    assert st.folders[0].endswith("/hub/models--fnlp--SpeechTokenizer/snapshots/793c3ac97eeb36463bdbb5e1d5e5e9a6b16cc656/"
                                  "speechtokenizer_hubert_avg/")
    assert st.folders[1].endswith("/hub/models--fnlp--SpeechTokenizer/snapshots/<refs/main>/speechtokenizer_hubert_avg/")
    assert st.source.endswith("/fnlp/SpeechTokenizer at commit 793c3ac97eeb")


def test_one_hash_serves_weights_identities_and_download_checks(tmp_path):
    from explorer.codecs import checkpoint, weights

    assert checkpoint.sha256 is weights.sha256
    part = tmp_path / "w.th.incomplete"
    part.write_bytes(b"z" * 1000)
    first = weights.sha256(part)
    os.replace(part, tmp_path / "w.th")
    (tmp_path / "w.th").chmod(0o000)  # moved into place after its check: not read again
    try:
        assert checkpoint.weights_id(tmp_path / "w.th") == {"file": "w.th", "sha256": first}
    finally:
        (tmp_path / "w.th").chmod(0o644)


def test_about_shows_the_weights_table_word_wrapped_inside_the_dialog(qtbot):
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QMainWindow, QMenu

    from explorer.ui.help_menu import HelpMenu

    window = QMainWindow()
    qtbot.addWidget(window)
    menu = HelpMenu(window, QMenu(window), QSettings(), lambda: "cpu", lambda: None)
    menu.show_about()
    about = menu.about
    qtbot.waitExposed(about)
    text = about.browser.toPlainText()
    for row in weights_table():
        assert row.codec in text and row.folders[0] in text.replace("\n", "")
    assert "DAC 16/24 kHz" not in text and "Hugging Face cache (" not in text
    qtbot.waitUntil(lambda: about.browser.document().size().width() <= about.browser.viewport().width())
    assert about.browser.horizontalScrollBar().maximum() == 0
    about.resize(640, 500)
    qtbot.waitUntil(lambda: about.browser.horizontalScrollBar().maximum() == 0)
