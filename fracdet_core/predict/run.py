"""`fracdet predict`'s work: resolve the model and its thresholds, read the inputs, run the serving
signature in batches, answer each image's indication, write the outputs.

The model runs through its `serving_default` signature, as TF Serving and `fracdet evaluate` run
it, so what a user sees here is what a server returns. The output folder, then the model and its
thresholds, are checked before any image is read: a wrong `--out` or reference fails in seconds,
not after a folder was decoded. The results are built beside `--out` and published whole
(`output_folder`): `--out` holds one run's complete results, never a mix, and never an input.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from fracdet_core.errors import FracdetError, first_line
from fracdet_core.output_folder import PREDICT, claim, publishing, refuse_overlap
from fracdet_core.predict.config import PredictConfig
from fracdet_core.predict.indication import indicate
from fracdet_core.predict.inputs import InputImage, Unreadable, discover, read_or_reject
from fracdet_core.predict.model import PredictModel, find_model
from fracdet_core.predict.outputs import write_image_outputs, write_tables
from fracdet_core.predict.results import interpret
from fracdet_core.predict.thresholds import OperatingThresholds, fixed_thresholds, referenced_thresholds
from fracdet_core.progress import progress_bar
from fracdet_core.records import ImageDetections
from fracdet_core.serving.saved_model import Serve, detect, load_serving

COMMAND = PREDICT
_DEFAULT_CONFIG = PredictConfig()


@dataclasses.dataclass(frozen=True)
class PredictSummary:
    """Attributes:
        model: the model run.
        thresholds: the operating thresholds used.
        rows: `summary.csv`'s rows, one per image predicted.
        unreadable: the inputs skipped, with their reasons (`errors.csv`).
        ignored: extension -> files in the input folders that are not images.
    """

    model: PredictModel
    thresholds: OperatingThresholds
    rows: list[dict]
    unreadable: list[Unreadable]
    ignored: dict[str, int]


def predict(model_reference: str, inputs: Sequence[str], out: str, config: PredictConfig = _DEFAULT_CONFIG) -> PredictSummary:
    """Predict on every image under `inputs`; afterwards `out` holds exactly this run's outputs.

    Raises:
        ConfigError: `out` is a file, is or lies inside or contains an input, or holds files
            that are not an earlier predict output's; checked before the model is looked up.
        FracdetError: the model cannot be found or loaded, or `--threshold auto` finds no operating
            thresholds of it by reference. Unreadable inputs do not raise: they are in the summary.
    """
    output = claim(out, COMMAND, inputs=inputs)
    with publishing(output) as staging:
        model = find_model(model_reference)
        if config.threshold is None:
            thresholds = referenced_thresholds(model, config.evaluation_uri)
        else:
            thresholds = fixed_thresholds(config.threshold)
        found = discover(inputs)
        refuse_overlap(output, [file.uri for file in found.files])  # a file linked in from --out
        serve = _load(model)
        unreadable = list(found.missing)
        rows: list[dict] = []
        with progress_bar(len(found.files), "predict", enabled=config.show_progress) as bar:
            for start in range(0, len(found.files), config.batch_size):
                batch = [read_or_reject(file, config.limits) for file in found.files[start:start + config.batch_size]]
                images = [item for item in batch if isinstance(item, InputImage)]
                unreadable += [item for item in batch if isinstance(item, Unreadable)]
                for image, detections in detect_batch(serve, images, unreadable):
                    prediction = interpret(detections, thresholds, config.display)
                    indication = indicate(image, detections, thresholds)
                    rows.append(write_image_outputs(staging, image, prediction, model, thresholds, indication))
                bar.update(len(batch))
        write_tables(staging, rows, unreadable)
    return PredictSummary(model, thresholds, rows, unreadable, found.ignored)


def _load(model: PredictModel) -> Serve:
    import tensorflow as tf

    try:
        return load_serving(model.location)
    except (tf.errors.OpError, OSError, ValueError) as error:
        raise FracdetError(f"{model.location}: cannot load the SavedModel: {first_line(error)}") from error


def detect_batch(
    serve: Serve, images: list[InputImage], unreadable: list[Unreadable]
) -> list[tuple[InputImage, ImageDetections]]:
    """Each image with its detections, in one call of the signature.

    When the signature refuses the batch (an image TensorFlow cannot decode), the images go one
    by one, so a bad image costs only itself: it is appended to `unreadable` as `model_error`.
    """
    import tensorflow as tf

    if not images:
        return []
    try:
        return list(zip(images, detect(serve, [image.encoded for image in images]), strict=True))
    except tf.errors.InvalidArgumentError as error:
        if len(images) == 1:
            from fracdet_core.serving.guard import refusal_reason

            reason = f"the serving signature refused it: {refusal_reason(error)}"
            unreadable.append(Unreadable(images[0].file.uri, "model_error", reason))
            return []
    return [pair for image in images for pair in detect_batch(serve, [image], unreadable)]
