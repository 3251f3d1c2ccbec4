"""The compiled pipeline run inside the built image, task by task, as a cluster runs it.

`make container-test` builds the CPU image (on the pinned base, or on a stand-in where Docker Hub
cannot be reached; it says which) and runs this module with the image's name: each task's command
and arguments from the compiled YAML, the launcher's executor input, the image's own user, the run's
folders mounted (tests/container_launcher.py, tests/container_engine.py). It checks what the kfp.local
runs in test_pipeline.py check, plus that every file was written by uid 10001, that the image holds
this checkout's code and names its commit, and that requirements-gpu.lock resolves inside the image.
`make test` leaves these tests out (marker `container`).

Not covered: Kubernetes (scheduling, volumes, secrets, RBAC), the KFP backend (driver, caching,
retries, the dashboard), gs:// storage, and a GPU: training runs on the CPU, in the CPU image unless
`make container-test CONTAINER_TEST_GPU=1` builds the GPU image too.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from container_engine import Engine, Mount
from container_launcher import Launcher, TaskFailedError, TaskRun

from fracdet_components.image import gpu_image
from fracdet_core.ingest.fingerprint import data_fingerprint

pytestmark = [pytest.mark.container, pytest.mark.timeout(1800)]

REPO = Path(__file__).resolve().parents[1]
FRACDET = str(Path(sys.executable).with_name("fracdet"))
IMAGE_USER = 10001  # the Dockerfiles' USER: numeric, so that Kubernetes' runAsNonRoot can check it
TASK_TIMEOUT = 900
DAG_ORDER = ["fingerprint", "ingest", "eda", "train", "evaluate", "register", "record-outcome"]
TRAIN, VAL = 40, 12
TINY_MODEL = ("model: {stem_width: 8, stage_widths: [8, 8, 16, 16, 16], stage_depths: [1, 1, 1, 1, 1], fpn_width: 8, "
              "head_depth: 1}\n")
OPEN_GATES = "min_map50: 0\nmin_sensitivity: {}\nmin_specificity: {}\nmin_auc: {}\n"  # any model is blessed


@dataclass
class ContainerRun:
    """A whole run of the pipeline inside the image: its inputs, folders and finished tasks."""

    data: Path
    registry: Path
    run_folder: Path
    job_id: str
    tasks: dict[str, TaskRun]

    def output(self, task: str) -> dict:
        return self.tasks[task].executor_output

    def artifact(self, task: str, name: str) -> dict:
        [artifact] = self.tasks[task].artifacts[name]
        return artifact


@pytest.fixture(scope="module")
def engine() -> Engine:
    image, name = os.environ.get("FRACDET_TEST_IMAGE"), os.environ.get("FRACDET_TEST_ENGINE")
    if not image or not name:
        pytest.fail("FRACDET_TEST_IMAGE and FRACDET_TEST_ENGINE are unset: `make container-test` builds the image and sets them")
    return Engine(name, image)


@pytest.fixture(scope="module")
def work() -> Iterator[Path]:
    """A folder the image's user can reach (pytest's own temp root is private to the user running pytest)."""
    with tempfile.TemporaryDirectory(prefix="fracdet-container-") as folder:
        os.chmod(folder, 0o755)
        yield Path(folder)


@pytest.fixture(scope="module")
def inputs(work: Path) -> Path:
    """The data and configuration, mounted read-only: a task may read them, never change them."""
    folder = work / "inputs"
    subprocess.run([FRACDET, "synth", "--out", str(folder / "data"), "--train", str(TRAIN), "--val", str(VAL),
                    "--size", "96", "--seed", "5", "--quiet"], check=True, capture_output=True, timeout=300)
    (folder / "tiny.yaml").write_text(TINY_MODEL)
    (folder / "open.yaml").write_text(OPEN_GATES)
    return folder


def compiled_for(image: str, folder: Path) -> dict:
    """The pipeline as `fracdet pipeline compile --image` writes it for a cluster."""
    path = folder / "pipeline.yaml"
    subprocess.run([FRACDET, "pipeline", "compile", "--out", str(path), "--image", image], check=True,
                   capture_output=True, timeout=300)
    return next(yaml.safe_load_all(path.read_text()))


def images_built(engine: Engine) -> dict[str, Engine]:
    """The image each executor names -> the engine running the image built for it. The training task's GPU
    image is built only on request (CONTAINER_TEST_GPU=1: gigabytes of CUDA wheels); else the CPU image,
    whose TensorFlow is the same release, stands in for it."""
    gpu = os.environ.get("FRACDET_TEST_GPU_IMAGE")
    return {engine.image: engine, gpu_image(engine.image): Engine(engine.name, gpu) if gpu else engine}


def launcher_for(engine: Engine, spec: dict, inputs: Path, outputs: Path) -> Launcher:
    """Runs each task in the image built for its executor, with the run's folders mounted."""
    mounts = [Mount(inputs), Mount(outputs, writable=True)]
    built = images_built(engine)

    def run_command(image: str, argv: list[str]) -> tuple[int, str]:
        assert image in built, f"an executor names {image}, not an image built here: {sorted(built)}"
        result = built[image].run(argv, mounts, TASK_TIMEOUT)
        return result.returncode, result.stdout

    run_folder = outputs / f"{spec['pipelineInfo']['name']}-run"
    run_folder.mkdir(parents=True)
    for folder in (outputs, run_folder):
        os.chmod(folder, 0o777)  # the image's user writes the run's outputs here
    return Launcher(spec, run_folder, run_command)


