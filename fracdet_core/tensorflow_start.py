"""Import TensorFlow without its start-up chatter on stderr, for commands that print only their own lines.

TensorFlow's native libraries log while they load, before anything in Python can configure them:
absl's "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
then INFO records such as "oneDNN custom operations are on" (port.cc) and the CPU-feature note.
Two of its shared libraries each carry that code, so each line comes twice; and they are written
before absl's logging is initialised, so `TF_CPP_MIN_LOG_LEVEL` does not silence them.

`import_tensorflow_quietly` therefore points file descriptor 2 at a temporary file while TensorFlow
is imported, then writes back what was captured except that chatter: absl's banner and INFO
records (with their continuation lines). Warnings, errors and anything Python wrote pass through,
in order. `TF_CPP_MIN_LOG_LEVEL=0`, TensorFlow's own way of asking for INFO, keeps everything.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
import tempfile
from typing import Final

ABSL_BANNER: Final[str] = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
# absl's record header: severity, MMDD, time (before absl is initialised, "00:00:" and the epoch), thread, file:line]
_ABSL_RECORD = re.compile(r"^(?P<severity>[IWEF])\d{4} [\d:.]+\s+\d+ [^\]\s]+:\d+\]")


def import_tensorflow_quietly() -> None:
    """Import TensorFlow (once per process) with its start-up chatter dropped; see the module docstring."""
    if "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            importlib.import_module("tensorflow")
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            text = captured.read().decode("utf-8", errors="replace")
            sys.stderr.write(without_chatter(text, keep_info=os.environ.get("TF_CPP_MIN_LOG_LEVEL", "").strip() == "0"))
            sys.stderr.flush()


def without_chatter(text: str, *, keep_info: bool = False) -> str:
    """`text` less absl's banner and INFO records, each with the lines that continue it."""
    if keep_info:
        return text
    kept: list[str] = []
    dropping = False
    for line in text.splitlines(keepends=True):
        record = _ABSL_RECORD.match(line)
        if line.rstrip("\n") == ABSL_BANNER:
            dropping = False
            continue
        if record is not None:
            dropping = record.group("severity") == "I"
        if not dropping:
            kept.append(line)
    return "".join(kept)
