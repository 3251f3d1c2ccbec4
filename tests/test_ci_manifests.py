"""manifests/components/kubeflow-ci-contributor*: the identities the retrain workflow reaches a multi-user Kubeflow as.

Rendered as docs/kubeflow.md tells a user to (an overlay in the profile's namespace on top of
dev, the IAP component's email replaced by a patch) and validated as every other object
(manifest_checks.py): each identity is bound to the platform's ClusterRole kubeflow-edit in the
profile, which is what the KFP API's access review checks, and no Secret holds a token.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from manifest_checks import MANIFESTS, by_kind, one, render, validate

PROFILE = "team-a"
CI_EMAIL = "fracdet-ci@team-a-project.iam.gserviceaccount.com"
KUBEFLOW_EDIT = {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "kubeflow-edit"}
IAP_PATCH = ("  - target: {kind: RoleBinding, name: fracdet-ci-iap-kubeflow-edit}\n"
             f"    patch: '[{{\"op\": \"replace\", \"path\": \"/subjects/0/name\", \"value\": \"{CI_EMAIL}\"}}]'\n")


@pytest.fixture(scope="module")
def profile_objects(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    """dev in the profile's namespace with both CI components, the IAP one's email patched, rendered."""
    folder = tmp_path_factory.mktemp("ci-manifests")
    shutil.copytree(MANIFESTS, folder / "manifests")
    overlay = folder / "manifests" / "overlays" / "profile"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text(
        f"namespace: {PROFILE}\nresources:\n  - ../dev\ncomponents:\n  - ../../components/kubeflow-ci-contributor\n"
        f"  - ../../components/kubeflow-ci-contributor-iap\npatches:\n{IAP_PATCH}")
    return render(overlay)


def test_every_object_validates_in_the_profiles_namespace(profile_objects: list[dict]) -> None:
    for obj in profile_objects:
        validate(obj)
    assert {obj["metadata"]["namespace"] for obj in profile_objects} == {PROFILE}
    assert not by_kind(profile_objects, "Secret"), "a token is made per use with `kubectl create token`, never stored"


def test_the_token_identity_is_a_contributor_of_the_profile(profile_objects: list[dict]) -> None:
    account = one(profile_objects, "ServiceAccount", "fracdet-ci")
    assert account["automountServiceAccountToken"] is False  # CI sends a token made for the gateway, no pod mounts one
    binding = one(profile_objects, "RoleBinding", "fracdet-ci-kubeflow-edit")
    assert binding["roleRef"] == KUBEFLOW_EDIT
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "fracdet-ci", "namespace": PROFILE}]


def test_the_iap_identity_is_the_ci_service_accounts_email(profile_objects: list[dict]) -> None:
    binding = one(profile_objects, "RoleBinding", "fracdet-ci-iap-kubeflow-edit")
    assert binding["roleRef"] == KUBEFLOW_EDIT
    assert binding["subjects"] == [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": CI_EMAIL}]


def test_the_iap_component_without_its_patch_keeps_a_placeholder_that_says_so(tmp_path: Path) -> None:
    """An overlay that forgets the patch binds no real account; the placeholder shows it in `kubectl kustomize`."""
    shutil.copytree(MANIFESTS, tmp_path / "manifests")
    overlay = tmp_path / "manifests" / "overlays" / "profile"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text(
        f"namespace: {PROFILE}\nresources:\n  - ../dev\ncomponents:\n  - ../../components/kubeflow-ci-contributor-iap\n")
    binding = one(render(overlay), "RoleBinding", "fracdet-ci-iap-kubeflow-edit")
    assert binding["subjects"][0]["name"] == "fracdet-ci@PROJECT_ID.iam.gserviceaccount.com"
