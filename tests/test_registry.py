"""The registry on both backends: atomic numbering under concurrency, invisible broken versions, aliases with CAS."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from model_builders import perfect_setup
from registry_builders import evaluation_of, stand_in_model

from fracdet import main
from fracdet_core import storage
from fracdet_core.errors import ConflictError, NotFoundError
from fracdet_core.evaluate.config import EvaluateConfig
from fracdet_core.evaluate.run import run_evaluation
from fracdet_core.registry.aliases import NotBlessedError, NothingToRollBackError, promote, read_alias, rollback
from fracdet_core.registry.claims import clean_incomplete, incomplete_versions, read_claim
from fracdet_core.registry.layout import saved_model_uri, version_uri
from fracdet_core.registry.refs import resolve
from fracdet_core.registry.run import register_model_version
from fracdet_core.registry.verify import ModelMismatchError, check_copy
from fracdet_core.registry.versions import get_version, list_versions

PROCESSES = 8
_REGISTER = """
import sys
from fracdet_core.registry.run import register_model_version
metadata, created = register_model_version(sys.argv[1], sys.argv[2], sys.argv[3], "fracdet")
print(metadata["version"], created)
"""
_PROMOTE = """
import sys
from fracdet_core.registry.aliases import promote
promote(sys.argv[1], "fracdet", int(sys.argv[2]), reason="process " + sys.argv[2])
"""


MANY_FILES = 300  # assets of the variant whose copy is killed part-way


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict:
    """Eight distinct evaluated models (one SavedModel with a different asset each), each with an evaluation of itself.

    One real evaluation of the base model is copied for each variant with the variant's own
    fingerprint: a variant differs only by an asset file, so the measurements hold for it.
    Also: a blessed evaluation of each variant, and a variant with many files.
    """
    base = tmp_path_factory.mktemp("registry")
    model, ingest = perfect_setup(base)
    run_evaluation(model, ingest, str(base / "evaluation"), config=EvaluateConfig(bootstrap_resamples=20, latency_repeats=1,
                                                                                    show_progress=False))
    variants, evaluations, blessed = [], [], []
    for index in range(PROCESSES + 1):
        variant = base / f"model-{index}"
        shutil.copytree(model, variant)
        (variant / "saved_model" / "assets").mkdir(exist_ok=True)
        (variant / "saved_model" / "assets" / "variant.txt").write_text(str(index))
        if index == PROCESSES:
            for asset in range(MANY_FILES):
                (variant / "saved_model" / "assets" / f"many-{asset:04d}.txt").write_text(str(asset))
        variants.append(str(variant))
        evaluations.append(evaluation_of(str(variant), base / f"evaluation-{index}", base=str(base / "evaluation")))
        blessed.append(evaluation_of(str(variant), base / f"blessed-evaluation-{index}", blessed=True,
                                     base=str(base / "evaluation")))
    return {"variants": variants[:PROCESSES], "evaluations": evaluations[:PROCESSES], "blessed": blessed[:PROCESSES],
            "many_files": (variants[PROCESSES], evaluations[PROCESSES]), "evaluation": str(base / "evaluation")}


def _run(script: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", script, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_register_writes_a_complete_version_with_lineage_and_is_idempotent(models, storage_root, monkeypatch):
    monkeypatch.setenv("FRACDET_GIT_COMMIT", "0123abc")
    fingerprint = json.loads(Path(models["evaluations"][0], "metrics.json").read_text())["model_sha256"]
    metadata, created = register_model_version(models["variants"][0], models["evaluations"][0], storage_root, "fracdet")
    assert created and metadata["version"] == 1
    assert metadata["model_sha256"] == metadata["evaluated_model_sha256"] == fingerprint
    assert metadata["metrics"]["map50"] == pytest.approx(1.0) and metadata["blessed"] is False
    assert metadata["data_manifest_sha256"] and metadata["code_version"] and metadata["training"] is None
    assert metadata["git_commit"] == "0123abc"
    files = {uri.rsplit("/versions/1/", 1)[1] for uri in storage.list_files(metadata["uri"])}
    assert {"metadata.json", "metrics.json", "blessing.json", "evaluation_report.html", "model_card.md", "model_card.html",
            "operating_thresholds.json", "1/saved_model.pb", "1/fracdet_model.json"} <= files
    kept = storage.read_bytes(metadata["uri"] + "/operating_thresholds.json")  # what `fracdet evaluate` wrote, as it wrote it
    assert kept == Path(models["evaluations"][0], "operating_thresholds.json").read_bytes()
    card = storage.read_text(metadata["uri"] + "/model_card.md")
    assert "## Limitations" in card and "commit 0123abc" in card and f"SavedModel sha256 {fingerprint}" in card
    again, created_again = register_model_version(models["variants"][0], models["evaluations"][0], storage_root, "fracdet")
    assert not created_again and again == metadata
    assert [item["version"] for item in list_versions(storage_root, "fracdet")] == [1]


def test_an_evaluation_of_another_model_is_refused_and_nothing_is_published(models, storage_root):
    model, evaluation = models["variants"][1], models["evaluations"][0]
    evaluated = json.loads(Path(evaluation, "metrics.json").read_text())["model_sha256"]
    actual = json.loads(Path(models["evaluations"][1], "metrics.json").read_text())["model_sha256"]
    with pytest.raises(ModelMismatchError) as raised:
        register_model_version(model, evaluation, storage_root, "fracdet")
    for part in (evaluated, actual, evaluation, f"{model}/saved_model", "Nothing was registered"):
        assert part in str(raised.value), part
    assert storage.list_files(storage_root) == []


def test_a_folder_that_is_not_a_saved_model_is_refused(models, tmp_path):
    not_a_model = tmp_path / "not-a-model"
    not_a_model.mkdir()
    (not_a_model / "model.txt").write_text("not a model")
    with pytest.raises(NotFoundError, match=f"{not_a_model}: no saved_model.pb"):
        register_model_version(str(not_a_model), models["evaluations"][0], str(tmp_path / "registry"), "fracdet")
    assert not (tmp_path / "registry").exists()


def test_a_copy_that_differs_from_the_model_is_refused(models, tmp_path):
    source = models["variants"][0] + "/saved_model"
    fingerprint = json.loads(Path(models["evaluations"][0], "metrics.json").read_text())["model_sha256"]
    copy = tmp_path / "copy"
    shutil.copytree(source, copy)
    check_copy(source, fingerprint, str(copy))  # a faithful copy passes
    (copy / "assets" / "variant.txt").write_text("changed on the way")
    with pytest.raises(ModelMismatchError,
                       match=f"the registry's copy {copy} has sha256 [0-9a-f]{{64}}, but the model registered, "
                             f"{source}, has sha256 {fingerprint}"):
        check_copy(source, fingerprint, str(copy))


@pytest.mark.slow
def test_concurrent_registrations_get_distinct_complete_versions(models, storage_root):
    processes = [_run(_REGISTER, variant, evaluation, storage_root)
                 for variant, evaluation in zip(models["variants"], models["evaluations"], strict=True)]
    results = [process.communicate(timeout=300) for process in processes]
    assert all(process.returncode == 0 for process in processes), [err for _, err in results]
    versions = sorted(int(out.split()[0]) for out, _ in results)
    assert versions == list(range(1, PROCESSES + 1))
    listed = list_versions(storage_root, "fracdet")
    assert [item["version"] for item in listed] == versions
    assert len({item["model_sha256"] for item in listed}) == PROCESSES
    for item in listed:  # each complete: its SavedModel is the one it names
        assert storage.tree_sha256(item["saved_model_uri"]) == item["model_sha256"]


def _kill_mid_copy(process: subprocess.Popen, copy_uri: str, total: int) -> int:
    """SIGKILL `process` once the registry's copy holds some but not all of `total` files; how many it held."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        copied = len(storage.list_files(copy_uri))
        if 0 < copied < total // 2:
            os.kill(process.pid, signal.SIGKILL)
            process.communicate(timeout=60)
            return len(storage.list_files(copy_uri))
        time.sleep(0.005)
    process.kill()
    raise AssertionError(f"never saw a partial copy in {copy_uri}: {process.communicate()}")


