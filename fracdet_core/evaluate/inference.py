"""Run an exported SavedModel on an ingest split exactly as a server would: through `serving_default`.

Evaluating the signature rather than the Keras model means the decode, letterbox, box decoding
and NMS that production runs are measured too; a bug there shows up as a bad metric here.
"""

from __future__ import annotations

from collections.abc import Iterator

from fracdet_core import storage
from fracdet_core.data.manifest import read_manifest, shard_uris
from fracdet_core.data.schema import decode_image_example
from fracdet_core.data.tfrecord import read_records
from fracdet_core.errors import FracdetError
from fracdet_core.progress import progress_bar
from fracdet_core.records import ImageDetections, ImageTruth
from fracdet_core.serving.saved_model import Serve, detect


def read_split(ingest_uri: str, split: str = "val") -> Iterator[tuple[ImageTruth, bytes]]:
    """Each image of a split, in manifest order: its truth and its encoded bytes."""
    manifest = read_manifest(ingest_uri)
    for uri in shard_uris(ingest_uri, split, manifest):
        with storage.open_read(uri) as stream:
            try:
                for record in read_records(stream):
                    example = decode_image_example(record)
                    truth = ImageTruth(example.source_id, example.width, example.height, example.boxes, example.classes,
                                       example.sha256, in_scope=example.in_scope, anatomy=example.anatomy)
                    yield truth, example.encoded
            except ValueError as error:
                raise FracdetError(f"{uri}: unreadable shard: {error}") from None


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
