"""Run an exported SavedModel on an ingest split exactly as a server would: through `serving_default`.

Evaluating the signature rather than the Keras model means the decode, letterbox, box decoding
and NMS that production runs are measured too; a bug there shows up as a bad metric here.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator, Sequence

import numpy as np

from fracdet_core import storage
from fracdet_core.data.manifest import read_manifest, shard_uris
from fracdet_core.errors import FracdetError, NotFoundError
from fracdet_core.evaluate.records import ImageDetections, ImageTruth
from fracdet_core.ingest.tfrecord import parse_example, read_records
from fracdet_core.progress import progress_bar

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
    """The `serving_default` function of the SavedModel at (or under) `model_uri`."""
    import tensorflow as tf

    location = saved_model_location(model_uri)
    loaded = tf.saved_model.load(location)
    if "serving_default" not in loaded.signatures:
        raise FracdetError(f"{location}: the SavedModel has no serving_default signature; signatures: {sorted(loaded.signatures)}")
    serve = loaded.signatures["serving_default"]
    serve._fracdet_owner = loaded  # the signature does not keep its variables alive on its own
    return serve


def read_split(ingest_uri: str, split: str = "val") -> Iterator[tuple[ImageTruth, bytes]]:
    """Each image of a split, in manifest order: its truth and its encoded bytes."""
    manifest = read_manifest(ingest_uri)
    for uri in shard_uris(ingest_uri, split, manifest):
        with storage.open_read(uri) as stream:
            try:
                for record in read_records(stream):
                    features = parse_example(record)
                    width, height = features["image/width"][0], features["image/height"][0]
                    corners = [features[f"image/object/bbox/{key}"] for key in ("ymin", "xmin", "ymax", "xmax")]
                    truth = ImageTruth(
                        source_id=features["image/source_id"][0].decode(),
                        width=int(width),
                        height=int(height),
                        boxes=np.asarray(corners, np.float32).T.reshape(-1, 4),
                        classes=np.asarray(features["image/object/class/label"], np.int32),
                    )
                    yield truth, features["image/encoded"][0]
            except ValueError as error:
                raise FracdetError(f"{uri}: unreadable shard: {error}") from None


def _detections(outputs: dict, row: int) -> ImageDetections:
    count = int(outputs["num_detections"][row])
    return ImageDetections(
        boxes=np.asarray(outputs["detection_boxes"][row, :count], np.float32),
        scores=np.asarray(outputs["detection_scores"][row, :count], np.float32),
        classes=np.asarray(outputs["detection_classes"][row, :count], np.int32),
    )


def detect(serve: Serve, encoded: Sequence[bytes]) -> list[ImageDetections]:
    """Detections for a batch of encoded images, one call of the signature."""
    import tensorflow as tf

    outputs = {name: value.numpy() for name, value in serve(images=tf.constant(list(encoded))).items()}
    return [_detections(outputs, row) for row in range(len(encoded))]


def evaluate_split(
    serve: Serve, ingest_uri: str, split: str = "val", *, batch_size: int = 8, show_progress: bool = True
) -> tuple[list[ImageTruth], list[ImageDetections]]:
    """Truths and detections for every image of a split, aligned by index."""
    total = read_manifest(ingest_uri)["splits"][split]["images"]
    truths: list[ImageTruth] = []
    detections: list[ImageDetections] = []
    pending: list[bytes] = []
    with progress_bar(total, f"evaluate {split}", enabled=show_progress) as bar:
        for truth, encoded in read_split(ingest_uri, split):
            truths.append(truth)
            pending.append(encoded)
            if len(pending) == batch_size:
                detections += detect(serve, pending)
                bar.update(len(pending))
                pending = []
        if pending:
            detections += detect(serve, pending)
            bar.update(len(pending))
    if not truths:
        raise FracdetError(f"{ingest_uri}: the {split} split holds no images to evaluate")
    return truths, detections


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
