"""Progress bars that suit both a terminal and a pipeline task's log.

On a terminal the bar redraws in place; in a log (a KFP task, CI) a redraw is a new line, so
the bar prints at most every 15 seconds, each line with count, rate and ETA.
"""

from __future__ import annotations

import sys

from tqdm import tqdm

_LOG_INTERVAL_S = 15.0


def progress_bar(total: int, description: str, *, enabled: bool = True) -> tqdm:
    interactive = sys.stderr.isatty()
    return tqdm(
        total=total,
        desc=description,
        unit="img",
        disable=not enabled,
        smoothing=0.1,
        mininterval=0.1 if interactive else _LOG_INTERVAL_S,
        ascii=not interactive,
        dynamic_ncols=interactive,
    )
