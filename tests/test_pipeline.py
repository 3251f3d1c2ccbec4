"""The KFP pipeline: the compiled spec, and a real run of the whole DAG through kfp.local."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from kfp import components

from components.image import FRACDET_IMAGE
from fracdet_core.synth import SynthConfig, generate_dataset
from pipelines.compile import compile_pipeline

FRACDET = str(Path(sys.executable).with_name("fracdet"))


@pytest.fixture(scope="module")
def compiled(tmp_path_factory) -> dict:
    path = tmp_path_factory.mktemp("compiled") / "pipeline.yaml"
    compile_pipeline(str(path))
    return yaml.safe_load(path.read_text())


def test_every_component_runs_on_our_image(compiled):
    images = {executor["container"]["image"] for executor in compiled["deploymentSpec"]["executors"].values()}
    assert images == {FRACDET_IMAGE}


def test_nothing_is_installed_at_run_time(compiled):
    for executor in compiled["deploymentSpec"]["executors"].values():
        assert "pip install" not in " ".join(executor["container"]["command"])


def test_parameters_and_their_defaults(compiled):
    parameters = compiled["root"]["inputDefinitions"]["parameters"]
    assert parameters["data_uri"]["parameterType"] == "STRING" and "defaultValue" not in parameters["data_uri"]
    assert parameters["shards"] == {"defaultValue": 0.0, "description": parameters["shards"]["description"],
                                    "isOptional": True, "parameterType": "NUMBER_INTEGER"}
    assert "shards per split" in parameters["shards"]["description"]


def test_the_ingest_task_is_named_uncached_retried_and_sized(compiled):
    task = compiled["root"]["dag"]["tasks"]["ingest"]
    assert task["taskInfo"]["name"] == "Ingest YOLO dataset"
    assert task["cachingOptions"] == {}  # off: the key would not see new data under the same URI
    assert task["retryPolicy"]["maxRetryCount"] == 2
    resources = compiled["deploymentSpec"]["executors"]["exec-ingest"]["container"]["resources"]
    assert resources["cpuRequest"] == 2.0 and resources["memoryRequest"] == 4.0
    outputs = compiled["root"]["outputDefinitions"]["artifacts"]
    assert outputs["dataset"]["artifactType"]["schemaTitle"] == "system.Dataset"
    assert outputs["eda_report"]["artifactType"]["schemaTitle"] == "system.HTML"


def test_training_follows_eda_with_its_weights_and_gpu_settings(compiled):
    task = compiled["root"]["dag"]["tasks"]["train"]
    assert sorted(task["dependentTasks"]) == ["eda", "ingest"]
    assert task["inputs"]["artifacts"]["analysis"]["taskOutputArtifact"] == {"outputArtifactKey": "analysis", "producerTask": "eda"}
    assert task["retryPolicy"]["maxRetryCount"] == 2  # a retried task resumes from its last epoch
    resources = compiled["deploymentSpec"]["executors"]["exec-train"]["container"]["resources"]
    assert "gpu_count" in resources["accelerator"]["resourceCount"] and "gpu_type" in resources["accelerator"]["resourceType"]
    assert compiled["root"]["outputDefinitions"]["artifacts"]["model"]["artifactType"]["schemaTitle"] == "system.Model"


def test_eda_follows_ingest_and_takes_the_baseline(compiled):
    task = compiled["root"]["dag"]["tasks"]["eda"]
    assert task["dependentTasks"] == ["ingest"]
    assert task["inputs"]["artifacts"]["dataset"]["taskOutputArtifact"] == {"outputArtifactKey": "dataset", "producerTask": "ingest"}
    assert task["inputs"]["parameters"]["baseline_uri"]["componentInputParameter"] == "eda_baseline"
    assert task["taskInfo"]["name"] == "EDA, class weights and data checks"
    assert task["cachingOptions"] == {"enableCache": True}  # keyed on the ingest artifact it reads
    outputs = compiled["components"]["comp-eda"]["outputDefinitions"]["artifacts"]
    assert {name: spec["artifactType"]["schemaTitle"] for name, spec in outputs.items()} == {
        "analysis": "system.Artifact", "report": "system.HTML", "summary": "system.Markdown", "metrics": "system.Metrics",
    }
    parameters = compiled["root"]["inputDefinitions"]["parameters"]
    assert parameters["eda_baseline"]["defaultValue"] == "" and parameters["class_weighting"]["defaultValue"] == "balanced"


def test_evaluation_follows_training_and_gates_registration(compiled):
    tasks = compiled["root"]["dag"]["tasks"]
    evaluate = tasks["evaluate"]
    assert sorted(evaluate["dependentTasks"]) == ["ingest", "train"]
    assert evaluate["inputs"]["artifacts"]["model"]["taskOutputArtifact"] == {"outputArtifactKey": "model", "producerTask": "train"}
    assert evaluate["inputs"]["parameters"]["registry_uri"]["componentInputParameter"] == "registry_uri"
    assert evaluate["cachingOptions"] == {} and evaluate["taskInfo"]["name"] == "Evaluate and bless"
    outputs = compiled["components"]["comp-evaluate"]["outputDefinitions"]
    assert {name: spec["artifactType"]["schemaTitle"] for name, spec in outputs["artifacts"].items()} == {
        "evaluation": "system.Artifact", "metrics": "system.Metrics", "fracture_call": "system.ClassificationMetrics",
        "report": "system.HTML",
    }
    assert outputs["parameters"]["Output"]["parameterType"] == "BOOLEAN"

    condition = tasks["condition-1"]
    assert sorted(condition["dependentTasks"]) == ["eda", "evaluate", "train"]
    assert condition["triggerPolicy"]["condition"] == "inputs.parameter_values['pipelinechannel--evaluate-Output'] == true"
    register = compiled["components"]["comp-condition-1"]["dag"]["tasks"]["register"]
    assert register["taskInfo"]["name"] == "Register model" and register["cachingOptions"] == {}
    assert register["retryPolicy"]["maxRetryCount"] == 2  # registering the same model again returns its version
    assert register["inputs"]["artifacts"]["evaluation"]["componentInputArtifact"] == "pipelinechannel--evaluate-evaluation"
    assert register["inputs"]["parameters"]["promote"]["componentInputParameter"] == "pipelinechannel--promote"
    registered = compiled["components"]["comp-register"]["outputDefinitions"]["artifacts"]["registered"]
    assert registered["artifactType"]["schemaTitle"] == "system.Model"


def test_compiling_twice_gives_the_same_file(tmp_path):
    compile_pipeline(str(tmp_path / "a.yaml"))
    compile_pipeline(str(tmp_path / "b.yaml"))
    assert (tmp_path / "a.yaml").read_bytes() == (tmp_path / "b.yaml").read_bytes()


def test_image_override_and_the_compiled_file_loads_back(tmp_path):
    path = tmp_path / "pipeline.yaml"
    result = subprocess.run([FRACDET, "pipeline", "compile", "--out", str(path), "--image", "registry.example/fracdet:ci"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    spec = yaml.safe_load(path.read_text())
    assert {e["container"]["image"] for e in spec["deploymentSpec"]["executors"].values()} == {"registry.example/fracdet:ci"}
    loaded = components.load_component_from_file(str(path))
    assert loaded.name == "fracdet"
    assert set(loaded.component_spec.inputs) == {
        "data_uri", "registry_uri", "model_name", "promote", "shards", "max_side", "eda_baseline", "class_weighting",
        "max_quarantine_share", "epochs", "image_size", "batch_size", "train_config_uri", "gpu_count", "gpu_type",
        "thresholds_uri", "target_sensitivity",
    }


TINY_MODEL = "model: {stem_width: 8, stage_widths: [8, 8, 16, 16, 16], stage_depths: [1, 1, 1, 1, 1], fpn_width: 8, head_depth: 1}\n"
OPEN_GATES = "min_map50: 0\nmin_sensitivity: {}\nmin_specificity: {}\nmin_auc: {}\n"  # any model is blessed
CLOSED_GATES = "min_map50: 1.0\n"  # out of reach for a model trained one epoch


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("dag")
    generate_dataset(SynthConfig(train=60, val=12, size=96, seed=5), str(base / "data"), progress=False)
    (base / "tiny.yaml").write_text(TINY_MODEL)
    (base / "open.yaml").write_text(OPEN_GATES)
    (base / "closed.yaml").write_text(CLOSED_GATES)
    return base


def _run_dag(base: Path, root: Path, gates: str) -> subprocess.CompletedProcess:
    return subprocess.run([FRACDET, "pipeline", "run", "--data", str(base / "data"), "--root", str(root), "--shards", "2",
                           "--epochs", "1", "--image-size", "64", "--batch-size", "8", "--train-config", str(base / "tiny.yaml"),
                           "--thresholds", str(base / gates), "--promote"],
                          capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_the_whole_dag_runs_locally_and_registers_a_blessed_model(tiny_run, tmp_path):
    root = tmp_path / "runs"
    result = _run_dag(tiny_run, root, "open.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    printed = dict(line.split(": ", 1) for line in result.stdout.splitlines() if ": " in line)
    dataset, report = Path(printed["ingested dataset"]), Path(printed["EDA report"])
    saved_model = Path(printed["trained model"])
    assert (saved_model / "saved_model.pb").exists() and saved_model.is_relative_to(root)
    train_output = json.loads((saved_model.parent.parent / "executor_output.json").read_text())
    model_metadata = train_output["artifacts"]["model"]["artifacts"][0]["metadata"]
    assert model_metadata["display_name"] == "Trained detector (SavedModel)" and model_metadata["epochs_run"] == 1
    assert dataset.is_relative_to(root) and report.is_relative_to(root)
    manifest = json.loads((dataset / "manifest.json").read_text())
    assert manifest["totals"] == {"found": 72, "ingested": 72, "quarantined": 0, "warnings": 0}
    assert sorted(p.name for p in dataset.glob("*.tfrecord")) == [
        "train-00000-of-00002.tfrecord", "train-00001-of-00002.tfrecord",
        "val-00000-of-00002.tfrecord", "val-00001-of-00002.tfrecord",
    ]
    ingest_output = json.loads((dataset.parent / "executor_output.json").read_text())
    metadata = ingest_output["artifacts"]["dataset"]["artifacts"][0]["metadata"]
    assert metadata["display_name"] == "Ingested dataset (TFRecord shards)"
    assert metadata["ingested"] == 72 and metadata["train_images"] == 60

    assert report.read_text().startswith("<!DOCTYPE html>")
    eda_output = json.loads((report.parent / "executor_output.json").read_text())
    names = {key: value["artifacts"][0]["metadata"].get("display_name") for key, value in eda_output["artifacts"].items()}
    assert names == {"analysis": "EDA statistics and class weights", "report": "EDA report", "summary": "EDA summary",
                     "metrics": "Data figures"}
    weights = json.loads((report.parent / "analysis" / "class_weights.json").read_text())
    assert len(weights) == 10 and all(0 < weight <= 10 for weight in weights.values())
    assert eda_output["artifacts"]["metrics"]["artifacts"][0]["metadata"]["train_images"] == 60

    evaluation = Path(printed["evaluation report"]).parent / "evaluation"
    assert json.loads((evaluation / "blessing.json").read_text())["blessed"] is True
    assert "mAP@0.5" in result.stdout and "blessed: yes" in result.stdout
    evaluate_output = json.loads((evaluation.parent / "executor_output.json").read_text())
    assert evaluate_output["parameterValues"]["Output"] is True
    assert evaluate_output["artifacts"]["metrics"]["artifacts"][0]["metadata"]["blessed"] == 1.0
    # What ran: the register task, and the registry now holds this run's model as the champion.
    (run_folder,) = [path for path in root.iterdir() if path.name.startswith("fracdet-")]
    assert (run_folder / "register" / "executor_output.json").exists()
    version = root / "registry" / "fracdet" / "versions" / "1"
    assert printed["registered"] == str(version)
    metadata = json.loads((version / "metadata.json").read_text())
    assert metadata["source_model_uri"] == str(saved_model) and metadata["run"]["task"] == "register"
    assert json.loads((root / "registry" / "fracdet" / "aliases" / "champion").read_text())["version"] == 1
    registered = json.loads((run_folder / "register" / "executor_output.json").read_text())["artifacts"]["registered"]
    assert registered["artifacts"][0]["uri"] == str(version)


@pytest.mark.slow
def test_an_unblessed_model_is_not_registered(tiny_run, tmp_path):
    root = tmp_path / "runs"
    result = _run_dag(tiny_run, root, "closed.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "blessed: NO" in result.stdout and "FAIL map50" in result.stdout
    assert "registered: no (not blessed)" in result.stdout
    (run_folder,) = [path for path in root.iterdir() if path.name.startswith("fracdet-")]
    assert (run_folder / "evaluate").is_dir() and not (run_folder / "register").exists()  # the branch did not run
    assert not (root / "registry" / "fracdet" / "versions").exists()


def test_a_failed_local_run_is_one_clear_line(tmp_path):
    result = subprocess.run([FRACDET, "pipeline", "run", "--data", str(tmp_path / "missing"), "--root", str(tmp_path / "runs")],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("fracdet pipeline: error: Pipeline 'fracdet' finished with status FAILURE")
    assert "no data.yaml here" in result.stdout + result.stderr  # the task's own log names the problem
