"""The multi-worker training launcher against a local Kubernetes API stand-in (tests/kube_api_standin.py), which is
not a cluster: it validates what the launcher sends against the pinned CRDs and plays the engines' status changes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from crd_schemas import crd_errors
from kfp.dsl import Artifact, Dataset, Model, TaskConfig
from kfp.dsl.executor import Executor
from kube_api_standin import FAILING_WORKER, FAILURE_LINE, UNSCHEDULABLE, KubeApiStandIn
from kubernetes import client

from fracdet_components.artifacts import describe_trained_model
from fracdet_components.job_runner import (
    WorkerFailedError,
    WorkerJobError,
    WorkerJobTimeoutError,
    cluster_api_client,
    run_worker_job,
)
from fracdet_components.train_workers import train_on_workers
from fracdet_components.worker_jobs import MAX_NAME_LENGTH, WorkerJob, check_job_name, job_name, job_object
from fracdet_core import storage
from fracdet_core.errors import ConfigError

APIS = ("trainjob", "tfjob")
NAMESPACE = "team-a"
FRACDET = str(Path(sys.executable).with_name("fracdet"))
# What the launcher may call, per engine: the RBAC rules the docs list for its service account.
RBAC = {
    api: {("create", group, plural), ("get", group, plural), ("delete", group, plural), ("list", "", "pods"),
          ("get", "", "pods/log")}
    for api, group, plural in (("trainjob", "trainer.kubeflow.org", "trainjobs"), ("tfjob", "kubeflow.org", "tfjobs"))
}


@pytest.fixture
def kubeconfig(tmp_path, monkeypatch):
    """Point the Kubernetes client at a stand-in, outside any pod; returns a function of the stand-in."""
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)

    def point_at(standin: KubeApiStandIn) -> None:
        monkeypatch.setenv("KUBECONFIG", str(standin.write_kubeconfig(tmp_path / f"kubeconfig-{id(standin)}")))

    return point_at


def _job(api: str, **settings: object) -> WorkerJob:
    defaults = {"name": "fracdet-train-test", "namespace": NAMESPACE, "workers": 3, "image": "registry/fracdet:1-gpu",
                "train_args": ("--data", "gs://b/ingest", "--out", "gs://b/model")}
    return WorkerJob(api=api, **(defaults | settings))


def _launch(standin: KubeApiStandIn, job: WorkerJob, *, timeout_s: float = 30.0) -> list[str]:
    lines: list[str] = []
    api_client, _ = cluster_api_client()
    run_worker_job(job, api_client, timeout_s=timeout_s, poll_s=0.02, log=lines.append)
    return lines


def _assert_nothing_left(standin: KubeApiStandIn) -> None:
    assert standin.jobs == {} and standin.live_pods() == []


# The objects


@pytest.mark.parametrize("api", APIS)
def test_each_job_object_with_every_pod_setting_validates_against_its_pinned_crd(api):
    job = _job(api, resources={"limits": {"nvidia.com/gpu": "1"}, "requests": {"cpu": "4", "memory": "16Gi"}},
               env=({"name": "GOOGLE_APPLICATION_CREDENTIALS", "value": "/var/secrets/google/key.json"},),
               node_selector={"cloud.google.com/gke-accelerator": "nvidia-l4"},
               tolerations=({"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},),
               affinity={"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                   {"matchExpressions": [{"key": "pool", "operator": "In", "values": ["gpu"]}]}]}}},
               volumes=({"name": "key", "secret": {"secretName": "gcs-key"}},),
               volume_mounts=({"name": "key", "mountPath": "/var/secrets/google"},))
    assert crd_errors(job_object(job)) == []


@pytest.mark.parametrize("api", APIS)
def test_the_standin_refuses_an_object_its_crd_does_not_allow_and_the_launcher_says_why(api, kubeconfig):
    job = _job(api, volumes=({"name": "data", "emptyDir": {}},),
               volume_mounts=({"name": "data", "mountPath": "/data", "readonly": True},))  # the field is readOnly
    with KubeApiStandIn(namespace=NAMESPACE) as standin:
        kubeconfig(standin)
        with pytest.raises(WorkerJobError, match=r"422 Unprocessable Entity: .*volumeMounts.*'readonly' was unexpected"):
            _launch(standin, job)
        assert standin.created == []
        _assert_nothing_left(standin)


def test_trainer_refuses_env_in_the_node_containers_override_and_so_does_the_standin(kubeconfig):
    body = job_object(_job("trainjob"))
    body["spec"]["podTemplateOverrides"][0]["spec"]["containers"][0]["env"] = [{"name": "A", "value": "1"}]
    with KubeApiStandIn(namespace=NAMESPACE) as standin:
        kubeconfig(standin)
        api_client, _ = cluster_api_client()
        with pytest.raises(client.ApiException) as refusal:
            client.CustomObjectsApi(api_client).create_namespaced_custom_object(
                "trainer.kubeflow.org", "v1alpha1", NAMESPACE, "trainjobs", body)
        assert refusal.value.status == 403 and "denied the request: spec.podTemplateOverrides: must not have envs for" \
            in refusal.value.body


def test_a_trainjob_without_fracdets_runtime_in_its_namespace_is_refused_clearly(kubeconfig):
    with KubeApiStandIn(namespace=NAMESPACE, runtimes=()) as standin:
        kubeconfig(standin)
        with pytest.raises(WorkerJobError) as refusal:
            _launch(standin, _job("trainjob"))
        assert str(refusal.value).startswith(
            "the cluster refused to create TrainJob fracdet-train-test in namespace team-a: admission webhook "
            '"validator.trainjob.trainer.kubeflow.org" denied the request: spec.runtimeRef: specified trainingRuntime must '
            "be created before the TrainJob is created")
        _assert_nothing_left(standin)


@pytest.mark.parametrize(("change", "message"), [
    ({"workers": 1}, "2 or more workers, got 1"),
    ({"api": "pytorchjob"}, "one of trainjob, tfjob"),
    ({"name": "Fracdet_train"}, "must be at most 40"),
    ({"name": "a" * (MAX_NAME_LENGTH + 1)}, "must be at most 40"),
    ({"env": ({"name": "FRACDET_WORKERS", "value": "9"},)}, "the launcher's to set"),
    ({"volumes": ({"name": "a", "emptyDir": {}}, {"name": "a", "emptyDir": {}})}, "must be unique"),
    ({"volume_mounts": ({"name": "nowhere", "mountPath": "/x"},)}, "volumes the job does not have: nowhere"),
])
def test_a_bad_job_setting_is_refused_naming_it(change, message):
    settings = {"api": "trainjob", "name": "fracdet-train-test", "namespace": NAMESPACE, "workers": 3, "image": "i",
                "train_args": ()} | change
    with pytest.raises(ConfigError, match=message):
        WorkerJob(**settings)


def test_job_names_are_stable_per_task_distinct_across_tasks_and_leave_room_for_the_pod_names():
    first = job_name("gs://root/run-1/train-on-workers/model")
    assert first == job_name("gs://root/run-1/train-on-workers/model") != job_name("gs://root/run-2/train-on-workers/model")
    check_job_name(first)
    longest = "a" * MAX_NAME_LENGTH
    check_job_name(longest)
    assert len(f"{longest}-node-0-9999-abcde") <= 63  # JobSet's pod name for the 10,000th worker, a DNS label


@pytest.mark.parametrize("api", APIS)
def test_a_task_that_mounts_its_own_dev_shm_keeps_it(api):
    job = _job(api, volumes=({"name": "shm", "emptyDir": {"medium": "Memory"}},),
               volume_mounts=({"name": "shm", "mountPath": "/dev/shm"},))
    spec = job_object(job)["spec"]
    if api == "trainjob":
        pod_specs = [spec["podTemplateOverrides"][0]["spec"]]
    else:
        pod_specs = [replica["template"]["spec"] for replica in spec["tfReplicaSpecs"].values()]
    for pod_spec in pod_specs:
        assert pod_spec["volumes"] == [{"name": "shm", "emptyDir": {"medium": "Memory"}}]
        assert pod_spec["containers"][0]["volumeMounts"] == [{"name": "shm", "mountPath": "/dev/shm"}]


# The scenarios, for both engines


@pytest.mark.parametrize("api", APIS)
def test_a_successful_job_streams_each_workers_lines_once_and_is_deleted(api, kubeconfig):
    with KubeApiStandIn("success", namespace=NAMESPACE) as standin:
        kubeconfig(standin)
        lines = _launch(standin, _job(api))
        pods = sorted(pod["metadata"]["name"] for pod in standin.pods_made)
        assert len(pods) == 3 and standin.created == [job_object(_job(api))]
        for index, pod in enumerate(sorted(pods, key=_worker_order)):
            own = [line for line in lines if line.startswith(f"[{pod}] ")]
            assert own == [f"[{pod}] worker {index}: epoch 1 done", f"[{pod}] worker {index}: epoch 2 done",
                           f"[{pod}] {pod}: training done"]
        assert lines[-1] == f"deleted {job_object(_job(api))['kind']} fracdet-train-test"
        assert standin.create_queries == [{"fieldValidation": ["Strict"]}]
        _assert_nothing_left(standin)


def _worker_order(pod: str) -> tuple[int, str]:
    """Worker 0 first: the TFJob's chief, then its workers; a TrainJob's pods by completion index."""
    return (0 if "-chief-" in pod else 1), pod


@pytest.mark.parametrize("api", APIS)
def test_a_failed_worker_fails_the_task_with_its_own_last_lines_and_no_job_is_left(api, kubeconfig):
    with KubeApiStandIn("failed-worker", namespace=NAMESPACE) as standin:
        kubeconfig(standin)
        with pytest.raises(WorkerFailedError) as failure:
            _launch(standin, _job(api))
        failing = sorted((pod["metadata"]["name"] for pod in standin.pods_made), key=_worker_order)[FAILING_WORKER]
        assert failure.value.worker == failing
        assert failure.value.last_lines[-2:] == ["Traceback (most recent call last):", FAILURE_LINE]
        reason = ("ReachedMaxRestarts: jobset failed due to reaching max number of restarts" if api == "trainjob" else
                  "TFJobFailed: Job fracdet-train-test has failed because it has reached the specified backoff limit")
        assert f"in namespace {NAMESPACE} failed ({reason}); the first worker to fail was pod {failing} (exit code 1)" \
            in str(failure.value)
        assert f"  {FAILURE_LINE}\nThe job is deleted." in str(failure.value)
        _assert_nothing_left(standin)


@pytest.mark.parametrize("api", APIS)
def test_a_job_that_never_finishes_is_bounded_by_the_timeout_which_names_what_still_ran(api, kubeconfig):
    with KubeApiStandIn("never-finishes", namespace=NAMESPACE) as standin:
        kubeconfig(standin)
        started = time.monotonic()
        with pytest.raises(WorkerJobTimeoutError) as timeout:
            _launch(standin, _job(api), timeout_s=0.5)
        assert time.monotonic() - started < 5
        running = ", ".join(f"pod {name} (Running)" for name in sorted(pod["metadata"]["name"] for pod in standin.pods_made))
        assert str(timeout.value) == (f"{job_object(_job(api))['kind']} fracdet-train-test in namespace {NAMESPACE} did not "
                                      f"finish within 0.5 s; still running: {running}; the job is deleted")
        _assert_nothing_left(standin)


def test_a_timeout_says_why_the_scheduler_left_the_workers_pending(kubeconfig):
    with KubeApiStandIn("unschedulable", namespace=NAMESPACE) as standin:
        kubeconfig(standin)
        with pytest.raises(WorkerJobTimeoutError) as timeout:
            _launch(standin, _job("trainjob", workers=2), timeout_s=0.3)
        names = sorted(pod["metadata"]["name"] for pod in standin.pods_made)
        pending = ", ".join(f"pod {name} (Pending: {UNSCHEDULABLE})" for name in names)
        assert f"still running: {pending}; the job is deleted" in str(timeout.value)
        _assert_nothing_left(standin)


def test_a_timeout_before_any_pod_names_the_jobs_conditions(kubeconfig):
    with KubeApiStandIn("suspended", namespace=NAMESPACE) as standin:
        kubeconfig(standin)
        with pytest.raises(WorkerJobTimeoutError, match=r"still running: no worker pod; the job's conditions: Suspended=True "
                                                        r"Suspended; the job is deleted"):
            _launch(standin, _job("trainjob"), timeout_s=0.1)
        _assert_nothing_left(standin)


@pytest.mark.parametrize("api", APIS)
def test_a_job_deleted_by_someone_else_fails_the_task_clearly(api, kubeconfig):
    with KubeApiStandIn("deleted", namespace=NAMESPACE) as standin:
        kubeconfig(standin)
        with pytest.raises(WorkerJobError, match="was deleted while it ran, by someone other than this launcher"):
            _launch(standin, _job(api))
        _assert_nothing_left(standin)


@pytest.mark.parametrize("api", APIS)
def test_a_retried_launcher_adopts_the_job_its_first_try_started(api, kubeconfig):
    job = _job(api)
    with KubeApiStandIn("success", namespace=NAMESPACE) as standin:
        kubeconfig(standin)
        api_client, _ = cluster_api_client()
        resource = job.resource
        client.CustomObjectsApi(api_client).create_namespaced_custom_object(  # the first try, killed after this
            resource.group, resource.version, NAMESPACE, resource.plural, job_object(job))
        lines = _launch(standin, job)
        assert len(standin.created) == 1
        assert standin.requests.count(("create", resource.group, resource.plural)) == 2
        assert lines[0] == (f"adopted {resource.kind} fracdet-train-test in namespace {NAMESPACE}, which an earlier try of this "
                            "task started")
        _assert_nothing_left(standin)


def test_a_different_job_of_the_same_name_is_neither_adopted_nor_deleted(kubeconfig):
    ours, theirs = _job("trainjob"), _job("trainjob", train_args=("--data", "gs://other/ingest", "--out", "gs://other/m"))
    with KubeApiStandIn("success", namespace=NAMESPACE) as standin:
        kubeconfig(standin)
        api_client, _ = cluster_api_client()
        client.CustomObjectsApi(api_client).create_namespaced_custom_object(
            "trainer.kubeflow.org", "v1alpha1", NAMESPACE, "trainjobs", job_object(theirs))
        with pytest.raises(WorkerJobError, match="already exists in namespace team-a and is not the job this launcher"):
            _launch(standin, ours)
        assert list(standin.jobs) == [("trainjobs", NAMESPACE, "fracdet-train-test")]
        assert ("delete", "trainer.kubeflow.org", "trainjobs") not in standin.requests


@pytest.mark.parametrize("api", APIS)
def test_the_launcher_calls_exactly_the_api_the_rbac_grants(api, kubeconfig):
    called: set[tuple[str, str, str]] = set()
    for scenario, expected in (("success", None), ("failed-worker", WorkerFailedError), ("never-finishes", WorkerJobTimeoutError),
                               ("deleted", WorkerJobError)):
        with KubeApiStandIn(scenario, namespace=NAMESPACE) as standin:
            kubeconfig(standin)
            if expected is None:
                _launch(standin, _job(api))
            else:
                with pytest.raises(expected):
                    _launch(standin, _job(api), timeout_s=0.3)
            called |= set(standin.requests)
    print(f"\nRBAC for {api}: " + "; ".join(f"{verb} {group or 'core'}/{resource}" for verb, group, resource in sorted(called)))
    assert called == RBAC[api]


def test_a_missing_rbac_rule_fails_the_task_naming_it_and_the_job_is_deleted(kubeconfig):
    with KubeApiStandIn("success", namespace=NAMESPACE, forbidden=frozenset({("list", "", "pods")})) as standin:
        kubeconfig(standin)
        with pytest.raises(WorkerJobError, match=r"not allowed to list the pods of TrainJob fracdet-train-test in namespace "
                                                 r"team-a: pods is forbidden: .* cannot list resource \"pods\""):
            _launch(standin, _job("trainjob"))
        assert ("delete", "trainer.kubeflow.org", "trainjobs") in standin.requests
        _assert_nothing_left(standin)


def test_outside_a_cluster_and_without_a_kubeconfig_the_launch_fails_clearly(tmp_path, monkeypatch):
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-kubeconfig"))
    with pytest.raises(ConfigError, match=r"neither in a Kubernetes pod nor has a kubeconfig .*train with 1 worker"):
        cluster_api_client()


def test_a_cancelled_launcher_deletes_its_job_on_sigterm(kubeconfig, tmp_path):
    with KubeApiStandIn("never-finishes", namespace=NAMESPACE) as standin:
        kubeconfig(standin)
        command = [FRACDET, "train-job", "--workers", "2", "--image", "registry/fracdet:1-gpu", "--name", "fracdet-train-cancel",
                   "--poll", "0.05", "--", "--data", "gs://b/ingest", "--out", "gs://b/model"]
        launcher = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy())
        try:
            deadline = time.monotonic() + 60
            while not standin.live_pods() and time.monotonic() < deadline and launcher.poll() is None:
                time.sleep(0.05)
            assert standin.live_pods(), launcher.stderr.read() if launcher.poll() is not None else "no pods in 60 s"
            launcher.send_signal(signal.SIGTERM)
            out, _ = launcher.communicate(timeout=60)
        finally:
            launcher.kill()
        assert launcher.returncode == 128 + signal.SIGTERM
        assert "deleted TrainJob fracdet-train-cancel" in out
        _assert_nothing_left(standin)


# The KFP component and the command


@pytest.mark.parametrize("api", APIS)
def test_the_component_gives_every_worker_the_task_config_and_describes_the_chiefs_model(api, kubeconfig, gcs_bucket, tmp_path,
                                                                                         monkeypatch):
    root = f"gs://{gcs_bucket}/run-1"
    task_config = {
        "resources": {"limits": {"nvidia.com/gpu": "1", "memory": "32Gi"}, "requests": {"cpu": "8", "memory": "32Gi"}},
        "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
        "nodeSelector": {"cloud.google.com/gke-accelerator": "nvidia-l4"},
        "affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 1, "preference": {"matchExpressions": [{"key": "spot", "operator": "In", "values": ["false"]}]}}]}},
        "env": [{"name": "GOOGLE_APPLICATION_CREDENTIALS", "value": "/var/secrets/google/key.json"}],
        "volumes": [{"name": "gcs-key", "secret": {"secretName": "gcs-key", "optional": False}}],
        "volumeMounts": [{"name": "gcs-key", "mountPath": "/var/secrets/google"}],
    }
    with KubeApiStandIn("success", namespace=NAMESPACE, on_success=_chief_writes_the_model(f"{root}/model")) as standin:
        kubeconfig(standin)
        monkeypatch.setattr("fracdet_components.worker_training.POLL_S", 0.02)
        output = _execute_component(tmp_path, root, api, task_config)
        assert len(standin.pods_made) == 3
        for pod in standin.pods_made:
            _assert_worker_has_the_task_config(pod, task_config, root)
        _assert_nothing_left(standin)
    assert output["artifacts"]["model"]["artifacts"][0]["metadata"] == {
        "display_name": "Trained detector (SavedModel)", "epochs_run": 3, "best_val_loss": 1.25,
        "train_images_per_second": 40.5, "image_size": 320, "saved_model": f"{root}/model/saved_model",
        "accelerator": "3 workers, each 1 x nvidia.com/gpu", "workers": 3,
    }


def _chief_writes_the_model(model_uri: str):
    """What the chief writes last, as fracdet_core.train.run writes it, played when the job completes."""
    def write(job: dict) -> None:
        storage.write_text(f"{model_uri}/train_summary.json", json.dumps(
            {"epochs_run": 3, "best_val_loss": 1.25, "train_images_per_second": 40.5, "workers": 3}))
        storage.write_text(f"{model_uri}/model_config.json", json.dumps({"model": {"image_size": 320}, "train": {}}))
    return write


def _execute_component(tmp_path: Path, root: str, api: str, task_config: dict) -> dict:
    """Run the component as KFP's executor does in the task's pod, from an executor input; returns its output."""
    def artifact(name: str, schema: str) -> dict:
        return {"artifacts": [{"name": name, "type": {"schemaTitle": schema}, "uri": f"{root}/{name}", "metadata": {}}]}

    executor_input = {
        "inputs": {
            "artifacts": {"dataset": artifact("dataset", "system.Dataset"), "analysis": artifact("analysis", "system.Artifact")},
            "parameterValues": {"workers": 3, "job_api": api, "worker_image": "registry/fracdet:1-gpu", "timeout_s": 30,
                                "epochs": 3, "batch_size": 32, "gpu_count": 1, "gpu_type": "nvidia.com/gpu",
                                "shm_size": "8Gi", "task_config": task_config},
        },
        "outputs": {"artifacts": {"model": artifact("model", "system.Model")},
                    "outputFile": str(tmp_path / "executor" / "executor_output.json")},
    }
    (tmp_path / "executor").mkdir()
    Executor(executor_input, train_on_workers).execute()
    return json.loads((tmp_path / "executor" / "executor_output.json").read_text())


def _assert_worker_has_the_task_config(pod: dict, task_config: dict, root: str) -> None:
    spec = pod["spec"]
    [container] = spec["containers"]
    assert container["resources"] == task_config["resources"]
    assert spec["tolerations"] == task_config["tolerations"] and spec["nodeSelector"] == task_config["nodeSelector"]
    assert spec["affinity"] == task_config["affinity"]
    assert {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": "8Gi"}} in spec["volumes"]  # the task's shm_size
    assert task_config["volumes"][0] in spec["volumes"]
    assert container["volumeMounts"] == [*task_config["volumeMounts"], {"name": "dshm", "mountPath": "/dev/shm"}]
    env = {variable["name"]: variable.get("value") for variable in container["env"]}
    assert env["GOOGLE_APPLICATION_CREDENTIALS"] == "/var/secrets/google/key.json" and env["FRACDET_WORKERS"] == "3"
    assert container["command"] == ["fracdet", "train-worker"] and container["image"] == "registry/fracdet:1-gpu"
    assert container["args"] == ["--data", f"{root}/dataset", "--class-weights", f"{root}/analysis/class_weights.json",
                                 "--out", f"{root}/model", "--preset", "n", "--epochs", "3", "--batch-size", "32"]
    assert pod["metadata"]["annotations"]["sidecar.istio.io/inject"] == "false"
    assert ("TF_CONFIG" in env) == (container["name"] == "tensorflow")


def test_the_task_keeps_its_env_and_volumes_and_leaves_gpus_and_placement_to_the_workers():
    from kfp.dsl import TaskConfigField

    passthroughs = train_on_workers.component_spec.task_config_passthroughs
    applied = {passthrough.field: passthrough.apply_to_task for passthrough in passthroughs}
    assert applied == {TaskConfigField.RESOURCES: False, TaskConfigField.KUBERNETES_TOLERATIONS: False,
                       TaskConfigField.KUBERNETES_NODE_SELECTOR: False, TaskConfigField.KUBERNETES_AFFINITY: False,
                       TaskConfigField.ENV: True, TaskConfigField.KUBERNETES_VOLUMES: True}


def test_the_component_refuses_artifacts_the_workers_cannot_reach_before_any_job(kubeconfig, tmp_path):
    from fracdet_components.worker_training import TrainSettings, run_train_workers_component

    local = [cls(uri=str(tmp_path / name)) for cls, name in ((Dataset, "dataset"), (Artifact, "analysis"), (Model, "model"))]
    with KubeApiStandIn(namespace=NAMESPACE) as standin:
        kubeconfig(standin)
        with pytest.raises(ConfigError, match=r"the dataset artifact is at .*/dataset, which training workers in pods of their "
                                              r"own cannot reach: training on several workers needs a gs:// pipeline root"):
            run_train_workers_component(*local, TaskConfig(), TrainSettings(), workers=2, job_api="trainjob",
                                        worker_image="i", timeout_s=10)
        assert standin.requests == []


def test_the_command_launches_with_gpus_and_volume_claims_and_says_where_the_model_is(kubeconfig, capsys):
    import fracdet

    with KubeApiStandIn("success", namespace=NAMESPACE) as standin:
        kubeconfig(standin)
        code = fracdet.main(["train-job", "--workers", "2", "--image", "registry/fracdet:1-gpu", "--api", "tfjob", "--gpus", "2",
                             "--volume-claim", "datasets:/mnt/data", "--poll", "0.02",
                             "--", "--data", "/mnt/data/ingest", "--out", "/mnt/data/model", "--epochs", "4"])
        assert code == 0
        [sent] = standin.created
        assert crd_errors(sent) == [] and sent["metadata"]["namespace"] == NAMESPACE
        chief = sent["spec"]["tfReplicaSpecs"]["Chief"]["template"]["spec"]
        assert chief["containers"][0]["resources"] == {"limits": {"nvidia.com/gpu": "2"}}
        assert chief["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
        assert {"name": "claim-0", "persistentVolumeClaim": {"claimName": "datasets"}} in chief["volumes"]
        assert chief["containers"][0]["args"] == ["--data", "/mnt/data/ingest", "--out", "/mnt/data/model", "--epochs", "4"]
        _assert_nothing_left(standin)
    assert capsys.readouterr().out.endswith("trained on 2 workers; model: /mnt/data/model\n")


def test_both_train_tasks_describe_the_model_from_the_files_training_wrote(tmp_path):
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "train_summary.json").write_text(json.dumps(
        {"epochs_run": 7, "best_val_loss": None, "train_images_per_second": 12.0}))
    (tmp_path / "model" / "model_config.json").write_text(json.dumps({"model": {"image_size": 256}, "train": {}}))
    model = Model(uri=str(tmp_path / "model"))
    describe_trained_model(model)
    assert model.metadata == {"display_name": "Trained detector (SavedModel)", "epochs_run": 7, "best_val_loss": None,
                              "train_images_per_second": 12.0, "image_size": 256,
                              "saved_model": str(tmp_path / "model" / "saved_model")}


# The stand-in playing the Training Operator for real: the workers run as local processes.

def _has_train_worker() -> bool:
    return subprocess.run([FRACDET, "train-worker", "--help"], capture_output=True, timeout=120).returncode == 0


@pytest.mark.slow
def test_a_tfjob_of_two_local_worker_processes_trains_the_model_the_launcher_describes(kubeconfig, tmp_path, monkeypatch):
    if not _has_train_worker():
        pytest.skip("`fracdet train-worker` (the worker entrypoint) is not in this checkout")
    from test_train import TINY_MODEL

    from fracdet_core.ingest import IngestConfig, ingest_dataset
    from fracdet_core.synth import SynthConfig, generate_dataset

    generate_dataset(SynthConfig(train=16, val=4, size=96, seed=14), str(tmp_path / "data"), progress=False)
    ingest_dataset(str(tmp_path / "data"), str(tmp_path / "ingest"), IngestConfig(shards=1), progress=False)
    (tmp_path / "tiny.yaml").write_text(TINY_MODEL)
    (tmp_path / "scratch").mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp_path / "scratch"))  # the non-chief's scratch folder, which it removes
    out = tmp_path / "model"
    job = WorkerJob(api="tfjob", name="fracdet-train-local", namespace=NAMESPACE, workers=2, image="local",
                    train_args=("--data", str(tmp_path / "ingest"), "--out", str(out), "--config", str(tmp_path / "tiny.yaml"),
                                "--epochs", "1"))
    with KubeApiStandIn("processes", namespace=NAMESPACE) as standin:
        kubeconfig(standin)
        api_client, _ = cluster_api_client()
        lines: list[str] = []
        run_worker_job(job, api_client, timeout_s=600, poll_s=0.5, log=lines.append)
        _assert_nothing_left(standin)
    epochs = {pod: [line for line in lines if line.startswith(f"[{pod}] epoch 1/1: loss ")]
              for pod in ("fracdet-train-local-chief-0", "fracdet-train-local-worker-0")}
    assert all(len(found) == 1 for found in epochs.values()), "\n".join(lines[-60:])
    model = Model(uri=str(out))
    describe_trained_model(model)
    summary = json.loads((out / "train_summary.json").read_text())
    assert summary["workers"] == 2 and model.metadata["epochs_run"] == 1 and model.metadata["image_size"] == 64
    assert (out / "saved_model").is_dir() and list((tmp_path / "scratch").iterdir()) == []