@pytest.mark.slow
def test_a_registration_killed_mid_copy_is_invisible_reported_cleaned_and_its_number_not_reused(models, storage_root, capsys):
    model, evaluation = models["many_files"]
    total = len(list(Path(model, "saved_model").rglob("*.*")))
    assert total > MANY_FILES
    killed = _run(_REGISTER, model, evaluation, storage_root)
    copied = _kill_mid_copy(killed, saved_model_uri(storage_root, "fracdet", 1), total)
    assert killed.returncode == -signal.SIGKILL and 0 < copied < total  # the copy itself was cut short

    assert list_versions(storage_root, "fracdet") == []
    with pytest.raises(NotFoundError, match="no version 1"):
        get_version(storage_root, "fracdet", 1)
    with pytest.raises(NotFoundError, match="no version 1"):
        resolve(f"{storage_root}/fracdet@1")
    [incomplete] = incomplete_versions(storage_root, "fracdet")
    assert incomplete.claim.version == 1 and incomplete.claim.abandoned_at is None and len(incomplete.files) == copied
    assert main(["registry", "list", "--registry", storage_root]) == 0
    listing = capsys.readouterr().out
    assert f"version 1: incomplete registration claimed at {incomplete.claim.claimed_at.isoformat()} of {model}/saved_model, " \
           f"no metadata.json, {copied} files; may still be in progress" in listing

    assert clean_incomplete(storage_root, "fracdet") == []  # younger than the grace period: perhaps still copying
    assert main(["registry", "clean", "--registry", storage_root, "--older-than", "0s"]) == 0
    assert f"removed {copied} files of fracdet version 1" in capsys.readouterr().out
    assert storage.list_files(version_uri(storage_root, "fracdet", 1)) == []
    assert read_claim(storage_root, "fracdet", 1).abandoned_at is not None  # the claim stays: 1 is never reused

    metadata, created = register_model_version(model, evaluation, storage_root, "fracdet")
    assert created and metadata["version"] == 2
    assert storage.tree_sha256(metadata["saved_model_uri"]) == metadata["model_sha256"]
    assert main(["registry", "list", "--registry", storage_root]) == 0
    assert "version 1: abandoned registration, given up at" in capsys.readouterr().out


