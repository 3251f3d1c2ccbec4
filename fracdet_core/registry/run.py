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

from fracdet_core import __version__, defaults, storage
from fracdet_core.errors import ConfigError, FracdetError, NotFoundError
from fracdet_core.output_folder import EVALUATE, check_complete
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
from fracdet_core.registry.layout import METADATA, THRESHOLDS_FILE, saved_model_uri, thresholds_uri, version_uri
from fracdet_core.registry.lineage import git_commit
from fracdet_core.registry.names import check_name
from fracdet_core.registry.thresholds import METADATA_FIELD as THRESHOLDS_FIELD
from fracdet_core.registry.thresholds import read_for_registration
from fracdet_core.registry.verify import check_copy, check_evaluation_of
from fracdet_core.registry.versions import list_versions
from fracdet_core.serving.saved_model import saved_model_location

EVALUATION_FILES = {"metrics.json": "metrics.json", "blessing.json": "blessing.json", "report.html": "evaluation_report.html"}


def _input_json(uri: str) -> tuple[bytes, dict] | None:
    """An input file's bytes (published as read, so what was checked is what is published) and its JSON object."""
    if not storage.exists(uri):
        return None
    data = storage.read_bytes(uri)
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ConfigError(f"{uri}: not valid JSON ({error})") from error
    if not isinstance(value, dict):
        raise ConfigError(f"{uri}: a JSON object was expected, found {type(value).__name__}")
    return data, value


def _input_object(uri: str) -> dict | None:
    found = _input_json(uri)
    return found[1] if found else None


def _metadata(name: str, version: int, registry: str, location: str, fingerprint: str, inputs: dict[str, dict | None],
              created: str, run: dict | None) -> dict:
    metrics, blessing = inputs["metrics"], inputs["blessing"] or {}
    return {
        "name": name,
        "version": version,
        "created_at": created,
        "uri": version_uri(registry, name, version),
        "saved_model_uri": saved_model_uri(registry, name, version),
        "source_model_uri": location,
        "model_sha256": fingerprint,
        "evaluated_model_sha256": metrics["model_sha256"],
        "data_uri": metrics.get("data"),
        "data_manifest_sha256": metrics.get("data_manifest_sha256"),
        "code_version": __version__,
        "git_commit": git_commit(),
        "training": inputs["training"],
        "train_summary": inputs["train_summary"],
        "metrics": {key: metrics.get(key) for key in ("map50", "map50_ci95", "map50_95", "ar100", "per_class_ap", "fracture",
                                                      "calibration_fracture", "partition", "froc", "latency_ms", "split",
                                                      "images")},
        THRESHOLDS_FIELD: inputs["operating_thresholds"],
        "blessed": blessing.get("blessed") is True,
        "blessing_reasons": blessing.get("reasons", []),
        "run": run or {},
    }


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
    location = saved_model_location(model_uri)
    fingerprint = storage.tree_sha256(location)
    evaluation = _read_evaluation(location, fingerprint, evaluation_uri)
    thresholds, thresholds_record = read_for_registration(
        operating_thresholds_uri or storage.join(evaluation_uri, THRESHOLDS_FILE), location, fingerprint,
        storage.join(evaluation_uri, "metrics.json"), evaluation["metrics.json"][0],
    )
    for existing in list_versions(registry, name):
        if existing["model_sha256"] == fingerprint:
            return existing, False
    # Every input is read (and a bad one refused) before a number is claimed: a refusal costs no number.
    inputs = _read_inputs(location, evaluation, eda_uri) | {"operating_thresholds": thresholds_record}
    checked = {file_name: data for file_name, (data, _) in evaluation.items()}

    if abandon_after is not None:
        clean_incomplete(registry, name, older_than=abandon_after)
    created = timestamp()
    version = claim_version(registry, name, {"source_model_uri": location, "model_sha256": fingerprint, "claimed_at": created})
    try:
        metadata = _metadata(name, version, registry, location, fingerprint, inputs, created, run)
        _publish(registry, metadata, evaluation_uri, checked | {THRESHOLDS_FILE: thresholds}, inputs["eda_stats"])
    except BaseException as error:
        _give_up(registry, name, version, error)
        raise
    return metadata, True


def _read_evaluation(location: str, fingerprint: str, evaluation_uri: str) -> dict[str, tuple[bytes, dict]]:
    """metrics.json and, when present, blessing.json, as read (bytes and JSON), checked to be of the model at `location`.

    Raises:
        NotFoundError: no metrics.json.
        ModelMismatchError: the evaluation is of another model.
    """
    check_complete(evaluation_uri, EVALUATE)  # a publish on gs:// cut short may mix two evaluations
    metrics_file = _input_json(storage.join(evaluation_uri, "metrics.json"))
    if metrics_file is None:
        raise NotFoundError(f"{evaluation_uri}: no metrics.json; register takes the output of `fracdet evaluate`")
    blessing_file = _input_json(storage.join(evaluation_uri, "blessing.json"))
    check_evaluation_of(location, fingerprint, evaluation_uri, metrics_file[1], blessing_file[1] if blessing_file else None)
    return {"metrics.json": metrics_file} | ({"blessing.json": blessing_file} if blessing_file else {})


def _read_inputs(location: str, evaluation: dict[str, tuple[bytes, dict]], eda_uri: str | None) -> dict[str, dict | None]:
    """What the metadata and the model card record: the evaluation, the training records beside the model, the EDA."""
    source_root = location[: -len("/saved_model")] if location.rstrip("/").endswith("/saved_model") else location
    blessing = evaluation.get("blessing.json")
    return {"metrics": evaluation["metrics.json"][1], "blessing": blessing[1] if blessing else None,
            "training": _input_object(storage.join(source_root, "model_config.json")),
            "train_summary": _input_object(storage.join(source_root, "train_summary.json")),
            "eda_stats": _input_object(storage.join(eda_uri, "stats.json")) if eda_uri else None}


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


def _publish(registry: str, metadata: dict, evaluation_uri: str, checked: dict[str, bytes], eda_stats: dict | None) -> None:
    """Copy and verify the copy, then write metadata.json, which makes the version visible.

    `checked`: the evaluation files and the operating thresholds already read and checked, published as they were read.
    """
    name, version, target = metadata["name"], metadata["version"], metadata["uri"]
    storage.copy_tree(metadata["source_model_uri"], metadata["saved_model_uri"])
    check_copy(metadata["source_model_uri"], metadata["model_sha256"], metadata["saved_model_uri"])
    for source_name, target_name in EVALUATION_FILES.items():
        source = storage.join(evaluation_uri, source_name)
        data = checked[source_name] if source_name in checked else storage.read_bytes(source) if storage.exists(source) else None
        if data is not None:
            storage.write_bytes(storage.join(target, target_name), data)
    storage.write_bytes(thresholds_uri(registry, name, version), checked[THRESHOLDS_FILE])
    storage.write_text(storage.join(target, "model_card.md"), render_card_markdown(metadata, eda_stats))
    storage.write_text(storage.join(target, "model_card.html"), render_card_html(metadata, eda_stats))
    check_claim_held(registry, name, version)
    storage.write_text(storage.join(target, METADATA), json.dumps(metadata, indent=2) + "\n", create_only=True)
