"""manifests/ for training on several workers: the TrainingRuntime `fracdet-tensorflow`, validated
against Kubeflow Trainer v2.1.0's pinned CRD and held to each point of the contract that a worker
pod depends on at run time; the training launcher's RBAC, for both engines; the kubeflow-profile
component and the kind overlay; and the objects the train-workers workflow applies on kind.
"""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import pytest
import yaml
from crd_schemas import crd_errors
from manifest_checks import MANIFESTS, REPO, by_kind, one, render, rendered, validate
from test_train_launcher import RBAC as LAUNCHER_CALLS

from fracdet_components.image import FRACDET_GPU_IMAGE

OVERLAYS = {"dev": "fracdet-dev", "prod": "fracdet", "kind": "fracdet-kind"}
RUNTIME = "fracdet-tensorflow"
LAUNCHER_ROLE = "fracdet-training-launcher"
KIND_OBJECTS = REPO / ".github" / "kind"
# What components/job_runner.py asks the API server, (API group, resource, verb), for either engine, as the
# launcher tests record it against their API stand-in.
LAUNCHER_NEEDS = {(group, resource, verb) for calls in LAUNCHER_CALLS.values() for verb, group, resource in calls}


def runtime_in(objects: tuple[dict, ...] | list[dict]) -> dict:
    return one(objects, "TrainingRuntime", RUNTIME)


@pytest.fixture(scope="module")
def node_job() -> dict:
    """The replicated Job `node` of the base's runtime: the Job template each worker pod comes from."""
    [job] = runtime_in(render(MANIFESTS / "base"))["spec"]["template"]["spec"]["replicatedJobs"]
    return job


@pytest.fixture(scope="module")
def worker(node_job: dict) -> dict:
    """The worker container."""
    [container] = node_job["template"]["spec"]["template"]["spec"]["containers"]
    return container


def allows(rules: list[dict], group: str, resource: str, verb: str, name: str | None = None) -> bool:
    """Whether RBAC `rules` grant `verb` on `resource` (the object `name`, or all of them) in `group`."""
    return any(
        group in rule.get("apiGroups", []) and resource in rule.get("resources", []) and verb in rule.get("verbs", [])
        and (not rule.get("resourceNames") or name in rule["resourceNames"])
        for rule in rules)


def granted(rules: list[dict]) -> set[tuple[str, str, str]]:
    """Every (group, resource, verb) that `rules` grant, on some or all objects."""
    return {(group, resource, verb) for rule in rules for group in rule["apiGroups"] for resource in rule["resources"]
            for verb in rule["verbs"]}


def profile_overlay(tmp_path: Path, namespace: str) -> list[dict]:
    """An overlay for a Kubeflow profile namespace, as docs/ tell a user to write it, rendered."""
    shutil.copytree(MANIFESTS, tmp_path / "manifests")
    overlay = tmp_path / "manifests" / "overlays" / "profile"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text(
        f"namespace: {namespace}\nresources:\n  - ../dev\ncomponents:\n  - ../../components/kubeflow-profile\n")
    return render(overlay)


# The TrainingRuntime: valid, the same in every overlay, and as the contract says.

@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_the_runtime_validates_against_the_pinned_crd_and_is_the_bases_in_every_overlay(overlay: str) -> None:
    runtime = runtime_in(rendered(overlay))
    assert crd_errors(runtime) == []
    assert runtime["metadata"]["namespace"] == OVERLAYS[overlay]
    assert runtime["spec"] == runtime_in(render(MANIFESTS / "base"))["spec"]


def test_the_runtime_sets_only_num_nodes_so_trainer_takes_its_plain_ml_path() -> None:
    """A torch or mpi policy would make Trainer set that framework's variables and launcher; the TrainJob's numNodes wins."""
    assert runtime_in(rendered("dev"))["spec"]["mlPolicy"] == {"numNodes": 1}


def test_the_workers_are_the_one_replicated_job_node_of_the_trainer_step(node_job: dict) -> None:
    """Trainer sizes, and gives the TrainJob's image and env to, the replicated Job labelled as the trainer step."""
    assert node_job["name"] == "node"
    assert node_job["replicas"] == 1, "Trainer's webhook refuses a trainer step with more than one replica"
    assert node_job["template"]["metadata"]["labels"] == {"trainer.kubeflow.org/trainjob-ancestor-step": "trainer"}


