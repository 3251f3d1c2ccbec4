"""The train-workers workflow (a kind cluster) against what it installs, applies and runs.

No cluster runs here, so what can be checked without one is: the engine versions it installs are
the ones the CRD schemas are pinned at; its image, namespace, claim, and the launcher's options
agree with the objects in .github/kind/ (which test_training_manifests.py validates); every
fracdet command it runs parses with fracdet's own parser; the model check passes and fails on the
right folders; and its Job-following script, driven by a stand-in kubectl, passes a Job that
completed and fails one that failed or never ended.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from functools import cache
from pathlib import Path

import pytest
import yaml
from manifest_checks import KUBERNETES_VERSION, REPO, by_kind, one, rendered
from test_workflows import steps, workflow

import fracdet

KIND = REPO / ".github" / "kind"
FOLLOW_JOB = REPO / ".github" / "scripts" / "kind-job.sh"
CRDS_README = REPO / "manifests" / "schemas" / "crds" / "README.md"
# The launcher's and the entrypoint's modules (issue 26's parts): a change to any of them reruns the workflow.
LAUNCHER_MODULES = ("components/job_runner.py", "components/train_workers.py", "components/worker_cluster.py",
                    "components/worker_jobs.py", "components/worker_training.py", "fracdet/train_job.py")


@cache
def train_workers() -> dict:
    return workflow("train-workers.yml")


def scripts() -> str:
    return "\n".join(step.get("run", "") for step in steps(train_workers()))


@cache
def objects(name: str) -> tuple[dict, ...]:
    return tuple(doc for doc in yaml.safe_load_all((KIND / name).read_text()) if doc)


def container(obj: dict) -> dict:
    [only] = obj["spec"]["template"]["spec"]["containers"]
    return only


def launcher_command() -> tuple[dict[str, str], list[str]]:
    """The launcher Job's `fracdet train-job` options (name -> value) and the `fracdet train` options after `--`."""
    command = container(one(objects("train.yaml"), "Job", "fracdet-train"))["command"]
    assert command[:2] == ["fracdet", "train-job"]
    split = command.index("--")
    options = command[2:split]
    assert len(options) % 2 == 0 and all(name.startswith("--") for name in options[::2]), options
    return dict(zip(options[::2], options[1::2], strict=True)), command[split + 1:]


def dataset_commands() -> list[list[str]]:
    """The dataset Job's script, one argv per line."""
    [shell, flags, script] = container(one(objects("dataset.yaml"), "Job", "fracdet-dataset"))["command"]
    assert (shell, flags) == ("sh", "-ec"), "a failing command must fail the Job"
    return [shlex.split(line) for line in script.splitlines() if line.strip()]


def option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def test_it_runs_on_dispatch_and_on_pushes_that_change_training_on_workers() -> None:
    triggers = train_workers()["on"]
    assert set(triggers) == {"workflow_dispatch", "push"}
    paths = triggers["push"]["paths"]
    required = {*LAUNCHER_MODULES, "manifests/**", ".github/kind/**", ".github/scripts/kind-job.sh",
                ".github/workflows/train-workers.yml"}
    assert required <= set(paths)
    stale = [path for path in paths if path not in LAUNCHER_MODULES and not any(REPO.glob(path))]
    assert stale == [], "a path that matches no file never triggers the workflow"


def test_it_installs_the_engine_releases_the_crd_schemas_are_pinned_at() -> None:
    readme = CRDS_README.read_text()
    env = train_workers()["env"]
    assert env["TRAINER_VERSION"] == re.search(r"Kubeflow Trainer (v\d+\.\d+\.\d+)", readme)[1]
    assert env["JOBSET_VERSION"] == re.search(r"JobSet (v\d+\.\d+\.\d+)", readme)[1]
    overlay = "https://github.com/kubeflow/trainer.git/manifests/overlays/manager?ref=$TRAINER_VERSION"
    assert f'kubectl apply --server-side -k "{overlay}"' in scripts()
    assert '"trainer-controller-manager:$TRAINER_VERSION" "jobset:$JOBSET_VERSION"' in scripts(), \
        "the workflow checks that the controllers run those releases"


