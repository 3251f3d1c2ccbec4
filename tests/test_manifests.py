"""manifests/: each overlay renders with kustomize, and every object it renders validates
(manifest_checks.py says with what); the serving side: the InferenceService of each overlay.
test_training_manifests.py checks the TrainingRuntime and the training launcher's RBAC.
"""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml
from manifest_checks import KUBECTL, MANIFESTS, by_kind, render, rendered, validate

from fracdet_core.registry.layout import saved_model_uri, version_uri

OVERLAYS = {"dev": "fracdet-dev", "prod": "fracdet"}
PLACEHOLDERS = ("PROJECT_ID", "BUCKET", "CHAMPION")


@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_overlay_renders_the_expected_objects_in_its_namespace(overlay: str) -> None:
    objects = rendered(overlay)
    assert sorted((obj["kind"], obj["metadata"]["name"]) for obj in objects) == [
        ("InferenceService", "fracdet"),
        ("Role", "fracdet-pipeline-runner"),
        ("Role", "fracdet-training-launcher"),
        ("RoleBinding", "fracdet-pipeline-runner"),
        ("RoleBinding", "fracdet-training-launcher"),
        ("ServiceAccount", "fracdet-pipelines"),
        ("ServiceAccount", "fracdet-serving"),
        ("TrainingRuntime", "fracdet-tensorflow"),
    ]
    assert {obj["metadata"]["namespace"] for obj in objects} == {OVERLAYS[overlay]}
    for binding in by_kind(objects, "RoleBinding"):
        role = {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": binding["metadata"]["name"]}
        assert binding["roleRef"] == role
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "fracdet-pipelines", "namespace": OVERLAYS[overlay]}]
    for account in by_kind(objects, "ServiceAccount"):
        email = account["metadata"]["annotations"]["iam.gke.io/gcp-service-account"]
        assert re.fullmatch(r"[a-z][a-z0-9-]{4,28}[a-z0-9]@[a-z][a-z0-9-]{4,28}[a-z0-9]\.iam\.gserviceaccount\.com", email), email
    [isvc] = by_kind(objects, "InferenceService")
    assert isvc["spec"]["predictor"]["serviceAccountName"] == "fracdet-serving"
    text = yaml.safe_dump_all(objects)
    assert not [p for p in PLACEHOLDERS if p in text], "an overlay must replace every placeholder of the base"


@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_every_rendered_object_validates(overlay: str) -> None:
    for obj in rendered(overlay):
        validate(obj)


def test_the_base_renders_and_validates() -> None:
    for obj in render(MANIFESTS / "base"):
        validate(obj)


@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_the_served_model_runs_with_onednn_capped_at_avx2(overlay: str) -> None:
    """Serving nodes often have AVX-512, where TensorFlow 2.20-2.21's oneDNN kernels corrupt memory (tensorflow_cpu.py)."""
    [isvc] = by_kind(rendered(overlay), "InferenceService")
    assert {"name": "ONEDNN_MAX_CPU_ISA", "value": "AVX2"} in isvc["spec"]["predictor"]["model"]["env"]


@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_storage_uri_is_a_registry_version_folder_that_tf_serving_can_load(overlay: str) -> None:
    """TF Serving's base path holds numbered versions: the registry's version folder, not the SavedModel in it."""
    [isvc] = by_kind(rendered(overlay), "InferenceService")
    model = isvc["spec"]["predictor"]["model"]
    assert model["modelFormat"]["name"] == "tensorflow"
    uri = model["storageUri"]
    match = re.fullmatch(r"(gs://[a-z0-9][a-z0-9._-]+(?:/[^/]+)*)/([^/]+)/versions/(\d+)", uri)
    assert match, f"{overlay}: storageUri {uri!r} is not <registry>/<name>/versions/<N> on GCS"
    registry, name, version = match[1], match[2], int(match[3])
    assert version_uri(registry, name, version) == uri
    assert saved_model_uri(registry, name, version) == f"{uri}/{version}"


