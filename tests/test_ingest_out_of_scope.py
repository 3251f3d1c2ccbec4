"""Out-of-scope images from data.yaml's `fracdet_out_of_scope` folders: synth -> ingest -> the readers, and bad layouts."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import tensorflow as tf
import yaml
from yolo_builders import add_image, png_bytes, write_data_yaml

from fracdet_core import storage
from fracdet_core.data.reader import load_examples
from fracdet_core.data.schema import decode_image_example
from fracdet_core.data.tfrecord import read_records
from fracdet_core.evaluate.inference import read_split
from fracdet_core.ingest import DatasetError, IngestConfig, ingest_dataset
from fracdet_core.ingest.merge import merge_parts
from fracdet_core.ingest.part import ingest_shards
from fracdet_core.ingest.plan import plan_ingest, read_plan, write_plan
from fracdet_core.synth import SynthConfig, generate_dataset
from fracdet_core.synth.dataset import plan_image
from fracdet_core.synth.out_of_scope.kinds import KINDS

GOOD_LABEL = "0 0.5 0.5 0.2 0.2\n"

CONFIG = SynthConfig(train=6, val=3, size=96, seed=5, out_of_scope_train=14, out_of_scope_val=12)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> tuple[Path, Path, dict]:
    """A synthetic dataset with out-of-scope images, ingested into 2 shards per split."""
    base = tmp_path_factory.mktemp("oos-ingest")
    generate_dataset(CONFIG, str(base / "data"), progress=False)
    manifest = ingest_dataset(str(base / "data"), str(base / "ingest"), IngestConfig(shards=2), progress=False)
    return base / "data", base / "ingest", manifest


def _examples(ingest: Path, split: str) -> list:
    examples = []
    for shard in sorted(ingest.glob(f"{split}-*.tfrecord")):
        with shard.open("rb") as stream:
            examples.extend(decode_image_example(record) for record in read_records(stream))
    return examples


def test_the_manifest_counts_out_of_scope_images_per_anatomy_apart_from_the_background(synthetic):
    _, _, manifest = synthetic
    train, val = manifest["splits"]["train"], manifest["splits"]["val"]
    assert manifest["totals"] == {"found": 35, "ingested": 35, "quarantined": 0, "warnings": 0}
    assert train["images"] == CONFIG.train + 14 and val["images"] == CONFIG.val + 12
    assert train["out_of_scope_images"] == 14 and val["out_of_scope_images"] == 12
    assert train["out_of_scope"] == {kind: 2 if kind in ("CHEST", "KNEE") else 1 for kind in sorted(KINDS)}
    assert val["out_of_scope"] == dict.fromkeys(sorted(KINDS), 1)
    assert train["background_images"] == sum(plan_image(CONFIG, "train", index).background for index in range(CONFIG.train))
    assert val["background_images"] == 0


def test_shards_carry_in_scope_and_anatomy_and_out_of_scope_images_have_no_boxes(synthetic):
    data, ingest, _ = synthetic
    for split, folder in (("train", "train"), ("val", "valid")):
        examples = _examples(ingest, split)
        outside = [example for example in examples if not example.in_scope]
        inside = [example for example in examples if example.in_scope]
        assert len(inside) == getattr(CONFIG, split) and all(example.anatomy == "" for example in inside)
        assert {example.source_id for example in outside} == {
            str(path.relative_to(data)) for path in (data / "out_of_scope" / folder).rglob("*.png")}
        for example in outside:
            assert example.anatomy == example.source_id.split("/")[2] and example.anatomy in KINDS
            assert example.boxes.shape == (0, 4) and example.classes.shape == (0,)
            assert example.bit_depth == 8 and example.image_format == "png"


def test_labels_parquet_marks_out_of_scope_rows(synthetic):
    _, ingest, _ = synthetic
    table = pq.read_table(ingest / "labels.parquet").to_pandas()
    outside = table[~table["in_scope"]]
    assert len(outside) == 26 and outside["class_id"].isna().all()
    assert Counter(outside["anatomy"]) == Counter(kind for split in ("train", "val") for kind, count in
                                                  synthetic[2]["splits"][split]["out_of_scope"].items() for _ in range(count))
    assert (table[table["in_scope"]]["anatomy"] == "").all()


def test_training_and_evaluation_readers_return_in_scope(synthetic):
    _, ingest, _ = synthetic
    parsed = {example["source_id"].numpy().decode(): int(example["in_scope"])
              for example in load_examples(str(ingest), "val", deterministic=True)}
    truths = [truth for truth, _ in read_split(str(ingest), "val")]
    assert sorted(parsed.values()) == [0] * 12 + [1] * 3
    assert {truth.source_id: int(truth.in_scope) for truth in truths} == parsed
    assert {source_id for source_id, in_scope in parsed.items() if not in_scope} == {
        truth.source_id for truth in truths if truth.anatomy}
    assert sorted(truth.anatomy for truth in truths if not truth.in_scope) == sorted(KINDS)
    assert all(truth.anatomy == "" and len(truth.classes) for truth in truths if truth.in_scope)
    assert load_examples(str(ingest), "val").element_spec["in_scope"] == tf.TensorSpec([], tf.int32)


def test_a_fanned_out_ingest_merges_to_the_same_bytes(synthetic, tmp_path):
    data, ingest, manifest = synthetic
    write_plan(plan_ingest(str(data), 3, IngestConfig(shards=2)), str(tmp_path / "plan"))
    plan = read_plan(str(tmp_path / "plan"))
    parts = [str(tmp_path / f"part-{index}") for index in range(len(plan.parts))]
    for index, uri in enumerate(parts):
        ingest_shards(plan, index, uri, progress=False)
    assert merge_parts(plan, parts, str(tmp_path / "merged"), progress=False) == manifest
    for name in ("train-00000-of-00002.tfrecord", "val-00001-of-00002.tfrecord", "labels.parquet", "quarantine.jsonl"):
        assert (tmp_path / "merged" / name).read_bytes() == (ingest / name).read_bytes()


def test_a_dicom_dataset_stores_every_image_at_16_bits(tmp_path):
    config = SynthConfig(train=2, val=1, size=96, seed=2, image_format="dcm", out_of_scope_train=12, out_of_scope_val=0)
    generate_dataset(config, str(tmp_path / "data"), progress=False)
    manifest = ingest_dataset(str(tmp_path / "data"), str(tmp_path / "ingest"), progress=False)
    assert manifest["totals"]["quarantined"] == 0 and manifest["splits"]["train"]["out_of_scope_images"] == 12
    stored = {(example.in_scope, example.bit_depth) for example in _examples(tmp_path / "ingest", "train")}
    assert stored == {(True, 16), (False, 16)}


def test_out_of_scope_folders_ingest_from_a_bucket(gcs_bucket, tmp_path):
    local = tmp_path / "synth"
    generate_dataset(SynthConfig(train=3, val=2, size=96, seed=4, out_of_scope_train=3, out_of_scope_val=2), str(local),
                     progress=False)
    data = f"gs://{gcs_bucket}/datasets/xr"
    storage.copy_tree(str(local), data)
    out = f"gs://{gcs_bucket}/ingests/xr"
    manifest = ingest_dataset(data, out, IngestConfig(shards=1), progress=False)
    reference = ingest_dataset(str(local), str(tmp_path / "reference"), IngestConfig(shards=1), progress=False)
    assert manifest["splits"] == reference["splits"] and manifest["splits"]["val"]["out_of_scope"] == {"CHEST": 1, "KNEE": 1}
    for name in ("train-00000-of-00001.tfrecord", "val-00000-of-00001.tfrecord"):
        assert storage.read_bytes(storage.join(out, name)) == (tmp_path / "reference" / name).read_bytes()


# --- a hand-made dataset with a bad layout ---------------------------------------------------------------------------


def _with_out_of_scope(root: Path, files: dict[str, bytes], out_of_scope: object = None) -> Path:
    add_image(root, "train", "a.png", png_bytes(1), GOOD_LABEL)
    add_image(root, "valid", "b.png", png_bytes(2), GOOD_LABEL)
    for relative, data in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(data)
    write_data_yaml(root)
    content = yaml.safe_load((root / "data.yaml").read_text())
    content["fracdet_out_of_scope"] = out_of_scope if out_of_scope is not None else {"train": "oos/train", "val": "oos/valid"}
    (root / "data.yaml").write_text(yaml.safe_dump(content, sort_keys=False))
    return root


def test_a_bad_layout_quarantines_each_file_naming_it_and_why(tmp_path):
    root = _with_out_of_scope(tmp_path / "data", {
        "oos/train/CHEST/good.png": png_bytes(3),
        "oos/train/CHEST/deeper/also_good.png": png_bytes(4),
        "oos/train/loose.png": png_bytes(5),
        "oos/train/chest/lower.png": png_bytes(6),
        "oos/train/ELBOW/in_scope.png": png_bytes(7),
        "oos/train/CT/broken.png": png_bytes(8)[:90],
        "oos/train/CT/notes.txt": b"not an image",
        "oos/valid/MR/good.png": png_bytes(9),
    })
    manifest = ingest_dataset(str(root), str(tmp_path / "out"), progress=False)
    entries = {Path(entry["path"]).relative_to(root).as_posix(): (entry["reason"], entry["detail"]) for entry in map(
        json.loads, (tmp_path / "out" / "quarantine.jsonl").read_text().splitlines())}
    assert {path: reason for path, (reason, _) in entries.items()} == {
        "oos/train/loose.png": "no_anatomy_folder",
        "oos/train/chest/lower.png": "bad_anatomy_folder",
        "oos/train/ELBOW/in_scope.png": "bad_anatomy_folder",
        "oos/train/CT/broken.png": "corrupt_image",
        "oos/train/CT/notes.txt": "unsupported_format",
    }
    assert "'chest' is not a kind's name" in entries["oos/train/chest/lower.png"][1]
    assert "one of the five in-scope body parts" in entries["oos/train/ELBOW/in_scope.png"][1]
    assert manifest["totals"] == {"found": 10, "ingested": 5, "quarantined": 5, "warnings": 0}
    assert manifest["splits"]["train"]["out_of_scope"] == {"CHEST": 2}
    assert manifest["splits"]["val"]["out_of_scope"] == {"MR": 1}


def test_an_image_listed_in_scope_and_out_of_scope_is_ingested_once_in_scope(tmp_path):
    root = _with_out_of_scope(tmp_path / "data", {"oos/train/CT/c.png": png_bytes(3)}, {"train": "oos/train"})
    content = yaml.safe_load((root / "data.yaml").read_text())
    (root / "data.yaml").write_text(yaml.safe_dump({**content, "train": ["train/images", "oos/train"]}, sort_keys=False))
    manifest = ingest_dataset(str(root), str(tmp_path / "out"), progress=False)
    (entry,) = [json.loads(line) for line in (tmp_path / "out" / "quarantine.jsonl").read_text().splitlines()]
    assert (entry["path"], entry["reason"]) == (str(root / "oos/train/CT/c.png"), "listed_twice")
    assert manifest["totals"] == {"found": 4, "ingested": 3, "quarantined": 1, "warnings": 0}
    assert manifest["splits"]["train"]["out_of_scope"] == {} and manifest["splits"]["train"]["background_images"] == 1


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"train": "oos/nowhere"}, "out-of-scope train folder .*oos/nowhere does not exist or holds no files"),
        ({"test": "oos/train"}, "'fracdet_out_of_scope' must map train and/or val to folders"),
        ("oos/train", "'fracdet_out_of_scope' must map train and/or val to folders"),
        ({"val": [3]}, r"'fracdet_out_of_scope.val' must be a folder or a list of folders"),
    ],
)
def test_an_unusable_out_of_scope_entry_stops_the_run_naming_the_yaml(tmp_path, entry, message):
    root = _with_out_of_scope(tmp_path / "data", {"oos/train/CHEST/a.png": png_bytes(3)}, entry)
    with pytest.raises(DatasetError, match=message) as raised:
        ingest_dataset(str(root), str(tmp_path / "out"), progress=False)
    assert str(root / "data.yaml") in str(raised.value)


def test_the_ingest_command_reports_out_of_scope_images(synthetic, tmp_path, capsys):
    from fracdet import main

    data, _, _ = synthetic
    assert main(["ingest", "--data", str(data), "--out", str(tmp_path / "out"), "--workers", "1", "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "train: 20 images (14 out of scope)" in printed and "val: 15 images (12 out of scope)" in printed


def test_the_ingest_artifact_shows_each_splits_out_of_scope_count(synthetic):
    from fracdet_components.artifacts import ingest_metadata

    metadata = ingest_metadata(synthetic[2])
    assert (metadata["train_out_of_scope_images"], metadata["val_out_of_scope_images"]) == (14, 12)
    older = {**synthetic[2], "splits": {split: {key: value for key, value in summary.items() if "out_of_scope" not in key}
                                        for split, summary in synthetic[2]["splits"].items()}}
    assert ingest_metadata(older)["val_out_of_scope_images"] == 0
