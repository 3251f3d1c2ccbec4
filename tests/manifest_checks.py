"""Rendering manifests/ with kustomize and validating each object with the validator for its kind.

Core kinds are checked by kubernetes-validate against the strict schema of KUBERNETES_VERSION
(an unknown field fails); kubernetes-validate skips custom resources without a word, so the
InferenceService is checked with jsonschema against manifests/schemas/, KServe's own field
names with additionalProperties false, and Trainer's and Training Operator's kinds against their
pinned CRDs (crd_schemas.py). A kind with no validator fails.
"""

from __future__ import annotations

import json
import subprocess
import sys
from functools import cache
from pathlib import Path

import jsonschema
import kubernetes_validate
import yaml
from crd_schemas import is_validated_kind, validate_custom_resource
from referencing import Registry, Resource

REPO = Path(__file__).resolve().parents[1]
MANIFESTS = REPO / "manifests"
KUBECTL = str(Path(sys.executable).with_name("kubectl"))
# The oldest Kubernetes the manifests must work on (GKE's channels carry newer ones too): a field
# that only a newer Kubernetes knows fails here, not on an older cluster. Raise it with the cluster.
KUBERNETES_VERSION = "1.34"
ISVC_SCHEMA = MANIFESTS / "schemas" / "inferenceservice-v1beta1.schema.json"
KSERVE_KIND = ("serving.kserve.io/v1beta1", "InferenceService")


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
    """Validate one object with the validator for its kind; raise on a problem."""
    if (obj["apiVersion"], obj["kind"]) == KSERVE_KIND:
        isvc_validator().validate(obj)
    elif is_validated_kind(obj):
        validate_custom_resource(obj)
    else:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


def by_kind(objects: tuple[dict, ...] | list[dict], kind: str) -> list[dict]:
    return [obj for obj in objects if obj["kind"] == kind]


def one(objects: tuple[dict, ...] | list[dict], kind: str, name: str) -> dict:
    """The object of `kind` named `name`; fails the test unless there is exactly one."""
    found = [obj for obj in by_kind(objects, kind) if obj["metadata"]["name"] == name]
    assert len(found) == 1, f"{len(found)} {kind} objects named {name!r}"
    return found[0]