@pytest.mark.slow
def test_concurrent_promotions_leave_a_consistent_alias_and_history(models, storage_root):
    for variant, evaluation in zip(models["variants"][:6], models["evaluations"][:6], strict=True):
        register_model_version(variant, evaluation, storage_root, "fracdet")
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
    for variant, evaluation in zip(models["variants"][:2], models["evaluations"][:2], strict=True):
        register_model_version(variant, evaluation, storage_root, "fracdet")
    assert resolve(f"{storage_root}/fracdet@champion", missing_ok=True) is None
    with pytest.raises(NotBlessedError, match="fracdet version 1 is not blessed"):
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


def test_promotion_requires_a_blessing_of_the_version_s_own_model(models, storage_root):
    for variant, evaluation in zip(models["variants"][:2], models["blessed"][:2], strict=True):
        register_model_version(variant, evaluation, storage_root, "fracdet")
    assert promote(storage_root, "fracdet", 1, require_blessed=True)["version"] == 1
    # A registry written before registration checked fingerprints: version 2 stores the evaluation of version 1's model.
    other = storage.read_bytes(storage.join(version_uri(storage_root, "fracdet", 1), "metrics.json"))
    storage.write_bytes(storage.join(version_uri(storage_root, "fracdet", 2), "metrics.json"), other)
    own = get_version(storage_root, "fracdet", 2)["model_sha256"]
    with pytest.raises(NotBlessedError, match=f"its blessing is of another model: .* names model_sha256 "
                                              f"{json.loads(other)['model_sha256']}, but .* has sha256 {own}"):
        promote(storage_root, "fracdet", 2, require_blessed=True)
    assert read_alias(storage_root, "fracdet")["version"] == 1


