"""The ui layer stays in small pieces: no module over 400 lines, no function over 60 (STYLE.md)."""

from __future__ import annotations

import ast
from pathlib import Path

UI = Path(__file__).resolve().parent.parent / "explorer" / "ui"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def sizes(path: Path) -> tuple[int, list[tuple[str, int]]]:
    """The module's line count, and each function's (name, lines), decorators excluded."""
    text = path.read_text()
    functions = [(node.name, node.end_lineno - node.lineno + 1) for node in ast.walk(ast.parse(text))
                 if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno is not None]
    return len(text.splitlines()), functions


def test_no_ui_module_is_over_400_lines_and_no_function_over_60():
    modules = sorted(UI.glob("*.py"))
    assert len(modules) > 10
    too_long = []
    for path in modules:
        lines, functions = sizes(path)
        if lines > MAX_MODULE_LINES:
            too_long.append(f"{path.name}: {lines} lines")
        too_long += [f"{path.name}: {name}() {n} lines" for name, n in functions if n > MAX_FUNCTION_LINES]
    assert not too_long, too_long


def test_the_check_counts_what_it_should(tmp_path):
    path = tmp_path / "m.py"
    path.write_text("def f():\n    x = 1\n    return x\n\n\nclass C:\n    def g(self):\n        pass\n")
    assert sizes(path) == (8, [("f", 3), ("g", 2)])
