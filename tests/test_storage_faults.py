"""Whole stages against a bucket that misbehaves (`gcs_fault_proxy`), each compared with the same run without faults.

At a 10% fault rate the retry policy absorbs every fault: the outputs are the same bytes. At a
rate it cannot absorb (every request to one object fails) the stage fails with
`StorageUnavailableError` naming the operation, the object and the last status, and the
destination holds what it held before.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from gcs_fault_proxy import FaultRule
from model_builders import CONFIG, constant_model, perfect_setup
from registry_builders import evaluation_of, stand_in_model
from yolo_builders import add_image, png_bytes

from fracdet_core import storage
from fracdet_core.errors import StorageUnavailableError
from fracdet_core.evaluate.config import EvaluateConfig
from fracdet_core.evaluate.run import run_evaluation
from fracdet_core.ingest import IngestConfig, ingest_dataset
from fracdet_core.predict.config import PredictConfig
from fracdet_core.predict.run import predict
from fracdet_core.registry.aliases import read_alias
from fracdet_core.registry.run import register_model_version
from fracdet_core.registry.versions import list_versions
from fracdet_core.serving.signature import export_saved_model
from fracdet_core.storage import retries
from fracdet_core.synth import SynthConfig, generate_dataset

pytestmark = pytest.mark.slow
RATE = 0.10
REGISTRATIONS = 4
SHORT_DEADLINE = "initial=0.01 maximum=0.05 deadline=1 timeout=1"  # a fault that never passes, given up on quickly
_REGISTER_AND_PROMOTE = """
import sys
from fracdet_core.registry.aliases import promote
from fracdet_core.registry.run import register_model_version
metadata, _ = register_model_version(sys.argv[1], sys.argv[2], sys.argv[3], "fracdet")
promote(sys.argv[3], "fracdet", metadata["version"], reason=sys.argv[1])
"""


def _snapshot(folder: str) -> dict[str, bytes]:
    """Every file under `folder` by its relative name, with its bytes."""
    root = folder.rstrip("/") + "/"
    return {uri[len(root):]: storage.read_bytes(uri) for uri in storage.list_files(folder)}


def _dataset(base: Path) -> Path:
    """A small synthetic dataset plus a broken image and a bad label line, so the quarantine is not empty."""
    root = base / "dataset"
    generate_dataset(SynthConfig(train=10, val=4, size=96, seed=5), str(root), progress=False)
    add_image(root, "train", "broken.png", b"\x89PNG not really", "0 0.5 0.5 0.2 0.2\n")
    add_image(root, "train", "badline.png", png_bytes(7), "0 0.5 0.5\n")
    return root


def test_ingest_from_gs_at_a_10_percent_fault_rate_writes_the_same_bytes(faulty_gcs, tmp_path):
    proxy, bucket = faulty_gcs
    data = f"gs://{bucket}/dataset"
    storage.copy_tree(str(_dataset(tmp_path)), data)
    options = IngestConfig(shards=2, workers=2)
    ingest_dataset(data, f"gs://{bucket}/clean", options, progress=False)

    proxy.inject(rate=RATE, seed=11)
    manifest = ingest_dataset(data, f"gs://{bucket}/faulty", options, progress=False)
    faults = proxy.faults_done()
    proxy.inject()

    assert manifest["totals"]["quarantined"] == 2
    assert _snapshot(f"gs://{bucket}/faulty") == _snapshot(f"gs://{bucket}/clean")  # shards, manifest, quarantine, labels
    assert sum(faults.values()) >= 5 and len(faults) >= 3, faults  # faults did fire, of several kinds


def test_ingest_that_cannot_read_an_image_fails_naming_it_publishes_no_manifest_and_a_rerun_completes(faulty_gcs, tmp_path,
                                                                                                     monkeypatch):
    proxy, bucket = faulty_gcs
    data, out = f"gs://{bucket}/dataset", f"gs://{bucket}/out"
    storage.copy_tree(str(_dataset(tmp_path)), data)
    proxy.inject(rules=[FaultRule("503", path=r"dataset/train/images/badline\.png")])
    monkeypatch.setenv(retries.ENVIRONMENT, SHORT_DEADLINE)
    with pytest.raises(StorageUnavailableError, match=rf"read {data}/train/images/badline\.png: gave up after .* "
                                                      "last status: HTTP 503 Service Unavailable"):
        ingest_dataset(data, out, IngestConfig(shards=2, workers=1), progress=False)
    assert proxy.faults_done()["503"] >= 2
    proxy.inject()
    assert not storage.exists(storage.join(out, "manifest.json"))  # nothing reads the folder as an ingest

    monkeypatch.delenv(retries.ENVIRONMENT)  # faults off: the library's own policy
    ingest_dataset(data, out, IngestConfig(shards=2, workers=1), progress=False)  # the folder is still ingest's own
    ingest_dataset(data, f"gs://{bucket}/clean", IngestConfig(shards=2, workers=1), progress=False)
    assert _snapshot(out) == _snapshot(f"gs://{bucket}/clean")


def _registry_models(base: Path) -> list[tuple[str, str]]:
    """Distinct stand-in models, each with an evaluation of itself."""
    return [(model := stand_in_model(base / f"model-{index}", f"model {index}", assets=3),
             evaluation_of(model, base / f"evaluation-{index}", blessed=True)) for index in range(REGISTRATIONS)]


def _versions_by_model(registry: str) -> dict[str, dict[str, bytes]]:
    """Each registered model's version folder, its files by name, leaving out the two that name the version and the time."""
    found = {}
    for item in list_versions(registry, "fracdet"):
        files = _snapshot(item["uri"])
        assert storage.tree_sha256(item["saved_model_uri"]) == item["model_sha256"]  # complete
        numbered = f"{item['version']}/"  # the SavedModel's folder is named by the version, as TF Serving wants
        found[item["model_sha256"]] = {name.replace(numbered, "<version>/", 1) if name.startswith(numbered) else name: data
                                       for name, data in files.items()
                                       if name not in ("metadata.json", "model_card.md", "model_card.html")}
    return found


