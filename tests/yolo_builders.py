"""Builders for small YOLO datasets on disk, good and broken, for the ingest tests."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pydicom
import yaml
from PIL import Image
from pydicom.encaps import encapsulate

from fracdet_core.classes import CLASS_NAMES

DICOM_DATA = Path(__import__("data_store").__file__).parent / "data"
REAL_EXTREMITY_CR = DICOM_DATA / "RG3_UNCR.dcm"  # 16-bit MONOCHROME1 CR, uncompressed
REAL_EXTREMITY_CR_J2K = DICOM_DATA / "RG3_J2KR.dcm"  # the same image, lossless JPEG 2000


def png_bytes(seed: int, size: tuple[int, int] = (64, 48), mode: str = "L") -> bytes:
    """A small noise image, different for every seed (so no two are duplicates)."""
    rng = np.random.default_rng(seed)
    width, height = size
    if mode == "I;16":
        image = Image.fromarray(rng.integers(0, 65535, (height, width), dtype=np.uint16))
    else:
        image = Image.fromarray(rng.integers(0, 255, (height, width, 4), dtype=np.uint8), "RGBA").convert(mode)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def blank_png(size: tuple[int, int]) -> bytes:
    """A uniform image: large in pixels, tiny in bytes, as decompression bombs are."""
    buffer = io.BytesIO()
    Image.new("L", size, 0).save(buffer, format="PNG")
    return buffer.getvalue()


def jpeg_bytes(seed: int, size: tuple[int, int] = (64, 48), mode: str = "L", orientation: int | None = None) -> bytes:
    rng = np.random.default_rng(seed)
    width, height = size
    image = Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8), "RGB").convert(mode)
    buffer = io.BytesIO()
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    image.save(buffer, format="JPEG", exif=exif.tobytes())
    return buffer.getvalue()


def dicom_without_pixels() -> bytes:
    dataset = pydicom.dcmread(REAL_EXTREMITY_CR)
    del dataset.PixelData
    buffer = io.BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def dicom_with_undecodable_syntax() -> bytes:
    dataset = pydicom.dcmread(REAL_EXTREMITY_CR)
    dataset.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.4.100"  # MPEG-2: no decoder for it
    dataset.PixelData = encapsulate([b"\x00" * 128])
    buffer = io.BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def write_data_yaml(root: Path, *, names: object = None, train: object = "train/images", val: object = "valid/images",
                    path: object = ".") -> Path:
    content = {"path": path, "train": train, "val": val, "names": list(CLASS_NAMES) if names is None else names}
    target = root / "data.yaml"
    target.write_text(yaml.safe_dump(content, sort_keys=False))
    return target


def add_image(root: Path, split_folder: str, name: str, data: bytes, label: str | bytes | None = None) -> Path:
    """Write an image and, unless `label` is None, its label file beside it in `labels/`."""
    image_path = root / split_folder / "images" / name
    image_path.parent.mkdir(parents=True, exist_ok=True)
    image_path.write_bytes(data)
    if label is not None:
        label_path = root / split_folder / "labels" / (os.path.splitext(name)[0] + ".txt")
        label_path.parent.mkdir(parents=True, exist_ok=True)
        label_path.write_bytes(label.encode() if isinstance(label, str) else label)
    return image_path


def labelled_dataset(root: Path, train: list[str | None], val: list[str | None], *, first_seed: int = 1000) -> Path:
    """A dataset with one 64x48 image per label text (None: no label file); returns `root`."""
    seed = first_seed
    for folder, labels in (("train", train), ("valid", val)):
        for index, label in enumerate(labels):
            add_image(root, folder, f"{folder}_{index:04d}.png", png_bytes(seed), label)
            seed += 1
    write_data_yaml(root)
    return root


def one_box_per_class(size: float = 0.2) -> list[str]:
    """Ten label texts, one box of each class."""
    return [f"{class_id} 0.5 0.5 {size} {size}\n" for class_id in range(len(CLASS_NAMES))]
