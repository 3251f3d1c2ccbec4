"""data.yaml: Ultralytics conventions, and the dataset-wide errors that stop an ingest."""

from __future__ import annotations

import pytest
import yaml
from yolo_builders import add_image, png_bytes, write_data_yaml

from fracdet_core.classes import CLASS_NAMES
from fracdet_core.ingest.spec import DatasetError, read_spec


@pytest.fixture
def root(tmp_path):
    root = tmp_path / "data"
    add_image(root, "train", "a.png", png_bytes(1), "0 0.5 0.5 0.1 0.1\n")
    add_image(root, "valid", "b.png", png_bytes(2), "0 0.5 0.5 0.1 0.1\n")
    return root


def test_folder_or_yaml_file_and_relative_path(root):
    write_data_yaml(root, path=".")
    from_folder = read_spec(str(root))
    from_file = read_spec(str(root / "data.yaml"))
    assert from_folder == from_file
    assert from_folder.root == str(root)
    assert from_folder.splits["train"].folders == (str(root / "train" / "images"),)
    assert from_folder.class_remap == {i: i for i in range(10)}
    assert not from_folder.remapped


def test_names_as_map_in_another_order(root):
    names = dict(enumerate(reversed(CLASS_NAMES)))
    write_data_yaml(root, names=names)
    spec = read_spec(str(root))
    assert spec.class_remap == {i: 9 - i for i in range(10)} and spec.remapped


def test_a_subset_of_classes_is_allowed(root):
    write_data_yaml(root, names=["XR_HAND_positive", "XR_HAND_negative"])
    assert read_spec(str(root)).class_remap == {0: 3, 1: 8}


def test_a_moved_dataset_falls_back_to_its_yaml_folder(root):
    write_data_yaml(root, path="/nowhere/it/used/to/be")
    assert read_spec(str(root)).root == str(root)


def test_image_lists_in_txt_files(root):
    (root / "train.txt").write_text("./train/images/a.png\n\ntrain/images/a.png\n")
    write_data_yaml(root, train="train.txt")
    spec = read_spec(str(root))
    assert spec.splits["train"].folders == ()
    assert spec.splits["train"].listed_files == (str(root / "train/images/a.png"),) * 2


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("names: [a, b\n  train: x", "not valid YAML"),
        ("- just\n- a list\n", "expected a mapping"),
        (yaml.safe_dump({"train": "train/images", "val": "valid/images"}), "no 'names'"),
        (yaml.safe_dump({"train": "train/images", "val": "valid/images", "names": ["XR_KNEE_positive"]}),
         r"unknown class 'XR_KNEE_positive' \(id 0\)"),
        (yaml.safe_dump({"train": "train/images", "val": "valid/images", "names": ["XR_HAND_positive"] * 2}),
         "listed twice in 'names': XR_HAND_positive"),
        (yaml.safe_dump({"train": "train/images", "val": "valid/images", "names": list(CLASS_NAMES), "nc": 3}),
         "'nc' is 3 but 'names' lists 10"),
        (yaml.safe_dump({"train": "train/images", "names": list(CLASS_NAMES)}), "no 'val'"),
        (yaml.safe_dump({"train": "missing/images", "val": "valid/images", "names": list(CLASS_NAMES)}),
         "train folder .*missing/images does not exist"),
        (yaml.safe_dump({"train": "train/images", "val": "nope.txt", "names": list(CLASS_NAMES)}),
         "val list .*nope.txt does not exist"),
    ],
)
def test_unusable_data_yaml_is_a_clear_error(root, content, message):
    (root / "data.yaml").write_text(content)
    with pytest.raises(DatasetError, match=message) as raised:
        read_spec(str(root))
    assert "data.yaml" in str(raised.value)


def test_a_folder_without_data_yaml(tmp_path):
    with pytest.raises(DatasetError, match=r"no data\.yaml here"):
        read_spec(str(tmp_path))
    with pytest.raises(DatasetError, match=r"no such data\.yaml"):
        read_spec(str(tmp_path / "other.yaml"))
