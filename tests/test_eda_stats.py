"""EDA statistics, checked against counts computed independently from the YOLO label files."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from fracdet_core.classes import BODY_PARTS, CLASS_NAMES, describe_class
from fracdet_core.eda.run import run_eda
from fracdet_core.ingest import IngestConfig, ingest_dataset
from fracdet_core.synth import SynthConfig, generate_dataset


@pytest.fixture(scope="module")
def analysed(tmp_path_factory):
    base = tmp_path_factory.mktemp("eda")
    data = base / "data"
    generate_dataset(SynthConfig(train=160, val=40, size=96, seed=21), str(data), workers=2, progress=False)
    ingest_dataset(str(data), str(base / "ingest"), IngestConfig(shards=2), progress=False)
    stats = run_eda(str(base / "ingest"), str(base / "eda"))
    return data, base / "eda", stats


def _label_files(data: Path, folder: str) -> dict[str, list[int]]:
    """Image stem -> class ids of its boxes (empty for background), read from the YOLO files."""
    images = {path.stem: [] for path in (data / folder / "images").iterdir()}
    for path in (data / folder / "labels").iterdir():
        images[path.stem] = [int(line.split()[0]) for line in path.read_text().splitlines()]
    return images


def _stats(analysed, source: str) -> dict:
    """The statistics as `run_eda` returned them, or as it wrote them to stats.json."""
    _, out, stats = analysed
    return stats if source == "returned" else json.loads((out / "stats.json").read_text())


@pytest.mark.parametrize("source", ["returned", "stats.json"])
@pytest.mark.parametrize(("split", "folder"), [("train", "train"), ("val", "valid")])
def test_counts_match_the_label_files(analysed, split, folder, source):
    data = analysed[0]
    images = _label_files(data, folder)
    computed = _stats(analysed, source)["splits"][split]
    assert computed["images"] == len(images)
    assert computed["background_images"] == sum(1 for boxes in images.values() if not boxes)
    boxes = Counter(CLASS_NAMES[class_id] for ids in images.values() for class_id in ids)
    with_class = Counter(CLASS_NAMES[class_id] for ids in images.values() for class_id in set(ids))
    for name in CLASS_NAMES:
        assert computed["classes"][name]["boxes"] == boxes[name]
        assert computed["classes"][name]["images"] == with_class[name]
    assert computed["boxes"] == sum(boxes.values())
    assert computed["max_boxes_per_image"] == max(len(ids) for ids in images.values())


def test_body_part_balance_matches_the_label_files(analysed):
    data, _, stats = analysed
    images = _label_files(data, "train")
    for part in BODY_PARTS:
        calls = [any(describe_class(CLASS_NAMES[i])[1] for i in ids) for ids in images.values()
                 if ids and describe_class(CLASS_NAMES[ids[0]])[0] == part]
        balance = stats["splits"]["train"]["body_parts"][part]
        assert (balance["positive_images"], balance["negative_images"]) == (sum(calls), len(calls) - sum(calls))


def test_box_size_quantiles_match_the_label_files(analysed):
    data, _, stats = analysed
    import numpy as np

    widths = {}
    for path in (data / "train" / "labels").iterdir():
        for line in path.read_text().splitlines():
            class_id, _, _, w, _ = line.split()
            widths.setdefault(CLASS_NAMES[int(class_id)], []).append(float(w))
    for name, values in widths.items():
        summary = stats["splits"]["train"]["boxes_by_class"][name]["width"]
        assert summary["p50"] == pytest.approx(float(np.quantile(values, 0.5)), rel=1e-5)
        assert summary["max"] == pytest.approx(max(values), rel=1e-5)


def test_outputs_are_written_and_weights_cover_every_class(analysed):
    data, out, _ = analysed
    written = json.loads((out / "stats.json").read_text())
    assert written["source"] == {"ingest": str(out.parent / "ingest"), "data_yaml": str(data / "data.yaml")}
    assert written["class_weights"] == {"weighting": "balanced", "beta": 0.999, "max_weight": 10.0}  # EdaConfig()'s
    assert written["quarantine"] == {"found": 200, "quarantined": 0, "share": 0.0, "reasons": {}, "warnings": {}}
    weights = json.loads((out / "class_weights.json").read_text())
    assert list(weights) == list(CLASS_NAMES)
    assert all(0 < weight <= 10 for weight in weights.values())
    assert (out / "report.html").stat().st_size > 0 and (out / "report.md").read_text().startswith("# fracdet data report")
