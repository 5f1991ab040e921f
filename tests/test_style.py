"""Architecture rules that tests can hold: the core stays Qt-free and type-checks strictly."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent


def test_the_core_imports_without_qt():
    code = (
        "import sys; sys.modules['PySide6'] = None; sys.modules['pyqtgraph'] = None\n"
        "import explorer.cli, explorer.services.engine, explorer.core.metrics, explorer.codecs.registry\n"
        "from explorer.codecs import rvqlab, encodec_codec, dac_codec, snac_codec, mimi_codec, speechtokenizer_codec, opus_codec\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_whole_package_type_checks_strictly():
    """Every floor, the ui and the codec families included (pyproject's [tool.mypy] says what it relaxes)."""
    p = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--ignore-missing-imports", "--follow-imports=silent", "explorer"],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert p.returncode == 0, p.stdout[-3000:]


def test_the_floors_hold():
    """import-linter's contracts in pyproject.toml: every import points down a floor, no circles,
    no Qt below the ui, no audio device below the audio floor (imports inside functions count)."""
    lint = Path(sys.executable).parent / "lint-imports"
    p = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-2000:]
    assert "0 broken" in p.stdout
