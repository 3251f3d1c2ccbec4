"""The registry stage: register a model as the next immutable version, safely under concurrent registrations.

- Trust: the evaluation must be of the model registered (its metrics.json's `model_sha256` is
  the model's fingerprint), and its operating thresholds of that model and that evaluation
  (`fracdet_core.registry.thresholds`), checked before a number is claimed; the registry's copy
  is fingerprinted again before it is published (`fracdet_core.registry.verify`).
- Allocation: version numbers are claimed with create-only writes of `claims/<N>.json`
  (`fracdet_core.registry.claims`); a writer that loses the race for N tries N + 1, so
  concurrent registrations never share or overwrite a version.
- Visibility: the SavedModel and evaluation files are copied first and `metadata.json` is
  written last, so a registration killed mid-copy leaves a claimed number without metadata:
  never listed or served, reported as incomplete, cleaned after a grace period (by
  `fracdet registry clean` or the next registration), and its number never reused.
- Idempotency: a model whose SavedModel fingerprint is already registered is not registered
  again; the existing version is returned, so a retried pipeline task adds no duplicate.
"""

from __future__ import annotations

import datetime
import json

from fracdet_core import defaults, storage
from fracdet_core.errors import FracdetError
from fracdet_core.registry.card import render_card_html, render_card_markdown
from fracdet_core.registry.claims import (
    DEFAULT_GRACE,
    AbandonedRegistrationError,
    abandon,
    check_claim_held,
    claim_version,
    clean_incomplete,
    timestamp,
)
from fracdet_core.registry.inputs import read_registration_inputs, version_metadata
from fracdet_core.registry.layout import METADATA, saved_model_uri, version_uri
from fracdet_core.registry.names import check_name
from fracdet_core.registry.verify import check_copy
from fracdet_core.registry.versions import list_versions


def register_model_version(
    model_uri: str,
    evaluation_uri: str,
    registry: str,
    name: str = defaults.MODEL_NAME,
    *,
    eda_uri: str | None = None,
    run: dict | None = None,
    abandon_after: datetime.timedelta | None = DEFAULT_GRACE,
    operating_thresholds_uri: str | None = None,
) -> tuple[dict, bool]:
    """Register the model as a new version; returns (its metadata, whether it was created now).

    Args:
        model_uri: the train output (or the SavedModel folder itself).
        evaluation_uri: the evaluate output of this very model, with metrics.json and blessing.json.
        registry: the registry root, local or gs://.
        name: the model name.
        eda_uri: the EDA output, whose stats.json summarises the training data in the model card.
        run: pipeline run details (run id, task name) recorded in the metadata.
        abandon_after: incomplete registrations whose claim is older than this are cleaned first;
            None when the caller has just cleaned them itself.
        operating_thresholds_uri: the operating thresholds that evaluation wrote, kept with the version;
            None: the evaluate output's own operating_thresholds.json.

    Raises:
        NotFoundError: no SavedModel (saved_model.pb) at `model_uri`, or no metrics.json.
        ThresholdsFileError: no operating thresholds file, or one that breaks its schema.
        ModelMismatchError: the evaluation or its operating thresholds are of another model, the thresholds
            of another evaluation, or the registry's copy differs from the model; nothing is published.
        AbandonedRegistrationError: a clean gave this registration up while it copied.
        RegistryCorruptError: a registry file it reads is damaged.
    """
    check_name(name)
    # Every input is read (and a bad one refused) before a number is claimed: a refusal costs no number.
    inputs = read_registration_inputs(model_uri, evaluation_uri, eda_uri=eda_uri,
                                      operating_thresholds_uri=operating_thresholds_uri)
    for existing in list_versions(registry, name):
        if existing["model_sha256"] == inputs.model_sha256:
            return existing, False

    if abandon_after is not None:
        clean_incomplete(registry, name, older_than=abandon_after)
    created = timestamp()
    version = claim_version(registry, name, {"source_model_uri": inputs.location, "model_sha256": inputs.model_sha256,
                                             "claimed_at": created})
    try:
        metadata = version_metadata(inputs, name=name, version=version, created=created,
                                    uri=version_uri(registry, name, version),
                                    saved_model_uri=saved_model_uri(registry, name, version), run=run)
        _publish(registry, metadata, inputs.files, inputs.eda_stats)
    except BaseException as error:
        _give_up(registry, name, version, error)
        raise
    return metadata, True


def _give_up(registry: str, name: str, version: int, error: BaseException) -> None:
    """Remove what a failed registration wrote; when a clean gave it up first, say that instead of what broke.

    Raises:
        AbandonedRegistrationError: the clean's doing (its deletions make the copy fail in odd ways).
    """
    try:
        check_claim_held(registry, name, version)
    except AbandonedRegistrationError as abandoned:
        abandon(registry, name, version)
        raise abandoned from error
    try:
        abandon(registry, name, version)
    except FracdetError as cleanup_error:
        error.add_note(f"version {version} is left incomplete: {cleanup_error}; `fracdet registry clean` removes it")


def _publish(registry: str, metadata: dict, files: dict[str, bytes], eda_stats: dict | None) -> None:
    """Copy and verify the copy, then write metadata.json, which makes the version visible.

    `files`: the evaluation files and the operating thresholds, by their name in the version, as read and checked.
    """
    name, version, target = metadata["name"], metadata["version"], metadata["uri"]
    storage.copy_tree(metadata["source_model_uri"], metadata["saved_model_uri"])
    check_copy(metadata["source_model_uri"], metadata["model_sha256"], metadata["saved_model_uri"])
    for file_name, data in files.items():
        storage.write_bytes(storage.join(target, file_name), data)
    storage.write_text(storage.join(target, "model_card.md"), render_card_markdown(metadata, eda_stats))
    storage.write_text(storage.join(target, "model_card.html"), render_card_html(metadata, eda_stats))
    check_claim_held(registry, name, version)
    storage.write_text(storage.join(target, METADATA), json.dumps(metadata, indent=2) + "\n", create_only=True)
