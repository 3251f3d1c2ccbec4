"""The registry on both backends: atomic numbering under concurrency, invisible broken versions, aliases with CAS."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from model_builders import perfect_setup

from fracdet_core import storage
from fracdet_core.cli import main
from fracdet_core.errors import NotFoundError
from fracdet_core.evaluate.run import EvaluateOptions, run_evaluation
from fracdet_core.registry.aliases import NotBlessedError, NothingToRollBackError, promote, read_alias, rollback
from fracdet_core.registry.refs import resolve
from fracdet_core.registry.versions import get_version, list_versions, register, saved_model_uri

PROCESSES = 8
_REGISTER = """
import sys
from fracdet_core.registry.versions import register
metadata, created = register(sys.argv[1], sys.argv[2], sys.argv[3], "fracdet")
print(metadata["version"], created)
"""
_REGISTER_AND_DIE = """
import os, signal, sys
from fracdet_core import storage
from fracdet_core.registry.versions import register
copy = storage.copy_tree
def copy_then_die(source, destination):
    copy(source, destination)
    os.kill(os.getpid(), signal.SIGKILL)  # killed after the SavedModel copy, before metadata.json
storage.copy_tree = copy_then_die
register(sys.argv[1], sys.argv[2], sys.argv[3], "fracdet")
"""
_PROMOTE = """
import sys
from fracdet_core.registry.aliases import promote
promote(sys.argv[1], "fracdet", int(sys.argv[2]), reason="process " + sys.argv[2])
"""


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict:
    """Eight distinct evaluated models (one SavedModel with a different asset each) and their evaluation."""
    base = tmp_path_factory.mktemp("registry")
    model, ingest = perfect_setup(base)
    run_evaluation(model, ingest, str(base / "evaluation"), options=EvaluateOptions(bootstrap_resamples=20, latency_repeats=1,
                                                                                    show_progress=False))
    variants = []
    for index in range(PROCESSES):
        variant = base / f"model-{index}"
        shutil.copytree(model, variant)
        (variant / "saved_model" / "assets").mkdir(exist_ok=True)
        (variant / "saved_model" / "assets" / "variant.txt").write_text(str(index))
        variants.append(str(variant))
    return {"variants": variants, "evaluation": str(base / "evaluation")}


def _run(script: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", script, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_register_writes_a_complete_version_with_lineage_and_is_idempotent(models, storage_root):
    metadata, created = register(models["variants"][0], models["evaluation"], storage_root, "fracdet")
    assert created and metadata["version"] == 1
    assert metadata["model_sha256"] == storage.tree_sha256(models["variants"][0] + "/saved_model")
    assert metadata["metrics"]["map50"] == pytest.approx(1.0) and metadata["blessed"] is False
    assert metadata["data_manifest_sha256"] and metadata["code_version"] and metadata["training"] is None
    files = {uri.rsplit("/versions/1/", 1)[1] for uri in storage.list_files(metadata["uri"])}
    assert {"metadata.json", "metrics.json", "blessing.json", "evaluation_report.html", "model_card.md", "model_card.html",
            "1/saved_model.pb", "1/fracdet_model.json"} <= files
    assert "## Limitations" in storage.read_text(metadata["uri"] + "/model_card.md")
    again, created_again = register(models["variants"][0], models["evaluation"], storage_root, "fracdet")
    assert not created_again and again == metadata
    assert [item["version"] for item in list_versions(storage_root, "fracdet")] == [1]


@pytest.mark.slow
def test_concurrent_registrations_get_distinct_complete_versions(models, storage_root):
    processes = [_run(_REGISTER, variant, models["evaluation"], storage_root) for variant in models["variants"]]
    results = [process.communicate(timeout=300) for process in processes]
    assert all(process.returncode == 0 for process in processes), [err for _, err in results]
    versions = sorted(int(out.split()[0]) for out, _ in results)
    assert versions == list(range(1, PROCESSES + 1))
    listed = list_versions(storage_root, "fracdet")
    assert [item["version"] for item in listed] == versions
    assert len({item["model_sha256"] for item in listed}) == PROCESSES
    for item in listed:  # each complete: its SavedModel is the one it names
        assert storage.tree_sha256(item["saved_model_uri"]) == item["model_sha256"]


@pytest.mark.slow
def test_a_registration_killed_mid_copy_leaves_no_visible_version(models, storage_root):
    killed = _run(_REGISTER_AND_DIE, models["variants"][1], models["evaluation"], storage_root)
    killed.communicate(timeout=300)
    assert killed.returncode == -9
    assert storage.list_files(saved_model_uri(storage_root, "fracdet", 1))  # it did copy
    assert list_versions(storage_root, "fracdet") == []
    with pytest.raises(NotFoundError, match="no version 1"):
        get_version(storage_root, "fracdet", 1)
    metadata, created = register(models["variants"][1], models["evaluation"], storage_root, "fracdet")
    assert created and metadata["version"] == 2


@pytest.mark.slow
def test_concurrent_promotions_leave_a_consistent_alias_and_history(models, storage_root):
    for variant in models["variants"][:6]:
        register(variant, models["evaluation"], storage_root, "fracdet")
    processes = [_run(_PROMOTE, storage_root, str(version)) for version in range(1, 7)]
    for process in processes:
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
    alias = read_alias(storage_root, "fracdet")
    assert sorted(alias["stack"]) == [1, 2, 3, 4, 5, 6] and alias["version"] == alias["stack"][-1]
    history = alias["history"]
    assert [event["version"] for event in history] == alias["stack"]
    assert [event["previous"] for event in history] == [None, *alias["stack"][:-1]]  # a chain: no move was lost


def test_promote_rollback_and_references(models, storage_root):
    for variant in models["variants"][:2]:
        register(variant, models["evaluation"], storage_root, "fracdet")
    assert resolve(f"{storage_root}/fracdet@champion", missing_ok=True) is None
    with pytest.raises(NotBlessedError):
        promote(storage_root, "fracdet", 1, require_blessed=True)
    promote(storage_root, "fracdet", 1)
    promote(storage_root, "fracdet", 2, reason="better")
    assert resolve(f"{storage_root}/fracdet@champion") == saved_model_uri(storage_root, "fracdet", 2)
    assert resolve(f"{storage_root}/fracdet@1") == saved_model_uri(storage_root, "fracdet", 1)
    assert rollback(storage_root, "fracdet", reason="regressed in clinic")["version"] == 1
    assert read_alias(storage_root, "fracdet")["history"][-1]["reason"] == "regressed in clinic"
    with pytest.raises(NothingToRollBackError):
        rollback(storage_root, "fracdet")
    with pytest.raises(NotFoundError):
        promote(storage_root, "fracdet", 9)


def test_a_registered_version_serves_from_its_uri(models, tmp_path):
    metadata, _ = register(models["variants"][2], models["evaluation"], str(tmp_path), "fracdet")
    version_folder = Path(metadata["uri"])
    numbered = [entry.name for entry in version_folder.iterdir() if entry.is_dir()]
    assert numbered == ["1"]  # TF Serving's layout: the version's URI is a model base path
    serve = tf.saved_model.load(metadata["saved_model_uri"]).signatures["serving_default"]
    outputs = serve(images=tf.constant([(Path(models["evaluation"]).parent / "data" / "valid" / "images" / "val_0.png").read_bytes()]))
    assert int(outputs["num_detections"][0]) == 1 and int(outputs["detection_classes"][0, 0]) == 7
    assert np.all(outputs["detection_boxes"][0, 0].numpy() <= 1.0)


def test_the_cli_registers_lists_promotes_and_rolls_back(models, tmp_path, capsys):
    registry = str(tmp_path / "registry")
    for variant in models["variants"][:2]:
        assert main(["register", "--model", variant, "--eval", models["evaluation"], "--registry", registry]) == 0
    assert "registered fracdet version 2" in capsys.readouterr().out
    assert main(["registry", "promote", "--registry", registry, "2"]) == 0
    assert main(["registry", "list", "--registry", registry]) == 0
    listing = capsys.readouterr().out
    assert "*       2" in listing and "1.000" in listing
    assert main(["registry", "show", "--registry", registry, "1"]) == 0
    assert json.loads(capsys.readouterr().out)["version"] == 1
    assert main(["registry", "rollback", "--registry", registry]) == 2
    assert "no earlier version" in capsys.readouterr().err
