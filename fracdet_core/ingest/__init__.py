"""Ingest: a YOLO dataset (folder or gs://; PNG, JPEG, BMP, TIFF, DICOM) to validated TFRecord shards."""

from fracdet_core.ingest.decode import DecodeLimits
from fracdet_core.ingest.ingest import IngestOptions, ingest_dataset
from fracdet_core.ingest.spec import DatasetError

__all__ = ["DatasetError", "DecodeLimits", "IngestOptions", "ingest_dataset"]
