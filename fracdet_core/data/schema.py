"""The TFRecord schema: which features one image's `tf.train.Example` holds, written and read here only.

The keys follow the TF Object Detection API (`image/encoded`, `image/object/bbox/xmin`, ...),
plus `image/sha256`, `image/bit_depth`, and the indications: `image/in_scope` (1 for a radiograph of
one of the five body parts, 0 for anything else) and `image/anatomy` ("" in scope, else the
out-of-scope kind: CHEST, CT, PHOTO, ...). Shards written before those two existed read as in
scope. docs/architecture.md's "Data contracts" is the promise to users.
Three doors, one per kind of reader:

- `encode_image_example`: an `ImageExample` to serialised bytes (ingest's workers);
- `decode_image_example`: serialised bytes back to an `ImageExample`, in pure Python (EDA
  thumbnails, evaluation), for stages that read records without importing TensorFlow;
- `parse_example_tensors`: a serialised example tensor to the tensors training needs, inside
  `tf.data`.

TensorFlow is imported by the last one only, when it is called: ingest workers and EDA import
this module and must stay light (a TensorFlow import costs seconds and hundreds of megabytes).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from fracdet_core.classes import CLASS_NAMES
from fracdet_core.data.tfrecord import BytesFeature, FloatFeature, Int64Feature, deserialize_example, serialize_example

if TYPE_CHECKING:
    import tensorflow as tf

IMAGE_ENCODED = "image/encoded"
IMAGE_FORMAT = "image/format"
IMAGE_HEIGHT = "image/height"
IMAGE_WIDTH = "image/width"
IMAGE_BIT_DEPTH = "image/bit_depth"
IMAGE_SOURCE_ID = "image/source_id"
IMAGE_FILENAME = "image/filename"
IMAGE_SHA256 = "image/sha256"
IMAGE_IN_SCOPE = "image/in_scope"
IMAGE_ANATOMY = "image/anatomy"
BOX_XMIN = "image/object/bbox/xmin"
BOX_YMIN = "image/object/bbox/ymin"
BOX_XMAX = "image/object/bbox/xmax"
BOX_YMAX = "image/object/bbox/ymax"
BOX_CLASS_ID = "image/object/class/label"
BOX_CLASS_NAME = "image/object/class/text"
BOX_CORNERS_YXYX = (BOX_YMIN, BOX_XMIN, BOX_YMAX, BOX_XMAX)  # the column order of `boxes` everywhere


@dataclasses.dataclass(frozen=True)
class ImageExample:
    """One image as a shard stores it.

    Attributes:
        source_id: the image's path in the source dataset; its id in labels.parquet and reports.
        filename: the source file's base name.
        encoded: PNG or JPEG bytes as stored (8 or 16 bit grayscale for PNG).
        image_format: "png" or "jpeg".
        width, height: pixels as stored.
        bit_depth: 8 or 16.
        sha256: hex digest of the source file's bytes (leakage checks use it).
        boxes: float32 (N, 4) `ymin, xmin, ymax, xmax` normalised to the image; N is 0 for a
            background image.
        classes: int32 (N,) fracdet class ids.
        in_scope: whether the image is within the indications (a radiograph of one of the five
            body parts); an out-of-scope image has no boxes.
        anatomy: "" in scope; else the out-of-scope kind in upper case (CHEST, CT, PHOTO, ...).
    """

    source_id: str
    filename: str
    encoded: bytes
    image_format: str
    width: int
    height: int
    bit_depth: int
    sha256: str
    boxes: np.ndarray
    classes: np.ndarray
    in_scope: bool = True
    anatomy: str = ""


def encode_image_example(example: ImageExample) -> bytes:
    """The serialised `tf.train.Example` that stores `example`; the same example, the same bytes."""
    return serialize_example(
        {
            IMAGE_ENCODED: BytesFeature([example.encoded]),
            IMAGE_FORMAT: BytesFeature([example.image_format.encode()]),
            IMAGE_HEIGHT: Int64Feature([example.height]),
            IMAGE_WIDTH: Int64Feature([example.width]),
            IMAGE_BIT_DEPTH: Int64Feature([example.bit_depth]),
            IMAGE_SOURCE_ID: BytesFeature([example.source_id.encode()]),
            IMAGE_FILENAME: BytesFeature([example.filename.encode()]),
            IMAGE_SHA256: BytesFeature([example.sha256.encode()]),
            IMAGE_IN_SCOPE: Int64Feature([int(example.in_scope)]),
            IMAGE_ANATOMY: BytesFeature([example.anatomy.encode()]),
            **{key: FloatFeature(example.boxes[:, column].tolist()) for column, key in enumerate(BOX_CORNERS_YXYX)},
            BOX_CLASS_ID: Int64Feature(example.classes.tolist()),
            BOX_CLASS_NAME: BytesFeature([CLASS_NAMES[class_id].encode() for class_id in example.classes]),
        }
    )


def decode_image_example(serialized: bytes) -> ImageExample:
    """The `ImageExample` stored in a serialised `tf.train.Example`, without TensorFlow.

    An example without `image/in_scope` or `image/anatomy` (a shard written before them) is in scope.

    Raises:
        ValueError: a feature of the schema is missing, or a single-valued one holds several values.
    """
    features = deserialize_example(serialized)
    corners = [_values(features, key) for key in BOX_CORNERS_YXYX]
    return ImageExample(
        source_id=_single(features, IMAGE_SOURCE_ID).decode(),
        filename=_single(features, IMAGE_FILENAME).decode(),
        encoded=_single(features, IMAGE_ENCODED),
        image_format=_single(features, IMAGE_FORMAT).decode(),
        width=int(_single(features, IMAGE_WIDTH)),
        height=int(_single(features, IMAGE_HEIGHT)),
        bit_depth=int(_single(features, IMAGE_BIT_DEPTH)),
        sha256=_single(features, IMAGE_SHA256).decode(),
        boxes=np.asarray(corners, np.float32).T.reshape(-1, 4),
        classes=np.asarray(_values(features, BOX_CLASS_ID), np.int32),
        in_scope=bool(_single(features, IMAGE_IN_SCOPE)) if IMAGE_IN_SCOPE in features else True,
        anatomy=_single(features, IMAGE_ANATOMY).decode() if IMAGE_ANATOMY in features else "",
    )


def _values(features: Mapping[str, list], key: str) -> list:
    if key not in features:
        raise ValueError(f"the example has no {key!r} feature; features: {sorted(features)}")
    return features[key]


def _single(features: Mapping[str, list], key: str) -> bytes | int:
    values = _values(features, key)
    if len(values) != 1:
        raise ValueError(f"the example's {key!r} feature holds {len(values)} values, not 1")
    return values[0]


def tf_parsing_spec() -> dict[str, tf.io.FixedLenFeature | tf.io.VarLenFeature]:
    """What `tf.io.parse_single_example` reads for training: the image, its id, its boxes, whether it is in scope."""
    import tensorflow as tf

    return {
        IMAGE_ENCODED: tf.io.FixedLenFeature([], tf.string),
        IMAGE_SOURCE_ID: tf.io.FixedLenFeature([], tf.string),
        IMAGE_IN_SCOPE: tf.io.FixedLenFeature([], tf.int64, default_value=1),  # absent in older shards: in scope
        **{key: tf.io.VarLenFeature(tf.float32) for key in BOX_CORNERS_YXYX},
        BOX_CLASS_ID: tf.io.VarLenFeature(tf.int64),
    }


def parse_example_tensors(serialized: tf.Tensor) -> dict[str, tf.Tensor]:
    """One serialised example (a scalar string tensor) as tensors, for `tf.data.Dataset.map`.

    Returns:
        `image`: float32 (H, W, 1) in [0, 1], whatever the stored bit depth; `boxes`: float32
        (N, 4) `ymin, xmin, ymax, xmax` normalised; `classes`: int32 (N,); `source_id`: string;
        `in_scope`: int32 scalar, 1 in scope (also when the shard predates the feature), 0 not.
    """
    import tensorflow as tf

    parsed = tf.io.parse_single_example(serialized, tf_parsing_spec())
    image = tf.io.decode_image(parsed[IMAGE_ENCODED], channels=1, dtype=tf.float32, expand_animations=False)
    corners = [tf.sparse.to_dense(parsed[key]) for key in BOX_CORNERS_YXYX]
    return {
        "image": image,  # (H, W, 1)
        "boxes": tf.reshape(tf.stack(corners, axis=-1), [-1, 4]),  # (N, 4) yxyx, normalised
        "classes": tf.cast(tf.sparse.to_dense(parsed[BOX_CLASS_ID]), tf.int32),  # (N,)
        "source_id": parsed[IMAGE_SOURCE_ID],
        "in_scope": tf.cast(parsed[IMAGE_IN_SCOPE], tf.int32),  # ()
    }