def report(config: pytest.Config, lines: list[str]) -> None:
    """Lines shown as the tests run, not only when one fails: the timings CI adds."""
    capture = config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print("\n" + "\n".join(f"container test: {line}" for line in lines), flush=True)


@pytest.fixture(scope="module")
def container_run(engine: Engine, inputs: Path, work: Path, pytestconfig: pytest.Config) -> ContainerRun:
    spec = compiled_for(engine.image, work)
    outputs = work / "outputs"
    launcher = launcher_for(engine, spec, inputs, outputs)
    registry = outputs / "registry"
    arguments = {"data_uri": str(inputs / "data"), "registry_uri": str(registry), "shards": 2, "epochs": 1,
                 "image_size": 64, "batch_size": 8, "train_config_uri": str(inputs / "tiny.yaml"),
                 "thresholds_uri": str(inputs / "open.yaml"), "promote": True}
    finished = launcher.run(arguments)
    built = images_built(engine)
    report(pytestconfig, [f"{task.name} ran in {built[task.image].image} ({engine.name}) in {task.seconds:.1f} s"
                          for task in finished])
    return ContainerRun(inputs / "data", registry, launcher.run_folder, launcher.job_id, {task.name: task for task in finished})


def test_every_task_ran_inside_the_image_in_dag_order(container_run: ContainerRun) -> None:
    assert list(container_run.tasks) == DAG_ORDER


# Installed package -> its folder in this checkout.
PACKAGES = {"fracdet": "fracdet", "fracdet_core": "fracdet_core", "fracdet_components": "components",
            "fracdet_pipelines": "pipelines"}
# sha256 of every .py file under each package, found (not imported) by the Python that runs it.
SOURCE_DIGESTS = """
import hashlib, importlib.util, json, pathlib, sys
folders = {name: pathlib.Path(importlib.util.find_spec(name).submodule_search_locations[0]) for name in sys.argv[1:]}
print(json.dumps({name: {str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
                         for path in folder.rglob("*.py")} for name, folder in folders.items()}))
"""


def test_the_image_holds_this_checkouts_code_and_commit(engine: Engine) -> None:
    """A stale layer cache would test yesterday's code: every source file inside is the one here, and the
    image names the commit `make` built it from (what registration records)."""
    result = engine.run(["python3", "-c", SOURCE_DIGESTS, *PACKAGES], [], TASK_TIMEOUT)
    assert result.returncode == 0, result.stdout
    inside = json.loads(result.stdout)
    here = {name: {str(path.relative_to(REPO / folder)): hashlib.sha256(path.read_bytes()).hexdigest()
                   for path in (REPO / folder).rglob("*.py")} for name, folder in PACKAGES.items()}
    for name in PACKAGES:
        changed = sorted({path for path, _ in set(inside[name].items()) ^ set(here[name].items())})
        assert not changed, f"{name}: files that differ between the image and this checkout: {changed}"
    commit = engine.run(["sh", "-c", 'printf %s "$FRACDET_GIT_COMMIT"'], [], TASK_TIMEOUT).stdout
    assert commit == os.environ.get("FRACDET_TEST_COMMIT", "")


