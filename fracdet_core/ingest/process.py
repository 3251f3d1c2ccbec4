"""Turn one image and its label file into a serialised `tf.train.Example`, or a `Problem`.

Runs in the worker processes, so it imports nothing heavy: the example is built by
`tfrecord.serialize_example`, not TensorFlow.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import posixpath
import uuid
from collections.abc import Mapping

from fracdet_core import storage
from fracdet_core.classes import CLASS_NAMES
from fracdet_core.errors import StorageError
from fracdet_core.ingest.decode import DecodeLimits, ImageRejected, decode_image, read_within
from fracdet_core.ingest.discovery import ImageTask, Problem
from fracdet_core.ingest.labels import LabelBox, LabelRejected, parse_labels
from fracdet_core.ingest.tfrecord import BytesFeature, FloatFeature, Int64Feature, serialize_example


@dataclasses.dataclass(frozen=True)
class IngestedImage:
    """An image ready for its shard.

    Attributes:
        task: where it came from.
        sha256: hex digest of the source file's bytes (leakage checks use it).
        example: the serialised `tf.train.Example`, or b"" when it waits in `example_file`.
        boxes: its boxes in fracdet class ids, corners normalised.
        width, height: pixels as stored.
        warnings: harmless oddities, (reason, detail), for `quarantine.jsonl`.
    """

    task: ImageTask
    sha256: str
    example: bytes
    boxes: tuple[LabelBox, ...]
    width: int
    height: int
    warnings: tuple[tuple[str, str], ...]
    example_file: str | None = None

    def take_example(self) -> bytes:
        """The serialised example; a spilled one is read back and its file deleted."""
        if self.example_file is None:
            return self.example
        with open(self.example_file, "rb") as stream:
            example = stream.read()
        os.unlink(self.example_file)
        return example


def process_image(
    task: ImageTask, class_remap: Mapping[int, int], limits: DecodeLimits, spill_dir: str | None = None
) -> IngestedImage | Problem:
    """Read, check and encode one image with its labels; never raises for bad input.

    With `spill_dir`, the example is written to a file there instead of being returned: sending
    ~100 KiB results back through a process pool's single pipe serialises the workers (measured:
    2 workers ran 1.04x one worker that way; through files, see bench/ingest.py).
    """
    try:
        data = read_within(task.image_uri, limits.max_bytes)
        label_data = storage.read_bytes(task.label_uri) if task.label_uri else b""
    except ImageRejected as error:
        return Problem(task.image_uri, task.split, error.reason, error.detail)
    except StorageError as error:
        return Problem(task.image_uri, task.split, "unreadable_file", str(error))
    try:
        labels = parse_labels(label_data, class_remap)
    except LabelRejected as error:
        return Problem(task.image_uri, task.split, error.reason, f"{task.label_uri}: {error.detail}")
    try:
        image = decode_image(data, posixpath.splitext(task.image_uri)[1].lower(), limits)
    except ImageRejected as error:
        return Problem(task.image_uri, task.split, error.reason, error.detail)
    sha256 = hashlib.sha256(data).hexdigest()
    boxes = labels.boxes
    example = serialize_example(
        {
            "image/encoded": BytesFeature([image.encoded]),
            "image/format": BytesFeature([image.image_format.encode()]),
            "image/height": Int64Feature([image.height]),
            "image/width": Int64Feature([image.width]),
            "image/bit_depth": Int64Feature([image.bit_depth]),
            "image/source_id": BytesFeature([task.source_id.encode()]),
            "image/filename": BytesFeature([posixpath.basename(task.image_uri).encode()]),
            "image/sha256": BytesFeature([sha256.encode()]),
            "image/object/bbox/xmin": FloatFeature([box.xmin for box in boxes]),
            "image/object/bbox/ymin": FloatFeature([box.ymin for box in boxes]),
            "image/object/bbox/xmax": FloatFeature([box.xmax for box in boxes]),
            "image/object/bbox/ymax": FloatFeature([box.ymax for box in boxes]),
            "image/object/class/label": Int64Feature([box.class_id for box in boxes]),
            "image/object/class/text": BytesFeature([CLASS_NAMES[box.class_id].encode() for box in boxes]),
        }
    )
    if spill_dir is None:
        return IngestedImage(task, sha256, example, boxes, image.width, image.height, labels.warnings)
    example_file = os.path.join(spill_dir, uuid.uuid4().hex)
    with open(example_file, "wb") as stream:
        stream.write(example)
    return IngestedImage(task, sha256, b"", boxes, image.width, image.height, labels.warnings, example_file)
