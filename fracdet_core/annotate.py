"""Draw boxes on a radiograph so a person can check them at a glance.

Colours keep one meaning everywhere fracdet draws: fracture (positive-class) boxes red,
normal-study (negative-class) boxes blue, ground truth green. A detection's label names the
body part, the finding and the score ("ELBOW fracture 0.87").
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from fracdet_core.classes import CLASS_NAMES, describe_class
from fracdet_core.evaluate.records import ImageDetections

FRACTURE_COLOUR = (230, 50, 40)
NORMAL_COLOUR = (40, 150, 240)
TRUTH_COLOUR = (40, 200, 80)


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


def draw_boxes(
    encoded: bytes,
    detections: ImageDetections,
    *,
    truth_boxes: np.ndarray | None = None,
    max_side: int | None = None,
) -> bytes:
    """PNG bytes of the image with `detections` (and `truth_boxes`, yxyx normalised) drawn.

    `max_side` shrinks the picture first (galleries), so lines and labels stay legible.
    """
    canvas = decode_gray(encoded).convert("RGB")
    if max_side:
        canvas.thumbnail((max_side, max_side))
    width, height = canvas.size
    line = max(2, round(max(width, height) / 300))
    font = ImageFont.load_default(size=max(11, round(max(width, height) / 45)))
    draw = ImageDraw.Draw(canvas)

    def corners(box: np.ndarray) -> tuple[float, float, float, float]:
        ymin, xmin, ymax, xmax = (float(value) for value in box)
        return xmin * width, ymin * height, xmax * width, ymax * height

    for box in truth_boxes if truth_boxes is not None else ():
        draw.rectangle(corners(box), outline=TRUTH_COLOUR, width=line)
    for box, score, class_id in zip(detections.boxes, detections.scores, detections.classes):
        colour = FRACTURE_COLOUR if describe_class(CLASS_NAMES[class_id])[1] else NORMAL_COLOUR
        left, top, right, bottom = corners(box)
        draw.rectangle((left, top, right, bottom), outline=colour, width=line)
        text = label(int(class_id), float(score))
        text_box = draw.textbbox((left, top), text, font=font)
        text_height = text_box[3] - text_box[1] + 2 * line
        y = top - text_height if top - text_height >= 0 else bottom  # above the box, or below at the edge
        x = min(left, max(width - (text_box[2] - text_box[0]) - 2 * line, 0))
        draw.rectangle((x, y, x + text_box[2] - text_box[0] + 2 * line, y + text_height), fill=colour)
        draw.text((x + line, y + line - (text_box[1] - top)), text, fill=(255, 255, 255), font=font)
    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG")
    return buffer.getvalue()