def test_the_worker_container_is_named_node_and_runs_the_train_worker_entrypoint(worker: dict) -> None:
    assert worker["name"] == "node", "Trainer finds the trainer's container by this name"
    assert worker["command"] == ["fracdet", "train-worker"]
    assert "args" not in worker, "the launcher passes the fracdet train options as the TrainJob's args"
    assert worker["image"] == FRACDET_GPU_IMAGE


def test_each_worker_learns_its_place_from_the_downward_api_and_listens_on_the_worker_port(worker: dict) -> None:
    """fracdet train-worker builds the cluster's addresses {JOBSET_NAME}-{REPLICATED_JOB_NAME}-{JOB_INDEX}-{i}.{JOBSET_NAME}."""
    env = {item["name"]: item for item in worker["env"]}
    assert len(env) == len(worker["env"]) == 4
    assert env["FRACDET_WORKER_PORT"] == {"name": "FRACDET_WORKER_PORT", "value": "2222"}
    assert {name: item["valueFrom"] for name, item in env.items() if name != "FRACDET_WORKER_PORT"} == {
        "JOBSET_NAME": {"fieldRef": {"fieldPath": "metadata.labels['jobset.sigs.k8s.io/jobset-name']"}},
        "REPLICATED_JOB_NAME": {"fieldRef": {"fieldPath": "metadata.labels['jobset.sigs.k8s.io/replicatedjob-name']"}},
        "JOB_INDEX": {"fieldRef": {"fieldPath": "metadata.labels['jobset.sigs.k8s.io/job-index']"}},
    }
    assert worker["ports"] == [{"containerPort": int(env["FRACDET_WORKER_PORT"]["value"])}]


def test_workers_are_numbered_by_an_indexed_job_that_retries_no_pod_alone(node_job: dict) -> None:
    """JOB_COMPLETION_INDEX is the task index; a worker that fails must fail the Job, so that JobSet restarts all."""
    job_spec = node_job["template"]["spec"]
    assert job_spec["completionMode"] == "Indexed"
    assert job_spec["backoffLimit"] == 0
    assert job_spec["template"]["spec"]["restartPolicy"] == "Never"
    assert "parallelism" not in job_spec and "completions" not in job_spec, "Trainer sets both from the TrainJob's numNodes"


def test_a_failed_worker_restarts_every_worker_at_most_three_times_and_success_needs_all() -> None:
    jobset = runtime_in(rendered("dev"))["spec"]["template"]["spec"]
    assert jobset["failurePolicy"] == {"maxRestarts": 3}
    assert jobset["successPolicy"] == {"operator": "All"}, "done when every worker is, not when the chief is"


def test_workers_reach_each_other_by_dns_hostnames_under_the_jobsets_own_name() -> None:
    """No subdomain: JobSet's default is the JobSet's name (the TrainJob's), which the addresses rely on."""
    network = runtime_in(rendered("dev"))["spec"]["template"]["spec"]["network"]
    assert network == {"enableDNSHostnames": True, "publishNotReadyAddresses": True}


def test_istio_injects_no_sidecar_into_worker_pods(node_job: dict) -> None:
    annotations = node_job["template"]["spec"]["template"]["metadata"]["annotations"]
    assert annotations == {"sidecar.istio.io/inject": "false"}


@pytest.mark.parametrize("path, break_it", [
    ("spec.template.spec.replicatedJobs.0.template.spec",
     lambda job: job["template"]["spec"].update(completionsMode=job["template"]["spec"].pop("completionMode"))),
    ("spec.template.spec.replicatedJobs.0.template.spec.backoffLimit",
     lambda job: job["template"]["spec"].update(backoffLimit="0")),
    ("spec.template.spec.replicatedJobs.0.template.spec.template.spec.containers.0.env.1.valueFrom.fieldRef",
     lambda job: job["template"]["spec"]["template"]["spec"]["containers"][0]["env"][1]["valueFrom"]["fieldRef"].update(
         fieldpath="metadata.name")),
    ("spec.template.spec.replicatedJobs.0",
     lambda job: job.update(replicatedJob=job.pop("template"))),
], ids=["misspelt-completionMode", "backoffLimit-as-string", "misspelt-fieldPath", "template-misplaced"])
def test_the_crd_schema_rejects_a_broken_runtime(path: str, break_it) -> None:
    runtime = copy.deepcopy(runtime_in(rendered("dev")))
    validate(runtime)
    break_it(runtime["spec"]["template"]["spec"]["replicatedJobs"][0])
    errors = crd_errors(runtime)
    assert errors and all(error.startswith(f"{path}: ") for error in errors), errors
    with pytest.raises(AssertionError, match="breaks its CRD's schema"):
        validate(runtime)


