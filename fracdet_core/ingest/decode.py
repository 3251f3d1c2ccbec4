"""Decode one radiograph (PNG, JPEG, BMP, TIFF or DICOM) into the grayscale form ingest stores.

What is stored, and why:
- Grayscale only. Radiographs are single-channel; colour files are converted (ITU-R 601 luma),
  alpha is dropped, CMYK and palette images are converted, EXIF orientation is applied.
- Bit depth is kept: 8-bit sources stay 8-bit, sources with more range (16-bit PNG and TIFF,
  DICOM) become 16-bit. Radiographs carry 10-16 bits of signal, and an 8-bit cut would throw
  away the range that windowing and augmentation use. Readers decode both to [0, 1] floats.
- DICOM pixel values go through the modality LUT (rescale slope and intercept) and the VOI LUT
  or window, as a viewer shows them, are stretched over 16 bits, and MONOCHROME1 is inverted
  so bone is always bright.
- An 8-bit grayscale PNG or JPEG (or a 16-bit grayscale PNG) that needs no rotation or
  resizing is stored as its original bytes: nothing is lost or recompressed. Everything else
  is stored as a lossless PNG.

What the image says about itself (`indications.facts.ImageFacts`): the share of coloured pixels is
measured before the conversion to gray, the gray levels on the pixels as decoded, and a DICOM's
Modality, body part and descriptions are read from its dataset, so that the indications need no
second decode. A PALETTE COLOR DICOM goes through its palette to RGB first (its stored values are
indices, not gray levels).

Size: the pixel count is checked from the header, before anything is decoded, against
`DecodeLimits.max_pixels` (defaults and reasons in `fracdet_core/limits.py`); Pillow's own guard is set to the
same limit while Pillow reads, so ours is the one that applies, above Pillow's default or below.

Problems raise `ImageRejectionError` with a stable reason code for `quarantine.jsonl`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import threading
import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from fracdet_core import storage
from fracdet_core.errors import first_line
from fracdet_core.indications.colour import chroma_share
from fracdet_core.indications.content import gray_histogram
from fracdet_core.indications.dicom_tags import DicomTags, read_dicom_tags
from fracdet_core.indications.facts import ImageFacts
from fracdet_core.ingest.rejection import RejectionError
from fracdet_core.limits import DecodeLimits

if TYPE_CHECKING:
    import pydicom

DICOM_SUFFIXES = (".dcm", ".dicom")
_PASS_THROUGH_FORMATS = {"PNG": "png", "JPEG": "jpeg"}
_PILLOW_LIMIT_LOCK = threading.Lock()


class ImageRejectionError(RejectionError):
    """An image that cannot be used."""


def read_within(uri: str, max_bytes: int) -> bytes:
    """The content of an image file, once its size (a local stat, a GCS object's size) is within `max_bytes`.

    The size is read before the content, so an oversized file costs nothing to refuse.

    Raises:
        ImageRejectionError: `file_too_large`.
        StorageError: the file cannot be read (NotFoundError when it is missing).
    """
    with storage.open_read(uri) as stream:
        size = stream.seek(0, io.SEEK_END)
        if size > max_bytes:
            raise ImageRejectionError("file_too_large", f"{size:,} bytes, above the limit of {max_bytes:,} (--max-bytes)")
        stream.seek(0)
        return stream.read(max_bytes + 1)  # bounded even if the file grew since its size was read


@dataclasses.dataclass(frozen=True)
class DecodedImage:
    """A grayscale image ready to store.

    Attributes:
        encoded: the bytes to store (PNG or JPEG).
        image_format: "png" or "jpeg".
        height, width: pixels of the stored image.
        bit_depth: 8 or 16.
        facts: what the source says about itself, for the indications (module docstring).
    """

    encoded: bytes
    image_format: str
    height: int
    width: int
    bit_depth: int
    facts: ImageFacts


def decode_image(data: bytes, suffix: str, limits: DecodeLimits) -> DecodedImage:
    """Decode, check and normalise one image file's bytes.

    Args:
        data: the file's content.
        suffix: its extension, lower case with the dot (decides DICOM or not, with the
            DICM magic as a second test).
        limits: size bounds.

    Raises:
        ImageRejectionError: empty, corrupt, too large, too small or undecodable.
    """
    if not data:
        raise ImageRejectionError("empty_file", "the file is empty (0 bytes)")
    if suffix in DICOM_SUFFIXES or data[128:132] == b"DICM":
        pixels, chroma, tags = _decode_dicom(data, limits)
        return _finish(pixels, limits, original=None, facts=ImageFacts(chroma, gray_histogram(pixels), tags))
    return _decode_raster(data, limits)


def _decode_raster(data: bytes, limits: DecodeLimits) -> DecodedImage:
    try:
        with _pillow_pixel_limit(None):  # our check below replaces Pillow's on open, so the message can give the size
            image = Image.open(io.BytesIO(data))
        check_pixels(*image.size, limits.max_pixels)
        with _pillow_pixel_limit(limits.max_pixels):  # Pillow checks again while loading some formats (TIFF tiles)
            image.load()
    except ImageRejectionError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ImageRejectionError("decompression_bomb", str(error)) from error
    except UnidentifiedImageError:
        raise ImageRejectionError("corrupt_image", "not a readable image (unknown or damaged format)") from None
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageRejectionError("corrupt_image", f"cannot decode: {error}") from error

    source_format = image.format
    rotated = _orientation(image) not in (None, 1)
    pixels, chroma = _to_gray(ImageOps.exif_transpose(image) if rotated else image)
    keep_original = (
        source_format in _PASS_THROUGH_FORMATS
        and not rotated
        and image.mode in ("L", "I;16")
        and (source_format == "PNG" or image.mode == "L")
    )
    original = (data, _PASS_THROUGH_FORMATS[source_format]) if keep_original else None
    return _finish(pixels, limits, original, ImageFacts(chroma, gray_histogram(pixels)))


def check_pixels(width: int, height: int, max_pixels: int) -> None:
    """Raise `decompression_bomb` for an image of width x height above `max_pixels`; the one wording of that rejection."""
    if width * height > max_pixels:
        raise ImageRejectionError(
            "decompression_bomb", f"{width}x{height} = {width * height:,} pixels, above the limit of {max_pixels:,}"
        )


@contextlib.contextmanager
def _pillow_pixel_limit(max_pixels: int | None) -> Iterator[None]:
    """Pillow's own decompression-bomb guard set to `max_pixels` (None: off) for the block.

    Pillow checks sizes against the process-wide `Image.MAX_IMAGE_PIXELS` (a warning above it,
    an error above twice it) on open and again while loading some formats. Left at its default,
    that check would overrule our limit whenever ours is higher. The value is per
    process (ingest's workers are spawned processes, not threads), and the lock keeps threads
    of one process from seeing each other's setting; the old value comes back afterwards.
    """
    with _PILLOW_LIMIT_LOCK:
        saved = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = max_pixels
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                yield
        finally:
            Image.MAX_IMAGE_PIXELS = saved


def _orientation(image: Image.Image) -> int | None:
    try:
        return image.getexif().get(0x0112)
    except Exception:  # noqa: BLE001 - a damaged EXIF block must not reject a readable image
        return None


def _to_gray(image: Image.Image) -> tuple[np.ndarray, float]:
    """(H, W) uint8 or uint16 pixels of any Pillow mode, and the share of coloured pixels before the conversion."""
    mode = image.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N"):
        return np.asarray(image, dtype=np.uint16), 0.0
    if mode in ("I", "F"):
        values = np.asarray(image, dtype=np.float64)
        if mode == "I" and values.min() >= 0 and values.max() <= 65535:
            return values.astype(np.uint16), 0.0
        return _stretch_to_uint16(values), 0.0
    if mode in ("P", "PA"):  # palettes may carry transparency: resolve it through RGBA
        image = image.convert("RGBA")
    if image.mode == "LA":
        image = image.convert("L")
    if image.mode not in ("L", "RGB"):  # RGBA drops alpha; CMYK, YCbCr and the rest convert
        image = image.convert("RGB")
    chroma = chroma_share(np.asarray(image)) if image.mode == "RGB" else 0.0
    return np.asarray(image.convert("L"), dtype=np.uint8), chroma


def _stretch_to_uint16(values: np.ndarray) -> np.ndarray:
    low, high = float(np.min(values)), float(np.max(values))
    if high <= low:
        return np.zeros(values.shape, np.uint16)
    return np.round((values - low) / (high - low) * 65535.0).astype(np.uint16)


def _decode_dicom(data: bytes, limits: DecodeLimits) -> tuple[np.ndarray, float, DicomTags]:
    """(gray pixels, share of coloured pixels, the indication tags) of a DICOM file."""
    dataset = _read_dicom(data)
    tags = read_dicom_tags(dataset)
    check_pixels(int(dataset.get("Columns", 0)), int(dataset.get("Rows", 0)), limits.max_pixels)
    pixels = _dicom_pixel_array(dataset, limits.max_pixels)
    if int(dataset.get("NumberOfFrames", 1) or 1) > 1:
        pixels = pixels[0]  # radiographs are single frames; a stack keeps its first
    if dataset.get("PhotometricInterpretation") == "PALETTE COLOR" and pixels.ndim == 2:
        pixels = _through_palette(pixels, dataset)
    if pixels.ndim == 3:  # colour DICOM (secondary captures, ultrasound)
        rgb = _to_uint8(pixels)
        return np.asarray(Image.fromarray(rgb).convert("L"), dtype=np.uint8), chroma_share(rgb), tags
    return _dicom_display_values(pixels, dataset), 0.0, tags


def _through_palette(indices: np.ndarray, dataset: pydicom.Dataset) -> np.ndarray:
    """(H, W, 3) RGB of a PALETTE COLOR image's stored indices."""
    from pydicom.pixels import apply_color_lut

    try:
        return apply_color_lut(indices, dataset)
    except (ValueError, AttributeError, KeyError, TypeError, IndexError) as error:
        raise ImageRejectionError("corrupt_image", f"cannot apply the DICOM palette: {first_line(error)}") from error


def _to_uint8(rgb: np.ndarray) -> np.ndarray:
    """Colour pixels on 8 bits: wider integers (16- and 32-bit RGB, 16-bit palettes) scaled from their type's range."""
    if rgb.dtype == np.uint8:
        return rgb
    if np.issubdtype(rgb.dtype, np.integer):
        top = float(np.iinfo(rgb.dtype).max)
        return np.round(np.clip(rgb.astype(np.float64), 0, top) * (255.0 / top)).astype(np.uint8)
    return np.round(_stretch_to_uint16(rgb.astype(np.float64)) / 257.0).astype(np.uint8)


def _read_dicom(data: bytes) -> pydicom.Dataset:
    """The parsed dataset, refused unless it is DICOM with pixel data."""
    import pydicom
    from pydicom.errors import InvalidDicomError

    try:
        dataset = pydicom.dcmread(io.BytesIO(data), force=True)
    except (InvalidDicomError, OSError, ValueError, EOFError) as error:
        raise ImageRejectionError("corrupt_image", f"not a readable DICOM file: {error}") from error
    if "PixelData" not in dataset:
        raise ImageRejectionError("dicom_no_pixel_data", "the DICOM file has no pixel data")
    return dataset


def _dicom_pixel_array(dataset: pydicom.Dataset, max_pixels: int) -> np.ndarray:
    """The stored pixels, with each way decoding fails as its own rejection reason."""
    transfer_syntax = getattr(getattr(dataset, "file_meta", None), "TransferSyntaxUID", None)
    try:
        with _pillow_pixel_limit(max_pixels):  # compressed pixel data may decode through Pillow
            return dataset.pixel_array
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ImageRejectionError("decompression_bomb", str(error)) from error
    except (NotImplementedError, RuntimeError) as error:
        name = getattr(transfer_syntax, "name", transfer_syntax) or "unknown"
        raise ImageRejectionError(
            "dicom_unsupported_transfer_syntax", f"cannot decode transfer syntax {name}: {first_line(error)}"
        ) from error
    except (ValueError, AttributeError, KeyError, TypeError) as error:
        raise ImageRejectionError("corrupt_image", f"cannot decode DICOM pixel data: {first_line(error)}") from error


def _dicom_display_values(pixels: np.ndarray, dataset: pydicom.Dataset) -> np.ndarray:
    """Gray pixels as a reader sees them: modality and VOI transforms applied, high values bright, on 16 bits."""
    from pydicom.pixels import apply_modality_lut, apply_voi_lut

    values = apply_modality_lut(pixels, dataset)
    if "WindowCenter" in dataset or "VOILUTSequence" in dataset:
        values = apply_voi_lut(values, dataset, index=0)
    values = np.asarray(values, dtype=np.float64)
    if dataset.get("PhotometricInterpretation") == "MONOCHROME1":
        values = values.max() - values
    return _stretch_to_uint16(values)


def _finish(pixels: np.ndarray, limits: DecodeLimits, original: tuple[bytes, str] | None, facts: ImageFacts) -> DecodedImage:
    height, width = pixels.shape
    if min(height, width) < limits.min_side:
        raise ImageRejectionError("image_too_small", f"{width}x{height} pixels, below the minimum side of {limits.min_side}")
    bit_depth = 16 if pixels.dtype == np.uint16 else 8
    if limits.max_side and max(height, width) > limits.max_side:
        scale = limits.max_side / max(height, width)
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        image = Image.fromarray(pixels.astype(np.float32) if bit_depth == 16 else pixels)
        resized = np.asarray(image.resize(size, Image.Resampling.LANCZOS if bit_depth == 8 else Image.Resampling.BILINEAR))
        pixels = np.clip(np.round(resized), 0, 65535).astype(np.uint16) if bit_depth == 16 else resized
        height, width = pixels.shape
        original = None
    if original is not None:
        encoded, image_format = original
    else:
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="PNG", compress_level=3)
        encoded, image_format = buffer.getvalue(), "png"
    return DecodedImage(encoded, image_format, height, width, bit_depth, facts)
