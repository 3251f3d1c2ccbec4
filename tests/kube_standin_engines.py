"""What the engines make of a job, for the Kubernetes API stand-in (tests/kube_api_standin.py), which is not a cluster.

Trainer v2.1 with JobSet v0.10.1 turns a TrainJob into the indexed pods of its runtime's `node`
job; Training Operator v1.9 turns a TFJob into Chief and Worker pods with TF_CONFIG. These
functions write those pods (names, labels, the merged pod spec) and the status conditions the
controllers set, as the engines' sources at those tags do, so the launcher's tests can check
what every worker pod would get.
"""

from __future__ import annotations

import copy
import hashlib
import json
import uuid
from datetime import UTC, datetime

WORKER_PORT = 2222
# The `node` job's pod of fracdet's TrainingRuntime, as the contract between the parts of issue 26 fixes it.
RUNTIME_NODE_POD = {
    "metadata": {"annotations": {"sidecar.istio.io/inject": "false"}},
    "spec": {
        "restartPolicy": "Never",
        "containers": [{
            "name": "node", "image": "ghcr.io/fracdet/fracdet:runtime-default", "command": ["fracdet", "train-worker"],
            "ports": [{"containerPort": WORKER_PORT}],
            "env": [
                *({"name": variable, "valueFrom": {"fieldRef": {"fieldPath": f"metadata.labels['jobset.sigs.k8s.io/{label}']"}}}
                  for variable, label in (("JOBSET_NAME", "jobset-name"), ("REPLICATED_JOB_NAME", "replicatedjob-name"),
                                          ("JOB_INDEX", "job-index"))),
                {"name": "FRACDET_WORKER_PORT", "value": str(WORKER_PORT)},
            ],
        }],
    },
}


def jobs_status(active: int = 0, succeeded: int = 0) -> dict:
    """A TrainJob's `jobsStatus` entry for the `node` job, as Trainer copies it from the JobSet's replicated job."""
    return {"name": "node", "active": active, "ready": active, "succeeded": succeeded, "failed": 0, "suspended": 0}


def tfjob_condition(kind: str, message: str) -> dict:
    """A condition as the Training Operator's UpdateJobConditions sets it: reason `TFJob<Type>`, its message."""
    moment = now().strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"type": kind, "status": "True", "reason": f"TFJob{kind}", "message": message,
            "lastUpdateTime": moment, "lastTransitionTime": moment}


def trainjob_pods(job: dict) -> list[dict]:
    """The `node` pods Trainer v2.1 (PlainML) and JobSet v0.10.1 make for `job` from fracdet's runtime."""
    name, namespace, spec = job["metadata"]["name"], job["metadata"]["namespace"], job["spec"]
    trainer = spec.get("trainer", {})
    template = copy.deepcopy(RUNTIME_NODE_POD)
    container = template["spec"]["containers"][0]
    container |= {key: trainer[key] for key in ("image", "command", "args") if key in trainer}
    if "resourcesPerNode" in trainer:
        container["resources"] = trainer["resourcesPerNode"]
    container["env"] = _upsert(container["env"], trainer.get("env", []))
    for override in spec.get("podTemplateOverrides", []):
        overrides = override.get("spec", {})
        template["spec"] |= {key: overrides[key] for key in ("nodeSelector", "tolerations", "affinity") if key in overrides}
        template["spec"]["volumes"] = _upsert(template["spec"].get("volumes", []), overrides.get("volumes", []))
        for change in overrides.get("containers", []):
            container["volumeMounts"] = _upsert(container.get("volumeMounts", []), change.get("volumeMounts", []))
    container["env"].append({"name": "JOB_COMPLETION_INDEX", "valueFrom": {"fieldRef": {
        "fieldPath": "metadata.annotations['batch.kubernetes.io/job-completion-index']"}}})
    pods = []
    for index in range(trainer.get("numNodes", 1)):
        pod_spec = copy.deepcopy(template["spec"]) | {"hostname": f"{name}-node-0-{index}", "subdomain": name}
        labels = {"jobset.sigs.k8s.io/jobset-name": name, "jobset.sigs.k8s.io/replicatedjob-name": "node",
                  "jobset.sigs.k8s.io/job-index": "0", "batch.kubernetes.io/job-completion-index": str(index),
                  "trainer.kubeflow.org/trainjob-ancestor-step": "trainer"}
        annotations = template["metadata"]["annotations"] | {"batch.kubernetes.io/job-completion-index": str(index)}
        suffix = hashlib.sha256(f"{name}/{index}".encode()).hexdigest()[:5]
        pods.append(_pod(f"{name}-node-0-{index}-{suffix}", namespace, labels, annotations, pod_spec))
    return pods


def tfjob_pods(job: dict) -> list[dict]:
    """The Chief and Worker pods Training Operator v1.9 makes for `job`, TF_CONFIG injected."""
    name, namespace = job["metadata"]["name"], job["metadata"]["namespace"]
    replica_specs = job["spec"]["tfReplicaSpecs"]
    cluster = {role.lower(): [f"{name}-{role.lower()}-{index}.{namespace}.svc:{WORKER_PORT}"
                              for index in range(replica_specs[role].get("replicas", 1))] for role in replica_specs}
    pods = []
    for role, replica in replica_specs.items():
        for index in range(replica.get("replicas", 1)):
            pod_spec = copy.deepcopy(replica["template"]["spec"])
            pod_spec["restartPolicy"] = "Never" if replica.get("restartPolicy") == "ExitCode" else replica.get("restartPolicy")
            tf_config = {"cluster": cluster, "task": {"type": role.lower(), "index": index}, "environment": "cloud"}
            for container in pod_spec["containers"]:
                if container["name"] == "tensorflow":
                    container.setdefault("env", []).append({"name": "TF_CONFIG", "value": json.dumps(tf_config)})
            labels = {"training.kubeflow.org/job-name": name, "training.kubeflow.org/operator-name": "tfjob-controller",
                      "training.kubeflow.org/replica-type": role.lower(), "training.kubeflow.org/replica-index": str(index)}
            annotations = replica["template"].get("metadata", {}).get("annotations", {})
            pods.append(_pod(f"{name}-{role.lower()}-{index}", namespace, labels, annotations, pod_spec))
    return pods


def _pod(name: str, namespace: str, labels: dict, annotations: dict, spec: dict) -> dict:
    container = spec["containers"][0]
    return {"apiVersion": "v1", "kind": "Pod", "spec": spec,
            "metadata": {"name": name, "namespace": namespace, "uid": str(uuid.uuid4()), "labels": labels,
                         "annotations": dict(annotations)},
            "status": {"phase": "Pending", "containerStatuses": [{
                "name": container["name"], "image": container.get("image", ""), "imageID": "", "ready": False,
                "restartCount": 0, "state": {"waiting": {"reason": "ContainerCreating"}}, "lastState": {}}]}}


def _upsert(items: list[dict], changes: list[dict]) -> list[dict]:
    """`items` with each of `changes` replacing the item of its name, or added: how Trainer merges env and volumes."""
    merged = {item["name"]: item for item in items}
    merged |= {change["name"]: change for change in changes}
    return list(merged.values())


def now() -> datetime:
    return datetime.now(UTC)


def rfc3339_nano(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"
