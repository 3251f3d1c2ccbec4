"""Parse one Ultralytics label file into checked, remapped boxes.

Each line is `class cx cy w h`, normalised to [0, 1], or an Ultralytics polygon
`class x1 y1 x2 y2 ...` (three points or more), which becomes its bounding box. A UTF-8 byte
order mark and CRLF line ends are accepted; blank lines are skipped. An exact duplicate line is
dropped with a warning. Coordinates a little outside [0, 1] (rounding in export tools) are
clipped; beyond `BOUNDS_TOLERANCE` the box is an error.

Any bad line rejects the whole file, and so its image: training on a half-labelled image
teaches the model that the unlabelled fracture is background.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping

from fracdet_core.boxes import cxcywh_to_xyxy, polygon_to_xyxy
from fracdet_core.ingest.rejection import RejectionError

BOUNDS_TOLERANCE = 0.01


class LabelRejectionError(RejectionError):
    """A label file that cannot be used; the detail names the line."""


@dataclasses.dataclass(frozen=True)
class LabelBox:
    """One box, fracdet class id, corners normalised to [0, 1] (`xyxy` in `fracdet_core.boxes`)."""

    class_id: int
    xmin: float
    ymin: float
    xmax: float
    ymax: float


@dataclasses.dataclass(frozen=True)
class ParsedLabels:
    """Boxes of one image and the harmless oddities found on the way (reason, detail)."""

    boxes: tuple[LabelBox, ...]
    warnings: tuple[tuple[str, str], ...]


def parse_labels(data: bytes, class_remap: Mapping[int, int]) -> ParsedLabels:
    """Parse label file bytes; the dataset's class ids are mapped through `class_remap`.

    Raises:
        LabelRejectionError: the file is not UTF-8 or a line is malformed, out of range or empty.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        bad_byte = data[error.start:error.start + 1]
        raise LabelRejectionError("label_not_utf8", f"not UTF-8 text (byte {error.start}: {bad_byte!r})") from None
    boxes: list[LabelBox] = []
    warnings: list[tuple[str, str]] = []
    seen: dict[tuple[float, ...], int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        values = _numbers(fields, number)
        if values in seen:
            warnings.append(("duplicate_label_line", f"line {number} repeats line {seen[values]}; kept once"))
            continue
        seen[values] = number
        boxes.append(_box(values, number, class_remap))
    return ParsedLabels(tuple(boxes), tuple(warnings))


def _numbers(fields: list[str], number: int) -> tuple[float, ...]:
    if len(fields) != 5 and (len(fields) < 7 or len(fields) % 2 == 0):
        raise LabelRejectionError(
            "bad_label_line",
            f"line {number}: expected 5 fields (class cx cy w h) or a polygon (class x1 y1 x2 y2 x3 y3 ...), "
            f"got {len(fields)}",
        )
    values = []
    for field in fields:
        try:
            value = float(field)
        except ValueError:
            raise LabelRejectionError("bad_label_line", f"line {number}: {field!r} is not a number") from None
        if not math.isfinite(value):
            raise LabelRejectionError("non_finite_value", f"line {number}: {field!r} is not a finite number")
        values.append(value)
    return tuple(values)


def _box(values: tuple[float, ...], number: int, class_remap: Mapping[int, int]) -> LabelBox:
    source_class = values[0]
    if source_class != int(source_class) or int(source_class) not in class_remap:
        known = f"0..{max(class_remap)}" if sorted(class_remap) == list(range(len(class_remap))) else sorted(class_remap)
        raise LabelRejectionError(
            "class_out_of_range", f"line {number}: class {values[0]:g} is not one of the dataset's ids ({known})"
        )
    if len(values) == 5:
        cx, cy, w, h = values[1:]
        if w <= 0 or h <= 0:
            raise LabelRejectionError("box_non_positive_size", f"line {number}: width {w:g} and height {h:g} must be above 0")
        corners = cxcywh_to_xyxy(cx, cy, w, h)
    else:
        corners = polygon_to_xyxy(values[1::2], values[2::2])
        if corners[2] <= corners[0] or corners[3] <= corners[1]:
            raise LabelRejectionError("box_non_positive_size", f"line {number}: the polygon encloses no area")
    if min(corners) < -BOUNDS_TOLERANCE or max(corners) > 1 + BOUNDS_TOLERANCE:
        raise LabelRejectionError(
            "box_out_of_bounds",
            f"line {number}: box ({', '.join(f'{v:.4f}' for v in corners)}) leaves the image by more than {BOUNDS_TOLERANCE}",
        )
    xmin, ymin, xmax, ymax = (min(max(v, 0.0), 1.0) for v in corners)
    return LabelBox(class_remap[int(source_class)], xmin, ymin, xmax, ymax)
