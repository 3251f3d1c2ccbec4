"""The synthetic dataset generator: layout, labels, class mix, determinism, DICOM, gs://."""

from __future__ import annotations

import io
import math
from collections import Counter
from pathlib import Path

import numpy as np
import pydicom
import pytest
import yaml
from PIL import Image

from fracdet_core import storage
from fracdet_core.classes import BODY_PARTS, CLASS_NAMES, describe_class
from fracdet_core.errors import ConfigError, FracdetError
from fracdet_core.synth import SynthConfig, generate_dataset
from fracdet_core.synth.config import DEFAULT_BODY_PART_SHARES
from fracdet_core.synth.dataset import plan_image

TINY = SynthConfig(train=16, val=6, size=128, seed=7)


def _read_tree(root: str) -> dict[str, bytes]:
    return {path[len(root) :]: storage.read_bytes(path) for path in storage.list_files(root)}


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "data"
    generate_dataset(TINY, str(out), workers=1, progress=False)
    return out


def test_layout_and_data_yaml(tiny_dataset):
    spec = yaml.safe_load((tiny_dataset / "data.yaml").read_text())
    assert spec["path"] == str(tiny_dataset)
    assert spec["train"] == "train/images" and spec["val"] == "valid/images"
    assert [spec["names"][i] for i in range(10)] == list(CLASS_NAMES)
    assert len(list((tiny_dataset / "train" / "images").glob("*.png"))) == TINY.train
    assert len(list((tiny_dataset / "valid" / "images").glob("*.png"))) == TINY.val


def test_images_are_grayscale_8_bit_with_the_longer_side_requested(tiny_dataset):
    for path in (tiny_dataset / "train" / "images").glob("*.png"):
        with Image.open(path) as image:
            assert image.mode == "L"
            assert max(image.size) == TINY.size
            assert 0.75 * TINY.size <= min(image.size) <= TINY.size


def test_every_label_line_is_valid_and_matches_the_plan(tiny_dataset):
    for split, folder in (("train", "train"), ("val", "valid")):
        for index in range(getattr(TINY, split)):
            plan = plan_image(TINY, split, index)
            label_path = tiny_dataset / folder / "labels" / f"{plan.stem}.txt"
            if plan.background:
                assert not label_path.exists()
                continue
            lines = label_path.read_text().splitlines()
            assert len(lines) >= 1 and (plan.fractured or len(lines) == 1)
            for line in lines:
                fields = line.split()
                assert len(fields) == 5
                class_index = int(fields[0])
                cx, cy, w, h = map(float, fields[1:])
                assert describe_class(CLASS_NAMES[class_index]) == (plan.body_part, plan.fractured)
                assert 0 < w <= 1 and 0 < h <= 1
                assert cx - w / 2 >= -1e-6 and cx + w / 2 <= 1 + 1e-6
                assert cy - h / 2 >= -1e-6 and cy + h / 2 <= 1 + 1e-6


@pytest.mark.slow
def test_output_is_identical_for_any_worker_count(tiny_dataset, tmp_path):
    parallel = tmp_path / "parallel"
    generate_dataset(TINY, str(parallel), workers=2, progress=False)
    serial_files = _read_tree(str(tiny_dataset))
    parallel_files = _read_tree(str(parallel))
    serial_files.pop("/data.yaml"), parallel_files.pop("/data.yaml")  # holds its own path
    assert serial_files == parallel_files


def test_another_seed_gives_other_images(tiny_dataset, tmp_path):
    other = tmp_path / "other"
    generate_dataset(SynthConfig(train=2, val=0, size=128, seed=8), str(other), workers=1, progress=False)
    assert (other / "train/images/synth_train_000000.png").read_bytes() != (
        tiny_dataset / "train/images/synth_train_000000.png"
    ).read_bytes()


def _within(observed: int, total: int, share: float) -> bool:
    """Whether a count is within 4.5 standard deviations of its binomial expectation."""
    return abs(observed - total * share) <= 4.5 * math.sqrt(total * share * (1 - share))


