"""Ingest: a YOLO dataset (folder or gs://; PNG, JPEG, BMP, TIFF, DICOM) to validated TFRecord shards.

The stage's entry is `run.ingest_dataset`; its settings are `config.IngestConfig`. The names
below load on first use, so worker processes that only need
`fracdet_core.ingest.process` do not pay for pyarrow and the output writers.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "DatasetError": "fracdet_core.ingest.spec",
    "DecodeLimits": "fracdet_core.limits",
    "FanOutError": "fracdet_core.ingest.plan",
    "IngestConfig": "fracdet_core.ingest.config",
    "ingest_dataset": "fracdet_core.ingest.run",
    "ingest_shards": "fracdet_core.ingest.part",
    "merge_parts": "fracdet_core.ingest.merge",
    "plan_ingest": "fracdet_core.ingest.plan",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> object:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
