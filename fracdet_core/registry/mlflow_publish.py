"""Registration into an MLflow registry: the version becomes visible whole, in one call, or not at all.

Steps, each under the storage retry policy (`fracdet_core.tracking.connection`):

1. The inputs are read and checked as for the file registry (`fracdet_core.registry.inputs`):
   an evaluation or operating thresholds of another model are refused before anything is written.
2. A model already registered (a version tagged with its fingerprint) is not registered again.
3. The version's files are staged locally and uploaded as artifacts of an MLflow run (the
   pipeline run's, found by its KFP run ID; else a run of its own) under `model/`:

       model/1/saved_model.pb, variables/   the SavedModel, in a TF Serving numbered folder
       model/metadata.json                  lineage, configs, metrics (its `version` is null: MLflow numbers it)
       model/metrics.json, blessing.json, evaluation_report.html, operating_thresholds.json
       model/model_card.md, model_card.html

   The uploaded SavedModel is downloaded again and fingerprinted: a copy cut short is refused.
4. One `create_model_version` call makes the version, with its source (the run's `model/`),
   its lineage and blessing as tags and the model card as its description. The server numbers
   versions atomically, so concurrent registrations get their own numbers.

A registration killed before step 4 leaves artifacts in a run tagged
`fracdet.registration=started` and no version; one killed after it left a whole version. The
create is not repeated blindly: before a retry the version is looked for by fingerprint, since a
create whose answer was lost may have made it.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile

from fracdet_core import storage
from fracdet_core.registry.card import render_card_html, render_card_markdown
from fracdet_core.registry.claims import timestamp
from fracdet_core.registry.inputs import RegistrationInputs, version_metadata
from fracdet_core.registry.layout import METADATA
from fracdet_core.registry.verify import check_copy
from fracdet_core.tracking.connection import MlflowServer
from fracdet_core.tracking.run import RunKey, open_run

ARTIFACT_PATH = "model"
SAVED_MODEL_FOLDER = "1"  # TF Serving serves the highest numbered folder under a base path; the version has one
REGISTRATION_TAG = "fracdet.registration"
TAG_PREFIX = "fracdet."
_TAG_VALUE_LIMIT = 5000


def version_tags(inputs: RegistrationInputs, metadata: dict) -> dict[str, str]:
    """The lineage and the blessing as model version tags: what `registry list` shows and what promotion checks."""
    overall = (inputs.metrics.get("fracture") or {}).get("overall") or {}
    values = {
        "model_sha256": inputs.model_sha256,
        "evaluated_model_sha256": inputs.metrics["model_sha256"],
        "evaluation_sha256": hashlib.sha256(inputs.files["metrics.json"]).hexdigest(),
        "operating_thresholds_sha256": inputs.thresholds_record["sha256"],
        "data_uri": metadata["data_uri"],
        "data_manifest_sha256": metadata["data_manifest_sha256"],
        "git_commit": metadata["git_commit"],
        "code_version": metadata["code_version"],
        "source_model_uri": inputs.location,
        "created_at": metadata["created_at"],
        "blessed": "true" if inputs.blessed else "false",
        "blessing_reasons": "; ".join(inputs.blessing.get("reasons", [])),
        "map50": inputs.metrics.get("map50"),
        "sensitivity": overall.get("sensitivity"),
        "specificity": overall.get("specificity"),
        "kfp_run_id": (metadata["run"] or {}).get("run_id"),
    }
    return {TAG_PREFIX + key: str(value)[:_TAG_VALUE_LIMIT] for key, value in values.items() if value not in (None, "")}


def find_version_of(server: MlflowServer, name: str, model_sha256: str) -> object | None:
    """The first version of `name` tagged with this model fingerprint (MLflow's ModelVersion), or None."""
    found = server.call(f"search the versions of {name!r}", lambda: server.client.search_model_versions(
        f"name = '{name}' and tags.`{TAG_PREFIX}model_sha256` = '{model_sha256}'"))
    return min(found, key=lambda item: int(item.version)) if found else None


def ensure_registered_model(server: MlflowServer, name: str) -> None:
    """The registered model `name` exists (made now if not; one made concurrently is as good)."""
    from mlflow.exceptions import MlflowException

    def create() -> None:
        try:
            server.client.create_registered_model(name, description="Bone-fracture detector registered by fracdet.")
        except MlflowException as error:
            if error.error_code != "RESOURCE_ALREADY_EXISTS":
                raise

    server.call(f"create registered model {name!r}", create)


def publish(server: MlflowServer, inputs: RegistrationInputs, name: str, run: dict | None) -> object:
    """Upload the version's files, check the upload, and create the version; MLflow's ModelVersion.

    Raises:
        ModelMismatchError: the uploaded SavedModel is not the model registered; no version is created.
        MlflowUnavailableError: the server did not answer within the retry policy; no version is created
            unless the create itself may have landed (then the version is whole).
    """
    kfp_run = (run or {}).get("run_id") or None
    run_id = open_run(server, RunKey(name, kfp_run_id=kfp_run, model_sha256=inputs.model_sha256), f"register {name}")
    server.call(f"tag run {run_id}", lambda: server.client.set_tag(run_id, REGISTRATION_TAG, "started"))
    metadata = version_metadata(inputs, name=name, version=None, created=timestamp(), uri=None, saved_model_uri=None, run=run)
    with tempfile.TemporaryDirectory(prefix="fracdet-mlflow-") as staging:
        folder = _stage(staging, inputs, metadata)
        server.call(f"upload the version's files to run {run_id}",
                    lambda: server.client.log_artifacts(run_id, folder, ARTIFACT_PATH))
        _check_upload(server, run_id, inputs)
    source = server.call(f"read run {run_id}", lambda: server.client.get_run(run_id)).info.artifact_uri + "/" + ARTIFACT_PATH
    ensure_registered_model(server, name)
    version = server.call(
        f"create a version of {name!r}",
        lambda: server.client.create_model_version(name, source, run_id=run_id, tags=version_tags(inputs, metadata),
                                                   description=render_card_markdown(metadata, inputs.eda_stats)),
        repeatable=False, before_retry=lambda: find_version_of(server, name, inputs.model_sha256),
    )
    server.call(f"tag run {run_id}", lambda: server.client.set_tag(run_id, REGISTRATION_TAG, f"version {version.version}"))
    return version


def _stage(staging: str, inputs: RegistrationInputs, metadata: dict) -> str:
    """The version's files in a local folder, laid out as the module docstring shows; the folder."""
    folder = os.path.join(staging, ARTIFACT_PATH)
    storage.copy_tree(inputs.location, os.path.join(folder, SAVED_MODEL_FOLDER))
    check_copy(inputs.location, inputs.model_sha256, os.path.join(folder, SAVED_MODEL_FOLDER))
    for file_name, data in inputs.files.items():
        storage.write_bytes(os.path.join(folder, file_name), data)
    storage.write_text(os.path.join(folder, "model_card.md"), render_card_markdown(metadata, inputs.eda_stats))
    storage.write_text(os.path.join(folder, "model_card.html"), render_card_html(metadata, inputs.eda_stats))
    storage.write_text(os.path.join(folder, METADATA), json.dumps(metadata, indent=2) + "\n")
    return folder


def _check_upload(server: MlflowServer, run_id: str, inputs: RegistrationInputs) -> None:
    """Download the uploaded SavedModel and compare its fingerprint with the model's.

    Raises:
        ModelMismatchError: they differ.
    """
    with tempfile.TemporaryDirectory(prefix="fracdet-mlflow-check-") as folder:
        path = f"{ARTIFACT_PATH}/{SAVED_MODEL_FOLDER}"
        local = server.call(f"download {path} of run {run_id}",
                            lambda: server.client.download_artifacts(run_id, path, folder))
        check_copy(inputs.location, inputs.model_sha256, local)
