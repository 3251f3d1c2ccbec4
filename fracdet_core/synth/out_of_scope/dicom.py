"""Encode an out-of-scope image that is not a CR film as a DICOM file of its own modality.

CT, MR and ultrasound images get their storage classes; photographs and documents are secondary
captures (Modality XC or OT). Pixels are monochrome, 12 bits stored, like the CR films the
generator writes, so that the file's bit depth says nothing about its content; the display grey
levels are stored as they are, without a window. UIDs derive from the identity the caller gives.
"""

from __future__ import annotations

import io

import numpy as np
import pydicom
from pydicom.dataset import FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from fracdet_core.synth.dicom import set_monochrome12
from fracdet_core.synth.out_of_scope.kinds import DICOM_TAGS

_SOP_CLASSES = {
    "CT": "1.2.840.10008.5.1.4.1.1.2",  # CT Image Storage
    "MR": "1.2.840.10008.5.1.4.1.1.4",  # MR Image Storage
    "US": "1.2.840.10008.5.1.4.1.1.6.1",  # Ultrasound Image Storage
}
_SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"
_STORED_MAX = 4095


def encode_other_dicom(pixels: np.ndarray, kind: str, identity: str) -> bytes:
    """DICOM bytes of a grey uint8 (H, W) image of `kind` (a non-radiograph kind of `kinds.KINDS`)."""
    modality = DICOM_TAGS[kind][0]
    sop_class = _SOP_CLASSES.get(modality, _SECONDARY_CAPTURE)
    dataset = pydicom.Dataset()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid(entropy_srcs=[identity, "instance"])
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    dataset.file_meta = meta
    dataset.SOPClassUID = sop_class
    dataset.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    dataset.StudyInstanceUID = generate_uid(entropy_srcs=[identity, "study"])
    dataset.SeriesInstanceUID = generate_uid(entropy_srcs=[identity, "series"])
    dataset.Modality = modality
    dataset.PatientID = f"SYNTH-{identity}"
    dataset.PatientName = "Synthetic^Image"
    dataset.StudyDate = dataset.SeriesDate = "20260101"
    dataset.ImageComments = f"synthetic out-of-scope image ({kind}) made by fracdet synth"
    _add_pixels(dataset, pixels)
    buffer = io.BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def _add_pixels(dataset: pydicom.Dataset, pixels: np.ndarray) -> None:
    stored = np.round(pixels.astype(np.float32) / 255.0 * _STORED_MAX).astype(np.uint16)
    set_monochrome12(dataset, stored)
