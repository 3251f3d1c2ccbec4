"""Strict validators for the custom resources fracdet creates, from the CRDs pinned in manifests/schemas/crds/.

An API server prunes fields a CRD's schema does not know, or refuses them under strict field
validation (`kubectl --validate=strict`, the default since Kubernetes 1.27): here every object
schema that lists its properties and does not preserve unknown fields gets
`additionalProperties: false`, so a misspelt or misplaced field fails the test that sent it.
"""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path

import jsonschema
import yaml

CRD_FOLDER = Path(__file__).resolve().parents[1] / "manifests" / "schemas" / "crds"
CRD_FILES = {
    ("trainer.kubeflow.org/v1alpha1", "TrainJob"): "trainer.kubeflow.org_trainjobs.yaml",
    ("trainer.kubeflow.org/v1alpha1", "TrainingRuntime"): "trainer.kubeflow.org_trainingruntimes.yaml",
    ("kubeflow.org/v1", "TFJob"): "kubeflow.org_tfjobs.yaml",
}
METADATA_SCHEMA = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"},
        "namespace": {"type": "string"},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
    },
    "additionalProperties": False,
}


def _strict(schema: object) -> object:
    """`schema` with unknown properties refused wherever the CRD lists an object's properties."""
    if isinstance(schema, list):
        return [_strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    strict = {key: _strict(value) for key, value in schema.items()}
    if "properties" in schema and "additionalProperties" not in schema and not schema.get("x-kubernetes-preserve-unknown-fields"):
        strict["additionalProperties"] = False
    return strict


@cache
def _validator(api_version: str, kind: str) -> jsonschema.Draft7Validator:
    crd = yaml.safe_load((CRD_FOLDER / CRD_FILES[(api_version, kind)]).read_text())
    group, version = api_version.split("/")
    assert crd["spec"]["group"] == group and crd["spec"]["names"]["kind"] == kind
    [served] = [entry for entry in crd["spec"]["versions"] if entry["name"] == version]
    schema = copy.deepcopy(served["schema"]["openAPIV3Schema"])
    schema["properties"]["metadata"] = METADATA_SCHEMA
    schema["required"] = sorted({*schema.get("required", []), "apiVersion", "kind", "metadata"})
    schema["properties"]["apiVersion"] = {"const": api_version}
    schema["properties"]["kind"] = {"const": kind}
    return jsonschema.Draft7Validator(_strict(schema))


def is_validated_kind(obj: dict) -> bool:
    """Whether a pinned CRD covers `obj`'s apiVersion and kind."""
    return (obj.get("apiVersion"), obj.get("kind")) in CRD_FILES


def crd_errors(obj: dict) -> list[str]:
    """Every way `obj` breaks its CRD's schema, as `path: message` lines; empty when it is valid."""
    validator = _validator(obj["apiVersion"], obj["kind"])
    return [f"{'.'.join(str(part) for part in error.absolute_path) or '(root)'}: {error.message}"
            for error in sorted(validator.iter_errors(obj), key=lambda error: list(map(str, error.absolute_path)))]


def validate_custom_resource(obj: dict) -> None:
    """Raise AssertionError naming every schema violation of `obj`."""
    errors = crd_errors(obj)
    assert not errors, f"{obj['kind']} {obj['metadata'].get('name')!r} breaks its CRD's schema:\n" + "\n".join(errors)