def test_four_concurrent_registrations_at_a_10_percent_fault_rate(faulty_gcs, tmp_path):
    proxy, bucket = faulty_gcs
    models = _registry_models(tmp_path)
    clean, faulty = f"gs://{bucket}/clean", f"gs://{bucket}/faulty"
    for model, evaluation in models:
        register_model_version(model, evaluation, clean, "fracdet")

    proxy.inject(rate=RATE, seed=23)
    processes = [subprocess.Popen([sys.executable, "-c", _REGISTER_AND_PROMOTE, model, evaluation, faulty],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for model, evaluation in models]
    errors = [process.communicate(timeout=300)[1] for process in processes]
    faults = proxy.faults_done()
    proxy.inject()

    assert [process.returncode for process in processes] == [0] * REGISTRATIONS, errors
    assert [item["version"] for item in list_versions(faulty, "fracdet")] == [1, 2, 3, 4]
    claims = storage.list_files(f"{faulty}/fracdet/claims")
    assert [uri.rsplit("/", 1)[1] for uri in claims] == ["1.json", "2.json", "3.json", "4.json"]  # no number taken twice
    assert _versions_by_model(faulty) == _versions_by_model(clean)  # the same four models, byte for byte
    alias = read_alias(faulty, "fracdet")
    assert sorted(alias["stack"]) == [1, 2, 3, 4] and alias["version"] == alias["stack"][-1]
    assert [event["previous"] for event in alias["history"]] == [None, *alias["stack"][:-1]]  # no move lost
    assert sum(faults.values()) >= 5 and len(faults) >= 3, faults


@pytest.fixture(scope="module")
def constant_saved_model(tmp_path_factory) -> str:
    base = tmp_path_factory.mktemp("constant")
    keras_model, _ = constant_model()
    export_saved_model(keras_model, CONFIG, str(base / "model" / "saved_model"))
    return str(base / "model")


def _images(bucket: str, folder: str, count: int) -> str:
    uri = f"gs://{bucket}/{folder}"
    for index in range(count):
        storage.write_bytes(f"{uri}/image-{index}.png", png_bytes(index))
    return uri


def test_predict_publishing_to_gs_leaves_the_old_complete_set_or_the_new_one(faulty_gcs, constant_saved_model, monkeypatch):
    proxy, bucket = faulty_gcs
    config = PredictConfig(threshold=0.5, show_progress=False)
    model = f"gs://{bucket}/model"  # loaded through the storage layer too, faults and all
    storage.copy_tree(constant_saved_model, model)
    first, second = _images(bucket, "first", 3), _images(bucket, "second", 2)
    predict(model, [second], f"gs://{bucket}/reference", config)
    out = f"gs://{bucket}/out"
    predict(model, [first], out, config)

    proxy.inject(rate=RATE, seed=5)
    predict(model, [second], out, config)
    faults = proxy.faults_done()
    assert sum(faults.values()) >= 3, faults
    proxy.inject()
    published = _snapshot(out)
    assert published == _snapshot(f"gs://{bucket}/reference")  # the new complete set, byte for byte

    into_out = FaultRule("503", path=r"/(copyTo|rewriteTo)/b/[^/]+/o/out/summary\.csv", method="POST")
    proxy.inject(rules=[into_out])  # the new summary.csv never lands in --out, after other files did
    monkeypatch.setenv(retries.ENVIRONMENT, SHORT_DEADLINE)
    gave_up = rf"^copy \S+/summary\.csv to {out}/summary\.csv: gave up .*HTTP 503 Service Unavailable$"
    with pytest.raises(StorageUnavailableError, match=gave_up):
        predict(model, [first], out, config)
    assert proxy.faults_done()["503"] >= 2
    proxy.inject()
    assert _snapshot(out) == published  # the old complete set: files put back, record last
    assert json.loads(published[".fracdet-predict.json"])["state"] == "complete"
    assert [name for name in _all_object_names(bucket) if ".tmp-" in name] == []  # no staging prefix left behind


def _all_object_names(bucket: str) -> list[str]:
    """Every object in the bucket, staging prefixes too (which `storage.list_files` leaves out)."""
    from fracdet_core.storage.gcs import _client

    return [blob.name for blob in _client().list_blobs(bucket)]


def _measurements(metrics_json: bytes) -> dict:
    """metrics.json without the latency and the time, which differ between two runs of the same evaluation."""
    return {key: value for key, value in json.loads(metrics_json).items() if key not in ("latency_ms", "evaluated_at")}


def test_evaluate_reading_and_publishing_on_gs_at_a_10_percent_fault_rate(faulty_gcs, tmp_path):
    proxy, bucket = faulty_gcs
    model, ingest = perfect_setup(tmp_path)
    data, clean, out = f"gs://{bucket}/ingest", f"gs://{bucket}/clean", f"gs://{bucket}/out"
    storage.copy_tree(ingest, data)
    config = EvaluateConfig(bootstrap_resamples=20, latency_repeats=1, show_progress=False)
    run_evaluation(model, data, clean, config=config)

    proxy.inject(rate=RATE, seed=3)
    run_evaluation(model, data, out, config=config)
    faults = proxy.faults_done()
    proxy.inject()

    expected, published = _snapshot(clean), _snapshot(out)
    assert sorted(published) == sorted(expected) == [".fracdet-evaluate.json", "blessing.json", "metrics.json",
                                                     "operating_thresholds.json", "report.html"]
    assert published["blessing.json"] == expected["blessing.json"]
    assert published[".fracdet-evaluate.json"] == expected[".fracdet-evaluate.json"]
    assert _measurements(published["metrics.json"]) == _measurements(expected["metrics.json"])
    assert sum(faults.values()) >= 3, faults