def test_the_kind_node_runs_the_kubernetes_the_manifests_are_validated_for() -> None:
    [kind] = [step["with"] for step in steps(train_workers()) if step.get("uses", "").startswith("helm/kind-action@")]
    assert re.fullmatch(rf"kindest/node:v{re.escape(KUBERNETES_VERSION)}\.\d+@sha256:[0-9a-f]{{64}}", kind["node_image"])
    assert kind["kubectl_version"].startswith(f"v{KUBERNETES_VERSION}.")
    assert f'kind load docker-image "$IMAGE" --name {kind["cluster_name"]}' in scripts()


def test_every_pod_runs_the_image_the_workflow_builds_and_loads_and_never_pulls_it() -> None:
    image = train_workers()["env"]["IMAGE"]
    assert 'docker build -f components/Dockerfile --build-arg FRACDET_GIT_COMMIT="$GITHUB_SHA" -t "$IMAGE" .' in scripts()
    jobs = [obj for name in ("dataset.yaml", "train.yaml", "check-model.yaml") for obj in by_kind(objects(name), "Job")]
    assert [(container(job)["image"], container(job)["imagePullPolicy"]) for job in jobs] == [(image, "Never")] * 3
    assert launcher_command()[0]["--image"] == image, "the workers run the image that was loaded"


def test_it_applies_the_kind_overlay_and_follows_each_job_to_its_end_in_order() -> None:
    namespace = train_workers()["env"]["NAMESPACE"]
    assert {obj["metadata"]["namespace"] for obj in rendered("kind")} == {namespace}
    text = scripts()
    order = [text.index('kubectl create namespace "$NAMESPACE"'),
             text.index("kubectl apply --server-side -k manifests/overlays/kind")]
    for name in ("dataset.yaml", "train.yaml", "check-model.yaml"):
        [job] = by_kind(objects(name), "Job")
        order += [text.index(f"kubectl apply -f .github/kind/{name}"),
                  text.index(f'bash .github/scripts/kind-job.sh "$NAMESPACE" {job["metadata"]["name"]} ')]
    assert order == sorted(order)
    assert 'kubectl get trainjobs.trainer.kubeflow.org -n "$NAMESPACE" -o name' in text[order[-1]:], \
        "after the model check: no TrainJob may be left"


def test_the_launcher_runs_as_fracdet_pipelines_in_the_contracts_command_form() -> None:
    job = one(objects("train.yaml"), "Job", "fracdet-train")
    assert job["spec"]["template"]["spec"]["serviceAccountName"] == "fracdet-pipelines"
    launcher, train_options = launcher_command()
    assert set(launcher) == {"--workers", "--image", "--namespace", "--name", "--volume-claim", "--timeout"}
    assert int(launcher["--workers"]) == 2
    assert launcher["--namespace"] == train_workers()["env"]["NAMESPACE"]
    claim, mount = launcher["--volume-claim"].split(":")
    one(objects("dataset.yaml"), "PersistentVolumeClaim", claim)
    train = fracdet.build_parser().parse_args(["train", *train_options])
    assert all(path.startswith(f"{mount}/") for path in (train.data, train.class_weights, train.out))


def test_the_workers_train_on_what_the_dataset_job_wrote() -> None:
    synth, ingest, eda = dataset_commands()
    parser = fracdet.build_parser()
    for argv in (synth, ingest, eda):
        assert argv[0] == "fracdet"
        parser.parse_args(argv[1:])
    assert option(ingest, "--data") == option(synth, "--out")
    assert option(eda, "--data") == option(ingest, "--out")
    train = parser.parse_args(["train", *launcher_command()[1]])
    assert train.data == option(ingest, "--out")
    assert train.class_weights == f"{option(eda, '--out')}/class_weights.json"


def test_the_model_check_expects_what_the_launcher_was_asked_for() -> None:
    check = one(objects("check-model.yaml"), "Job", "fracdet-check-model")
    env = {item["name"]: item["value"] for item in container(check)["env"]}
    launcher, train_options = launcher_command()
    train = fracdet.build_parser().parse_args(["train", *train_options])
    assert (env["MODEL"], int(env["EXPECTED_WORKERS"]), int(env["EXPECTED_EPOCHS"])) == (
        train.out, int(launcher["--workers"]), train.epochs)
    [volume] = check["spec"]["template"]["spec"]["volumes"]
    assert volume["persistentVolumeClaim"]["claimName"] == launcher["--volume-claim"].split(":")[0]