def test_prod_serves_with_more_replicas_and_resources_than_dev() -> None:
    [dev] = by_kind(rendered("dev"), "InferenceService")
    [prod] = by_kind(rendered("prod"), "InferenceService")
    assert (dev["spec"]["predictor"]["minReplicas"], prod["spec"]["predictor"]["minReplicas"]) == (1, 2)
    assert prod["spec"]["predictor"]["maxReplicas"] >= prod["spec"]["predictor"]["minReplicas"]
    assert prod["spec"]["predictor"]["model"]["resources"]["limits"] == {"cpu": "2", "memory": "4Gi"}


def test_pointing_an_overlay_at_a_new_champion_is_one_line_in_champion_env(tmp_path: Path) -> None:
    """docs/deployment.md's procedure: rewrite champion.env, re-render; nothing else changes."""
    shutil.copytree(MANIFESTS, tmp_path / "manifests")
    new_uri = "gs://fracdet-prod/registry/fracdet/versions/7"
    (tmp_path / "manifests/overlays/prod/champion.env").write_text(f"storageUri={new_uri}\n")
    objects = render(tmp_path / "manifests/overlays/prod")
    [isvc] = by_kind(tuple(objects), "InferenceService")
    assert isvc["spec"]["predictor"]["model"]["storageUri"] == new_uri
    assert not by_kind(tuple(objects), "ConfigMap"), "the champion ConfigMap is local-config: kustomize must not emit it"


def test_the_gpu_serving_component_adds_a_gpu_and_validates(tmp_path: Path) -> None:
    shutil.copytree(MANIFESTS, tmp_path / "manifests")
    overlay = tmp_path / "manifests/overlays/prod-gpu"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text("resources:\n  - ../prod\ncomponents:\n  - ../../components/gpu-serving\n")
    objects = render(overlay)
    for obj in objects:
        validate(obj)
    [isvc] = by_kind(tuple(objects), "InferenceService")
    assert isvc["spec"]["predictor"]["model"]["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert isvc["spec"]["predictor"]["model"]["runtimeVersion"].endswith("-gpu")


# The validators reject what they should: without these, a validator that accepts anything passes.

def test_kustomize_rejects_an_overlay_with_a_missing_resource(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources:\n  - does-not-exist.yaml\n")
    result = subprocess.run([KUBECTL, "kustomize", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "does-not-exist.yaml" in result.stderr


@pytest.mark.parametrize("kind, break_it", [
    ("ServiceAccount", lambda obj: obj.update(automountServiceAccountTokens=False)),
    ("Role", lambda obj: obj["rules"][0].update(verb=["get"])),
    ("RoleBinding", lambda obj: obj["roleRef"].pop("kind")),
], ids=["unknown-field", "misspelt-rule-field", "missing-required-field"])
def test_kubernetes_validate_rejects_a_broken_core_object(kind: str, break_it) -> None:
    obj = copy.deepcopy(by_kind(rendered("dev"), kind)[0])
    validate(obj)
    break_it(obj)
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(obj)


@pytest.mark.parametrize("break_it", [
    lambda isvc: isvc["spec"]["predictor"]["model"].update(storageURI=isvc["spec"]["predictor"]["model"].pop("storageUri")),
    lambda isvc: isvc["spec"]["predictor"]["model"]["modelFormat"].pop("name"),
    lambda isvc: isvc["spec"]["predictor"].update(minReplicas="2"),
    lambda isvc: isvc["spec"]["predictor"]["model"]["resources"].update(limit={"cpu": "1"}),
    lambda isvc: isvc["metadata"].update(name="Fracdet"),
    lambda isvc: isvc["spec"].update(predictor_typo=isvc["spec"].pop("predictor")),
], ids=["misspelt-storageUri", "format-without-name", "replicas-as-string", "misspelt-resources-field", "name-with-uppercase",
        "no-predictor"])
def test_the_kserve_schema_rejects_a_broken_inference_service(break_it) -> None:
    isvc = copy.deepcopy(by_kind(rendered("prod"), "InferenceService")[0])
    validate(isvc)
    break_it(isvc)
    with pytest.raises(jsonschema.ValidationError):
        validate(isvc)


def test_a_kind_with_no_validator_fails_instead_of_passing_silently() -> None:
    with pytest.raises(kubernetes_validate.SchemaNotFoundError):
        validate({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}})
