"""The renderers behind one interface: choosing one, the default, the CLI flag, shared plans, worker independence."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import yaml

from fracdet import main
from fracdet_core import storage
from fracdet_core.errors import ConfigError
from fracdet_core.synth import SynthConfig, generate_dataset
from fracdet_core.synth.config import RENDERERS
from fracdet_core.synth.dataset import plan_image
from fracdet_core.synth.radiograph import RENDERER_MODULES, draw_radiograph

TINY = SynthConfig(train=8, val=3, size=96, seed=2, renderer="outlines")


def _read_tree(root: str) -> dict[str, bytes]:
    return {path[len(root) :]: storage.read_bytes(path) for path in storage.list_files(root)}


def test_every_renderer_named_has_a_module_and_the_first_is_the_default():
    assert tuple(RENDERER_MODULES) == RENDERERS == ("tubes", "outlines")
    assert SynthConfig().renderer == "tubes"


def test_an_unknown_renderer_is_a_config_error_naming_the_allowed_ones():
    with pytest.raises(ConfigError, match=r"renderer must be one of tubes, outlines, got 'cubes'"):
        SynthConfig(renderer="cubes")


@pytest.mark.parametrize("renderer", RENDERERS)
def test_each_renderer_draws_a_radiograph_of_the_requested_size(renderer):
    radiograph = draw_radiograph(renderer, np.random.default_rng(0), "ELBOW", True, 128)
    signal = radiograph.signal()
    assert max(signal.shape) == 128 and radiograph.display(signal).shape == signal.shape
    assert radiograph.body_part == "ELBOW" and radiograph.laterality in ("L", "R")
    assert 1 <= len(radiograph.fracture_boxes()) <= 3


def test_the_cli_flag_writes_an_outlines_dataset_named_in_its_data_yaml(tmp_path, capsys):
    out = tmp_path / "data"
    args = ["synth", "--out", str(out), "--train", "3", "--val", "1", "--size", "96", "--seed", "4", "--workers", "1", "--quiet"]
    assert main([*args, "--renderer", "outlines"]) == 0
    assert f"dataset: {out}/data.yaml" in capsys.readouterr().out
    header = (out / "data.yaml").read_text().splitlines()[0]
    assert header == (
        "# Synthetic radiographs made by `fracdet synth`: seed 4, 3 train and 1 val images, 96 px, png, renderer outlines."
    )
    assert yaml.safe_load((out / "data.yaml").read_text())["train"] == "train/images"
    assert main([*args, "--out", str(tmp_path / "tubes")]) == 0
    assert (tmp_path / "tubes" / "data.yaml").read_text().splitlines()[0].endswith("96 px, png, renderer tubes.")
    ours, theirs = (sorted((root / "train" / "images").iterdir()) for root in (out, tmp_path / "tubes"))
    assert [path.name for path in ours] == [path.name for path in theirs]
    assert all(a.read_bytes() != b.read_bytes() for a, b in zip(ours, theirs, strict=True))


def test_the_cli_refuses_an_unknown_renderer(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["synth", "--out", "x", "--renderer", "cubes"])
    assert exit_info.value.code == 2
    assert "argument --renderer: invalid choice: 'cubes' (choose from 'tubes', 'outlines')" in capsys.readouterr().err


def test_both_renderers_label_the_same_planned_studies(tmp_path):
    """The plan (body part, fracture, background) depends on the seed alone: same classes, same background images."""
    tubes = SynthConfig(train=TINY.train, val=TINY.val, size=TINY.size, seed=TINY.seed)
    for config in (TINY, tubes):
        generate_dataset(config, str(tmp_path / config.renderer), workers=1, progress=False)
    for split, folder in (("train", "train"), ("val", "valid")):
        for index in range(getattr(TINY, split)):
            plan = plan_image(TINY, split, index)
            labels = [tmp_path / renderer / folder / "labels" / f"{plan.stem}.txt" for renderer in RENDERERS]
            if plan.background:
                assert not any(path.exists() for path in labels)
                continue
            classes = [{line.split()[0] for line in path.read_text().splitlines()} for path in labels]
            assert classes[0] == classes[1] and len(classes[0]) == 1


@pytest.mark.slow
def test_outlines_output_is_identical_for_any_worker_count(tmp_path):
    trees = []
    for workers in (1, 2):
        out = tmp_path / f"workers{workers}"
        generate_dataset(TINY, str(out), workers=workers, progress=False)
        files = _read_tree(str(out))
        files.pop("/data.yaml")  # holds its own path
        trees.append({path: hashlib.sha256(data).hexdigest() for path, data in files.items()})
    assert trees[0] == trees[1] and len(trees[0]) == TINY.train + TINY.val + sum(
        not plan_image(TINY, "train", i).background for i in range(TINY.train)
    ) + TINY.val
