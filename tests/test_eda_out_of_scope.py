"""EDA counts out-of-scope images apart, per anatomy, and leaves them out of the class tables, background and weights."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pandas as pd
import pytest

from fracdet_core.eda.run import DataChecksFailedError, read_labels, run_eda
from fracdet_core.eda.samples import OUT_OF_SCOPE, choose_samples
from fracdet_core.eda.stats import split_stats
from fracdet_core.ingest import IngestConfig, ingest_dataset
from fracdet_core.synth import SynthConfig, generate_dataset

BASE = {"train": 24, "val": 6, "size": 96, "seed": 9}


def _eda(base: Path, name: str, config: SynthConfig) -> tuple[dict, dict, str, str]:
    """(stats.json, class_weights.json, report.md, report.html) of an EDA on `config`'s synthetic dataset."""
    generate_dataset(config, str(base / name / "data"), progress=False)
    ingest_dataset(str(base / name / "data"), str(base / name / "ingest"), IngestConfig(shards=1), progress=False)
    out = base / name / "eda"
    with contextlib.suppress(DataChecksFailedError):  # a tiny dataset lacks some classes; the outputs are written all the same
        run_eda(str(base / name / "ingest"), str(out))
    return (json.loads((out / "stats.json").read_text()), json.loads((out / "class_weights.json").read_text()),
            (out / "report.md").read_text(), (out / "report.html").read_text())


@pytest.fixture(scope="module")
def both(tmp_path_factory) -> tuple[tuple, tuple]:
    base = tmp_path_factory.mktemp("eda-oos")
    without = _eda(base, "without", SynthConfig(**BASE))
    with_them = _eda(base, "with", SynthConfig(**BASE, out_of_scope_train=15, out_of_scope_val=12))
    return without, with_them


def test_out_of_scope_images_are_counted_per_anatomy(both):
    _, (stats, _, _, _) = both
    assert stats["splits"]["train"]["out_of_scope"] == {
        "images": 15, "anatomies": {"ANKLE_FOOT": 2, "CHEST": 2, "CT": 1, "DOCUMENT": 1, "KNEE": 2, "MR": 1, "PELVIS": 1,
                                    "PHOTO": 1, "SKULL": 1, "SPINE": 1, "TIBIA_FIBULA": 1, "US": 1}}
    assert stats["splits"]["val"]["out_of_scope"]["images"] == 12
    assert set(stats["splits"]["val"]["out_of_scope"]["anatomies"].values()) == {1}


def test_class_tables_background_and_weights_are_those_of_the_in_scope_images_alone(both):
    (plain, plain_weights, _, _), (stats, weights, _, _) = both
    assert weights == plain_weights
    for split in ("train", "val"):
        ours = {key: value for key, value in stats["splits"][split].items() if key != "out_of_scope"}
        theirs = {key: value for key, value in plain["splits"][split].items() if key != "out_of_scope"}
        assert ours == theirs
        assert plain["splits"][split]["out_of_scope"] == {"images": 0, "anatomies": {}}
    assert [check["passed"] for check in stats["checks"]] == [check["passed"] for check in plain["checks"]]


def test_the_reports_show_out_of_scope_images_per_anatomy(both):
    (_, _, plain_md, plain_html), (_, _, markdown, report) = both
    assert "| out of scope | train images | val images |" in markdown and "| CHEST | 2 | 1 |" in markdown
    assert "out of scope" not in plain_md
    assert "<h2>Out of scope</h2>" in report and "15 out of scope" in report
    assert "No out-of-scope images" in plain_html
    gallery = report.split("<h3>out of scope</h3>", 1)[1].split("</div>", 1)[0]
    assert gallery.count("<img") == 12  # one thumbnail per anatomy


def _rows(in_scope: list[bool] | None) -> pd.DataFrame:
    rows = pd.DataFrame({
        "image_id": ["a", "b", "c"], "split": ["train"] * 3, "class_id": [0.0, None, None],
        "class_name": ["XR_ELBOW_positive", None, None], "body_part": ["ELBOW", None, None], "positive": [True, None, None],
        "cx": [0.5, None, None], "cy": [0.5, None, None], "w": [0.2, None, None], "h": [0.2, None, None],
        "image_width": [96] * 3, "image_height": [80] * 3, "shard": ["train-00000-of-00001.tfrecord"] * 3,
    })
    if in_scope is not None:
        rows["in_scope"] = in_scope
        rows["anatomy"] = ["" if inside else "SKULL" for inside in in_scope]
    return rows


def test_a_label_table_without_the_scope_columns_is_in_scope_throughout():
    old = split_stats(_rows(None), "train")
    assert old == split_stats(_rows([True, True, True]), "train")
    assert (old["images"], old["background_images"], old["out_of_scope"]) == (3, 2, {"images": 0, "anatomies": {}})
    new = split_stats(_rows([True, True, False]), "train")
    assert (new["images"], new["background_images"], new["out_of_scope"]) == (2, 1, {"images": 1, "anatomies": {"SKULL": 1}})
    assert OUT_OF_SCOPE not in choose_samples(_rows(None), 2)
    assert choose_samples(_rows([True, True, False]), 2)[OUT_OF_SCOPE] == ["c"]
    assert choose_samples(_rows([True, True, False]), 2)["background"] == ["b"]


def test_read_labels_gives_the_scope_columns(both, tmp_path_factory):
    del both
    folder = next(Path(tmp_path_factory.getbasetemp()).glob("eda-oos*/with/ingest"))
    labels = read_labels(str(folder))
    assert labels["in_scope"].dtype == bool and set(labels.loc[~labels["in_scope"], "anatomy"]) >= {"CT", "PHOTO"}
