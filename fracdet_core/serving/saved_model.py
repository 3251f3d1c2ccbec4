"""An exported model on disk, as a server sees it: where its SavedModel is, its `serving_default`
signature loaded, called on encoded images, and timed.

Everything that runs a fracdet model (evaluation, `fracdet predict`, the benches) goes through
the signature, so the decode, letterbox, box decoding and NMS that production runs are the ones
measured. TensorFlow is imported only by the functions that load or call a model, so finding a
SavedModel (what the registry does) costs no TensorFlow import.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable, Sequence

import numpy as np

from fracdet_core import storage
from fracdet_core.errors import FracdetError, NotFoundError
from fracdet_core.records import ImageDetections

Serve = Callable[..., dict]


def saved_model_location(model_uri: str) -> str:
    """The SavedModel folder for a model URI: the folder itself, or its `saved_model/` (a train output).

    Raises:
        NotFoundError: neither holds a `saved_model.pb`.
    """
    for candidate in (model_uri, storage.join(model_uri, "saved_model")):
        if storage.exists(storage.join(candidate, "saved_model.pb")):
            return candidate
    raise NotFoundError(f"{model_uri}: no saved_model.pb there or in its saved_model/ folder; is it a fracdet model?")


def load_serving(model_uri: str) -> Serve:
    """The `serving_default` function of the SavedModel at (or under) `model_uri`.

    A `gs://` SavedModel is copied to a local temporary folder through the storage layer first,
    kept while the function lives: TensorFlow's own `gs://` file system cannot be pointed at an
    emulator to be tested, nor does it follow the storage layer's retry policy
    (`fracdet_core.train.staging` says more).
    """
    import tensorflow as tf

    location = saved_model_location(model_uri)
    staged = None
    if storage.is_gcs(location):
        staged = tempfile.TemporaryDirectory(prefix="fracdet-saved-model-")
        storage.copy_tree(location, staged.name)
    loaded = tf.saved_model.load(staged.name if staged else location)
    if "serving_default" not in loaded.signatures:
        raise FracdetError(f"{location}: the SavedModel has no serving_default signature; "
                           f"signatures: {sorted(loaded.signatures)}")
    serve = loaded.signatures["serving_default"]
    serve._fracdet_owner = loaded  # the signature does not keep its variables alive on its own
    serve._fracdet_staged = staged  # nor its asset files, which a staged copy holds
    return serve


def _detections(outputs: dict, row: int) -> ImageDetections:
    """One image's row of the outputs; the indications outputs only where the model returns them."""
    count = int(outputs["num_detections"][row])
    probabilities = outputs.get("body_part_probabilities")
    in_scope = outputs.get("in_scope_score")
    return ImageDetections(
        boxes=np.asarray(outputs["detection_boxes"][row, :count], np.float32),
        scores=np.asarray(outputs["detection_scores"][row, :count], np.float32),
        classes=np.asarray(outputs["detection_classes"][row, :count], np.int32),
        body_part_probabilities=None if probabilities is None else np.asarray(probabilities[row], np.float32),
        in_scope_score=None if in_scope is None else float(in_scope[row]),
    )


def detect(serve: Serve, encoded: Sequence[bytes]) -> list[ImageDetections]:
    """Detections for a batch of encoded images, one call of the signature."""
    import tensorflow as tf

    outputs = {name: value.numpy() for name, value in serve(images=tf.constant(list(encoded))).items()}
    return [_detections(outputs, row) for row in range(len(encoded))]


def median_latency_ms(serve: Serve, encoded: Sequence[bytes], *, warmup: int = 2, repeats: int = 20) -> float:
    """Median wall time of one single-image call of the signature, cycling through `encoded`."""
    for index in range(warmup):
        detect(serve, [encoded[index % len(encoded)]])
    times = []
    for index in range(repeats):
        started = time.perf_counter()
        detect(serve, [encoded[index % len(encoded)]])
        times.append((time.perf_counter() - started) * 1000.0)
    return statistics.median(times)
