"""kfp.local's side effect on `print`, undone after a run (the whole runs are in test_pipeline.py and test_ingest_fanout.py)."""

from __future__ import annotations

import builtins
import threading

from kfp.local import logging_utils

from fracdet_pipelines.local_run import print_restored


def test_overlapping_task_logs_leave_kfp_locals_indenting_print_behind_and_the_guard_restores_it():
    """Two tasks of a ParallelFor, as kfp.local's dispatcher runs them: each inside `indented_print`, overlapping."""
    real_print = builtins.print
    first_inside, second_inside, first_done = threading.Event(), threading.Event(), threading.Event()

    def first_task() -> None:
        with logging_utils.indented_print():
            first_inside.set()
            second_inside.wait(5)
        first_done.set()

    def second_task() -> None:
        first_inside.wait(5)
        with logging_utils.indented_print():  # finds the first task's indenting print, and puts it back last
            second_inside.set()
            first_done.wait(5)

    with print_restored():
        threads = [threading.Thread(target=first_task), threading.Thread(target=second_task)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        leaked = builtins.print
    assert leaked is not real_print  # kfp.local's race, reproduced
    assert builtins.print is real_print
