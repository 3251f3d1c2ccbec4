"""The data fingerprint that keys ingest's cache: it moves with the data and only with the data."""

from __future__ import annotations

import time

import pytest
import yaml

from fracdet_core import storage
from fracdet_core.classes import CLASS_NAMES
from fracdet_core.ingest.fingerprint import data_fingerprint
from fracdet_core.ingest.spec import DatasetError


def _write_dataset(root: str) -> None:
    content = {"path": ".", "train": "train/images", "val": "valid/images", "names": list(CLASS_NAMES)}
    storage.write_text(storage.join(root, "data.yaml"), yaml.safe_dump(content))
    for split in ("train", "valid"):
        for index in range(2):
            storage.write_bytes(storage.join(root, split, "images", f"{index}.png"), bytes([index]) * 100)
            storage.write_text(storage.join(root, split, "labels", f"{index}.txt"), "3 0.5 0.5 0.2 0.2\n")


def test_the_fingerprint_changes_with_the_data_and_only_with_it(storage_root):
    _write_dataset(storage_root)
    first = data_fingerprint(storage_root)
    assert len(first) == 64 and int(first, 16) >= 0
    assert data_fingerprint(storage_root) == first
    assert data_fingerprint(storage.join(storage_root, "data.yaml")) == first  # the YAML or its folder: the same data

    time.sleep(0.05)  # a local rewrite shows as a new modification time; let the clock move past the first write
    image = storage.join(storage_root, "train", "images", "1.png")
    storage.write_bytes(image, bytes([7]) * 100)  # same name, same size, other bytes
    changed = data_fingerprint(storage_root)
    assert changed != first

    storage.write_bytes(storage.join(storage_root, "valid", "images", "2.png"), b"\x02" * 100)  # a new image
    added = data_fingerprint(storage_root)
    assert added not in (first, changed)

    storage.remove(storage.join(storage_root, "valid", "images", "2.png"))
    assert data_fingerprint(storage_root) == changed  # back to the same listing, back to the same key


def test_a_relabelled_image_changes_the_fingerprint(storage_root):
    _write_dataset(storage_root)
    first = data_fingerprint(storage_root)
    time.sleep(0.05)
    storage.write_text(storage.join(storage_root, "train", "labels", "0.txt"), "4 0.5 0.5 0.2 0.2\n")
    assert data_fingerprint(storage_root) != first


def test_gcs_fingerprints_are_content_hashes(gcs_bucket):
    """On GCS the key is each object's MD5: uploading the same bytes again keeps the cache."""
    root = f"gs://{gcs_bucket}/xr"
    _write_dataset(root)
    first = data_fingerprint(root)
    storage.write_bytes(f"{root}/train/images/0.png", bytes([0]) * 100)  # a new generation, the same content
    assert data_fingerprint(root) == first
    listing = storage.list_file_versions(root)
    assert [item.uri for item in listing] == storage.list_files(root)
    assert {item.size for item in listing if item.uri.endswith(".png")} == {100}


def test_no_dataset_is_the_same_error_ingest_gives(tmp_path):
    with pytest.raises(DatasetError, match=r"no data\.yaml here"):
        data_fingerprint(str(tmp_path))
