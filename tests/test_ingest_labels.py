"""Label lines: what is accepted, fixed, or rejected with which reason."""

from __future__ import annotations

import pytest

from fracdet_core.ingest.labels import LabelBox, LabelRejectionError, parse_labels

IDENTITY = {i: i for i in range(10)}


@pytest.mark.parametrize(
    ("text", "boxes"),
    [
        ("", ()),
        ("\n\n", ()),
        ("3 0.5 0.5 0.2 0.4", (LabelBox(3, 0.4, 0.3, 0.6, 0.7),)),
        ("\ufeff3 0.5 0.5 0.2 0.4\r\n", (LabelBox(3, 0.4, 0.3, 0.6, 0.7),)),
        ("3.0 0.5 0.5 0.2 0.4", (LabelBox(3, 0.4, 0.3, 0.6, 0.7),)),
        ("1 0.1 0.2 0.3 0.2 0.2 0.6", (LabelBox(1, 0.1, 0.2, 0.3, 0.6),)),  # polygon -> its box
        ("0 0.004 0.5 0.016 0.2", (LabelBox(0, 0.0, 0.4, 0.012, 0.6),)),  # clipped within tolerance
    ],
)
def test_accepted(text, boxes):
    parsed = parse_labels(text.encode(), IDENTITY)
    assert parsed.boxes == pytest.approx(boxes) if boxes else parsed.boxes == ()
    assert parsed.warnings == ()


def test_duplicates_are_kept_once_with_a_warning():
    parsed = parse_labels(b"0 0.5 0.5 0.2 0.2\n1 0.5 0.5 0.2 0.2\n0 0.5 0.5 0.2 0.2\n", IDENTITY)
    assert [box.class_id for box in parsed.boxes] == [0, 1]
    assert parsed.warnings == (("duplicate_label_line", "line 3 repeats line 1; kept once"),)


def test_remap_applies():
    assert parse_labels(b"1 0.5 0.5 0.2 0.2", {0: 8, 1: 0}).boxes[0].class_id == 0


@pytest.mark.parametrize(
    ("data", "reason", "detail"),
    [
        (b"0 0.5 0.5 0.2 0.2\n\xff", "label_not_utf8", "byte 18"),
        (b"0 0.5 0.5 0.2", "bad_label_line", "line 1: expected 5 fields"),
        (b"0 0.5 0.5 0.2 0.2 0.3", "bad_label_line", "got 6"),
        (b"0 0.5 0.5 0.2 x", "bad_label_line", "'x' is not a number"),
        (b"0 0.5 0.5 0.2 NaN", "non_finite_value", "'NaN'"),
        (b"0 -inf 0.5 0.2 0.2", "non_finite_value", "'-inf'"),
        (b"10 0.5 0.5 0.2 0.2", "class_out_of_range", "class 10 is not one of the dataset's ids (0..9)"),
        (b"-1 0.5 0.5 0.2 0.2", "class_out_of_range", "class -1"),
        (b"1.5 0.5 0.5 0.2 0.2", "class_out_of_range", "class 1.5"),
        (b"0 0.5 0.5 0.0 0.2", "box_non_positive_size", "width 0"),
        (b"0 0.1 0.1 0.4 0.1 0.7 0.1", "box_non_positive_size", "polygon encloses no area"),
        (b"0 0.95 0.5 0.2 0.2", "box_out_of_bounds", "leaves the image"),
        (b"0 0.5 0.5 0.2 0.2\n0 0.5 1.2 0.2 0.2", "box_out_of_bounds", "line 2"),
    ],
)
def test_rejected(data, reason, detail):
    with pytest.raises(LabelRejectionError) as raised:
        parse_labels(data, IDENTITY)
    assert raised.value.reason == reason
    assert detail in raised.value.detail