def test_every_file_the_tasks_wrote_belongs_to_the_images_non_root_user(container_run: ContainerRun) -> None:
    written = [path for folder in (container_run.run_folder, container_run.registry) for path in folder.rglob("*")]
    assert len(written) > 50
    owners = {path.lstat().st_uid for path in written}
    assert owners == {IMAGE_USER}, f"files owned by uids {sorted(owners)}: the tasks did not all run as {IMAGE_USER}"


def test_the_fingerprint_inside_is_the_librarys_outside(container_run: ContainerRun) -> None:
    assert container_run.tasks["fingerprint"].parameters["Output"] == data_fingerprint(str(container_run.data))


def test_ingest_wrote_shards_a_manifest_and_the_artifacts_metadata(container_run: ContainerRun) -> None:
    dataset = Path(container_run.artifact("ingest", "dataset")["uri"])
    assert dataset == container_run.run_folder / "ingest" / "dataset"
    manifest = json.loads((dataset / "manifest.json").read_text())
    assert manifest["totals"] == {"found": TRAIN + VAL, "ingested": TRAIN + VAL, "quarantined": 0, "warnings": 0}
    assert sorted(path.name for path in dataset.glob("*.tfrecord")) == [
        "train-00000-of-00002.tfrecord", "train-00001-of-00002.tfrecord",
        "val-00000-of-00002.tfrecord", "val-00001-of-00002.tfrecord",
    ]
    assert (dataset / "labels.parquet").stat().st_size > 0
    metadata = container_run.output("ingest")["artifacts"]["dataset"]["artifacts"][0]["metadata"]
    assert metadata["display_name"] == "Ingested dataset (TFRecord shards)"
    assert metadata["ingested"] == TRAIN + VAL and metadata["train_images"] == TRAIN


def test_eda_wrote_its_report_and_the_class_weights(container_run: ContainerRun) -> None:
    analysis = Path(container_run.artifact("eda", "analysis")["uri"])
    assert (analysis / "report.html").read_text().startswith("<!DOCTYPE html>")
    weights = json.loads((analysis / "class_weights.json").read_text())
    assert len(weights) == 10 and all(0 < weight <= 10 for weight in weights.values())
    names = {key: value["artifacts"][0]["metadata"].get("display_name")
             for key, value in container_run.output("eda")["artifacts"].items()}
    assert names == {"analysis": "EDA statistics and class weights", "report": "EDA report", "summary": "EDA summary",
                     "metrics": "Data figures"}


def test_training_exported_a_saved_model(container_run: ContainerRun) -> None:
    model = container_run.artifact("train", "model")
    assert (Path(model["uri"]) / "saved_model" / "saved_model.pb").exists()
    assert model["metadata"]["display_name"] == "Trained detector (SavedModel)"
    assert model["metadata"]["epochs_run"] == 1 and model["metadata"]["accelerator"] == "CPU"


def test_evaluation_wrote_metrics_and_blessed_the_model(container_run: ContainerRun) -> None:
    evaluation = Path(container_run.artifact("evaluate", "evaluation")["uri"])
    metrics = json.loads((evaluation / "metrics.json").read_text())
    assert {"map50", "map50_95", "per_class_ap", "fracture", "latency_ms"} <= set(metrics)
    assert json.loads((evaluation / "blessing.json").read_text())["blessed"] is True
    assert container_run.tasks["evaluate"].parameters["Output"] is True
    assert container_run.artifact("evaluate", "metrics")["metadata"]["blessed"] == 1.0


