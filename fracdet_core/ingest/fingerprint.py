"""A cheap identity of the data behind a dataset URI, for the pipeline's cache key.

KFP keys a task's cache on its parameters, and `data_uri` stays the same when images are
added to or replaced in the bucket behind it. The pipeline therefore lists the dataset first
and passes this fingerprint to ingest: when any file changes, appears or disappears, the key
changes and ingest runs again (and, through its new output artifact, EDA and training too).

Only a listing is read, never the images: on GCS each object's MD5 (its content), locally its
modification time, plus every file's name and size. A listing of 24,000 objects is a couple of
dozen requests, so the fingerprint is always computed fresh.
"""

from __future__ import annotations

import hashlib

from fracdet_core import storage
from fracdet_core.ingest.spec import read_spec

FINGERPRINT_VERSION = "1"  # bump when what goes into the hash changes, so old cache keys stop matching


def data_fingerprint(data: str) -> str:
    """sha256 (hex) over `data.yaml`'s bytes and every file under the dataset root.

    Args:
        data: an Ultralytics data.yaml, or the folder or gs:// prefix holding one (as ingest takes it).

    Raises:
        DatasetError: no usable data.yaml (the same check ingest makes, so the run stops here with its message).
    """
    spec = read_spec(data)
    digest = hashlib.sha256(f"fracdet-data-fingerprint/{FINGERPRINT_VERSION}\0".encode())
    digest.update(hashlib.sha256(storage.read_bytes(spec.yaml_uri)).digest())
    root = storage.normalize(spec.root).rstrip("/") + "/"
    for item in storage.list_file_versions(root):
        relative = item.uri[len(root):]
        digest.update(f"{relative}\0{item.size}\0{item.version}\n".encode())
    return digest.hexdigest()
