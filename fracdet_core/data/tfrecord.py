"""`tf.train.Example` records and TFRecord framing, written without importing TensorFlow.

Ingest workers build hundreds of examples a second; importing TensorFlow in each of them would
cost seconds and hundreds of megabytes. The wire formats are small and stable:

- TFRecord: for each record, the length (uint64 little-endian), its masked CRC-32C, the data,
  and the data's masked CRC-32C.
- `tf.train.Example` (tensorflow/core/example/example.proto and feature.proto): a `Features`
  message holding a map from feature name to a `Feature`, which is one of a `BytesList`,
  a `FloatList` (packed) or an `Int64List` (packed).

Keys are written in sorted order, so the same example always serialises to the same bytes.
`deserialize_example` reads examples back, for the stages (EDA thumbnails, evaluation) that read
records without paying for a TensorFlow import. The tests check both directions against
TensorFlow itself. Which features an example holds is `schema`'s business, not this codec's.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping, Sequence
from typing import BinaryIO

import google_crc32c

FeatureValue = Sequence[bytes] | Sequence[float] | Sequence[int]

_MASK_DELTA = 0xA282EAD8


class BytesFeature(list):
    """Values to store as a `BytesList`."""


class FloatFeature(list):
    """Values to store as a `FloatList` (float32)."""


class Int64Feature(list):
    """Values to store as an `Int64List`."""


def _varint(value: int) -> bytes:
    if value < 0:
        value += 1 << 64  # two's complement, as protobuf encodes negative int64
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited field (wire type 2)."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _feature(values: BytesFeature | FloatFeature | Int64Feature) -> bytes:
    if isinstance(values, BytesFeature):
        inner = b"".join(_field(1, value) for value in values)
        return _field(1, inner)
    if isinstance(values, FloatFeature):
        packed = struct.pack(f"<{len(values)}f", *values)
        return _field(2, _field(1, packed) if values else b"")
    if isinstance(values, Int64Feature):
        packed = b"".join(_varint(int(value)) for value in values)
        return _field(3, _field(1, packed) if values else b"")
    raise TypeError(f"feature values must be a BytesFeature, FloatFeature or Int64Feature, got {type(values).__name__}")


def serialize_example(features: Mapping[str, BytesFeature | FloatFeature | Int64Feature]) -> bytes:
    """The serialised `tf.train.Example` holding `features`."""
    entries = b"".join(
        _field(1, _field(1, key.encode()) + _field(2, _feature(features[key]))) for key in sorted(features)
    )
    return _field(1, entries)


def _read_varint(data: bytes, position: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, position
        shift += 7


def _fields(data: bytes) -> Iterable[tuple[int, int, bytes | int]]:
    """(field number, wire type, payload) of each field of a protobuf message."""
    position = 0
    while position < len(data):
        key, position = _read_varint(data, position)
        number, wire_type = key >> 3, key & 7
        if wire_type == 0:
            value, position = _read_varint(data, position)
            yield number, wire_type, value
        elif wire_type == 2:
            length, position = _read_varint(data, position)
            yield number, wire_type, data[position : position + length]
            position += length
        elif wire_type == 5:
            yield number, wire_type, data[position : position + 4]
            position += 4
        elif wire_type == 1:
            yield number, wire_type, data[position : position + 8]
            position += 8
        else:
            raise ValueError(f"unsupported protobuf wire type {wire_type}")


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _feature_values(feature: bytes) -> list[bytes] | list[float] | list[int]:
    for kind, _, payload in _fields(feature):
        assert isinstance(payload, bytes)
        if kind == 1:
            return [value for _, _, value in _fields(payload)]  # type: ignore[misc]
        if kind == 2:
            values: list[float] = []
            for _, _, item in _fields(payload):  # a packed run, or a single fixed32
                values.extend(struct.unpack(f"<{len(item) // 4}f", item))  # type: ignore[arg-type]
            return values
        if kind == 3:
            numbers: list[int] = []
            for _, wire_type, item in _fields(payload):
                if wire_type == 0:
                    numbers.append(_signed(item))  # type: ignore[arg-type]
                else:
                    position = 0
                    while position < len(item):  # type: ignore[arg-type]
                        value, position = _read_varint(item, position)  # type: ignore[arg-type]
                        numbers.append(_signed(value))
            return numbers
    return []


def deserialize_example(data: bytes) -> dict[str, list[bytes] | list[float] | list[int]]:
    """The features of a serialised `tf.train.Example`, name -> list of values."""
    features: dict[str, list[bytes] | list[float] | list[int]] = {}
    for number, _, payload in _fields(data):
        if number != 1:
            continue
        for _, _, entry in _fields(payload):  # type: ignore[arg-type]
            key, value = b"", b""
            for field_number, _, item in _fields(entry):  # type: ignore[arg-type]
                if field_number == 1:
                    key = item  # type: ignore[assignment]
                elif field_number == 2:
                    value = item  # type: ignore[assignment]
            features[key.decode()] = _feature_values(value)
    return features


def _masked_crc(data: bytes) -> int:
    crc = google_crc32c.value(data)
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


def frame_record(record: bytes) -> bytes:
    """One record in TFRecord framing: length, its masked CRC, the data, the data's masked CRC."""
    length = struct.pack("<Q", len(record))
    return b"".join((length, struct.pack("<I", _masked_crc(length)), record, struct.pack("<I", _masked_crc(record))))


def read_records(stream: BinaryIO) -> Iterable[bytes]:
    """The records of a TFRecord stream, checking both CRCs.

    Raises:
        ValueError: the stream is truncated or a checksum does not match.
    """
    while header := stream.read(12):
        if len(header) < 12:
            raise ValueError("truncated TFRecord header")
        (length,) = struct.unpack("<Q", header[:8])
        if struct.unpack("<I", header[8:])[0] != _masked_crc(header[:8]):
            raise ValueError("TFRecord length checksum mismatch")
        record = stream.read(length)
        footer = stream.read(4)
        if len(record) < length or len(footer) < 4:
            raise ValueError("truncated TFRecord")
        if struct.unpack("<I", footer)[0] != _masked_crc(record):
            raise ValueError("TFRecord data checksum mismatch")
        yield record
