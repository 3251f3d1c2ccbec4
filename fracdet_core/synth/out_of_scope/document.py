"""Document- and screenshot-like frames: text-like strokes, headings, tables and the blocks of a program's window.

Two families: a page (paper, perhaps scanned: a slight tilt, grey paper, noise) with a heading,
paragraphs and sometimes a table; and a screenshot (light or dark theme) with a title bar, a side
bar, buttons and text. The text is glyphs of nonsense words (`frame.words`), so the strokes are
those of type. Colour frames colour the program's bars and buttons and a page's heading.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from fracdet_core.synth.out_of_scope.frame import font, frame_size, words


def document_frame(rng: np.random.Generator, size: int, colour: bool) -> np.ndarray:
    """RGB float32 (height, width, 3) when `colour`, else grey (height, width), in [0, 1]."""
    width, height = frame_size(rng, size)
    image = _page(rng, width, height, colour) if rng.random() < 0.5 else _screenshot(rng, width, height, colour)
    rgb = np.asarray(image.convert("RGB"), np.float32) / 255.0
    return rgb if colour else (rgb @ np.array([0.299, 0.587, 0.114], np.float32)).astype(np.float32)


def _page(rng: np.random.Generator, width: int, height: int, colour: bool) -> Image.Image:
    paper = tuple(int(v) for v in rng.integers(215, 256, size=3)) if colour else (int(rng.integers(215, 256)),) * 3
    image = Image.new("RGB", (width, height), paper)
    draw = ImageDraw.Draw(image)
    line = max(6, int(min(width, height) * rng.uniform(0.018, 0.03)))
    margin = width * rng.uniform(0.06, 0.12)
    heading = tuple(int(v) for v in rng.integers(0, 150, size=3)) if colour else (20, 20, 20)
    draw.text((margin, line * 2), words(rng, 3).title(), fill=heading, font=font(line * 2))
    y = line * 5.0
    while y < height - line * 3:
        if rng.random() < 0.12:  # a table: rows of cells with grid lines
            y = _table(rng, draw, margin, y, width - margin, line)
            continue
        draw.text((margin, y), words(rng, int(rng.integers(3, 12))), fill=(30, 30, 30), font=font(line))
        y += line * (1.5 if rng.random() < 0.85 else 3.0)
    if rng.random() < 0.4:  # scanned: a slight tilt onto a darker platen
        image = image.rotate(rng.uniform(-3.0, 3.0), resample=Image.BILINEAR, fillcolor=(90, 90, 90))
    return image


def _table(rng: np.random.Generator, draw: ImageDraw.ImageDraw, left: float, top: float, right: float, line: int) -> float:
    rows, columns = int(rng.integers(2, 6)), int(rng.integers(2, 5))
    row_height = line * 1.8
    for row in range(rows + 1):
        draw.line((left, top + row * row_height, right, top + row * row_height), fill=(60, 60, 60), width=1)
    for column in range(columns + 1):
        x = left + (right - left) * column / columns
        draw.line((x, top, x, top + rows * row_height), fill=(60, 60, 60), width=1)
        for row in range(rows if column < columns else 0):
            draw.text((x + line * 0.4, top + row * row_height + line * 0.3), words(rng, 1), fill=(30, 30, 30), font=font(line))
    return top + rows * row_height + line * 2


def _screenshot(rng: np.random.Generator, width: int, height: int, colour: bool) -> Image.Image:
    dark = rng.random() < 0.35
    background, ink = ((30, 32, 36), (220, 220, 220)) if dark else ((245, 245, 245), (30, 30, 30))
    accent = tuple(int(v) for v in rng.integers(40, 230, size=3)) if colour else (110, 110, 110)
    image = Image.new("RGB", (width, height), background)
    draw = ImageDraw.Draw(image)
    line = max(6, int(min(width, height) * rng.uniform(0.02, 0.032)))
    bar = line * 2.2
    draw.rectangle((0, 0, width, bar), fill=accent)
    draw.text((line, bar * 0.25), words(rng, 2), fill=(255, 255, 255), font=font(line))
    side = width * rng.uniform(0.15, 0.3) if rng.random() < 0.7 else 0.0
    if side:
        draw.rectangle((0, bar, side, height), fill=tuple(max(0, v - 18) for v in background))
        for k in range(int((height - bar) // (line * 2))):
            draw.text((line * 0.6, bar + line * (0.8 + 2 * k)), words(rng, 1), fill=ink, font=font(line))
    y = bar + line
    while y < height - line * 3:
        if rng.random() < 0.2:  # a button
            draw.rounded_rectangle((side + line, y, side + line * 8, y + line * 1.8), radius=line // 3, fill=accent)
            draw.text((side + line * 1.6, y + line * 0.4), words(rng, 1), fill=(255, 255, 255), font=font(line))
        else:
            draw.text((side + line, y), words(rng, int(rng.integers(2, 9))), fill=ink, font=font(line))
        y += line * 2.2
    return image
