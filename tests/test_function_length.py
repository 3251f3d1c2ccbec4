"""Every function of the shipped packages fits on one screen: its code, docstring aside, within 30 lines.

ruff counts statements and branches, not lines, so the length is checked here.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE_FOLDERS = ("fracdet", "fracdet_core", "components", "pipelines")
MAX_LINES = 30


def code_lines(function: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Lines from the first statement after the docstring to the function's end."""
    body = function.body
    has_docstring = isinstance(body[0], ast.Expr) and isinstance(getattr(body[0].value, "value", None), str)
    first = body[1] if has_docstring and len(body) > 1 else body[0]
    return function.end_lineno - first.lineno + 1


def long_functions(source: str, name: str) -> list[str]:
    tree = ast.parse(source)
    return [f"{name}:{node.lineno} {node.name} ({code_lines(node)} lines)" for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and code_lines(node) > MAX_LINES]


def test_no_function_of_the_packages_is_longer_than_a_screen():
    found = [line for folder in PACKAGE_FOLDERS for path in sorted((REPO / folder).rglob("*.py"))
             for line in long_functions(path.read_text(), str(path.relative_to(REPO)))]
    assert not found, "split these into named steps:\n" + "\n".join(found)


def test_a_long_function_is_found_and_its_docstring_does_not_count():
    docstring = '    """' + "why\n" * 40 + '    """\n'
    short = "def short():\n" + docstring + "    x = 1\n" * MAX_LINES
    long = "def long():\n" + docstring + "    x = 1\n" * (MAX_LINES + 1)
    assert long_functions(short, "m.py") == []
    assert long_functions(long, "m.py") == [f"m.py:1 long ({MAX_LINES + 1} lines)"]
