"""Turn one image and its label file into a serialised `tf.train.Example`, or a `Problem`.

Runs in the worker processes, so it imports nothing heavy: the example is encoded by
`data.schema.encode_image_example`, not TensorFlow.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import posixpath
import uuid
from collections.abc import Mapping

import numpy as np

from fracdet_core import storage
from fracdet_core.data.schema import ImageExample, encode_image_example
from fracdet_core.errors import StorageError, StorageUnavailableError
from fracdet_core.ingest.decode import DecodedImage, DecodeLimits, ImageRejectionError, decode_image, read_within
from fracdet_core.ingest.discovery import ImageTask, Problem
from fracdet_core.ingest.labels import LabelBox, LabelRejectionError, parse_labels


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
    ~100 KiB results back through a process pool's single pipe serialises the workers, so more
    workers would not ingest faster (`bench/ingest.py` compares worker counts).
    """
    try:
        data = read_within(task.image_uri, limits.max_bytes)
        label_data = storage.read_bytes(task.label_uri) if task.label_uri else b""
        labels = parse_labels(label_data, class_remap)
        image = decode_image(data, posixpath.splitext(task.image_uri)[1].lower(), limits)
    except LabelRejectionError as error:
        return Problem(task.image_uri, task.split, error.reason, f"{task.label_uri}: {error.detail}")
    except ImageRejectionError as error:
        return Problem(task.image_uri, task.split, error.reason, error.detail)
    except StorageUnavailableError:  # storage down, not the file bad: the stage fails rather than quarantine it
        raise
    except StorageError as error:
        return Problem(task.image_uri, task.split, "unreadable_file", str(error))
    sha256 = hashlib.sha256(data).hexdigest()
    example = encode_image_example(_image_example(task, image, sha256, labels.boxes))
    ingested = IngestedImage(task, sha256, example, labels.boxes, image.width, image.height, labels.warnings)
    return ingested if spill_dir is None else _spill(ingested, spill_dir)


def _image_example(task: ImageTask, image: DecodedImage, sha256: str, boxes: tuple[LabelBox, ...]) -> ImageExample:
    return ImageExample(
        source_id=task.source_id,
        filename=posixpath.basename(task.image_uri),
        encoded=image.encoded,
        image_format=image.image_format,
        width=image.width,
        height=image.height,
        bit_depth=image.bit_depth,
        sha256=sha256,
        boxes=np.array([(box.ymin, box.xmin, box.ymax, box.xmax) for box in boxes], np.float32).reshape(-1, 4),
        classes=np.array([box.class_id for box in boxes], np.int32),
        in_scope=not task.anatomy,
        anatomy=task.anatomy,
    )


def _spill(ingested: IngestedImage, spill_dir: str) -> IngestedImage:
    """The image with its example moved to a new file in `spill_dir`."""
    example_file = os.path.join(spill_dir, uuid.uuid4().hex)
    with open(example_file, "wb") as stream:
        stream.write(ingested.example)
    return dataclasses.replace(ingested, example=b"", example_file=example_file)