def test_the_crd_schema_rejects_a_misspelt_ml_policy() -> None:
    runtime = copy.deepcopy(runtime_in(rendered("dev")))
    runtime["spec"]["mlPolicy"] = {"numNode": 2}
    assert crd_errors(runtime) == ["spec.mlPolicy: Additional properties are not allowed ('numNode' was unexpected)"]


# RBAC: the launcher's Role, bound to the pipelines' account, grants what it asks and no more.

@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_the_pipelines_account_may_do_everything_the_launcher_does(overlay: str) -> None:
    objects = rendered(overlay)
    binding = one(objects, "RoleBinding", LAUNCHER_ROLE)
    assert binding["roleRef"]["name"] == LAUNCHER_ROLE
    assert {"kind": "ServiceAccount", "name": "fracdet-pipelines", "namespace": OVERLAYS[overlay]} in binding["subjects"]
    rules = one(objects, "Role", LAUNCHER_ROLE)["rules"]
    missing = [need for need in sorted(LAUNCHER_NEEDS) if not allows(rules, *need, name=RUNTIME)]
    assert missing == []


def test_the_launchers_role_grants_nothing_beyond_what_the_launcher_does() -> None:
    rules = one(rendered("dev"), "Role", LAUNCHER_ROLE)["rules"]
    assert granted(rules) == LAUNCHER_NEEDS
    assert all("*" not in rule[key] for rule in rules for key in ("apiGroups", "resources", "verbs"))


def test_the_rbac_check_itself_tells_granted_from_refused() -> None:
    rules = [{"apiGroups": ["kubeflow.org"], "resources": ["tfjobs"], "verbs": ["get"]},
             {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["kfp-launcher"], "verbs": ["get"]}]
    assert allows(rules, "kubeflow.org", "tfjobs", "get")
    assert not allows(rules, "trainer.kubeflow.org", "tfjobs", "get")
    assert not allows(rules, "kubeflow.org", "tfjobs/status", "get")
    assert not allows(rules, "kubeflow.org", "tfjobs", "create")
    assert allows(rules, "", "configmaps", "get", name="kfp-launcher")
    assert not allows(rules, "", "configmaps", "get", name="other")


def test_the_kubeflow_profile_component_binds_the_same_role_to_default_editor(tmp_path: Path) -> None:
    namespace = "kubeflow-user-example-com"
    objects = profile_overlay(tmp_path, namespace)
    for obj in objects:
        validate(obj)
    binding = one(objects, "RoleBinding", "fracdet-training-launcher-default-editor")
    assert binding["metadata"]["namespace"] == namespace
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": LAUNCHER_ROLE}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "default-editor", "namespace": namespace}]
    assert "default-editor" not in {account["metadata"]["name"] for account in by_kind(objects, "ServiceAccount")}, \
        "the profile controller owns default-editor: the overlay must not apply it"


# The kind overlay and the objects the train-workers workflow applies next to it.

def test_the_kind_overlay_has_the_training_side_without_serving_or_workload_identity() -> None:
    objects = rendered("kind")
    for obj in objects:
        validate(obj)
    assert not by_kind(objects, "InferenceService")
    assert {(obj["kind"], obj["metadata"]["name"]) for obj in objects} >= {
        ("ServiceAccount", "fracdet-pipelines"), ("Role", LAUNCHER_ROLE), ("RoleBinding", LAUNCHER_ROLE),
        ("TrainingRuntime", RUNTIME)}
    assert not [obj for obj in by_kind(objects, "ServiceAccount") if obj["metadata"].get("annotations")]


def kind_objects() -> list[tuple[str, dict]]:
    """(file name, object) for every object in .github/kind/."""
    files = sorted(KIND_OBJECTS.glob("*.yaml"))
    assert files, f"no objects in {KIND_OBJECTS}"
    return [(path.name, doc) for path in files for doc in yaml.safe_load_all(path.read_text()) if doc]


def test_every_object_the_kind_workflow_applies_validates_in_the_kind_overlays_namespace() -> None:
    for name, obj in kind_objects():
        validate(obj)
        assert obj["metadata"]["namespace"] == OVERLAYS["kind"], f"{name}: {obj['kind']} {obj['metadata']['name']}"
