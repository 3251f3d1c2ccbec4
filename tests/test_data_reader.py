"""Reading shards back gives exactly the images and labels that were ingested."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from yolo_builders import add_image, png_bytes, write_data_yaml

from fracdet_core.data.manifest import IngestNotFoundError, read_manifest
from fracdet_core.data.reader import load_examples, load_split
from fracdet_core.ingest import IngestConfig, ingest_dataset
from fracdet_core.synth import SynthConfig, generate_dataset


@pytest.fixture(scope="module")
def synth_ingest(tmp_path_factory):
    base = tmp_path_factory.mktemp("reader")
    data = base / "data"
    generate_dataset(SynthConfig(train=14, val=5, size=96, seed=4), str(data), progress=False)
    out = base / "ingest"
    ingest_dataset(str(data), str(out), IngestConfig(shards=3), progress=False)
    return data, out


def _expected(data, source_id):
    """Boxes (yxyx) and classes from the YOLO label file, computed independently of ingest."""
    label = data / source_id.replace("/images/", "/labels/").rsplit(".", 1)[0]
    path = label.with_suffix(".txt")
    rows = [list(map(float, line.split())) for line in path.read_text().splitlines()] if path.exists() else []
    boxes = [[cy - h / 2, cx - w / 2, cy + h / 2, cx + w / 2] for _, cx, cy, w, h in rows]
    return np.array(boxes, np.float32).reshape(-1, 4), np.array([int(row[0]) for row in rows], np.int32)


@pytest.mark.parametrize("split", ["train", "val"])
def test_every_image_reads_back_with_its_labels(synth_ingest, split):
    data, out = synth_ingest
    seen = set()
    for example in load_examples(str(out), split, deterministic=True).as_numpy_iterator():
        source_id = example["source_id"].decode()
        boxes, classes = _expected(data, source_id)
        np.testing.assert_allclose(example["boxes"], boxes, atol=1e-6)
        np.testing.assert_array_equal(example["classes"], classes)
        with Image.open(data / source_id) as image:
            np.testing.assert_allclose(example["image"][..., 0], np.asarray(image) / 255.0, atol=1e-6)
        seen.add(source_id)
    assert len(seen) == read_manifest(str(out))["splits"][split]["images"]


def test_load_split_yields_triples_with_empty_boxes_for_background(synth_ingest):
    _, out = synth_ingest
    triples = load_split(str(out), "train").as_numpy_iterator()
    shapes = [(image.shape[-1], boxes.shape[1:], classes.shape) for image, boxes, classes in triples]
    assert len(shapes) == 14
    assert all(channels == 1 and box_shape == (4,) for channels, box_shape, _ in shapes)
    assert any(class_shape == (0,) for _, _, class_shape in shapes)  # background images


def test_sixteen_bit_images_read_as_floats_over_their_full_range(tmp_path):
    root = tmp_path / "data"
    add_image(root, "train", "a.png", png_bytes(1, mode="I;16"), "0 0.5 0.5 0.2 0.2\n")
    add_image(root, "valid", "b.png", png_bytes(2), "0 0.5 0.5 0.2 0.2\n")
    write_data_yaml(root)
    ingest_dataset(str(root), str(tmp_path / "out"), progress=False)
    image, _, _ = next(load_split(str(tmp_path / "out"), "train").as_numpy_iterator())
    with Image.open(root / "train/images/a.png") as source:
        np.testing.assert_allclose(image[..., 0], np.asarray(source) / 65535.0, atol=1e-6)


def test_an_incomplete_ingest_is_refused(tmp_path):
    with pytest.raises(IngestNotFoundError, match="did not finish"):
        read_manifest(str(tmp_path))