def test_class_mix_and_background_share_follow_the_config():
    config = SynthConfig(train=4000, val=0)
    plans = [plan_image(config, "train", i) for i in range(config.train)]
    parts = Counter(plan.body_part for plan in plans)
    for part, share in DEFAULT_BODY_PART_SHARES.items():
        assert _within(parts[part], len(plans), share), (part, parts[part])
    background = sum(plan.background for plan in plans)
    assert _within(background, len(plans), config.background_share)
    labelled = [plan for plan in plans if not plan.background]
    assert _within(sum(plan.fractured for plan in labelled), len(labelled), config.positive_share)
    assert all(not plan.fractured for plan in plans if plan.background)


def test_validation_images_are_always_labelled():
    config = SynthConfig(train=0, val=500)
    assert not any(plan_image(config, "val", i).background for i in range(config.val))


def test_every_class_appears_in_a_moderate_dataset():
    config = SynthConfig(train=300, val=0)
    classes = Counter()
    for i in range(config.train):
        plan = plan_image(config, "train", i)
        if not plan.background:
            classes[(plan.body_part, plan.fractured)] += 1
    assert set(classes) == {(part, fractured) for part in BODY_PARTS for fractured in (True, False)}


def test_refuses_to_mix_with_an_existing_dataset_and_overwrite_replaces_it(tmp_path):
    out = tmp_path / "data"
    generate_dataset(SynthConfig(train=5, val=1, size=96), str(out), progress=False)
    with pytest.raises(FracdetError, match="already holds a dataset"):
        generate_dataset(SynthConfig(train=2, val=1, size=96), str(out), progress=False)
    (out / "README.txt").write_text("the user's own file")
    generate_dataset(SynthConfig(train=2, val=1, size=96), str(out), overwrite=True, progress=False)
    assert sorted(p.name for p in (out / "train" / "images").iterdir()) == ["synth_train_000000.png", "synth_train_000001.png"]
    assert (out / "README.txt").read_text() == "the user's own file"


def test_dicom_output_is_a_readable_cr_image(tmp_path):
    out = tmp_path / "dcm"
    config = SynthConfig(train=3, val=1, size=128, image_format="dcm", seed=3)
    generate_dataset(config, str(out), progress=False)
    paths = sorted((out / "train" / "images").glob("*.dcm"))
    assert len(paths) == 3
    for index, path in enumerate(paths):
        dataset = pydicom.dcmread(path)
        plan = plan_image(config, "train", index)
        assert dataset.Modality == "CR" and dataset.BodyPartExamined == plan.body_part
        assert dataset.PhotometricInterpretation == "MONOCHROME2" and dataset.BitsStored == 12
        pixels = dataset.pixel_array
        assert pixels.dtype == np.uint16 and max(pixels.shape) == 128 and pixels.max() <= 4095
        assert float(dataset.WindowWidth) > 0
    again = tmp_path / "again"
    generate_dataset(config, str(again), progress=False)
    assert (again / "train/images" / paths[0].name).read_bytes() == paths[0].read_bytes()


def test_writes_to_a_bucket(gcs_bucket):
    out = f"gs://{gcs_bucket}/synthetic"
    summary = generate_dataset(SynthConfig(train=4, val=2, size=96), out, workers=2, progress=False)
    files = storage.list_files(out)
    assert storage.join(out, "data.yaml") in files
    images = [uri for uri in files if "/images/" in uri]
    assert len(images) == 6
    spec = yaml.safe_load(storage.read_text(storage.join(out, "data.yaml")))
    assert spec["path"] == out
    with Image.open(io.BytesIO(storage.read_bytes(images[0]))) as image:
        assert image.mode == "L"
    assert summary.images == {"train": 4, "val": 2}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"train": -1}, "train=-1"),
        ({"train": 0, "val": 0}, "not both 0"),
        ({"size": 32}, "got 32"),
        ({"image_format": "jpg"}, "'jpg'"),
        ({"positive_share": 1.5}, "positive_share must be within"),
        ({"background_share": -0.1}, "background_share"),
        ({"body_part_shares": {"ELBOW": 1.0}}, "exactly ELBOW"),
        ({"body_part_shares": dict.fromkeys(BODY_PARTS, 0.0)}, "must not all be 0"),
    ],
)
def test_config_rejects_bad_values(changes, message):
    with pytest.raises(ConfigError, match=message):
        SynthConfig(**changes)


def test_workers_below_one_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="workers must be >= 1"):
        generate_dataset(TINY, str(tmp_path), workers=0, progress=False)
