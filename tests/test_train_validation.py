"""Training validates on the val split's calibration half: the half the evaluation does not report on."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from fracdet_core.classes import BODY_PARTS, CLASS_NAMES, describe_class
from fracdet_core.ingest import IngestConfig, ingest_dataset
from fracdet_core.model.config import ModelConfig
from fracdet_core.synth import SynthConfig, generate_dataset
from fracdet_core.train.dataset import training_dataset
from fracdet_core.train.validation import calibration_source_ids

SMALL = ModelConfig(image_size=64, stem_width=8, stage_widths=(8, 8, 16, 16, 16), stage_depths=(1, 1, 1, 1, 1), fpn_width=8)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("validation")
    generate_dataset(SynthConfig(train=4, val=30, size=96, seed=21), str(base / "data"), progress=False)
    ingest_dataset(str(base / "data"), str(base / "ingest"), IngestConfig(shards=3), progress=False)
    return base


def _stratum(label_file: Path) -> tuple[int, bool]:
    """(body part's rank, fractured) of a synthetic image from its YOLO labels; no boxes rank last."""
    names = [CLASS_NAMES[int(line.split()[0])] for line in label_file.read_text().splitlines() if line.strip()]
    if not names:
        return (len(BODY_PARTS), False)
    part, _ = describe_class(names[0])
    return (BODY_PARTS.index(part), any(describe_class(name)[1] for name in names))


def test_the_calibration_half_is_every_other_image_of_each_stratum_by_hash(dataset):
    # The documented rule, applied here to the source files: strata in body-part order (normal
    # before fractured), each ordered by the sha256 of the image bytes, dealt alternately.
    images = sorted((dataset / "data" / "valid" / "images").glob("*.png"))
    keyed = sorted((_stratum(dataset / "data" / "valid" / "labels" / f"{image.stem}.txt"),
                    hashlib.sha256(image.read_bytes()).hexdigest(), f"valid/images/{image.name}") for image in images)
    expected = sorted(source_id for _, _, source_id in keyed[0::2])

    chosen = calibration_source_ids(str(dataset / "ingest"))

    assert sorted(chosen) == expected
    assert len(chosen) == 15


def test_the_validation_batches_hold_only_the_chosen_images_and_repeat_from_the_cache(dataset):
    chosen = calibration_source_ids(str(dataset / "ingest"))
    batches = training_dataset(str(dataset / "ingest"), "val", SMALL, 4, augmentation=None, shuffle=False,
                               deterministic=True, source_ids=chosen, cache=True)
    first = list(batches.as_numpy_iterator())
    again = list(batches.as_numpy_iterator())
    whole = list(training_dataset(str(dataset / "ingest"), "val", SMALL, 4, augmentation=None, shuffle=False,
                                  deterministic=True).as_numpy_iterator())

    assert sum(len(images) for images, _ in first) == len(chosen) == 15
    assert sum(len(images) for images, _ in whole) == 30
    for (images, targets), (images_again, targets_again) in zip(first, again, strict=True):
        np.testing.assert_array_equal(images, images_again)
        np.testing.assert_array_equal(targets, targets_again)
    # The chosen images are among the whole split's, unchanged by filtering.
    whole_images = np.concatenate([images for images, _ in whole])
    for image in np.concatenate([images for images, _ in first]):
        assert np.any(np.all(whole_images == image, axis=(1, 2, 3)))
