"""The KFP pipeline: the compiled spec, and a real run of the whole DAG through kfp.local."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from kfp import components

from fracdet import main
from fracdet_components.image import FRACDET_GPU_IMAGE, FRACDET_IMAGE
from fracdet_core.errors import ConfigError
from fracdet_core.ingest.fingerprint import data_fingerprint
from fracdet_core.synth import SynthConfig, generate_dataset
from fracdet_pipelines.cluster import ClusterConfig, Toleration
from fracdet_pipelines.compile import compile_pipeline

FRACDET = str(Path(sys.executable).with_name("fracdet"))
IO_TASKS = ("fingerprint", "ingest", "eda", "evaluate")  # the exit handler's body, besides the train step and the branch
TRAIN_STEP, ONE_MACHINE, SEVERAL_MACHINES, BLESSED = "condition-branches-2", "condition-3", "condition-4", "condition-5"
RETRIES = {"backoffDuration": "30s", "backoffFactor": 2.0, "backoffMaxDuration": "3600s", "maxRetryCount": 2}


@pytest.fixture(scope="module")
def compiled_documents(tmp_path_factory) -> list[dict]:
    path = tmp_path_factory.mktemp("compiled") / "pipeline.yaml"
    compile_pipeline(str(path))
    return list(yaml.safe_load_all(path.read_text()))


@pytest.fixture(scope="module")
def compiled(compiled_documents) -> dict:
    return compiled_documents[0]


@pytest.fixture(scope="module")
def kubernetes(compiled_documents) -> dict:
    return compiled_documents[1]["platforms"]["kubernetes"]


@pytest.fixture(scope="module")
def body(compiled) -> dict:
    """The tasks the exit handler guards."""
    return compiled["components"]["comp-exit-handler-1"]["dag"]["tasks"]


def _branch_task(spec: dict, condition: str, task: str) -> dict:
    """A task of one branch of the train step."""
    return spec["components"][f"comp-{condition}"]["dag"]["tasks"][task]


def test_training_runs_on_the_gpu_image_and_the_rest_on_the_cpu_image(compiled):
    images = {name: executor["container"]["image"] for name, executor in compiled["deploymentSpec"]["executors"].items()}
    assert images.pop("exec-train") == FRACDET_GPU_IMAGE == f"{FRACDET_IMAGE}-gpu"
    assert set(images) == {"exec-fingerprint", "exec-ingest", "exec-eda", "exec-train-on-workers", "exec-evaluate",
                           "exec-register", "exec-record-outcome"}
    assert set(images.values()) == {FRACDET_IMAGE}  # the launcher of training workers too; the workers run the GPU image
    launcher = _branch_task(compiled, SEVERAL_MACHINES, "train-on-workers")
    assert launcher["inputs"]["parameters"]["worker_image"] == {"runtimeValue": {"constant": FRACDET_GPU_IMAGE}}


def test_nothing_is_installed_at_run_time(compiled):
    for executor in compiled["deploymentSpec"]["executors"].values():
        assert "pip install" not in " ".join(executor["container"]["command"])


# The run parameters users, the dashboard and the retrain workflow pass: name -> (KFP type, default; None: required).
PARAMETERS = {
    "data_uri": ("STRING", None), "registry_uri": ("STRING", None), "model_name": ("STRING", "fracdet"),
    "promote": ("BOOLEAN", False), "shards": ("NUMBER_INTEGER", 0), "max_side": ("NUMBER_INTEGER", 0),
    "eda_baseline": ("STRING", ""), "class_weighting": ("STRING", "balanced"), "max_quarantine_share": ("NUMBER_DOUBLE", 0.1),
    "model_preset": ("STRING", "n"), "epochs": ("NUMBER_INTEGER", 30), "image_size": ("NUMBER_INTEGER", 0),
    "batch_size": ("NUMBER_INTEGER", 16),
    "train_config_uri": ("STRING", ""), "gpu_count": ("NUMBER_INTEGER", 0), "gpu_type": ("STRING", "nvidia.com/gpu"),
    "train_workers": ("NUMBER_INTEGER", 1), "thresholds_uri": ("STRING", ""), "target_sensitivity": ("NUMBER_DOUBLE", 0.9),
    "target_specificity": ("NUMBER_DOUBLE", 0.95), "target_in_scope_kept": ("NUMBER_DOUBLE", 0.99),
    "mlflow_tracking_uri": ("STRING", ""), "kfp_dashboard_url": ("STRING", ""),
}


def test_parameters_and_their_defaults(compiled):
    parameters = compiled["root"]["inputDefinitions"]["parameters"]
    assert {name: (spec["parameterType"], spec.get("defaultValue")) for name, spec in parameters.items()} == PARAMETERS
    assert {name for name, spec in parameters.items() if not spec.get("isOptional")} == {"data_uri", "registry_uri"}
    assert parameters["shards"]["description"] == "TFRecord shards per split; 0 makes one per 1000 images."
    assert [name for name, spec in parameters.items() if not spec.get("description")] == []  # the dashboard shows them


def test_the_kubeflow_page_names_every_run_parameter(compiled):
    page = (Path(__file__).resolve().parents[1] / "docs" / "kubeflow.md").read_text()
    section = page.split("## The pipeline's parameters", 1)[1].split("\n## ", 1)[0]
    assert [name for name in compiled["root"]["inputDefinitions"]["parameters"] if f"`{name}`" not in section] == []


def test_an_exit_handler_guards_every_task_and_records_the_outcome(compiled, body):
    root = compiled["root"]["dag"]["tasks"]
    assert set(root) == {"exit-handler-1", "record-outcome"}
    assert root["exit-handler-1"]["taskInfo"]["name"] == "Run"
    assert set(body) == {*IO_TASKS, TRAIN_STEP, BLESSED}
    outcome = root["record-outcome"]
    assert outcome["dependentTasks"] == ["exit-handler-1"]
    assert outcome["triggerPolicy"] == {"strategy": "ALL_UPSTREAM_TASKS_COMPLETED"}  # runs whatever the body did
    assert outcome["inputs"]["parameters"]["status"] == {"taskFinalStatus": {"producerTask": "exit-handler-1"}}
    assert outcome["inputs"]["parameters"]["run_id"] == {"runtimeValue": {"constant": "{{$.pipeline_job_uuid}}"}}
    assert outcome["inputs"]["parameters"]["registry_uri"] == {"componentInputParameter": "registry_uri"}
    assert outcome["cachingOptions"] == {} and outcome["retryPolicy"] == RETRIES
    assert outcome["taskInfo"]["name"] == "Record run outcome"
    artifact = compiled["components"]["comp-record-outcome"]["outputDefinitions"]["artifacts"]["outcome"]
    assert artifact["artifactType"]["schemaTitle"] == "system.Artifact"
    assert "outputDefinitions" not in compiled["root"]  # KFP allows no pipeline outputs from inside an exit handler


def test_ingest_is_cached_on_a_fingerprint_of_the_data(compiled, body):
    fingerprint = body["fingerprint"]
    assert fingerprint["cachingOptions"] == {}  # off: it must list the data as it is now
    assert fingerprint["inputs"]["parameters"]["data_uri"] == {"componentInputParameter": "pipelinechannel--data_uri"}
    assert fingerprint["taskInfo"]["name"] == "Fingerprint the data" and "dependentTasks" not in fingerprint
    task = body["ingest"]
    assert task["dependentTasks"] == ["fingerprint"]
    assert task["inputs"]["parameters"]["data_fingerprint"] == {
        "taskOutputParameter": {"outputParameterKey": "Output", "producerTask": "fingerprint"}}
    assert task["taskInfo"]["name"] == "Ingest YOLO dataset"
    assert task["cachingOptions"] == {"enableCache": True}  # keyed on the fingerprint: new data runs it again
    resources = compiled["deploymentSpec"]["executors"]["exec-ingest"]["container"]["resources"]
    assert resources["cpuRequest"] == 2.0 and resources["memoryRequest"] == 4.0
    assert {name: body[name]["retryPolicy"] for name in IO_TASKS} == dict.fromkeys(IO_TASKS, RETRIES)
    assert _branch_task(compiled, ONE_MACHINE, "train")["retryPolicy"] == RETRIES
    assert _branch_task(compiled, SEVERAL_MACHINES, "train-on-workers")["retryPolicy"] == RETRIES  # it adopts its own job


def test_training_follows_eda_with_its_weights_and_gpu_settings(compiled, body, kubernetes):
    step = body[TRAIN_STEP]
    assert sorted(step["dependentTasks"]) == ["eda", "ingest"]
    analysis = step["inputs"]["artifacts"]["pipelinechannel--eda-analysis"]["taskOutputArtifact"]
    assert analysis == {"outputArtifactKey": "analysis", "producerTask": "eda"}
    task = _branch_task(compiled, ONE_MACHINE, "train")
    assert task["inputs"]["artifacts"]["analysis"] == {"componentInputArtifact": "pipelinechannel--eda-analysis"}
    assert task["cachingOptions"] == {"enableCache": True} and task["taskInfo"]["name"] == "Train detector"
    resources = compiled["deploymentSpec"]["executors"]["exec-train"]["container"]["resources"]
    assert resources["accelerator"] == {"resourceCount": "{{$.inputs.parameters['pipelinechannel--gpu_count']}}",
                                        "resourceType": "{{$.inputs.parameters['pipelinechannel--gpu_type']}}"}
    assert resources["cpuRequest"] == 4.0 and resources["memoryRequest"] == 16.0
    # The resource request reads the GPU parameters inside the exit handler's sub-DAG, so that DAG must receive them.
    handler_inputs = compiled["components"]["comp-exit-handler-1"]["inputDefinitions"]["parameters"]
    assert {"pipelinechannel--gpu_count", "pipelinechannel--gpu_type"} <= set(handler_inputs)
    assert task["inputs"]["parameters"]["gpu_count"] == {"componentInputParameter": "pipelinechannel--gpu_count"}
    assert task["inputs"]["parameters"]["model_preset"] == {"componentInputParameter": "pipelinechannel--model_preset"}
    # Only the training pods are placed on GPU nodes; without --gcs-secret no task mounts a key (Workload Identity).
    assert set(kubernetes["deploymentSpec"]["executors"]) == {"exec-train", "exec-train-on-workers"}
    assert kubernetes["deploymentSpec"]["executors"]["exec-train"] == {
        "emptyDirMounts": [{"medium": "Memory", "mountPath": "/dev/shm", "sizeLimit": "4Gi", "volumeName": "dshm"}],
        "tolerations": [{"effect": "NoSchedule", "key": "nvidia.com/gpu", "operator": "Exists"}],
    }
    assert all("env" not in executor["container"] for executor in compiled["deploymentSpec"]["executors"].values())


def test_the_train_step_is_one_task_for_one_worker_and_a_launcher_for_more(compiled):
    branches = compiled["components"][f"comp-{TRAIN_STEP}"]["dag"]
    one, several = branches["tasks"][ONE_MACHINE], branches["tasks"][SEVERAL_MACHINES]
    workers = "int(inputs.parameter_values['pipelinechannel--train_workers'])"
    assert one["triggerPolicy"]["condition"] == f"{workers} == 1" and one["taskInfo"]["name"] == "one machine"
    assert several["triggerPolicy"]["condition"] == f"!({workers} == 1)" and several["taskInfo"]["name"] == "several machines"
    assert set(compiled["components"][f"comp-{ONE_MACHINE}"]["dag"]["tasks"]) == {"train"}
    assert set(compiled["components"][f"comp-{SEVERAL_MACHINES}"]["dag"]["tasks"]) == {"train-on-workers"}
    # The step's model is the one of the branch that ran (dsl.OneOf): evaluate and register take it.
    assert branches["outputs"]["artifacts"] == {f"pipelinechannel--{TRAIN_STEP}-oneof-1": {"artifactSelectors": [
        {"outputArtifactKey": "pipelinechannel--train-model", "producerSubtask": ONE_MACHINE},
        {"outputArtifactKey": "pipelinechannel--train-on-workers-model", "producerSubtask": SEVERAL_MACHINES}]}}
    # The launcher takes every input of the training task, and the worker count, the job API and its wait.
    train = _branch_task(compiled, ONE_MACHINE, "train")
    launcher = _branch_task(compiled, SEVERAL_MACHINES, "train-on-workers")
    assert launcher["inputs"]["artifacts"] == train["inputs"]["artifacts"]
    assert {name: launcher["inputs"]["parameters"].get(name) for name in train["inputs"]["parameters"]} == \
        train["inputs"]["parameters"]
    assert {name: launcher["inputs"]["parameters"][name] for name in ("workers", "job_api", "timeout_s", "shm_size")} == {
        "workers": {"componentInputParameter": "pipelinechannel--train_workers"},
        "job_api": {"runtimeValue": {"constant": "trainjob"}},
        "timeout_s": {"runtimeValue": {"constant": 9 * 86400 // 10}},  # nine tenths of the default deadline, 24 hours
        "shm_size": {"runtimeValue": {"constant": "4Gi"}},  # the training pod's /dev/shm, which the launcher gives each worker
    }
    assert launcher["cachingOptions"] == {"enableCache": True}  # as training's: the worker count is in its key
    assert launcher["taskInfo"]["name"] == "Train detector on several machines"


def test_the_launcher_passes_the_training_pods_gpu_request_and_placement_to_the_workers(compiled, kubernetes):
    component = compiled["components"]["comp-train-on-workers"]
    assert component["taskConfigPassthroughs"] == [
        {"field": "RESOURCES"}, {"field": "KUBERNETES_TOLERATIONS"}, {"field": "KUBERNETES_NODE_SELECTOR"},
        {"field": "KUBERNETES_AFFINITY"}, {"applyToTask": True, "field": "ENV"},
        {"applyToTask": True, "field": "KUBERNETES_VOLUMES"}]
    assert component["inputDefinitions"]["parameters"]["task_config"]["parameterType"] == "TASK_CONFIG"
    # What KFP's driver hands each worker, and not the launcher's own pod: the single training pod's requests.
    executors = compiled["deploymentSpec"]["executors"]
    assert executors["exec-train-on-workers"]["container"]["resources"] == executors["exec-train"]["container"]["resources"]
    # The GPU toleration passes through too. KFP passes no emptyDir through: the workers' /dev/shm is the launcher's to give.
    assert kubernetes["deploymentSpec"]["executors"]["exec-train-on-workers"] == {
        "tolerations": [{"effect": "NoSchedule", "key": "nvidia.com/gpu", "operator": "Exists"}]}


def test_the_whole_run_has_a_deadline(kubernetes):
    assert kubernetes["pipelineConfig"] == {"activeDeadlineSeconds": 86400}


def test_eda_follows_ingest_and_takes_the_baseline(compiled, body):
    task = body["eda"]
    assert task["dependentTasks"] == ["ingest"]
    dataset = task["inputs"]["artifacts"]["dataset"]["taskOutputArtifact"]
    assert dataset == {"outputArtifactKey": "dataset", "producerTask": "ingest"}
    assert task["inputs"]["parameters"]["baseline_uri"]["componentInputParameter"] == "pipelinechannel--eda_baseline"
    assert task["taskInfo"]["name"] == "EDA, class weights and data checks"
    assert task["cachingOptions"] == {"enableCache": True}  # keyed on the ingest artifact it reads
    outputs = compiled["components"]["comp-eda"]["outputDefinitions"]["artifacts"]
    assert {name: spec["artifactType"]["schemaTitle"] for name, spec in outputs.items()} == {
        "analysis": "system.Artifact", "report": "system.HTML", "summary": "system.Markdown", "metrics": "system.Metrics",
    }
    parameters = compiled["root"]["inputDefinitions"]["parameters"]
    assert parameters["eda_baseline"]["defaultValue"] == "" and parameters["class_weighting"]["defaultValue"] == "balanced"


def test_evaluation_follows_training_and_gates_registration(compiled, body):
    evaluate = body["evaluate"]
    assert sorted(evaluate["dependentTasks"]) == [TRAIN_STEP, "eda", "ingest"]
    model = evaluate["inputs"]["artifacts"]["model"]["taskOutputArtifact"]
    assert model == {"outputArtifactKey": f"pipelinechannel--{TRAIN_STEP}-oneof-1", "producerTask": TRAIN_STEP}
    assert evaluate["inputs"]["parameters"]["registry_uri"]["componentInputParameter"] == "pipelinechannel--registry_uri"
    assert evaluate["inputs"]["parameters"]["run_id"] == {"runtimeValue": {"constant": "{{$.pipeline_job_uuid}}"}}
    assert evaluate["cachingOptions"] == {} and evaluate["taskInfo"]["name"] == "Evaluate and bless"
    outputs = compiled["components"]["comp-evaluate"]["outputDefinitions"]
    assert {name: spec["artifactType"]["schemaTitle"] for name, spec in outputs["artifacts"].items()} == {
        "evaluation": "system.Artifact", "metrics": "system.Metrics", "fracture_call": "system.ClassificationMetrics",
        "report": "system.HTML", "operating_thresholds": "system.Artifact",
    }
    assert outputs["parameters"]["Output"]["parameterType"] == "BOOLEAN"

    condition = body[BLESSED]
    assert sorted(condition["dependentTasks"]) == [TRAIN_STEP, "eda", "evaluate"]
    assert condition["triggerPolicy"]["condition"] == "inputs.parameter_values['pipelinechannel--evaluate-Output'] == true"
    assert condition["taskInfo"]["name"] == "blessed"
    register = compiled["components"][f"comp-{BLESSED}"]["dag"]["tasks"]["register"]
    model = register["inputs"]["artifacts"]["model"]["componentInputArtifact"]
    assert condition["inputs"]["artifacts"][model]["taskOutputArtifact"] == evaluate["inputs"]["artifacts"]["model"][
        "taskOutputArtifact"]  # the model evaluate blessed
    assert register["taskInfo"]["name"] == "Register model" and register["cachingOptions"] == {}
    assert register["retryPolicy"] == RETRIES  # registering the same model again returns its version
    assert register["inputs"]["artifacts"]["evaluation"]["componentInputArtifact"] == "pipelinechannel--evaluate-evaluation"
    # The thresholds the version keeps are handed on by name, not found inside the evaluation's folder.
    thresholds = register["inputs"]["artifacts"]["operating_thresholds"]["componentInputArtifact"]
    assert thresholds == "pipelinechannel--evaluate-operating_thresholds"
    assert condition["inputs"]["artifacts"][thresholds]["taskOutputArtifact"] == {
        "outputArtifactKey": "operating_thresholds", "producerTask": "evaluate"}
    assert register["inputs"]["parameters"]["promote"]["componentInputParameter"] == "pipelinechannel--promote"
    registered = compiled["components"]["comp-register"]["outputDefinitions"]["artifacts"]["registered"]
    assert registered["artifactType"]["schemaTitle"] == "system.Model"


CLUSTER_OPTIONS = ["--image", "registry.example/fracdet:ci", "--gpu-node-selector", "cloud.google.com/gke-accelerator=nvidia-l4",
                   "--gpu-toleration", "dedicated=ml:NoExecute", "--gcs-secret", "gcs-key", "--deadline", "7200",
                   "--training-job-api", "tfjob", "--train-workers-timeout", "3600"]


@pytest.fixture(scope="module")
def cli_compiled(tmp_path_factory) -> Path:
    """The pipeline as `fracdet pipeline compile` writes it for a GKE cluster with a key secret."""
    path = tmp_path_factory.mktemp("cli") / "pipeline.yaml"
    result = subprocess.run([FRACDET, "pipeline", "compile", "--out", str(path), *CLUSTER_OPTIONS],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"pipeline: {path}\n"
    return path


@pytest.mark.slow
def test_compiling_again_in_another_process_gives_the_same_bytes(cli_compiled, tmp_path):
    options = ClusterConfig(gpu_node_selector=(("cloud.google.com/gke-accelerator", "nvidia-l4"),),
                             gpu_tolerations=(Toleration("nvidia.com/gpu"), Toleration("dedicated", "NoExecute", "ml")),
                             gcs_secret="gcs-key", deadline_seconds=7200, training_job_api="tfjob",
                             train_workers_timeout_seconds=3600)
    again = compile_pipeline(str(tmp_path / "again.yaml"), "registry.example/fracdet:ci", options)
    assert Path(again).read_bytes() == cli_compiled.read_bytes()  # another process: another hash seed, same file


def test_cluster_options_are_compiled_in_and_the_file_loads_back(cli_compiled):
    spec, platform = yaml.safe_load_all(cli_compiled.read_text())
    executors = spec["deploymentSpec"]["executors"]
    images = {name: executor["container"]["image"] for name, executor in executors.items()}
    assert images.pop("exec-train") == "registry.example/fracdet:ci-gpu"
    assert set(images.values()) == {"registry.example/fracdet:ci"}
    kubernetes = platform["platforms"]["kubernetes"]
    assert kubernetes["pipelineConfig"] == {"activeDeadlineSeconds": 7200}
    train = kubernetes["deploymentSpec"]["executors"]["exec-train"]
    assert train["nodeSelector"] == {"labels": {"cloud.google.com/gke-accelerator": "nvidia-l4"}}
    assert train["tolerations"] == [{"effect": "NoSchedule", "key": "nvidia.com/gpu", "operator": "Exists"},
                                    {"effect": "NoExecute", "key": "dedicated", "operator": "Equal", "value": "ml"}]
    assert train["emptyDirMounts"] == [{"medium": "Memory", "mountPath": "/dev/shm", "sizeLimit": "4Gi", "volumeName": "dshm"}]
    # The launcher of training workers passes the same placement on to them, and runs them in the GPU image.
    launcher = kubernetes["deploymentSpec"]["executors"]["exec-train-on-workers"]
    placement = ("nodeSelector", "tolerations")
    assert {key: launcher[key] for key in placement} == {key: train[key] for key in placement}
    assert "emptyDirMounts" not in launcher
    parameters = _branch_task(spec, SEVERAL_MACHINES, "train-on-workers")["inputs"]["parameters"]
    assert {name: parameters[name]["runtimeValue"]["constant"] for name in ("worker_image", "job_api", "timeout_s")} == {
        "worker_image": "registry.example/fracdet:ci-gpu", "job_api": "tfjob", "timeout_s": 3600}
    # Every task reads or writes gs://, so every task gets the key and the variable pointing at it.
    assert set(kubernetes["deploymentSpec"]["executors"]) == set(executors)
    for name, executor in executors.items():
        (mount,) = kubernetes["deploymentSpec"]["executors"][name]["secretAsVolume"]
        assert mount["secretName"] == "gcs-key" and mount["mountPath"] == "/var/secrets/google" and mount["optional"] is False
        credentials = {"name": "GOOGLE_APPLICATION_CREDENTIALS", "value": "/var/secrets/google/key.json"}
        assert executor["container"]["env"] == [credentials]
    loaded = components.load_component_from_file(str(cli_compiled))
    assert loaded.name == "fracdet"
    assert set(loaded.component_spec.inputs) == {
        "data_uri", "registry_uri", "model_name", "promote", "shards", "max_side", "eda_baseline", "class_weighting",
        "max_quarantine_share", "model_preset", "epochs", "image_size", "batch_size", "train_config_uri", "gpu_count", "gpu_type",
        "train_workers", "thresholds_uri", "target_sensitivity", "target_specificity", "target_in_scope_kept",
        "mlflow_tracking_uri", "kfp_dashboard_url",
    }


def test_ingest_fans_out_into_parallel_parts_when_compiled_so(tmp_path):
    path = tmp_path / "fanned.yaml"
    assert main(["pipeline", "compile", "--out", str(path), "--ingest-parts", "4"]) == 0
    spec = yaml.safe_load_all(path.read_text()).__next__()
    body = spec["components"]["comp-exit-handler-1"]["dag"]["tasks"]
    assert "ingest" not in body and body["ingest-fanout"]["dependentTasks"] == ["fingerprint"]
    assert body["ingest-fanout"]["inputs"]["parameters"]["workers"]["runtimeValue"]["constant"] == 4
    fanned_out = {"outputArtifactKey": "Output", "producerTask": "ingest-fanout"}
    for consumer in ("eda", "evaluate"):
        assert body[consumer]["inputs"]["artifacts"]["dataset"]["taskOutputArtifact"] == fanned_out
    assert body[TRAIN_STEP]["inputs"]["artifacts"]["pipelinechannel--ingest-fanout-Output"]["taskOutputArtifact"] == fanned_out
    fanout = spec["components"]["comp-ingest-fanout"]["dag"]["tasks"]
    assert set(fanout) == {"ingest-plan", "for-loop-1", "ingest-merge"}
    assert fanout["for-loop-1"]["iteratorPolicy"] == {"parallelismLimit": 4}
    assert fanout["ingest-merge"]["dependentTasks"] == ["for-loop-1", "ingest-plan"]


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--image", "registry.example/fracdet@sha256:abc"], "must be REPOSITORY:TAG (no digest)"),
        (["--gpu-toleration", "nvidia.com/gpu:Sometimes"], "toleration effect must be one of"),
        (["--gpu-node-selector", "pool"], "--gpu-node-selector takes KEY=VALUE, got 'pool'"),
        (["--gcs-secret", "GCS_Key"], "is not a Kubernetes secret name"),
        (["--training-job-api", "mpijob"], "the training job API must be trainjob or tfjob, got 'mpijob'"),
        (["--train-workers-timeout", "86400"],
         "the training workers' timeout (86400 s) must be shorter than the run's deadline (86400 s), so that the train step"),
    ],
)
def test_bad_cluster_options_are_one_line(capsys, tmp_path, option, message):
    assert main(["pipeline", "compile", "--out", str(tmp_path / "p.yaml"), *option]) == 2
    error = capsys.readouterr().err
    assert error.startswith("fracdet pipeline: error:") and message in error and len(error.strip().splitlines()) == 1
    assert not (tmp_path / "p.yaml").exists()


@pytest.mark.parametrize(
    ("workers", "message"),
    [(2, "train_workers=2: a local run trains in one task, since kfp.local has no cluster to start a job of 2 workers on"),
     (0, "train_workers=0: expected 1 or more (1 trains in one task, more on that many machines)")],
)
def test_a_local_run_refuses_other_than_one_training_worker_before_anything_runs(capsys, tmp_path, workers, message):
    root = tmp_path / "runs"
    assert main(["pipeline", "run", "--root", str(root), "--data_uri", str(tmp_path / "data"), "--registry_uri",
                 str(tmp_path / "registry"), "--train_workers", str(workers)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("fracdet pipeline: error: ") and message in error and len(error.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []  # no run folder, no registry: nothing ran


def test_the_wait_for_training_workers_ends_before_the_deadline():
    assert ClusterConfig().workers_timeout_seconds() == 77760  # nine tenths of 24 hours
    assert ClusterConfig(deadline_seconds=7200, train_workers_timeout_seconds=3600).workers_timeout_seconds() == 3600
    assert ClusterConfig(deadline_seconds=0).workers_timeout_seconds() == 24 * 3600  # a run without a deadline: a day
    assert ClusterConfig(deadline_seconds=0, train_workers_timeout_seconds=200000).workers_timeout_seconds() == 200000
    with pytest.raises(ConfigError, match=r"timeout must be 0 \(from the deadline\) or more seconds, got -1"):
        ClusterConfig(train_workers_timeout_seconds=-1)


TINY_MODEL = ("model: {stem_width: 8, stage_widths: [8, 8, 16, 16, 16], stage_depths: [1, 1, 1, 1, 1], fpn_width: 8, "
              "head_depth: 1}\n")
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
    return subprocess.run([FRACDET, "pipeline", "run", "--root", str(root), "--data_uri", str(base / "data"),
                           "--registry_uri", str(root / "registry"), "--shards", "2", "--epochs", "1", "--image_size", "64",
                           "--batch_size", "8", "--train_config_uri", str(base / "tiny.yaml"),
                           "--thresholds_uri", str(base / gates), "--promote"],
                          capture_output=True, text=True, timeout=600)


def _printed(result: subprocess.CompletedProcess) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in result.stdout.splitlines() if ": " in line)


def _recorded_outcome(registry: Path, run_folder: Path) -> dict:
    """The exit handler's record, as its artifact and as the file CI reads under the registry; they must agree."""
    artifact = json.loads((run_folder / "record-outcome" / "outcome").read_text())
    written = json.loads((registry / "fracdet" / "runs" / artifact["run_id"] / "outcome.json").read_text())
    assert written == artifact
    return written


