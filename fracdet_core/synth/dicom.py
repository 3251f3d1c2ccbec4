"""Encode a rendered signal as a computed-radiography DICOM file.

The pixel data is the linear detector signal on 12 bits (MONOCHROME2: high values are bright),
with the display window stored as VOI window centre and width, as a CR modality writes it, and the
VOI LUT function where it is not DICOM's default (linear). A PNG display gamma has no place in a
linear window and is left out. UIDs derive from the identity the caller gives, so the same study
always gets the same UIDs. Any renderer's `Radiograph` can be encoded.
"""

from __future__ import annotations

import io

import numpy as np
import pydicom
from pydicom.dataset import FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from fracdet_core.synth.radiograph import SIGNAL_MAX, Radiograph

_CR_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.1"
_STORED_MAX = 4095


def encode_dicom(signal: np.ndarray, radiograph: Radiograph, identity: str) -> bytes:
    """DICOM bytes of one radiograph.

    Args:
        signal: detector signal, float of shape (height, width), in [0, SIGNAL_MAX].
        radiograph: what it was rendered from (body part, window and its function, side).
        identity: a string unique to this image within the generator's seed (UID entropy).
    """
    dataset = pydicom.Dataset()
    dataset.file_meta = _file_meta(identity)
    _describe_study(dataset, radiograph, identity)
    _add_pixels(dataset, signal, radiograph.window)
    if radiograph.voi_lut_function != "LINEAR":
        dataset.VOILUTFunction = radiograph.voi_lut_function
    buffer = io.BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def _file_meta(identity: str) -> FileMetaDataset:
    """The file meta group: a CR image, its instance UID, explicit VR little endian."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = _CR_IMAGE_STORAGE
    meta.MediaStorageSOPInstanceUID = generate_uid(entropy_srcs=[identity, "instance"])
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    return meta


def _describe_study(dataset: pydicom.Dataset, radiograph: Radiograph, identity: str) -> None:
    """Set the UIDs, the synthetic patient and the study: what a PACS files the image under."""
    dataset.SOPClassUID = _CR_IMAGE_STORAGE
    dataset.SOPInstanceUID = dataset.file_meta.MediaStorageSOPInstanceUID
    dataset.StudyInstanceUID = generate_uid(entropy_srcs=[identity, "study"])
    dataset.SeriesInstanceUID = generate_uid(entropy_srcs=[identity, "series"])
    dataset.Modality = "CR"
    dataset.PatientID = f"SYNTH-{identity}"
    dataset.PatientName = "Synthetic^Radiograph"
    dataset.StudyDate = dataset.SeriesDate = "20260101"
    dataset.BodyPartExamined = radiograph.body_part
    dataset.Laterality = radiograph.laterality
    dataset.ImageComments = "synthetic radiograph made by fracdet synth"


def set_monochrome12(dataset: pydicom.Dataset, stored: np.ndarray) -> None:
    """Set the image pixel module for `stored`, 12-bit grey values (uint16, 2-D), dark as 0."""
    dataset.Rows, dataset.Columns = stored.shape
    dataset.SamplesPerPixel = 1
    dataset.PhotometricInterpretation = "MONOCHROME2"
    dataset.BitsAllocated = 16
    dataset.BitsStored = 12
    dataset.HighBit = 11
    dataset.PixelRepresentation = 0
    dataset.PixelData = stored.tobytes()


def _add_pixels(dataset: pydicom.Dataset, signal: np.ndarray, window: tuple[float, float]) -> None:
    """Set the 12-bit linear pixels and the VOI window, `window` being (low, high) in signal units."""
    stored = np.round(np.clip(signal / SIGNAL_MAX, 0.0, 1.0) * _STORED_MAX).astype(np.uint16)
    low, high = (value / SIGNAL_MAX * _STORED_MAX for value in window)
    set_monochrome12(dataset, stored)
    dataset.RescaleIntercept = 0
    dataset.RescaleSlope = 1
    dataset.WindowCenter = round((low + high) / 2.0, 1)
    dataset.WindowWidth = round(high - low, 1)
