"""Draw one out-of-scope image of a kind and encode it as the dataset's format asks: PNG or DICOM.

Formats are chosen so that nothing but the content separates these images from the in-scope
ones once ingested: in a PNG dataset every image is an 8-bit PNG (grey, or RGB for some
photographs, documents and ultrasound frames, which ingest turns to grey, 8-bit, as it does any
colour file); in a DICOM dataset every image is a monochrome DICOM of 12 stored bits, which
ingest stretches to 16 bits as it does the in-scope CR films. Colour is therefore drawn only for
PNG datasets. Each DICOM says what it is: a CR film with its BodyPartExamined, or a CT, MR, US,
photograph (XC) or other (OT) image, as `kinds.DICOM_TAGS` gives.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
from PIL import Image

from fracdet_core.synth.dicom import encode_dicom
from fracdet_core.synth.out_of_scope.dicom import encode_other_dicom
from fracdet_core.synth.out_of_scope.document import document_frame
from fracdet_core.synth.out_of_scope.kinds import RADIOGRAPH_KINDS
from fracdet_core.synth.out_of_scope.photo import photo_frame
from fracdet_core.synth.out_of_scope.radiographs import draw_radiograph
from fracdet_core.synth.out_of_scope.tomography import ct_frame, mr_frame
from fracdet_core.synth.out_of_scope.ultrasound import ultrasound_frame

# Kind -> (draw(rng, size, colour) -> float32 grey (H, W) or RGB (H, W, 3) in [0, 1], share of colour frames).
FRAMES: dict[str, tuple[Callable[[np.random.Generator, int, bool], np.ndarray], float]] = {
    "CT": (lambda rng, size, colour: ct_frame(rng, size), 0.0),
    "MR": (lambda rng, size, colour: mr_frame(rng, size), 0.0),
    "US": (ultrasound_frame, 0.3),
    "PHOTO": (photo_frame, 0.6),
    "DOCUMENT": (document_frame, 0.5),
}


def draw_pixels(kind: str, rng: np.random.Generator, size: int, colour_allowed: bool) -> np.ndarray:
    """The image of `kind` as uint8, grey (H, W) or RGB (H, W, 3); the longer side is `size` pixels."""
    if kind in RADIOGRAPH_KINDS:
        radiograph = draw_radiograph(rng, kind, size)
        return radiograph.display(radiograph.signal())
    draw, colour_share = FRAMES[kind]
    colour = colour_allowed and bool(rng.random() < colour_share)
    return np.round(np.clip(draw(rng, size, colour), 0.0, 1.0) * 255.0).astype(np.uint8)


def encode_out_of_scope(kind: str, seed: int, size: int, image_format: str, identity: str) -> bytes:
    """The file bytes of one out-of-scope image, a pure function of its arguments.

    Args:
        kind: one of `kinds.KINDS`.
        seed: the image's own seed.
        size: the longer side, pixels.
        image_format: "png" or "dcm".
        identity: a string unique to this image within the dataset's seed (DICOM UID entropy).
    """
    rng = np.random.default_rng(seed)
    if image_format == "dcm":
        if kind in RADIOGRAPH_KINDS:
            radiograph = draw_radiograph(rng, kind, size)
            return encode_dicom(radiograph.signal(), radiograph, identity=identity)
        return encode_other_dicom(draw_pixels(kind, rng, size, colour_allowed=False), kind, identity)
    buffer = io.BytesIO()
    Image.fromarray(draw_pixels(kind, rng, size, colour_allowed=True)).save(buffer, format="PNG", compress_level=3)
    return buffer.getvalue()
