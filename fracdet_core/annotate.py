"""Draw boxes on a radiograph so a person can check them at a glance.

Colours keep one meaning everywhere fracdet draws: fracture (positive-class) boxes red,
normal-study (negative-class) boxes blue, ground truth green. A detection's label names the
body part, the finding and the score ("ELBOW fracture 0.87").

Legibility on any radiograph, 200 px or 3000 px, dark or bright: line width and font grow with
the image; every line has a dark rim, so red and blue stand out on white bone and black air
alike; labels sit in filled boxes above the box (below, or inside, where that collides with a
label already placed: the most confident box places first), and a label that would cover another
is left out, its box still drawn in its colour; an optional caption goes in a
band under the image, so the image's pixel coordinates are those of the original, and an
optional legend in a second band under it. A box may be drawn dashed: `fracdet predict` draws
fracture boxes that are suspicious, not definite, so (`predict.operating_point`).
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from fracdet_core.classes import CLASS_NAMES, IS_FRACTURE, describe_class
from fracdet_core.records import ImageDetections

FRACTURE_COLOUR = (230, 50, 40)
NORMAL_COLOUR = (40, 150, 240)
TRUTH_COLOUR = (40, 200, 80)
RIM_COLOUR = (0, 0, 0)
TEXT_COLOUR = (255, 255, 255)
LEGEND_COLOUR = (45, 45, 45)

Rect = tuple[int, int, int, int]  # left, top, right, bottom, pixels


def decode_gray(encoded: bytes) -> Image.Image:
    """An 8-bit grayscale image from PNG (8 or 16 bit) or JPEG bytes, full range kept."""
    with Image.open(io.BytesIO(encoded)) as image:
        pixels = np.asarray(image)
    if pixels.ndim == 3:
        pixels = pixels[..., 0]
    if pixels.dtype != np.uint8:
        pixels = np.round(pixels.astype(np.float64) / 257.0).clip(0, 255).astype(np.uint8)
    return Image.fromarray(pixels)


def label(class_id: int, score: float | None = None) -> str:
    part, fractured = describe_class(CLASS_NAMES[class_id])
    text = f"{part} {'fracture' if fractured else 'normal'}"
    return text if score is None else f"{text} {score:.2f}"


def class_colour(class_id: int) -> tuple[int, int, int]:
    return FRACTURE_COLOUR if IS_FRACTURE[class_id] else NORMAL_COLOUR


def line_width(width: int, height: int) -> int:
    """Box line width in pixels for a picture of width x height: about 1/250 of its longer side."""
    return max(2, round(max(width, height) / 250))


def font_size(width: int, height: int) -> int:
    """Label font size in pixels: about 1/36 of the longer side, never under 13."""
    return max(13, round(max(width, height) / 36))


def box_rect(box: np.ndarray, width: int, height: int) -> Rect:
    """Pixel rectangle of a box `ymin, xmin, ymax, xmax` normalised to a width x height image."""
    ymin, xmin, ymax, xmax = (float(value) for value in box)
    return round(xmin * width), round(ymin * height), round(xmax * width), round(ymax * height)


def boxes_to_draw(detections: ImageDetections, min_score: float, *, max_boxes: int = 5, max_overlap: float = 0.3) -> np.ndarray:
    """bool (K,): which detections a picture shows, so that it stays readable.

    Greedy in descending score: a box is drawn if it scores at least `min_score`, fewer than
    `max_boxes` are drawn, and it covers at most `max_overlap` of the smaller box's area of any
    drawn box of the same kind (fracture or normal). A weak model returns stacks of shifted
    copies of one finding; drawn all, they hide the image and their labels pile up.
    """
    boxes = np.asarray(detections.boxes, np.float64).reshape(-1, 4)
    scores = np.asarray(detections.scores, np.float64)
    fracture = np.array([IS_FRACTURE[int(c)] for c in detections.classes], bool)
    drawn = np.zeros(len(scores), bool)
    for index in np.argsort(-scores, kind="stable"):
        if drawn.sum() >= max_boxes or scores[index] < min_score:
            break
        rivals = drawn & (fracture == fracture[index])
        if not rivals.any() or _overlap_of_smaller(boxes[index], boxes[rivals]).max() <= max_overlap:
            drawn[index] = True
    return drawn


def _overlap_of_smaller(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Intersection of one yxyx box (4,) with each of `others` (M, 4), over the smaller box's area."""
    height = np.clip(np.minimum(box[2], others[:, 2]) - np.maximum(box[0], others[:, 0]), 0, None)
    width = np.clip(np.minimum(box[3], others[:, 3]) - np.maximum(box[1], others[:, 1]), 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    return height * width / np.maximum(np.minimum(area, areas), 1e-12)


def draw_boxes(
    encoded: bytes,
    detections: ImageDetections,
    *,
    truth_boxes: np.ndarray | None = None,
    max_side: int | None = None,
    labels: Sequence[str] | None = None,
    caption: str | None = None,
    caption_colour: tuple[int, int, int] = (60, 60, 60),
    dashed: Sequence[bool] | None = None,
    legend: str | None = None,
) -> bytes:
    """PNG bytes of the image with `detections` (and `truth_boxes`, yxyx normalised) drawn.

    Args:
        encoded: PNG or JPEG bytes.
        detections: boxes yxyx normalised, drawn in the order given (most confident first).
        truth_boxes: float (T, 4) yxyx normalised, drawn in green without labels.
        max_side: shrink the picture first (galleries), so lines and labels stay legible.
        labels: one text per detection; default `label(class, score)`.
        caption: a line of text in a band added under the image.
        caption_colour: the band's colour.
        dashed: one flag per detection: draw its box dashed; default every box solid.
        legend: a line of text in a second band, under the caption's.
    """
    canvas = decode_gray(encoded).convert("RGB")
    if max_side:
        canvas.thumbnail((max_side, max_side))
    width, height = canvas.size
    line = line_width(width, height)
    font = ImageFont.load_default(size=font_size(width, height))
    draw = ImageDraw.Draw(canvas)
    scored = zip(detections.classes, detections.scores, strict=True)
    texts = list(labels) if labels is not None else [label(int(class_id), float(score)) for class_id, score in scored]

    for box in truth_boxes if truth_boxes is not None else ():
        _rectangle(draw, box_rect(box, width, height), TRUTH_COLOUR, line)
    rects = [box_rect(box, width, height) for box in detections.boxes]
    colours = [class_colour(int(class_id)) for class_id in detections.classes]
    _draw_rectangles(draw, rects, colours, dashed or [False] * len(rects), line)
    placed: list[Rect] = []
    for rect, colour, text in zip(rects, colours, texts, strict=True):
        tag = _place_label(draw, rect, text, font, line, (width, height), placed)
        if tag is None:
            continue
        placed.append(tag)
        draw.rectangle(tag, fill=colour, outline=RIM_COLOUR)
        draw.text((tag[0] + line, tag[1] + line), text, fill=TEXT_COLOUR, font=font, anchor="lt")
    for band, band_colour in ((caption, caption_colour), (legend, LEGEND_COLOUR)):  # the legend goes under the caption
        if band:
            canvas = _with_caption(canvas, band, band_colour, font_size(width, height), line)
    buffer = io.BytesIO()
    # Level 3: the default 6 makes these pictures no smaller and takes longer to encode them.
    canvas.save(buffer, format="PNG", compress_level=3)
    return buffer.getvalue()


def _rectangle(draw: ImageDraw.ImageDraw, rect: Rect, colour: tuple[int, int, int], line: int) -> None:
    """A `line`-wide box inside `rect` with a 1-px dark rim on both sides of the stroke."""
    left, top, right, bottom = rect
    draw.rectangle((left - 1, top - 1, right + 1, bottom + 1), outline=RIM_COLOUR, width=line + 2)
    draw.rectangle((left, top, right, bottom), outline=colour, width=line)


def _draw_rectangles(draw: ImageDraw.ImageDraw, rects: Sequence[Rect], colours: Sequence[tuple[int, int, int]],
                     dashed: Sequence[bool], line: int) -> None:
    """The boxes in reverse order, so the most confident (first) ends on top; each solid or dashed."""
    for rect, colour, is_dashed in reversed(list(zip(rects, colours, dashed, strict=True))):
        (_dashed_rectangle if is_dashed else _rectangle)(draw, rect, colour, line)


def _dashed_rectangle(draw: ImageDraw.ImageDraw, rect: Rect, colour: tuple[int, int, int], line: int) -> None:
    """`_rectangle`'s box in dashes about four line widths long, with gaps of three, each dash rimmed."""
    left, top, right, bottom = rect
    dash, period = 4 * line + 2, 7 * line + 4
    dashes = [(x, y, min(x + dash, right), y + line - 1) for x in range(left, right + 1, period)
              for y in (top, bottom - line + 1)]
    dashes += [(x, y, x + line - 1, min(y + dash, bottom)) for y in range(top, bottom + 1, period)
               for x in (left, right - line + 1)]
    for x0, y0, x1, y1 in dashes:
        draw.rectangle((x0 - 1, y0 - 1, x1 + 1, y1 + 1), fill=RIM_COLOUR)
    for x0, y0, x1, y1 in dashes:
        draw.rectangle((x0, y0, x1, y1), fill=colour)


def _place_label(
    draw: ImageDraw.ImageDraw, rect: Rect, text: str, font: ImageFont.ImageFont, pad: int,
    size: tuple[int, int], placed: Sequence[Rect],
) -> Rect | None:
    """Where a label goes: the first candidate spot that covers no placed label; None when every spot would."""
    left, top, right, bottom = rect
    text_left, text_top, text_right, text_bottom = draw.textbbox((0, 0), text, font=font, anchor="lt")
    tag_width, tag_height = text_right - text_left + 2 * pad, text_bottom - text_top + 2 * pad
    spots = [(left, top - tag_height), (left, bottom), (left, top), (right - tag_width, top - tag_height),
             (right - tag_width, bottom), (left, bottom - tag_height)]  # above, below, inside top, right-aligned, inside bottom
    image_width, image_height = size
    for x, y in spots:
        x = min(max(x, 0), max(image_width - tag_width, 0))
        y = min(max(y, 0), max(image_height - tag_height, 0))
        candidate = (x, y, x + tag_width, y + tag_height)
        if not any(_overlap(candidate, other) for other in placed):
            return candidate
    return None


def _overlap(first: Rect, second: Rect) -> int:
    width = min(first[2], second[2]) - max(first[0], second[0])
    height = min(first[3], second[3]) - max(first[1], second[1])
    return max(width, 0) * max(height, 0)


def _with_caption(canvas: Image.Image, caption: str, colour: tuple[int, int, int], size: int, pad: int) -> Image.Image:
    """The picture with a band underneath holding `caption`, in a smaller font if it would not fit the width.

    The picture's pixels keep their coordinates.
    """
    measure = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=size)
    text_width = measure.textlength(caption, font=font)
    if text_width > canvas.width - 4 * pad:
        font = ImageFont.load_default(size=max(8, int(size * (canvas.width - 4 * pad) / text_width)))
    text_top, text_bottom = measure.textbbox((0, 0), caption, font=font, anchor="lt")[1::2]
    band = text_bottom - text_top + 4 * pad
    framed = Image.new("RGB", (canvas.width, canvas.height + band), colour)
    framed.paste(canvas, (0, 0))
    ImageDraw.Draw(framed).text((2 * pad, canvas.height + 2 * pad), caption, fill=TEXT_COLOUR, font=font, anchor="lt")
    return framed
