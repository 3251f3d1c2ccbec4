"""The MLflow registry backend against a real `mlflow server` on 127.0.0.1: the file registry's guarantees, kept.

Models here are stand-ins (the registry fingerprints and copies files; it never loads a model);
`test_predict_mlflow.py` serves a real one.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from registry_builders import evaluation_of, stand_in_model

from fracdet import main
from fracdet_core import storage
from fracdet_core.errors import NotFoundError
from fracdet_core.registry.aliases import NotBlessedError, NothingToRollBackError
from fracdet_core.registry.backend import open_registry
from fracdet_core.registry.verify import ModelMismatchError
from fracdet_core.tracking.connection import connect

CONCURRENT = 4
_REGISTER = """
import sys
from fracdet_core.registry.backend import open_registry
metadata, created = open_registry(sys.argv[1]).register(sys.argv[2], sys.argv[3], sys.argv[4])
print(metadata["version"], created)
"""


def _model(tmp_path: Path, label: str, *, blessed: bool = True, assets: int = 0) -> tuple[str, str]:
    """A stand-in train output and a (blessed) evaluation of it."""
    model = stand_in_model(tmp_path / f"model-{label}", f"model {label}", assets=assets)
    return model, evaluation_of(model, tmp_path / f"evaluation-{label}", blessed=blessed)


@pytest.fixture
def name() -> str:
    """A registered model name of this test's own on the session's server."""
    return f"fracdet-{uuid.uuid4().hex[:8]}"


def _versions(server_url: str, name: str) -> list:
    return connect(server_url).client.search_model_versions(f"name = '{name}'")


def test_a_registered_version_carries_its_model_lineage_blessing_and_card(mlflow_server, mlflow_cache, tmp_path, name,
                                                                          monkeypatch):
    monkeypatch.setenv("FRACDET_GIT_COMMIT", "0123abc")
    model, evaluation = _model(tmp_path, "a")
    registry = open_registry(mlflow_server.registry)
    metadata, created = registry.register(model, evaluation, name)
    assert created and metadata["version"] == 1 and metadata["uri"] == f"models:/{name}/1"

    [version] = _versions(mlflow_server.url, name)
    fingerprint = storage.tree_sha256(f"{model}/saved_model")
    metrics_json = Path(evaluation, "metrics.json").read_bytes()
    assert version.tags["fracdet.model_sha256"] == version.tags["fracdet.evaluated_model_sha256"] == fingerprint
    assert version.tags["fracdet.git_commit"] == "0123abc" and version.tags["fracdet.blessed"] == "true"
    assert version.tags["fracdet.evaluation_sha256"] == __import__("hashlib").sha256(metrics_json).hexdigest()
    assert version.description.startswith(f"# Model card: {name}\n") and "commit 0123abc" in version.description

    fetched = registry.fetch(name, 1)
    assert storage.tree_sha256(fetched.saved_model_uri) == fingerprint
    assert os.path.basename(fetched.saved_model_uri) == "1"  # TF Serving's numbered folder
    assert fetched.thresholds[1].by_body_part == {"HAND": 0.4}
    assert Path(fetched.thresholds[0]).read_bytes() == Path(evaluation, "operating_thresholds.json").read_bytes()
    shown = registry.get_version(name, 1)
    assert shown["model_sha256"] == fingerprint and shown["version"] == 1 and shown["git_commit"] == "0123abc"

    again, created_again = registry.register(model, evaluation, name)
    assert not created_again and again["version"] == 1 and len(_versions(mlflow_server.url, name)) == 1


def test_an_evaluation_of_another_model_is_refused_and_nothing_is_created(mlflow_server, tmp_path, name):
    model, _ = _model(tmp_path, "a")
    _, other_evaluation = _model(tmp_path, "b")
    with pytest.raises(ModelMismatchError, match=r"is of another model.*Nothing was registered"):
        open_registry(mlflow_server.registry).register(model, other_evaluation, name)
    assert _versions(mlflow_server.url, name) == []


@pytest.mark.slow
def test_concurrent_registrations_get_versions_one_to_four_each_complete(mlflow_server, mlflow_cache, tmp_path, name):
    pairs = [_model(tmp_path, str(index)) for index in range(CONCURRENT)]
    processes = [subprocess.Popen([sys.executable, "-c", _REGISTER, mlflow_server.registry, model, evaluation, name],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for model, evaluation in pairs]
    answers = []
    for process in processes:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
        answers.append(out.split())
    assert sorted(int(version) for version, _ in answers) == list(range(1, CONCURRENT + 1))
    registry = open_registry(mlflow_server.registry)
    fingerprints = {storage.tree_sha256(f"{model}/saved_model") for model, _ in pairs}
    assert {registry.fetch(name, version).metadata["model_sha256"] for version in range(1, CONCURRENT + 1)} == fingerprints
    for version in range(1, CONCURRENT + 1):
        fetched = registry.fetch(name, version)
        assert storage.tree_sha256(fetched.saved_model_uri) == fetched.metadata["model_sha256"]


@pytest.mark.slow
def test_a_registration_killed_mid_upload_leaves_no_version(mlflow_server, tmp_path, name):
    model, evaluation = _model(tmp_path, "many", assets=400)
    killed = subprocess.Popen([sys.executable, "-c", _REGISTER, mlflow_server.registry, model, evaluation, name],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for_upload(mlflow_server, name, killed)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    time.sleep(1)  # a request already sent is answered
    assert _versions(mlflow_server.url, name) == []
    registry = open_registry(mlflow_server.registry)
    assert registry.list_versions(name) == []
    with pytest.raises(NotFoundError, match="no version 1"):
        registry.fetch(name, 1)
    metadata, created = registry.register(model, evaluation, name)  # the retry completes, as version 1
    assert created and metadata["version"] == 1


def _wait_for_upload(mlflow_server, name: str, process: subprocess.Popen) -> None:
    """Until the registration's run holds some of the version's files (its upload has begun)."""
    artifacts = mlflow_server.folder / "artifacts"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        if any(path.name.startswith("asset-") for path in artifacts.rglob("asset-*")):
            return
        time.sleep(0.05)
    raise AssertionError("the upload never began")


def test_promote_and_rollback_move_the_alias_and_record_who_and_why(mlflow_server, tmp_path, name, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "radiology-ml")
    registry = open_registry(mlflow_server.registry)
    for label in ("a", "b"):
        registry.register(*_model(tmp_path, label), name)
    unblessed = _model(tmp_path, "c", blessed=False)
    registry.register(*unblessed, name)
    assert registry.alias_version(name, "champion") is None
    with pytest.raises(NothingToRollBackError):
        registry.rollback(name)

    registry.promote(name, 1, require_blessed=True, reason="first")
    record = registry.promote(name, 2, require_blessed=True, reason="better on hands")
    assert record["version"] == 2 and record["stack"] == [1, 2]
    with pytest.raises(NotBlessedError, match="version 3 is not blessed"):
        registry.promote(name, 3, require_blessed=True)
    assert registry.alias_version(name, "champion") == 2

    record = registry.rollback(name, reason="regressed in clinic")
    assert record["version"] == 1 and record["stack"] == [1]
    assert connect(mlflow_server.url).client.get_model_version_by_alias(name, "champion").version == "1"
    assert [(event["action"], event["version"], event["previous"], event["reason"], event["by"])
            for event in record["history"]] == [("promote", 1, None, "first", "radiology-ml"),
                                                 ("promote", 2, 1, "better on hands", "radiology-ml"),
                                                 ("rollback", 1, 2, "regressed in clinic", "radiology-ml")]


def test_the_registry_commands_work_on_an_mlflow_registry(mlflow_server, tmp_path, name, capsys):
    model, evaluation = _model(tmp_path, "a")
    assert main(["register", "--model", model, "--eval", evaluation, "--registry", mlflow_server.registry, "--name", name,
                 "--promote"]) == 0
    out = capsys.readouterr().out
    assert f"registered {name} version 1: models:/{name}/1" in out and "champion: version 1" in out
    assert main(["registry", "list", "--registry", mlflow_server.registry, "--name", name]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert listing[1].startswith("*       1 ") and f"{model}/saved_model" in listing[1]
    assert main(["registry", "show", "1", "--registry", mlflow_server.registry, "--name", name]) == 0
    assert json.loads(capsys.readouterr().out)["model_sha256"] == storage.tree_sha256(f"{model}/saved_model")
    assert main(["registry", "rollback", "--registry", mlflow_server.registry, "--name", name]) == 2
    assert "no earlier version to roll back to" in capsys.readouterr().err
    assert main(["registry", "show", "7", "--registry", mlflow_server.registry, "--name", name]) == 2
    assert f"model {name!r} has no version 7" in capsys.readouterr().err


def test_a_model_on_gcs_is_registered_from_there(mlflow_server, mlflow_cache, gcs_bucket, tmp_path, name):
    local, evaluation = _model(tmp_path, "on-gcs")
    model = f"gs://{gcs_bucket}/train"
    storage.copy_tree(f"{local}/saved_model", f"{model}/saved_model")
    metadata, created = open_registry(mlflow_server.registry).register(model, evaluation, name)
    assert created and metadata["source_model_uri"] == f"{model}/saved_model"
    fetched = open_registry(mlflow_server.registry).fetch(name, metadata["version"])
    assert storage.tree_sha256(fetched.saved_model_uri) == storage.tree_sha256(f"{local}/saved_model")
