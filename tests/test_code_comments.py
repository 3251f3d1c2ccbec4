"""No comment or docstring of the shipped packages names a CPU or a measured speed.

Figures measured on one machine go stale as the code and the machines change; they live in the
dated experiments page (docs/), and a comment says why in a line. Instruction sets stay allowed:
"oneDNN's AVX-512 kernels corrupt memory, so it is capped at AVX2" is a fact the code acts on.
Only comments and docstrings are read, so code that prints a rate ("images/s") is not flagged.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE_FOLDERS = ("fracdet", "fracdet_core", "components", "pipelines")
CPU_NAME = re.compile(r"\b(EPYC|Xeon|Ryzen|Graviton\d*|Zen ?\d|Core i\d)\b", re.IGNORECASE)
MEASURED_SPEED = re.compile(
    r"\d(\.\d+)?\s*(images/s|img/s|GFLOP/s|it/s)"  # a rate
    r"|\d(\.\d+)?\s*x\s+(faster|slower)\b"  # a speed-up
    r"|\bon (an? )?\d+[- ]cores?\b",  # the machine it was measured on
    re.IGNORECASE,
)


def prose(source: str) -> Iterator[tuple[int, str]]:
    """(line number, text) of every comment and every line of every docstring in `source`."""
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            yield token.start[0], token.string
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                for offset, line in enumerate(first.value.value.splitlines()):
                    yield first.lineno + offset, line


def findings(source: str, name: str) -> list[str]:
    """`name:line: text` for each comment or docstring line that names a CPU or a measured speed, in line order."""
    return [f"{name}:{line}: {text.strip()}" for line, text in sorted(prose(source))
            if CPU_NAME.search(text) or MEASURED_SPEED.search(text)]


def test_no_comment_or_docstring_of_the_packages_names_a_cpu_or_a_measured_speed():
    found = [finding for folder in PACKAGE_FOLDERS for path in sorted((REPO / folder).rglob("*.py"))
             for finding in findings(path.read_text(), str(path.relative_to(REPO)))]
    assert not found, "say why without the figures (they go to docs/):\n" + "\n".join(found)


PLANTED = '''"""A module.

Trains at 87.6 images/s on Zen 4.
"""


def encode(image):
    """Encode one image."""
    # Level 3: 2.4x faster than the default 6.
    rate = f"{count / seconds:.1f} images/s"  # printed for the user: code, not prose
    # oneDNN's AVX-512 kernels corrupt memory, so it is capped at AVX2.
    return image.save(level=3)  # measured on a 2-core EPYC


class Cache:
    """Keeps the split in memory: 1.25x faster on 2 cores."""
'''


def test_the_checker_finds_each_planted_cpu_and_speed_and_nothing_else():
    assert findings(PLANTED, "planted.py") == [
        "planted.py:3: Trains at 87.6 images/s on Zen 4.",
        "planted.py:9: # Level 3: 2.4x faster than the default 6.",
        "planted.py:12: # measured on a 2-core EPYC",
        "planted.py:16: Keeps the split in memory: 1.25x faster on 2 cores.",
    ]


def test_the_rules_one_by_one():
    for text in ("Xeon Gold", "an AMD Ryzen", "AWS Graviton3", "Intel Core i7", "12 img/s", "3.8 GFLOP/s", "40 it/s",
                 "twice as slow: 2x slower", "on a 16-core machine", "on 4 cores"):
        assert findings(f"# {text}\n", "m.py") == [f"m.py:1: # {text}"], text
    for text in ("AVX-512 and AVX2 kernels", "fracdet_core is the library", "the zenith", "images/s, wall time",
                 "one core per worker", "an x faster than y"):
        assert findings(f"# {text}\n", "m.py") == [], text
