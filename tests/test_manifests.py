"""manifests/: each overlay renders with kustomize, and every object it renders validates.

Core kinds are checked by kubernetes-validate against the strict schema of KUBERNETES_VERSION
(an unknown field fails); kubernetes-validate skips custom resources without a word, so the
InferenceService is checked with jsonschema against manifests/schemas/, KServe's own field
names with additionalProperties false. A kind with neither validator fails the test.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml
from referencing import Registry, Resource

from fracdet_core.registry.layout import saved_model_uri, version_uri

REPO = Path(__file__).resolve().parents[1]
MANIFESTS = REPO / "manifests"
KUBECTL = str(Path(sys.executable).with_name("kubectl"))
# The oldest Kubernetes the manifests must work on (GKE's channels carry newer ones too): a field
# that only a newer Kubernetes knows fails here, not on an older cluster. Raise it with the cluster.
KUBERNETES_VERSION = "1.34"
OVERLAYS = {"dev": "fracdet-dev", "prod": "fracdet"}
ISVC_SCHEMA = MANIFESTS / "schemas" / "inferenceservice-v1beta1.schema.json"
KSERVE_KIND = ("serving.kserve.io/v1beta1", "InferenceService")
PLACEHOLDERS = ("PROJECT_ID", "BUCKET", "CHAMPION")


def render(folder: Path) -> list[dict]:
    """`kubectl kustomize folder`, parsed; fails the test with kustomize's message."""
    result = subprocess.run([KUBECTL, "kustomize", str(folder)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"kubectl kustomize {folder}: {result.stderr}"
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@cache
def rendered(overlay: str) -> tuple[dict, ...]:
    return tuple(render(MANIFESTS / "overlays" / overlay))


@cache
def isvc_validator() -> jsonschema.Draft202012Validator:
    """The InferenceService schema, its Kubernetes core types resolved from kubernetes-validate."""
    definitions = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema" / f"v{KUBERNETES_VERSION}.0-local-strict"
    core = Resource.from_contents(json.loads((definitions / "_definitions.json").read_text()))
    schema = json.loads(ISVC_SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, registry=Registry().with_resource(core.id(), core))


def validate(obj: dict) -> None:
    """Validate one rendered object with the validator for its kind; raise on a problem."""
    if (obj["apiVersion"], obj["kind"]) == KSERVE_KIND:
        isvc_validator().validate(obj)
    else:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


def by_kind(objects: tuple[dict, ...], kind: str) -> list[dict]:
    return [obj for obj in objects if obj["kind"] == kind]


@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_overlay_renders_the_expected_objects_in_its_namespace(overlay: str) -> None:
    objects = rendered(overlay)
    assert sorted((obj["kind"], obj["metadata"]["name"]) for obj in objects) == [
        ("InferenceService", "fracdet"),
        ("Role", "fracdet-pipeline-runner"),
        ("RoleBinding", "fracdet-pipeline-runner"),
        ("ServiceAccount", "fracdet-pipelines"),
        ("ServiceAccount", "fracdet-serving"),
    ]
    assert {obj["metadata"]["namespace"] for obj in objects} == {OVERLAYS[overlay]}
    [binding] = by_kind(objects, "RoleBinding")
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
