"""`first_line`: an exception's message in the one line that the errors built from it take."""

from __future__ import annotations

import pytest

from fracdet_core.errors import first_line


@pytest.mark.parametrize(("error", "expected"), [
    (ValueError("bad header\n  at byte 12\n  in frame 3"), "bad header"),
    (OSError("\n  truncated file\nmore"), "truncated file"),
    (KeyError(), "KeyError"),
    (RuntimeError("   \n "), "RuntimeError"),
])
def test_first_line(error, expected):
    assert first_line(error) == expected
