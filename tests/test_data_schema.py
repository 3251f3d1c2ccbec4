"""The TFRecord schema: what ingest writes, TensorFlow, training and the pure-Python readers read back alike."""

from __future__ import annotations

import dataclasses
import io

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from fracdet_core.data.schema import ImageExample, decode_image_example, encode_image_example, parse_example_tensors
from fracdet_core.data.tfrecord import BytesFeature, FloatFeature, Int64Feature, deserialize_example, serialize_example


def _png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


PIXELS = np.arange(24, dtype=np.uint8).reshape(4, 6) * 10  # (height 4, width 6)


def _example(boxes: list[list[float]], classes: list[int]) -> ImageExample:
    return ImageExample(
        source_id="train/images/a.png", filename="a.png", encoded=_png(PIXELS), image_format="png",
        width=6, height=4, bit_depth=8, sha256="ab" * 32,
        boxes=np.array(boxes, np.float32).reshape(-1, 4), classes=np.array(classes, np.int32),
    )


# yxyx; every corner different, so a swapped coordinate shows
TWO_BOXES = _example([[0.125, 0.25, 0.5, 0.75], [0.0, 0.5, 1.0, 0.625]], [3, 9])
BACKGROUND = _example([], [])


def test_the_example_holds_the_object_detection_api_features():
    features = tf.train.Example.FromString(encode_image_example(TWO_BOXES)).features.feature
    assert features["image/encoded"].bytes_list.value == [TWO_BOXES.encoded]
    assert features["image/source_id"].bytes_list.value == [b"train/images/a.png"]
    assert features["image/filename"].bytes_list.value == [b"a.png"]
    assert features["image/format"].bytes_list.value == [b"png"]
    assert features["image/sha256"].bytes_list.value == [b"ab" * 32]
    assert [features[f"image/{key}"].int64_list.value[0] for key in ("width", "height", "bit_depth")] == [6, 4, 8]
    assert list(features["image/object/bbox/xmin"].float_list.value) == [0.25, 0.5]
    assert list(features["image/object/bbox/ymin"].float_list.value) == [0.125, 0.0]
    assert list(features["image/object/bbox/xmax"].float_list.value) == [0.75, 0.625]
    assert list(features["image/object/bbox/ymax"].float_list.value) == [0.5, 1.0]
    assert list(features["image/object/class/label"].int64_list.value) == [3, 9]
    assert list(features["image/object/class/text"].bytes_list.value) == [b"XR_HAND_positive", b"XR_SHOULDER_negative"]


@pytest.mark.parametrize("example", [TWO_BOXES, BACKGROUND], ids=["two boxes", "background"])
def test_pure_python_decoding_gives_back_the_example(example):
    decoded = decode_image_example(encode_image_example(example))
    for field in dataclasses.fields(ImageExample):
        np.testing.assert_array_equal(getattr(decoded, field.name), getattr(example, field.name), err_msg=field.name)
    assert decoded.boxes.dtype == np.float32 and decoded.boxes.shape == example.boxes.shape
    assert decoded.classes.dtype == np.int32


@pytest.mark.parametrize("example", [TWO_BOXES, BACKGROUND], ids=["two boxes", "background"])
def test_training_parses_the_image_and_its_boxes(example):
    parsed = {name: value.numpy() for name, value in parse_example_tensors(tf.constant(encode_image_example(example))).items()}
    np.testing.assert_allclose(parsed["image"][..., 0], PIXELS / 255.0, atol=1e-6)
    assert parsed["image"].shape == (4, 6, 1)
    np.testing.assert_array_equal(parsed["boxes"], example.boxes)
    assert parsed["boxes"].shape == (len(example.classes), 4)
    np.testing.assert_array_equal(parsed["classes"], example.classes)
    assert parsed["classes"].dtype == np.int32
    assert parsed["source_id"] == b"train/images/a.png"


def test_encoding_is_deterministic():
    assert encode_image_example(TWO_BOXES) == encode_image_example(dataclasses.replace(TWO_BOXES))


def _edited(example: ImageExample, edit) -> bytes:
    """The encoded example after `edit` changed its features, through TensorFlow's own proto."""
    proto = tf.train.Example.FromString(encode_image_example(example))
    edit(proto.features.feature)
    return proto.SerializeToString()


def test_decoding_names_a_missing_feature():
    with pytest.raises(ValueError, match="no 'image/sha256' feature"):
        decode_image_example(_edited(TWO_BOXES, lambda features: features.pop("image/sha256")))


def test_decoding_refuses_two_values_where_one_belongs():
    with pytest.raises(ValueError, match="'image/width' feature holds 2 values"):
        decode_image_example(_edited(TWO_BOXES, lambda features: features["image/width"].int64_list.value.append(7)))


OUT_OF_SCOPE = dataclasses.replace(BACKGROUND, source_id="out_of_scope/train/CHEST/c.png", in_scope=False, anatomy="CHEST")


def _without_scope_features(example: ImageExample) -> bytes:
    """The example as a shard written before `image/in_scope` and `image/anatomy` existed holds it."""
    features = deserialize_example(encode_image_example(example))
    del features["image/in_scope"], features["image/anatomy"]
    kinds = {bytes: BytesFeature, float: FloatFeature, int: Int64Feature}
    return serialize_example({
        key: (kinds[type(values[0])] if values else (FloatFeature if "bbox" in key else
              BytesFeature if key.endswith("text") else Int64Feature))(values)
        for key, values in features.items()
    })


@pytest.mark.parametrize(("example", "in_scope", "anatomy"), [(TWO_BOXES, 1, b""), (OUT_OF_SCOPE, 0, b"CHEST")],
                         ids=["in scope", "out of scope"])
def test_the_example_says_whether_it_is_in_scope_and_its_anatomy(example, in_scope, anatomy):
    features = tf.train.Example.FromString(encode_image_example(example)).features.feature
    assert list(features["image/in_scope"].int64_list.value) == [in_scope]
    assert list(features["image/anatomy"].bytes_list.value) == [anatomy]
    decoded = decode_image_example(encode_image_example(example))
    assert (decoded.in_scope, decoded.anatomy) == (bool(in_scope), anatomy.decode())
    parsed = parse_example_tensors(tf.constant(encode_image_example(example)))
    assert parsed["in_scope"].dtype == tf.int32 and parsed["in_scope"].shape == () and int(parsed["in_scope"]) == in_scope


@pytest.mark.parametrize("example", [TWO_BOXES, BACKGROUND], ids=["two boxes", "background"])
def test_a_shard_written_before_the_scope_features_reads_as_in_scope(example):
    old = _without_scope_features(example)
    assert "image/in_scope" not in tf.train.Example.FromString(old).features.feature
    decoded = decode_image_example(old)
    assert decoded.in_scope is True and decoded.anatomy == ""
    np.testing.assert_array_equal(decoded.boxes, example.boxes)
    parsed = parse_example_tensors(tf.constant(old))
    assert int(parsed["in_scope"]) == 1
    np.testing.assert_array_equal(parsed["classes"], example.classes)
