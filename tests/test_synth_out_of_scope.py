"""The generator's out-of-scope images: every kind draws, repeats by seed, takes the in-scope size rule,
encodes as its format says, lands in its folder; and the in-scope images stay byte for byte as they were."""

from __future__ import annotations

import hashlib
import io
import itertools

import numpy as np
import pydicom
import pytest
import yaml
from PIL import Image

from fracdet import main
from fracdet_core import storage
from fracdet_core.errors import ConfigError
from fracdet_core.synth import SynthConfig, generate_dataset
from fracdet_core.synth.out_of_scope.encode import draw_pixels, encode_out_of_scope
from fracdet_core.synth.out_of_scope.kinds import DICOM_TAGS, KINDS, OTHER_MODALITY_KINDS, RADIOGRAPH_KINDS, kind_of

SIZE = 128
# sha256 over (relative path, bytes) of every file but data.yaml of SynthConfig(train=5, val=3, size=96, seed=11,
# renderer=..., image_format=...), computed with the generator before out-of-scope images existed (commit 0dcf257).
IN_SCOPE_BEFORE = {
    ("tubes", "png"): "ff56fe3e91ea854e0fccef7a58e9d18d1dd18a95db288aa4c64a0fbccda22edc",
    ("tubes", "dcm"): "61b5bd8734ffb2857bb49042995a32d3c10931ac923af3abab607957059171fe",
    ("outlines", "png"): "f61cc2468cd39f3824f2c2bd1592b3fbb6622e6b1b083ba4479fcff66be581a8",
    ("outlines", "dcm"): "4607cae17c05e35f284d408689f6b69a069762bd7beec7d6c6d09f7f84c0ac8c",
}


def _in_scope_digest(root: str) -> str:
    digest = hashlib.sha256()
    for uri in sorted(storage.list_files(root)):
        if uri.endswith("data.yaml") or "/out_of_scope/" in uri:
            continue
        digest.update(uri[len(root) :].encode())
        digest.update(storage.read_bytes(uri))
    return digest.hexdigest()


def _grey(pixels: np.ndarray) -> np.ndarray:
    return pixels.astype(np.float32) if pixels.ndim == 2 else pixels.astype(np.float32) @ np.array([0.299, 0.587, 0.114])


@pytest.fixture(scope="module")
def drawn() -> dict[str, np.ndarray]:
    """One image of every kind, from the same seed, colour allowed."""
    return {kind: draw_pixels(kind, np.random.default_rng(5), SIZE, colour_allowed=True) for kind in KINDS}


def test_the_kinds_are_the_issues_anatomies_and_modalities():
    assert set(RADIOGRAPH_KINDS) >= {"CHEST", "KNEE", "ANKLE_FOOT", "PELVIS", "SKULL", "SPINE", "TIBIA_FIBULA"}
    assert set(OTHER_MODALITY_KINDS) == {"CT", "MR", "US", "PHOTO", "DOCUMENT"}
    assert set(DICOM_TAGS) == set(KINDS) and all(kind == kind.upper() for kind in KINDS)
    assert [kind_of(index) for index in range(len(KINDS) + 2)] == [*KINDS, KINDS[0], KINDS[1]]


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_draws_an_8_bit_image_of_the_in_scope_size_that_is_not_blank(drawn, kind):
    pixels = drawn[kind]
    assert pixels.dtype == np.uint8 and pixels.ndim in (2, 3)
    assert max(pixels.shape[:2]) == SIZE and 0.78 * SIZE - 1 <= min(pixels.shape[:2]) <= SIZE
    grey = _grey(pixels)
    assert grey.std() > 15.0 and len(np.unique(pixels)) > 30, (kind, grey.std())


def test_every_kind_differs_from_every_other(drawn):
    for first, second in itertools.combinations(KINDS, 2):
        a, b = (np.asarray(Image.fromarray(_grey(drawn[k]).astype(np.uint8)).resize((64, 64)), np.float32)
                for k in (first, second))
        assert np.abs(a - b).mean() > 8.0, (first, second)


