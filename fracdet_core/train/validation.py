"""The images training validates on: the calibration half of the val split, never its test half.

The validation loss chooses the model: training keeps the weights of its best epoch (early
stopping restores them) and stops by it. The evaluation reports every figure on the test half
of the val split (`fracdet_core.evaluate.partition`); images that chose the model would make
those figures flatter it, so training validates on the other half only, where the evaluation
also chooses the operating thresholds. Both halves come from the same rule on the same images,
so they agree without anything passed between the stages.
"""

from __future__ import annotations

from fracdet_core.evaluate.inference import read_split
from fracdet_core.evaluate.partition import partition_images, take
from fracdet_core.records import ImageTruth


def calibration_source_ids(ingest_uri: str, split: str = "val") -> list[str]:
    """The source ids of the images in the calibration half of the ingest's `split`."""
    truths: list[ImageTruth] = [truth for truth, _ in read_split(ingest_uri, split)]
    return [truth.source_id for truth in take(truths, partition_images(truths).calibration)]
