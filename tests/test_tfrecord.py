"""The hand-written Example and TFRecord encoders, checked by TensorFlow's own parsers."""

from __future__ import annotations

import io

import pytest
import tensorflow as tf

from fracdet_core.data.tfrecord import (
    BytesFeature,
    FloatFeature,
    Int64Feature,
    deserialize_example,
    frame_record,
    read_records,
    serialize_example,
)


def test_tensorflow_parses_the_example():
    serialized = serialize_example(
        {
            "image/encoded": BytesFeature([b"\x89PNG\x00bytes"]),
            "image/object/bbox/xmin": FloatFeature([0.25, 0.5]),
            "image/object/class/label": Int64Feature([3, 0, 9]),
            "image/object/class/text": BytesFeature([]),
            "image/height": Int64Feature([2**40]),
            "negative": Int64Feature([-7]),
            "empty": FloatFeature([]),
        }
    )
    example = tf.train.Example.FromString(serialized)
    features = example.features.feature
    assert features["image/encoded"].bytes_list.value == [b"\x89PNG\x00bytes"]
    assert list(features["image/object/bbox/xmin"].float_list.value) == [0.25, 0.5]
    assert list(features["image/object/class/label"].int64_list.value) == [3, 0, 9]
    assert list(features["image/height"].int64_list.value) == [2**40]
    assert list(features["negative"].int64_list.value) == [-7]
    assert len(features["empty"].float_list.value) == 0 and len(features["image/object/class/text"].bytes_list.value) == 0


def test_the_same_features_always_serialise_to_the_same_bytes():
    first = serialize_example({"b": Int64Feature([1]), "a": BytesFeature([b"x"])})
    second = serialize_example({"a": BytesFeature([b"x"]), "b": Int64Feature([1])})
    assert first == second


def test_tensorflow_reads_the_framing(tmp_path):
    records = [b"", b"one", b"x" * 100_000]
    path = tmp_path / "data.tfrecord"
    path.write_bytes(b"".join(frame_record(record) for record in records))
    assert list(tf.data.TFRecordDataset(str(path)).as_numpy_iterator()) == records
    assert list(read_records(io.BytesIO(path.read_bytes()))) == records


@pytest.mark.parametrize(("cut", "message"), [(slice(0, 30), "truncated"), (slice(0, 8), "truncated TFRecord header")])
def test_read_records_notices_truncation(cut, message):
    data = frame_record(b"a" * 40)
    with pytest.raises(ValueError, match=message):
        list(read_records(io.BytesIO(data[cut])))


def test_read_records_notices_corruption():
    data = bytearray(frame_record(b"a" * 40))
    data[20] ^= 0xFF
    with pytest.raises(ValueError, match="data checksum mismatch"):
        list(read_records(io.BytesIO(bytes(data))))


def test_deserialize_example_reads_what_tensorflow_writes():
    example = tf.train.Example(
        features=tf.train.Features(
            feature={
                "bytes": tf.train.Feature(bytes_list=tf.train.BytesList(value=[b"x", b""])),
                "floats": tf.train.Feature(float_list=tf.train.FloatList(value=[0.5, -1.25])),
                "ints": tf.train.Feature(int64_list=tf.train.Int64List(value=[3, -7, 2**40])),
                "none": tf.train.Feature(int64_list=tf.train.Int64List(value=[])),
            }
        )
    )
    assert deserialize_example(example.SerializeToString()) == {
        "bytes": [b"x", b""], "floats": [0.5, -1.25], "ints": [3, -7, 2**40], "none": [],
    }


def test_deserialize_example_round_trips_our_encoder():
    features = {"a": BytesFeature([b"q"]), "f": FloatFeature([0.25, 1.0]), "i": Int64Feature([-1, 5])}
    assert deserialize_example(serialize_example(features)) == {"a": [b"q"], "f": [0.25, 1.0], "i": [-1, 5]}