@pytest.mark.parametrize("image_format", ["png", "dcm"])
def test_a_seed_repeats_its_image_and_another_seed_does_not(image_format):
    for kind in KINDS:
        once = encode_out_of_scope(kind, 3, 96, image_format, "id")
        assert encode_out_of_scope(kind, 3, 96, image_format, "id") == once
        assert encode_out_of_scope(kind, 4, 96, image_format, "id") != once


def test_png_files_are_8_bit_grey_or_rgb_and_only_some_kinds_take_colour():
    modes = {kind: {Image.open(io.BytesIO(encode_out_of_scope(kind, seed, 96, "png", "x"))).mode for seed in range(12)}
             for kind in KINDS}
    assert all(found <= {"L", "RGB"} for found in modes.values())
    assert {kind for kind, found in modes.items() if "RGB" in found} == {"US", "PHOTO", "DOCUMENT"}
    assert all("L" in modes[kind] for kind in KINDS)  # colour is a share of those kinds, never all of them


@pytest.mark.parametrize("kind", KINDS)
def test_dicom_files_are_monochrome_12_bit_and_say_what_they_show(kind):
    dataset = pydicom.dcmread(io.BytesIO(encode_out_of_scope(kind, 2, 96, "dcm", f"t-{kind}")))
    modality, body_part = DICOM_TAGS[kind]
    assert dataset.Modality == modality and dataset.get("BodyPartExamined", "") == body_part
    assert dataset.PhotometricInterpretation == "MONOCHROME2" and dataset.BitsStored == 12
    pixels = dataset.pixel_array
    assert pixels.dtype == np.uint16 and max(pixels.shape) == 96 and pixels.max() <= 4095 and pixels.std() > 50


@pytest.mark.parametrize(("renderer", "image_format"), sorted(IN_SCOPE_BEFORE))
def test_in_scope_images_are_byte_for_byte_those_made_before_out_of_scope_images_existed(tmp_path, renderer, image_format):
    config = SynthConfig(train=5, val=3, size=96, seed=11, renderer=renderer, image_format=image_format,
                         out_of_scope_train=13, out_of_scope_val=12)
    generate_dataset(config, str(tmp_path / "with"), progress=False)
    assert _in_scope_digest(str(tmp_path / "with")) == IN_SCOPE_BEFORE[(renderer, image_format)]


def test_without_out_of_scope_images_the_data_yaml_is_as_before(tmp_path):
    generate_dataset(SynthConfig(train=2, val=1, size=96, seed=1), str(tmp_path), progress=False)
    lines = (tmp_path / "data.yaml").read_text().splitlines()
    assert lines[0] == ("# Synthetic radiographs made by `fracdet synth`: "
                        "seed 1, 2 train and 1 val images, 96 px, png, renderer tubes.")
    assert lines[1].startswith("path: ")
    assert list(yaml.safe_load("\n".join(lines))) == ["path", "train", "val", "nc", "names"]
    assert not (tmp_path / "out_of_scope").exists()


@pytest.fixture(scope="module")
def with_out_of_scope(tmp_path_factory):
    out = tmp_path_factory.mktemp("oos") / "data"
    config = SynthConfig(train=4, val=2, size=96, seed=3, out_of_scope_train=26, out_of_scope_val=12)
    return out, generate_dataset(config, str(out), progress=False)


def test_out_of_scope_images_spread_evenly_over_the_kinds_one_folder_each(with_out_of_scope):
    out, summary = with_out_of_scope
    train = {kind: sorted(p.name for p in (out / "out_of_scope" / "train" / kind).iterdir()) for kind in KINDS}
    assert {kind: len(names) for kind, names in train.items()} == {kind: 3 if kind in ("CHEST", "KNEE") else 2 for kind in KINDS}
    assert train["CHEST"] == ["oos_train_000000.png", "oos_train_000012.png", "oos_train_000024.png"]
    assert {kind: len(list((out / "out_of_scope" / "valid" / kind).iterdir())) for kind in KINDS} == dict.fromkeys(KINDS, 1)
    assert summary.out_of_scope == {"train": dict(sorted({k: len(v) for k, v in train.items()}.items())),
                                    "val": dict.fromkeys(sorted(KINDS), 1)}
    assert not list((out / "train" / "labels").glob("oos_*")) and not list(out.glob("out_of_scope/**/*.txt"))


