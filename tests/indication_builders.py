"""Real files for the indication tests: pydicom-data's DICOMs, their pixels as tag-less PNGs, scikit-image's
photographs, and small DICOM radiographs with the tags (good or broken) a test names."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pydicom
from PIL import Image
from pydicom.dataset import FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
from yolo_builders import DICOM_DATA

from fracdet_core.ingest.decode import DecodedImage, decode_image
from fracdet_core.limits import DecodeLimits

# pydicom-data's real images outside the indications, and the reason their tags give.
REAL_DICOMS = {
    "RG1_UNCR.dcm": "body_part_not_indicated",  # CR, BodyPartExamined CHEST
    "RG3_UNCR.dcm": "body_part_not_indicated",  # CR, EXTREMITY; its study description says distal tibia
    "693_UNCR.dcm": "modality_not_radiograph",  # CT
    "MR2_UNCR.dcm": "modality_not_radiograph",  # MR (of a shoulder)
    "US1_UNCR.dcm": "modality_not_radiograph",  # ultrasound, RGB
    "JPGLosslessP14SV1_1s_1f_8b.dcm": "modality_not_radiograph",  # ultrasound, monochrome, JPEG lossless
}
CR_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.1"
SECONDARY_CAPTURE_STORAGE = "1.2.840.10008.5.1.4.1.1.7"


def decoded(data: bytes, suffix: str) -> DecodedImage:
    return decode_image(data, suffix, DecodeLimits())


def real_dicom(name: str) -> bytes:
    return (DICOM_DATA / name).read_bytes()


def pixels_as_png(name: str) -> bytes:
    """The DICOM's pixels as a PNG with no tags: colour ones as RGB, gray ones as the decoder's 16-bit gray."""
    dataset = pydicom.dcmread(DICOM_DATA / name)
    if dataset.SamplesPerPixel == 3:
        return encode(np.asarray(dataset.pixel_array, dtype=np.uint8))
    return decoded(real_dicom(name), ".dcm").encoded


def encode(pixels: np.ndarray, image_format: str = "PNG", mode: str | None = None) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels, mode).save(buffer, format=image_format)
    return buffer.getvalue()


def skimage_file(name: str) -> bytes:
    """A sample image file as scikit-image installs it (`skimage.data`'s folder)."""
    import skimage.data

    return (Path(skimage.data.__file__).parent / name).read_bytes()


def radiograph_dicom(*, pixels: np.ndarray | None = None, sop_class: str = CR_IMAGE_STORAGE, **tags: object) -> bytes:
    """A 16-bit MONOCHROME2 DICOM of a smooth gradient (or `pixels`), with `tags` set by keyword (None: left out).

    A tag given as `(vr, value)` is written with that VR, whatever the dictionary says: the way to
    plant a Modality of the wrong type.
    """
    if pixels is None:
        rows, columns = np.mgrid[0:96, 0:128]
        pixels = ((rows * 300 + columns * 200) % 4096 * 16).astype(np.uint16)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid(entropy_srcs=[repr(sorted(tags.items()))])
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    dataset = pydicom.Dataset()
    dataset.file_meta = meta
    dataset.SOPClassUID, dataset.SOPInstanceUID = sop_class, meta.MediaStorageSOPInstanceUID
    for keyword, value in tags.items():
        if isinstance(value, tuple):
            dataset.add_new(pydicom.datadict.tag_for_keyword(keyword), *value)
        elif value is not None:
            setattr(dataset, keyword, value)
    dataset.Rows, dataset.Columns = pixels.shape
    dataset.SamplesPerPixel, dataset.PhotometricInterpretation = 1, "MONOCHROME2"
    dataset.BitsAllocated = dataset.BitsStored = 16
    dataset.HighBit, dataset.PixelRepresentation = 15, 0
    dataset.PixelData = pixels.astype(np.uint16).tobytes()
    buffer = io.BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()