def test_registration_wrote_a_version_and_made_it_the_champion(container_run: ContainerRun) -> None:
    version = container_run.registry / "fracdet" / "versions" / "1"
    assert container_run.artifact("register", "registered")["uri"] == str(version)
    metadata = json.loads((version / "metadata.json").read_text())
    assert metadata["source_model_uri"] == str(Path(container_run.artifact("train", "model")["uri"]) / "saved_model")
    assert metadata["run"]["run_id"] == container_run.job_id and metadata["run"]["task"] == "register"
    assert metadata["git_commit"] == (os.environ.get("FRACDET_TEST_COMMIT") or None)  # the image's lineage
    assert json.loads((container_run.registry / "fracdet" / "aliases" / "champion").read_text())["version"] == 1


def test_the_exit_handler_recorded_the_outcome(container_run: ContainerRun) -> None:
    artifact = json.loads(Path(container_run.artifact("record-outcome", "outcome")["uri"]).read_text())
    written = json.loads((container_run.registry / "fracdet" / "runs" / container_run.job_id / "outcome.json").read_text())
    assert written == artifact
    assert written["outcome"] == "blessed" and written["pipeline_state"] == "SUCCEEDED"
    assert written["run_id"] == container_run.job_id


def test_a_task_that_fails_inside_the_image_fails_with_its_own_log(engine: Engine, work: Path, inputs: Path) -> None:
    spec = compiled_for(engine.image, work)
    launcher = launcher_for(engine, spec, inputs, work / "failing")
    with pytest.raises(TaskFailedError, match="task fingerprint exited 1") as failure:
        launcher.run({"data_uri": str(inputs / "missing"), "registry_uri": str(work / "failing" / "registry")})
    assert "no data.yaml here" in str(failure.value)  # the component's own message, from inside the image
    assert launcher.finished == []


def normalised(name: str) -> str:
    """A distribution's name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


def lock_pins(path: Path) -> set[tuple[str, str]]:
    """(name, version) per `name==version` line of a pip-compile lock."""
    pins = [line.split("==") for line in path.read_text().splitlines() if "==" in line and not line.startswith("#")]
    return {(normalised(name.strip()), version.strip()) for name, version in pins}


def lock_unpinned(path: Path) -> set[str]:
    """The names pip-compile lists, unpinned, as "unsafe in a requirements file" (setuptools) at a lock's end."""
    _, _, unsafe = path.read_text().partition("# The following packages are considered to be unsafe")
    return {normalised(line.removeprefix("# ").strip()) for line in unsafe.splitlines()[1:] if line.startswith("# ")}


def test_the_gpu_lock_resolves_inside_the_image_to_exactly_its_pins(engine: Engine, pytestconfig: pytest.Config) -> None:
    """pip's resolver, inside the image's Python, on the GPU lock: every pin exists for this platform and the
    set is complete and consistent (nothing added, nothing replaced). Downloads the wheels, installs nothing."""
    lock = REPO / "requirements-gpu.lock"
    bundle = Path(os.environ.get("CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt"))
    mounts = [Mount(lock)] + ([Mount(bundle, at=Path("/etc/ssl/certs/ca-certificates.crt"))] if bundle.exists() else [])
    command = ["pip", "install", "--dry-run", "--ignore-installed", "--quiet", "--report", "-", "-r", str(lock)]
    started = time.monotonic()
    result = engine.run(command, mounts, TASK_TIMEOUT)
    assert result.returncode == 0, result.stdout
    report_start = result.stdout.index("{")  # pip's warnings, if any, come first
    resolved = json.loads(result.stdout[report_start:])["install"]
    report(pytestconfig, [f"requirements-gpu.lock resolved inside {engine.image}: {len(resolved)} packages in "
                          f"{time.monotonic() - started:.1f} s"])
    pins = {(normalised(item["metadata"]["name"]), item["metadata"]["version"]) for item in resolved}
    assert {pin for pin in pins if pin[0] not in lock_unpinned(lock)} == lock_pins(lock)
    [cpu_tensorflow] = [version for name, version in lock_pins(REPO / "requirements.lock") if name == "tensorflow-cpu"]
    assert ("tensorflow", cpu_tensorflow) in pins and any(name.startswith("nvidia-cudnn") for name, _ in pins)
