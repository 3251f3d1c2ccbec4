"""Ingest end to end on a dataset holding every kind of bad input the issue lists."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from yolo_builders import (
    REAL_EXTREMITY_CR,
    add_image,
    blank_png,
    dicom_with_undecodable_syntax,
    dicom_without_pixels,
    jpeg_bytes,
    png_bytes,
    write_data_yaml,
)

from fracdet_core import storage
from fracdet_core.data.tfrecord import read_records
from fracdet_core.ingest import DecodeLimits, IngestConfig, ingest_dataset

GOOD = "0 0.5 0.5 0.2 0.2\n"

# file name -> (label file content or None, expected outcome: a reason code, or "ingested")
TRAIN_CASES: dict[str, tuple[bytes, str | bytes | None, str]] = {
    "good_0.png": (png_bytes(0), "0 0.5 0.5 0.2 0.2\n7 0.3 0.3 0.1 0.1\n", "ingested"),
    "good_1.png": (png_bytes(1), "9 0.25 0.75 0.5 0.5\n", "ingested"),
    "background.png": (png_bytes(2), None, "ingested"),
    "empty_label.png": (png_bytes(3), "", "ingested"),
    "zero.png": (b"", GOOD, "empty_file"),
    "truncated.png": (png_bytes(4, (200, 200))[:300], GOOD, "corrupt_image"),
    "truncated.jpg": (jpeg_bytes(5, (200, 200))[:400], GOOD, "corrupt_image"),
    "text.jpg": (b"this is not a picture\n", GOOD, "corrupt_image"),
    "cmyk.jpg": (jpeg_bytes(6, mode="CMYK"), GOOD, "ingested"),
    "rgba.png": (png_bytes(7, mode="RGBA"), GOOD, "ingested"),
    "sixteen.png": (png_bytes(8, mode="I;16"), GOOD, "ingested"),
    "bomb.png": (blank_png((3000, 2000)), GOOD, "decompression_bomb"),
    "tiny.png": (png_bytes(10, (8, 8)), GOOD, "image_too_small"),
    "rotated.jpg": (jpeg_bytes(11, (64, 48), orientation=6), GOOD, "ingested"),
    "nopixels.dcm": (dicom_without_pixels(), GOOD, "dicom_no_pixel_data"),
    "mpeg.dcm": (dicom_with_undecodable_syntax(), GOOD, "dicom_unsupported_transfer_syntax"),
    "real_cr.dcm": (REAL_EXTREMITY_CR.read_bytes(), "3 0.5 0.5 0.3 0.3\n", "ingested"),
    "not_utf8.png": (png_bytes(12), b"0 0.5 0.5 0.2 0.2 \xff\xfe\n", "label_not_utf8"),
    "bom_crlf.png": (png_bytes(13), "\ufeff0 0.5 0.5 0.2 0.2\r\n1 0.2 0.2 0.1 0.1\r\n", "ingested"),
    "fields.png": (png_bytes(14), "0 0.5 0.5 0.2\n", "bad_label_line"),
    "not_number.png": (png_bytes(15), "0 0.5 abc 0.2 0.2\n", "bad_label_line"),
    "nan.png": (png_bytes(16), "0 nan 0.5 0.2 0.2\n", "non_finite_value"),
    "inf.png": (png_bytes(17), "0 0.5 0.5 inf 0.2\n", "non_finite_value"),
    "class_range.png": (png_bytes(18), GOOD + "12 0.5 0.5 0.1 0.1\n", "class_out_of_range"),
    "zero_size.png": (png_bytes(19), "0 0.5 0.5 0 0.1\n", "box_non_positive_size"),
    "negative_size.png": (png_bytes(20), "0 0.5 0.5 0.1 -0.1\n", "box_non_positive_size"),
    "outside.png": (png_bytes(21), "0 0.99 0.5 0.2 0.2\n", "box_out_of_bounds"),
    "clipped.png": (png_bytes(22), "0 0.5 0.5 1.008 0.2\n", "ingested"),
    "duplicate_lines.png": (png_bytes(23), GOOD + GOOD, "ingested"),
    "polygon.png": (png_bytes(24), "4 0.1 0.1 0.4 0.1 0.4 0.5 0.1 0.5\n", "ingested"),
}
VAL_CASES = {
    "val_good.png": (png_bytes(100), "5 0.5 0.5 0.4 0.4\n", "ingested"),
    "leak.png": (png_bytes(0), "0 0.5 0.5 0.2 0.2\n", "duplicate_across_splits"),
}


@pytest.fixture(scope="module")
def messy(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("messy")
    root = base / "dataset"
    for name, (data, label, _) in TRAIN_CASES.items():
        add_image(root, "train", name, data, label)
    for name, (data, label, _) in VAL_CASES.items():
        add_image(root, "valid", name, data, label)
    (root / "train" / "labels" / "orphan.txt").write_text(GOOD)
    (root / "train" / "images" / "notes.txt").write_text("taken on the old scanner")
    outside = base / "outside"
    outside.mkdir()
    (outside / "secret.png").write_bytes(png_bytes(200))
    (outside / "folder").mkdir()
    (outside / "folder" / "elsewhere.png").write_bytes(png_bytes(201))
    os.symlink(outside / "secret.png", root / "train" / "images" / "escape.png")
    os.symlink(outside / "folder", root / "train" / "images" / "linked_folder")
    (root / "val_extra.txt").write_text("./valid/images/val_good.png\n../outside/secret.png\n")
    write_data_yaml(root, val=["valid/images", "val_extra.txt"])
    return root


OPTIONS = IngestConfig(shards=3, workers=1, limits=DecodeLimits(max_pixels=4_000_000))


@pytest.fixture(scope="module")
def messy_ingest(messy, tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("ingest") / "out"
    manifest = ingest_dataset(str(messy), str(out), OPTIONS, progress=False)
    return out, manifest


def _quarantine(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "quarantine.jsonl").read_text().splitlines()]


def test_every_bad_input_gets_its_reason(messy_ingest):
    out, _ = messy_ingest
    rejected = {Path(entry["path"]).name: entry["reason"] for entry in _quarantine(out) if entry["action"] == "rejected"}
    expected = {name: outcome for name, (_, _, outcome) in {**TRAIN_CASES, **VAL_CASES}.items() if outcome != "ingested"}
    expected.update(
        {
            "orphan.txt": "orphan_label",
            "notes.txt": "unsupported_format",
            "escape.png": "path_outside_root",
            "linked_folder": "path_outside_root",
            "secret.png": "path_outside_root",  # listed as ../outside/secret.png in val_extra.txt
        }
    )
    assert rejected == expected


def test_reasons_name_the_problem(messy_ingest):
    out, _ = messy_ingest
    details = {Path(entry["path"]).name: entry["detail"] for entry in _quarantine(out)}
    assert "line 2" in details["class_range.png"] and "class 12" in details["class_range.png"]
    assert "got 4" in details["fields.png"]
    assert "'abc' is not a number" in details["not_number.png"]
    assert "3000x2000 = 6,000,000 pixels" in details["bomb.png"]
    assert "8x8" in details["tiny.png"]
    assert "MPEG2" in details["mpeg.dcm"]
    assert "same bytes as train image train/images/good_0.png" in details["leak.png"]
    assert "line 2 repeats line 1" in details["duplicate_lines.png"]


def test_accounting_identity(messy_ingest):
    out, manifest = messy_ingest
    totals = manifest["totals"]
    assert totals["found"] == totals["ingested"] + totals["quarantined"]
    ingested = [name for name, (_, _, outcome) in {**TRAIN_CASES, **VAL_CASES}.items() if outcome == "ingested"]
    assert totals["ingested"] == len(ingested)
    assert totals["quarantined"] == sum(1 for entry in _quarantine(out) if entry["action"] == "rejected")
    assert sum(split["images"] for split in manifest["splits"].values()) == totals["ingested"]
    shard_records = sum(shard["records"] for split in manifest["splits"].values() for shard in split["shards"])
    assert shard_records == totals["ingested"]
    assert manifest["warning_reasons"] == {"duplicate_label_line": 1}


def test_labels_table_has_a_row_per_box_and_null_rows_for_background(messy_ingest):
    out, _ = messy_ingest
    table = pq.read_table(out / "labels.parquet").to_pandas()
    by_image = table.groupby("image_id").size().to_dict()
    assert by_image["train/images/good_0.png"] == 2
    assert by_image["train/images/duplicate_lines.png"] == 1
    background = table[table["image_id"].isin(["train/images/background.png", "train/images/empty_label.png"])]
    assert len(background) == 2 and background["class_id"].isna().all()
    polygon = table[table["image_id"] == "train/images/polygon.png"].iloc[0]
    assert (polygon["class_name"], polygon["body_part"], bool(polygon["positive"])) == ("XR_SHOULDER_positive", "SHOULDER", True)
    assert polygon["cx"] == pytest.approx(0.25) and polygon["h"] == pytest.approx(0.4)
    clipped = table[table["image_id"] == "train/images/clipped.png"].iloc[0]
    assert clipped["w"] == pytest.approx(1.0)
    rotated = table[table["image_id"] == "train/images/rotated.jpg"].iloc[0]
    assert (rotated["image_width"], rotated["image_height"]) == (48, 64)  # EXIF orientation applied
    real = table[table["image_id"] == "train/images/real_cr.dcm"].iloc[0]
    assert (real["image_width"], real["image_height"]) == (1760, 1760)


def test_manifest_lists_shards_with_checksums(messy_ingest):
    out, manifest = messy_ingest
    import hashlib

    for split in ("train", "val"):
        shards = manifest["splits"][split]["shards"]
        expected = [f"{split}-{i:05d}-of-{len(shards):05d}.tfrecord" for i in range(len(shards))]
        assert [shard["file"] for shard in shards] == expected
        for shard in shards:
            data = (out / shard["file"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == shard["sha256"]
            with open(out / shard["file"], "rb") as stream:
                assert sum(1 for _ in read_records(stream)) == shard["records"]
    assert len(manifest["splits"]["train"]["shards"]) == 3
    counts = [shard["records"] for shard in manifest["splits"]["train"]["shards"]]
    assert manifest["splits"]["val"]["images"] == 1
    assert sum(counts) == manifest["splits"]["train"]["images"]


@pytest.mark.slow
def test_output_is_identical_for_any_worker_count_and_on_rerun(messy, messy_ingest, tmp_path):
    out, _ = messy_ingest
    parallel = tmp_path / "parallel"
    ingest_dataset(str(messy), str(parallel), IngestConfig(shards=3, workers=2, limits=OPTIONS.limits), progress=False)
    rerun = tmp_path / "rerun"
    shutil.copytree(out, rerun)
    ingest_dataset(str(messy), str(rerun), OPTIONS, progress=False)
    reference = {path.name: path.read_bytes() for path in out.iterdir()}
    assert {path.name: path.read_bytes() for path in parallel.iterdir()} == reference
    assert {path.name: path.read_bytes() for path in rerun.iterdir()} == reference


def test_fewer_shards_on_rerun_removes_the_stale_ones(messy, tmp_path):
    out = tmp_path / "out"
    ingest_dataset(str(messy), str(out), OPTIONS, progress=False)
    manifest = ingest_dataset(str(messy), str(out), IngestConfig(shards=1, limits=OPTIONS.limits), progress=False)
    assert sorted(p.name for p in out.glob("*.tfrecord")) == ["train-00000-of-00001.tfrecord", "val-00000-of-00001.tfrecord"]
    assert manifest["options"]["shards"] == 1


def test_remapped_class_order_is_recorded_and_applied(tmp_path):
    root = tmp_path / "remapped"
    names = {0: "XR_HAND_negative", 1: "XR_ELBOW_positive"}
    add_image(root, "train", "a.png", png_bytes(1), "0 0.5 0.5 0.2 0.2\n1 0.4 0.4 0.2 0.2\n")
    add_image(root, "valid", "b.png", png_bytes(2), "1 0.5 0.5 0.2 0.2\n")
    write_data_yaml(root, names=names)
    out = tmp_path / "out"
    manifest = ingest_dataset(str(root), str(out), progress=False)
    assert manifest["source"]["class_remap"] == {"0": 8, "1": 0}
    assert manifest["source"]["remapped"] is True
    table = pq.read_table(out / "labels.parquet").to_pandas()
    assert sorted(table[table["split"] == "train"]["class_name"]) == ["XR_ELBOW_positive", "XR_HAND_negative"]
    assert manifest["splits"]["train"]["classes"]["XR_HAND_negative"] == {"images": 1, "boxes": 1}


def test_downscaling_keeps_normalised_boxes(messy, tmp_path):
    out = tmp_path / "small"
    ingest_dataset(str(messy), str(out), IngestConfig(limits=DecodeLimits(max_pixels=4_000_000, max_side=256)), progress=False)
    table = pq.read_table(out / "labels.parquet").to_pandas()
    real = table[table["image_id"] == "train/images/real_cr.dcm"].iloc[0]
    assert (real["image_width"], real["image_height"]) == (256, 256)
    assert real["cx"] == pytest.approx(0.5) and real["w"] == pytest.approx(0.3)


def test_ingest_between_buckets(gcs_bucket, tmp_path):
    from fracdet_core.synth import SynthConfig, generate_dataset

    local = tmp_path / "synth"
    generate_dataset(SynthConfig(train=10, val=4, size=96, seed=3), str(local), progress=False)
    data = f"gs://{gcs_bucket}/datasets/xr"
    storage.copy_tree(str(local), data)  # data.yaml's absolute local path falls back to the bucket folder
    out = f"gs://{gcs_bucket}/ingests/xr"
    manifest = ingest_dataset(data, out, IngestConfig(shards=2, workers=2), progress=False)
    assert manifest["totals"] == {"found": 14, "ingested": 14, "quarantined": 0, "warnings": 0}
    assert manifest["source"]["root"] == data
    reference = tmp_path / "reference"
    ingest_dataset(str(local), str(reference), IngestConfig(shards=2), progress=False)
    for name in ("train-00000-of-00002.tfrecord", "val-00001-of-00002.tfrecord", "labels.parquet"):
        assert storage.read_bytes(storage.join(out, name)) == (reference / name).read_bytes()


def test_a_list_entry_climbing_out_of_a_bucket_is_quarantined(gcs_bucket, tmp_path):
    root = tmp_path / "data"
    add_image(root, "train", "a.png", png_bytes(1), GOOD)
    add_image(root, "valid", "b.png", png_bytes(2), GOOD)
    (root / "val.txt").write_text("./valid/images/b.png\n../../elsewhere/c.png\n")
    write_data_yaml(root, val="val.txt")
    data = f"gs://{gcs_bucket}/xr"
    storage.copy_tree(str(root), data)
    out = f"gs://{gcs_bucket}/out"
    manifest = ingest_dataset(data, out, progress=False)
    assert manifest["totals"] == {"found": 3, "ingested": 2, "quarantined": 1, "warnings": 0}
    (entry,) = [json.loads(line) for line in storage.read_text(storage.join(out, "quarantine.jsonl")).splitlines()]
    assert entry["reason"] == "path_outside_root" and entry["split"] == "val"
