"""What the decoder learns about an image on its way to gray pixels, for the indications to judge.

The decoder (`ingest.decode`, which predict shares) is the one place where the source's colour and
its DICOM dataset exist; it measures them there, once, so no file is decoded twice.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from fracdet_core.indications.dicom_tags import DicomTags


@dataclasses.dataclass(frozen=True)
class ImageFacts:
    """Attributes:
        chroma_share: the share of pixels with colour (`colour.chroma_share`); 0 for a gray source.
        gray_histogram: int64 (256,) the gray pixels per 8-bit level (`content.gray_histogram`), of the source's size.
        dicom_tags: the indication tags of a DICOM file; None for any other file.
    """

    chroma_share: float
    gray_histogram: np.ndarray
    dicom_tags: DicomTags | None = None
