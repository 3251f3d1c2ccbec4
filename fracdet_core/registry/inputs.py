"""What a registration registers, read and checked once, before any backend claims a version number.

Both registry backends (fracdet's own layout, `fracdet_core.registry.run`; an MLflow registry,
`fracdet_core.registry.mlflow`) take the same inputs and refuse the same ones: the evaluation
and its operating thresholds must be of the model registered (`fracdet_core.registry.verify`,
`fracdet_core.registry.thresholds`). The files are kept as read, so what was checked is what is
published.
"""

from __future__ import annotations

import dataclasses

from fracdet_core import __version__, storage
from fracdet_core.errors import ConfigError, NotFoundError
from fracdet_core.json_object import parse_json_object
from fracdet_core.operating_thresholds import FILE_NAME as THRESHOLDS_FILE
from fracdet_core.output_folder import EVALUATE, check_complete
from fracdet_core.registry.lineage import git_commit
from fracdet_core.registry.thresholds import METADATA_FIELD as THRESHOLDS_FIELD
from fracdet_core.registry.thresholds import read_for_registration
from fracdet_core.registry.verify import check_evaluation_of
from fracdet_core.serving.saved_model import saved_model_location

# The evaluation's files a version keeps: name in the evaluation -> name in the version.
EVALUATION_FILES = {"metrics.json": "metrics.json", "blessing.json": "blessing.json", "report.html": "evaluation_report.html"}
_RECORDED_METRICS = ("map50", "map50_ci95", "map50_95", "ar100", "per_class_ap", "fracture", "calibration_fracture",
                     "partition", "froc", "latency_ms", "split", "images")


@dataclasses.dataclass(frozen=True)
class RegistrationInputs:
    """A model and its evaluation, checked to belong together.

    Attributes:
        location: the SavedModel folder (holds saved_model.pb).
        model_sha256: its `storage.tree_sha256` fingerprint.
        files: the evaluation's files and the operating thresholds, by their name in the version, as read.
        metrics, blessing: metrics.json and blessing.json ({} when there is none).
        thresholds_record: what the version's metadata records of its operating thresholds.
        training, train_summary: model_config.json and train_summary.json beside the SavedModel, when there.
        eda_stats: the EDA's stats.json, summarised in the model card, when given.
    """

    location: str
    model_sha256: str
    files: dict[str, bytes]
    metrics: dict
    blessing: dict
    thresholds_record: dict
    training: dict | None
    train_summary: dict | None
    eda_stats: dict | None

    @property
    def blessed(self) -> bool:
        return self.blessing.get("blessed") is True


def read_registration_inputs(model_uri: str, evaluation_uri: str, *, eda_uri: str | None = None,
                             operating_thresholds_uri: str | None = None) -> RegistrationInputs:
    """Read the model's fingerprint, its evaluation and its operating thresholds, and refuse any that is not of the model.

    Args:
        model_uri: the train output (or the SavedModel folder itself).
        evaluation_uri: the evaluate output of this very model, with metrics.json and blessing.json.
        eda_uri: the EDA output, whose stats.json summarises the training data in the model card.
        operating_thresholds_uri: the operating thresholds file; None: the evaluate output's own.

    Raises:
        NotFoundError: no SavedModel at `model_uri`, or no metrics.json.
        ThresholdsFileError: no operating thresholds file, or one that breaks its schema.
        ModelMismatchError: the evaluation or its operating thresholds are of another model, or the thresholds of
            another evaluation.
        ConfigError: an input file that is not a JSON object.
    """
    location = saved_model_location(model_uri)
    fingerprint = storage.tree_sha256(location)
    evaluation = _read_evaluation(location, fingerprint, evaluation_uri)
    thresholds, thresholds_record = read_for_registration(
        operating_thresholds_uri or storage.join(evaluation_uri, THRESHOLDS_FILE), location, fingerprint,
        storage.join(evaluation_uri, "metrics.json"), evaluation["metrics.json"][0],
    )
    files = {EVALUATION_FILES[name]: data for name, (data, _) in evaluation.items()}
    report = storage.join(evaluation_uri, "report.html")
    if storage.exists(report):
        files[EVALUATION_FILES["report.html"]] = storage.read_bytes(report)
    files[THRESHOLDS_FILE] = thresholds
    source_root = location[: -len("/saved_model")] if location.rstrip("/").endswith("/saved_model") else location
    blessing = evaluation.get("blessing.json")
    return RegistrationInputs(
        location=location, model_sha256=fingerprint, files=files, metrics=evaluation["metrics.json"][1],
        blessing=blessing[1] if blessing else {}, thresholds_record=thresholds_record,
        training=_input_object(storage.join(source_root, "model_config.json")),
        train_summary=_input_object(storage.join(source_root, "train_summary.json")),
        eda_stats=_input_object(storage.join(eda_uri, "stats.json")) if eda_uri else None,
    )


def version_metadata(inputs: RegistrationInputs, *, name: str, version: int | None, created: str, uri: str | None,
                     saved_model_uri: str | None, run: dict | None) -> dict:
    """A version's metadata.json: lineage (source, data, code), configs, metrics, blessing, run.

    `version`, `uri` and `saved_model_uri` are None where the backend numbers the version only once
    it is whole (MLflow's registry): readers fill them from the backend's own record.
    """
    metrics = inputs.metrics
    return {
        "name": name,
        "version": version,
        "created_at": created,
        "uri": uri,
        "saved_model_uri": saved_model_uri,
        "source_model_uri": inputs.location,
        "model_sha256": inputs.model_sha256,
        "evaluated_model_sha256": metrics["model_sha256"],
        "data_uri": metrics.get("data"),
        "data_manifest_sha256": metrics.get("data_manifest_sha256"),
        "code_version": __version__,
        "git_commit": git_commit(),
        "training": inputs.training,
        "train_summary": inputs.train_summary,
        "metrics": {key: metrics.get(key) for key in _RECORDED_METRICS},
        THRESHOLDS_FIELD: inputs.thresholds_record,
        "blessed": inputs.blessed,
        "blessing_reasons": inputs.blessing.get("reasons", []),
        "run": run or {},
    }


def _input_json(uri: str) -> tuple[bytes, dict] | None:
    """An input file's bytes (published as read, so what was checked is what is published) and its JSON object."""
    if not storage.exists(uri):
        return None
    data = storage.read_bytes(uri)
    try:
        return data, parse_json_object(data)
    except ValueError as error:
        raise ConfigError(f"{uri}: {error}") from error


def _input_object(uri: str) -> dict | None:
    found = _input_json(uri)
    return found[1] if found else None


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
