"""How a finished task of a local run is shown: one line with its state, time and headline figures.

The figures come from the outputs the task's component recorded (artifact metadata and returned
values, the same ones the Kubeflow dashboard shows beside the task), so a line costs no file
reads and says what a person checks first: how much data came in, how training went, whether the
model was blessed, which version it became.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import TextIO

from fracdet_pipelines.kfp_local_patches import FinishedTask

_NAME_WIDTH = 15


def task_line(task: FinishedTask) -> str:
    """E.g. `train           succeeded   42.0 s  12 epochs, best val loss 0.8123`."""
    state = "succeeded" if task.succeeded else "FAILED"
    line = f"{task.name:<{_NAME_WIDTH}} {state:<9} {task.seconds:7.1f} s"
    figures = _FIGURES.get(task.name) if task.succeeded else None
    return f"{line}  {figures(task.outputs)}" if figures else line


def task_printer(out: TextIO) -> Callable[[FinishedTask], None]:
    """A report for `kfp_local_patches.patched_kfp_local`: each task's line on `out`, and after a failed task's line its log."""
    lock = threading.Lock()  # parallel tasks finish in their own threads: a line and its log stay together

    def print_task(task: FinishedTask) -> None:
        with lock:
            out.write(task_line(task) + "\n")
            if not task.succeeded:
                out.write(task.log)
            out.flush()

    return print_task


def _metadata(outputs: Mapping[str, object], name: str) -> dict:
    return outputs[name].metadata  # a kfp Artifact


def _count(value: object) -> int:
    """A count read back from artifact metadata, which holds every number as a float."""
    return int(value)


def _fingerprint(outputs: Mapping[str, object]) -> str:
    return f"data fingerprint {str(outputs['Output'])[:12]}"


def _ingest(outputs: Mapping[str, object]) -> str:
    totals = _metadata(outputs, "dataset")
    return f"found {_count(totals['found'])}, ingested {_count(totals['ingested'])}, quarantined {_count(totals['quarantined'])}"


def _eda(outputs: Mapping[str, object]) -> str:
    figures = _metadata(outputs, "metrics")
    return (f"{_count(figures['train_images'])} train and {_count(figures['val_images'])} val images, "
            f"{_count(figures['failed_checks'])} failed checks, {_count(figures['warnings'])} warnings")


def _train(outputs: Mapping[str, object]) -> str:
    model = _metadata(outputs, "model")
    return f"{_count(model['epochs_run'])} epochs, best val loss {model['best_val_loss']:.4f}"


def _evaluate(outputs: Mapping[str, object]) -> str:
    figures = _metadata(outputs, "metrics")
    auc = figures.get("overall_auc")  # left out when undefined (no fractured or no normal image)
    return (f"mAP@0.5 {figures['map50']:.3f}, AUC {'n/a' if auc is None else f'{auc:.3f}'}, "
            f"blessed {'yes' if outputs['Output'] else 'no'}")


def _register(outputs: Mapping[str, object]) -> str:
    registered = _metadata(outputs, "registered")
    return f"version {_count(registered['version'])}" + (" (champion)" if registered["champion"] else "")


def _record_outcome(outputs: Mapping[str, object]) -> str:
    return f"outcome {_metadata(outputs, 'outcome')['outcome']}"


# Task name -> its headline figures. The fanned-out ingest's merge task makes the dataset ingest makes.
_FIGURES: dict[str, Callable[[Mapping[str, object]], str]] = {
    "fingerprint": _fingerprint,
    "ingest": _ingest,
    "ingest-merge": _ingest,
    "eda": _eda,
    "train": _train,
    "evaluate": _evaluate,
    "register": _register,
    "record-outcome": _record_outcome,
}