def test_a_registered_version_serves_from_its_uri(models, tmp_path):
    metadata, _ = register_model_version(models["variants"][2], models["evaluations"][2], str(tmp_path), "fracdet")
    version_folder = Path(metadata["uri"])
    numbered = [entry.name for entry in version_folder.iterdir() if entry.is_dir()]
    assert numbered == ["1"]  # TF Serving's layout: the version's URI is a model base path
    serve = tf.saved_model.load(metadata["saved_model_uri"]).signatures["serving_default"]
    image = Path(models["evaluation"]).parent / "data" / "valid" / "images" / "val_0.png"
    outputs = serve(images=tf.constant([image.read_bytes()]))
    assert int(outputs["num_detections"][0]) == 1 and int(outputs["detection_classes"][0, 0]) == 7
    assert np.all(outputs["detection_boxes"][0, 0].numpy() <= 1.0)


def test_the_cli_registers_lists_promotes_and_rolls_back(models, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("FRACDET_GIT_COMMIT", "feedbeef")
    registry = str(tmp_path / "registry")
    for variant, evaluation in zip(models["variants"][:2], models["evaluations"][:2], strict=True):
        assert main(["register", "--model", variant, "--eval", evaluation, "--registry", registry]) == 0
    assert "registered fracdet version 2" in capsys.readouterr().out
    assert main(["registry", "promote", "--registry", registry, "2"]) == 0
    assert main(["registry", "list", "--registry", registry]) == 0
    listing = capsys.readouterr().out
    assert "*       2" in listing and "1.000" in listing
    assert main(["registry", "show", "--registry", registry, "1"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert (shown["version"], shown["git_commit"]) == (1, "feedbeef")
    assert main(["registry", "rollback", "--registry", registry]) == 2
    assert "no earlier version" in capsys.readouterr().err


def test_the_cli_refuses_to_register_and_promote_with_another_model_s_blessing(models, tmp_path, capsys):
    registry = tmp_path / "registry"
    code = main(["register", "--model", models["variants"][1], "--eval", models["blessed"][0], "--registry", str(registry),
                 "--promote"])
    captured = capsys.readouterr()
    assert code == 2 and "champion" not in captured.out and not registry.exists()
    assert captured.err.startswith(f"fracdet register: error: the evaluation {models['blessed'][0]} is of another model")
    assert main(["register", "--model", models["variants"][1], "--eval", models["blessed"][1], "--registry", str(registry),
                 "--promote"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "champion: version 1"


def test_an_evaluation_whose_publishing_was_cut_short_is_not_registered(tmp_path, capsys):
    model = stand_in_model(tmp_path / "model", "a model")
    evaluation = evaluation_of(model, tmp_path / "evaluation", blessed=True)
    record = {"writer": "fracdet evaluate", "state": "publishing", "files": ["metrics.json", "blessing.json"]}
    (tmp_path / "evaluation" / ".fracdet-evaluate.json").write_text(json.dumps(record))
    registry = tmp_path / "registry"
    assert main(["register", "--model", model, "--eval", evaluation, "--registry", str(registry)]) == 2
    assert "cut short while publishing here" in capsys.readouterr().err and not registry.exists()


def test_a_move_whose_answer_was_lost_is_not_applied_twice(models, tmp_path, monkeypatch):
    """Promoting 2 landed, but its answer was lost and promoting 3 overwrote the alias before the storage layer could
    read it back: the move is told it conflicted, reads the alias again and finds itself there, under 3."""
    registry = str(tmp_path / "registry")
    for variant, evaluation in zip(models["variants"][:3], models["evaluations"][:3], strict=True):
        register_model_version(variant, evaluation, registry, "fracdet")
    promote(registry, "fracdet", 1)
    write = storage.write_if_unchanged
    lost = []

    def landed_but_lost(uri: str, data: bytes, token: str) -> None:
        write(uri, data, token)
        if not lost:
            lost.append(uri)
            promote(registry, "fracdet", 3)  # another move lands meanwhile
            raise ConflictError(f"{uri} changed since it was read; read it again and retry")

    monkeypatch.setattr(storage, "write_if_unchanged", landed_but_lost)
    promote(registry, "fracdet", 2, reason="better")
    alias = read_alias(registry, "fracdet")
    assert lost and alias["stack"] == [1, 2, 3] and [event["previous"] for event in alias["history"]] == [None, 1, 2]