def test_data_yaml_names_the_out_of_scope_folders_per_split(with_out_of_scope):
    out, _ = with_out_of_scope
    spec = yaml.safe_load((out / "data.yaml").read_text())
    assert spec["fracdet_out_of_scope"] == {"train": "out_of_scope/train", "val": "out_of_scope/valid"}
    assert spec["train"] == "train/images" and spec["val"] == "valid/images"
    only_train = SynthConfig(train=2, val=1, size=96, out_of_scope_train=1)
    generate_dataset(only_train, str(out.parent / "only_train"), progress=False)
    assert yaml.safe_load((out.parent / "only_train" / "data.yaml").read_text())["fracdet_out_of_scope"] == {
        "train": "out_of_scope/train"}


@pytest.mark.slow
def test_out_of_scope_output_is_identical_for_any_worker_count(with_out_of_scope, tmp_path):
    out, _ = with_out_of_scope
    config = SynthConfig(train=4, val=2, size=96, seed=3, out_of_scope_train=26, out_of_scope_val=12)
    generate_dataset(config, str(tmp_path / "parallel"), workers=2, progress=False)
    ours = {p.relative_to(out): p.read_bytes() for p in out.rglob("*.png")}
    theirs = {p.relative_to(tmp_path / "parallel"): p.read_bytes() for p in (tmp_path / "parallel").rglob("*.png")}
    assert ours == theirs


def test_overwrite_removes_the_earlier_out_of_scope_images(tmp_path):
    generate_dataset(SynthConfig(train=2, val=1, size=96, out_of_scope_train=3), str(tmp_path), progress=False)
    generate_dataset(SynthConfig(train=2, val=1, size=96), str(tmp_path), overwrite=True, progress=False)
    assert storage.list_files(str(tmp_path / "out_of_scope")) == []


def test_the_cli_options_write_and_report_out_of_scope_images(tmp_path, capsys):
    out = tmp_path / "data"
    args = ["synth", "--out", str(out), "--train", "2", "--val", "1", "--size", "96", "--workers", "1", "--quiet",
            "--out-of-scope-train", "3", "--out-of-scope-val", "2"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "train: 3 out-of-scope images (ANKLE_FOOT 1, CHEST 1, KNEE 1)" in printed
    assert "val: 2 out-of-scope images (CHEST 1, KNEE 1)" in printed
    assert (out / "out_of_scope" / "valid" / "KNEE" / "oos_val_000001.png").is_file()


def test_the_cli_defaults_write_no_out_of_scope_images(tmp_path, capsys):
    assert main(["synth", "--out", str(tmp_path), "--train", "1", "--val", "1", "--size", "96", "--quiet"]) == 0
    assert "out-of-scope" not in capsys.readouterr().out and not (tmp_path / "out_of_scope").exists()


@pytest.mark.parametrize("changes", [{"out_of_scope_train": -1}, {"out_of_scope_val": -2}])
def test_negative_out_of_scope_counts_are_refused(changes):
    with pytest.raises(ConfigError, match="out-of-scope image counts must be >= 0"):
        SynthConfig(**changes)


def test_writes_out_of_scope_images_to_a_bucket(gcs_bucket):
    out = f"gs://{gcs_bucket}/synthetic"
    generate_dataset(SynthConfig(train=2, val=1, size=96, out_of_scope_train=2, out_of_scope_val=1), out, progress=False)
    files = storage.list_files(storage.join(out, "out_of_scope"))
    assert [uri[len(out) + 1 :] for uri in files] == [
        "out_of_scope/train/CHEST/oos_train_000000.png", "out_of_scope/train/KNEE/oos_train_000001.png",
        "out_of_scope/valid/CHEST/oos_val_000000.png"]