@pytest.mark.slow
def test_the_whole_dag_runs_locally_and_registers_a_blessed_model(tiny_run, tmp_path):
    root = tmp_path / "runs"
    result = _run_dag(tiny_run, root, "open.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    printed = _printed(result)
    run_folder = Path(printed["all task outputs"])
    assert run_folder.parent == root and run_folder.name.startswith("fracdet-")
    dataset, report = Path(printed["ingested dataset"]), Path(printed["EDA report"])
    assert dataset == run_folder / "ingest" / "dataset" and report == run_folder / "eda" / "analysis" / "report.html"
    saved_model = Path(printed["trained model"])
    assert (saved_model / "saved_model.pb").exists() and saved_model.is_relative_to(root)
    train_output = json.loads((saved_model.parent.parent / "executor_output.json").read_text())
    model_metadata = train_output["artifacts"]["model"]["artifacts"][0]["metadata"]
    assert model_metadata["display_name"] == "Trained detector (SavedModel)" and model_metadata["epochs_run"] == 1
    assert model_metadata["accelerator"] == "CPU"
    assert "training: 1 epochs in" in result.stdout

    # The fingerprint task listed the data as the library does, and ingest took it into its cache key.
    fingerprint = json.loads((run_folder / "fingerprint" / "executor_output.json").read_text())["parameterValues"]["Output"]
    assert fingerprint == data_fingerprint(str(tiny_run / "data"))
    manifest = json.loads((dataset / "manifest.json").read_text())
    assert manifest["totals"] == {"found": 72, "ingested": 72, "quarantined": 0, "warnings": 0}
    assert "ingested 72 of 72 files (0 quarantined)" in result.stdout
    assert sorted(p.name for p in dataset.glob("*.tfrecord")) == [
        "train-00000-of-00002.tfrecord", "train-00001-of-00002.tfrecord",
        "val-00000-of-00002.tfrecord", "val-00001-of-00002.tfrecord",
    ]
    ingest_output = json.loads((dataset.parent / "executor_output.json").read_text())
    metadata = ingest_output["artifacts"]["dataset"]["artifacts"][0]["metadata"]
    assert metadata["display_name"] == "Ingested dataset (TFRecord shards)"
    assert metadata["ingested"] == 72 and metadata["train_images"] == 60

    assert report.read_text().startswith("<!DOCTYPE html>")
    eda_output = json.loads((run_folder / "eda" / "executor_output.json").read_text())
    names = {key: value["artifacts"][0]["metadata"].get("display_name") for key, value in eda_output["artifacts"].items()}
    assert names == {"analysis": "EDA statistics and class weights", "report": "EDA report", "summary": "EDA summary",
                     "metrics": "Data figures"}
    weights = json.loads((report.parent / "class_weights.json").read_text())
    assert len(weights) == 10 and all(0 < weight <= 10 for weight in weights.values())
    assert "class weights: ELBOW_positive " in result.stdout
    assert eda_output["artifacts"]["metrics"]["artifacts"][0]["metadata"]["train_images"] == 60

    evaluation = Path(printed["evaluation report"]).parent
    assert evaluation == run_folder / "evaluate" / "evaluation" and (evaluation / "report.html").exists()
    assert json.loads((evaluation / "blessing.json").read_text())["blessed"] is True
    assert "mAP@0.5" in result.stdout and "blessed: yes" in result.stdout
    assert all(f"\n{part} " in result.stdout for part in ("ELBOW", "FINGER", "FOREARM", "HAND", "SHOULDER", "overall"))
    evaluate_output = json.loads((evaluation.parent / "executor_output.json").read_text())
    assert evaluate_output["parameterValues"]["Output"] is True
    assert evaluate_output["artifacts"]["metrics"]["artifacts"][0]["metadata"]["blessed"] == 1.0
    # What ran: the register task, and the registry now holds this run's model as the champion.
    assert (run_folder / "register" / "executor_output.json").exists()
    registry = root / "registry"
    version = registry / "fracdet" / "versions" / "1"
    assert printed["registered version"] == f"1 ({version})"
    metadata = json.loads((version / "metadata.json").read_text())
    assert metadata["source_model_uri"] == str(saved_model) and metadata["run"]["task"] == "register"
    assert json.loads((registry / "fracdet" / "aliases" / "champion").read_text())["version"] == 1
    registered = json.loads((run_folder / "register" / "executor_output.json").read_text())["artifacts"]["registered"]
    assert registered["artifacts"][0]["uri"] == str(version)
    # The operating thresholds evaluate chose, handed to register as an artifact, kept by the version byte for byte.
    chosen = (run_folder / "evaluate" / "operating_thresholds").read_bytes()
    assert chosen == (evaluation / "operating_thresholds.json").read_bytes()
    assert chosen == (version / "operating_thresholds.json").read_bytes()
    assert registered["artifacts"][0]["metadata"]["operating_thresholds"] == str(version / "operating_thresholds.json")
    assert metadata["operating_thresholds"]["sha256"] == hashlib.sha256(chosen).hexdigest()
    thresholds_artifact = evaluate_output["artifacts"]["operating_thresholds"]["artifacts"][0]["metadata"]
    assert thresholds_artifact["display_name"] == "Operating thresholds (operating_thresholds.json)"
    assert thresholds_artifact["target_sensitivity"] == 0.9 and thresholds_artifact["method"] == "split_conformal"
    assert thresholds_artifact["target_specificity"] == 0.95

    # The exit handler ran last and recorded the outcome CI reads, scoped by the same run ID the register task saw.
    outcome = _recorded_outcome(registry, run_folder)
    assert outcome["outcome"] == "blessed" and outcome["pipeline_state"] == "SUCCEEDED"
    assert outcome["run_id"] == metadata["run"]["run_id"]
    assert json.loads((registry / "fracdet" / "runs" / outcome["run_id"] / "blessing.json").read_text())["blessed"] is True
    assert printed["run outcome"] == f"blessed (run {outcome['run_id']})"
    _assert_one_line_per_task_then_the_summary(result.stdout, json.loads((evaluation / "blessing.json").read_text()))


def _assert_one_line_per_task_then_the_summary(printed: str, blessing: dict) -> None:
    """What `fracdet pipeline run` prints by default: a line per task as it finished, the summary, none of kfp.local's log."""
    lines = printed.splitlines()
    tasks = ["fingerprint", "ingest", "eda", "train", "evaluate", "register", "record-outcome"]
    assert [line.split()[:2] for line in lines[:len(tasks)]] == [[task, "succeeded"] for task in tasks]
    assert lines[1].endswith("found 72, ingested 72, quarantined 0") and " s  1 epochs, best val loss " in lines[3]
    assert lines[4].endswith("blessed yes") and lines[5].endswith("version 1 (champion)") and lines[6].endswith("outcome blessed")
    assert lines[len(tasks)] == "ingested 72 of 72 files (0 quarantined)" and lines[-1].startswith("all task outputs: ")
    # The summary: counts, weights, training; the metrics table (mAP, the split's two halves, the two operating
    # points, then the test half's and the calibration half's tables: a title, a two-line header and 6 groups each;
    # one line saying that no in-scope threshold was chosen, the tiny data having no out-of-scope image); the blessing
    # and its reasons; the version, the outcome, 2 reports and 3 folders.
    metrics_table = 3 + 2 * (1 + 2 + 6) + 1
    assert len(lines) == len(tasks) + 3 + metrics_table + 1 + len(blessing["reasons"]) + 2 + 2 + 3


@pytest.mark.slow
def test_an_unblessed_model_is_not_registered(tiny_run, tmp_path):
    root = tmp_path / "runs"
    result = _run_dag(tiny_run, root, "closed.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "blessed: NO" in result.stdout and "FAIL map50" in result.stdout
    printed = _printed(result)
    assert printed["registered version"] == "none (not blessed)"
    run_folder = Path(printed["all task outputs"])
    assert (run_folder / "evaluate").is_dir() and not (run_folder / "register").exists()  # the branch did not run
    assert not (root / "registry" / "fracdet" / "versions").exists()
    outcome = _recorded_outcome(root / "registry", run_folder)
    assert outcome["outcome"] == "not_blessed" and outcome["pipeline_state"] == "SUCCEEDED"
    assert printed["run outcome"] == f"not_blessed (run {outcome['run_id']})"


@pytest.mark.slow
def test_a_failed_local_run_is_one_clear_line_and_recorded_as_failed(tmp_path):
    result = subprocess.run([FRACDET, "pipeline", "run", "--data_uri", str(tmp_path / "missing"),
                             "--registry_uri", str(tmp_path / "runs" / "registry"), "--root", str(tmp_path / "runs")],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("fracdet pipeline: error: Pipeline 'fracdet' finished with status FAILURE")
    assert "no data.yaml here" in result.stdout + result.stderr  # the task's own log names the problem
    (run_folder,) = (tmp_path / "runs").glob("fracdet-*")
    assert not (run_folder / "ingest").exists()  # the fingerprint task stopped the run before ingest
    outcome = _recorded_outcome(tmp_path / "runs" / "registry", run_folder)
    assert outcome["outcome"] == "failed" and outcome["pipeline_state"] == "FAILED"