def test_the_launchers_own_timeout_ends_the_job_before_the_workflow_stops_waiting() -> None:
    """The launcher's timeout deletes the TrainJob; the workflow's must not cut it short."""
    follows = {name: int(seconds) for name, seconds in re.findall(r'kind-job\.sh "\$NAMESPACE" ([\w-]+) (\d+)', scripts())}
    assert int(launcher_command()[0]["--timeout"]) < follows["fracdet-train"]
    assert sum(follows.values()) < train_workers()["jobs"]["train-workers"]["timeout-minutes"] * 60


# The model check and the Job-following script, run here.

def run_model_check(model: Path, workers: int = 2, epochs: int = 2) -> subprocess.CompletedProcess:
    check = container(one(objects("check-model.yaml"), "Job", "fracdet-check-model"))
    assert check["command"][:2] == ["python", "-c"]
    env = {**os.environ, "MODEL": str(model), "EXPECTED_WORKERS": str(workers), "EXPECTED_EPOCHS": str(epochs)}
    return subprocess.run(["python3", "-c", check["command"][2]], capture_output=True, text=True, timeout=60, env=env)


def trained_model(folder: Path, *, workers: int, epochs_run: int, saved_model: bytes = b"\x08\x01") -> Path:
    (folder / "saved_model").mkdir(parents=True)
    (folder / "saved_model" / "saved_model.pb").write_bytes(saved_model)
    (folder / "train_summary.json").write_text(json.dumps({"workers": workers, "epochs_run": epochs_run}))
    return folder


def test_the_model_check_passes_a_model_trained_as_asked(tmp_path: Path) -> None:
    result = run_model_check(trained_model(tmp_path, workers=2, epochs_run=2))
    assert result.returncode == 0, result.stderr
    assert "the chief's model: ['saved_model', 'train_summary.json']" in result.stdout


@pytest.mark.parametrize("workers, epochs_run, saved_model, message", [
    (1, 2, b"\x08\x01", "trained by 1 workers for 2 epochs, expected (2, 2)"),
    (2, 1, b"\x08\x01", "trained by 2 workers for 1 epochs, expected (2, 2)"),
    (2, 2, b"", "saved_model/saved_model.pb is empty"),
], ids=["one-worker", "stopped-early", "empty-saved-model"])
def test_the_model_check_fails_a_model_not_trained_as_asked(
        tmp_path: Path, workers: int, epochs_run: int, saved_model: bytes, message: str) -> None:
    result = run_model_check(trained_model(tmp_path, workers=workers, epochs_run=epochs_run, saved_model=saved_model))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == message


def test_the_model_check_fails_where_no_model_was_written(tmp_path: Path) -> None:
    result = run_model_check(tmp_path)
    assert result.returncode == 1 and "FileNotFoundError" in result.stderr


STAND_IN_KUBECTL = """\
#!/usr/bin/env bash
# Answers as kubectl would for a Job whose true conditions are $JOB_CONDITIONS.
case "$*" in
  "get job "*) echo -n "$JOB_CONDITIONS" ;;
  "logs -f job/"*) echo "the worker's log" ;;
  "logs job/"*) ;;
  "describe "*) echo "described: $*" ;;
  *) echo "unexpected: kubectl $*" >&2; exit 9 ;;
esac
"""


@pytest.mark.parametrize("conditions, status, expected", [
    ("SuccessCriteriaMet Complete", 0, "fracdet-train completed"),
    ("FailureTarget Failed", 1, "::error title=fracdet-train failed::"),
    ("", 1, "::error title=fracdet-train timed out::fracdet-train did not end within 2 s"),
], ids=["completed", "failed", "never-ended"])
def test_the_job_follower_passes_only_a_job_that_completed(tmp_path: Path, conditions: str, status: int, expected: str) -> None:
    kubectl = tmp_path / "kubectl"
    kubectl.write_text(STAND_IN_KUBECTL)
    kubectl.chmod(0o755)
    env = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}", "JOB_CONDITIONS": conditions}
    result = subprocess.run(["bash", str(FOLLOW_JOB), "fracdet-kind", "fracdet-train", "2"], capture_output=True, text=True,
                            timeout=60, env=env)
    assert result.returncode == status, result.stdout + result.stderr
    assert "unexpected" not in result.stderr
    assert "the worker's log" in result.stdout
    assert expected in result.stdout
    assert ("described: describe job fracdet-train -n fracdet-kind" in result.stdout) == (status != 0)
