"""The operating thresholds a model serves with: one small versioned JSON file, `operating_thresholds.json`.

An image is called fractured when its body part's fracture score reaches that part's threshold
(`evaluate.fracture_call`). Evaluation chooses the thresholds (`evaluate.clinical`) and writes
this file beside metrics.json; registration copies it into the version byte for byte and records
it in metadata.json and the model card; `fracdet predict` and serving clients read it by
reference: a registry version, or the file (or the folder holding it) that the user names.
Nothing looks for it from where a model happens to lie.

Two operating points (`evaluate.definite`): an image is called fractured ("suspicious") at its
part's `thresholds`, chosen for a target sensitivity; a call is "definite" when the score also
reaches the part's `definite` threshold, chosen for a target specificity. Beside them, the
`indications` block keeps the in-scope threshold: an image whose model in-scope score is below it
gets no fracture call (null: the model has no indications outputs, or none was chosen).

Schema version 2 (every field required):

    {
      "schema": "fracdet.operating_thresholds",
      "schema_version": 2,
      "model_sha256": "<storage.tree_sha256 of the SavedModel they were chosen for>",
      "thresholds": {
        "by_body_part": {"ELBOW": 0.41, "HAND": 0.37},   # the parts with a threshold of their own
        "overall": 0.35                                   # every other part; null: no threshold at all
      },
      "rule": {
        "method": "split_conformal", "target_sensitivity": 0.9,
        "split": "val", "calibration_images": 250, "calibration_fractured": 118
      },
      "definite": {
        "thresholds": {"by_body_part": {"ELBOW": 0.74}, "overall": 0.69},  # as above; each >= its part's threshold
        "rule": {"method": "split_conformal", "target_specificity": 0.95,
                 "calibration_normal": 132, "min_normal_images": 19}
      },
      "indications": {"in_scope_threshold": null, "target_in_scope_kept": 0.99, "calibration_in_scope_images": 250},
      "evaluation": {
        "metrics_sha256": "<sha256 of the metrics.json written with it>",
        "data": "<the ingest evaluated on>", "data_manifest_sha256": "<its manifest's sha256>",
        "evaluated_at": "<ISO 8601 time>"
      }
    }

`overall` is null when the calibration half held no fractured image; `by_body_part` is then empty,
and the file says plainly that no threshold was chosen. `definite.thresholds.overall` is null
(its `by_body_part` empty) when no definite threshold was chosen: too few non-fractured
calibration images (fewer than `min_normal_images`), or no threshold at all; every call is then
suspicious. A part without a definite threshold of its own takes the overall one.

Schema version 1 is version 2 without `definite` and `indications`; it reads as the suspicious
point alone (no call is definite) and no in-scope threshold. A reader refuses a file of a newer
schema version rather than misreading it.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Mapping

from fracdet_core import storage
from fracdet_core.classes import BODY_PARTS
from fracdet_core.errors import FracdetError
from fracdet_core.json_object import parse_json_object

FILE_NAME = "operating_thresholds.json"
SCHEMA = "fracdet.operating_thresholds"
SCHEMA_VERSION = 2
SPLIT_CONFORMAL = "split_conformal"  # the one rule evaluation chooses thresholds by (`evaluate.clinical`)
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class ThresholdsFileError(FracdetError):
    """An operating thresholds file that is missing, or is not what this schema says."""


_Refusal = Callable[[str], ThresholdsFileError]  # a problem -> the error naming the file, the problem and what to do


@dataclasses.dataclass(frozen=True)
class ThresholdRule:
    """How the thresholds were chosen.

    Attributes:
        method: `SPLIT_CONFORMAL`: each threshold is the split-conformal rank of the fractured
            calibration images' scores (`evaluate.clinical.split_conformal_threshold`).
        target_sensitivity: the image-level sensitivity they were chosen to reach on new images.
        split: the ingest split whose calibration half chose them.
        calibration_images, calibration_fractured: that half's images, and of them the fractured ones.
    """

    method: str
    target_sensitivity: float
    split: str
    calibration_images: int
    calibration_fractured: int


@dataclasses.dataclass(frozen=True)
class DefiniteRule:
    """How the definite thresholds were chosen.

    Attributes:
        method: `SPLIT_CONFORMAL`: the split-conformal rank of the non-fractured calibration images'
            scores (`evaluate.definite.specificity_threshold`).
        target_specificity: the image-level specificity they were chosen to reach on new images.
        calibration_normal: the calibration half's non-fractured images.
        min_normal_images: a body part with fewer non-fractured calibration images takes the overall threshold.
    """

    method: str
    target_specificity: float
    calibration_normal: int
    min_normal_images: int


@dataclasses.dataclass(frozen=True)
class Indications:
    """The in-scope threshold: below it, the model's in-scope score says the image is outside the indications.

    Attributes:
        in_scope_threshold: None when the model has no indications outputs or none was chosen.
        target_in_scope_kept: the share of in-scope calibration images it was chosen to keep.
        calibration_in_scope_images: the in-scope images of the calibration half.
    """

    in_scope_threshold: float | None
    target_in_scope_kept: float
    calibration_in_scope_images: int


@dataclasses.dataclass(frozen=True)
class EvaluationSource:
    """The evaluation the thresholds came from.

    Attributes:
        metrics_sha256: sha256 of the metrics.json that evaluation wrote beside this file.
        data: the ingest it evaluated on; data_manifest_sha256: that ingest's manifest's sha256.
        evaluated_at: when, ISO 8601.
    """

    metrics_sha256: str
    data: str
    data_manifest_sha256: str
    evaluated_at: str


@dataclasses.dataclass(frozen=True)
class OperatingThresholdsFile:
    """The content of an operating thresholds file (the module docstring's schema).

    Attributes:
        model_sha256: the fingerprint of the SavedModel the thresholds were chosen for.
        by_body_part: body part -> its threshold, for the parts with one of their own.
        overall: the threshold of every other part; None when none was chosen (`by_body_part` is then empty).
        rule: how they were chosen.
        evaluation: the evaluation they came from.
        definite_by_body_part, definite_overall: the definite thresholds, as `by_body_part` and
            `overall` (empty and None: no call is definite).
        definite_rule: how those were chosen; None for a version 1 file.
        indications: the in-scope threshold; None for a version 1 file.
    """

    model_sha256: str
    by_body_part: Mapping[str, float]
    overall: float | None
    rule: ThresholdRule
    evaluation: EvaluationSource
    definite_by_body_part: Mapping[str, float] = dataclasses.field(default_factory=dict)
    definite_overall: float | None = None
    definite_rule: DefiniteRule | None = None
    indications: Indications | None = None

    def for_part(self, part: str) -> float | None:
        """The threshold an image of `part` is called at."""
        return self.by_body_part.get(part, self.overall)

    def definite_for_part(self, part: str) -> float | None:
        """The threshold at which a call on an image of `part` is definite; None: no call is."""
        return self.definite_by_body_part.get(part, self.definite_overall)

    @property
    def schema_version(self) -> int:
        """The version `encode` writes: 1 for content without `definite_rule` and `indications`, as a version 1 file reads."""
        return 1 if self.definite_rule is None and self.indications is None else SCHEMA_VERSION

    @property
    def in_scope_threshold(self) -> float | None:
        return self.indications.in_scope_threshold if self.indications else None

    def encode(self) -> bytes:
        """The file's bytes: schema version 2; version 1 for content without `definite_rule` and `indications`
        (what a version 1 file reads as), so that every content read encodes back to its own version."""
        version_1 = self.schema_version == 1
        assert version_1 or (self.definite_rule is not None and self.indications is not None), "version 2 needs both"
        document = {
            "schema": SCHEMA,
            "schema_version": self.schema_version,
            "model_sha256": self.model_sha256,
            "thresholds": {"by_body_part": dict(self.by_body_part), "overall": self.overall},
            "rule": dataclasses.asdict(self.rule),
        }
        if not version_1:
            document["definite"] = {"thresholds": {"by_body_part": dict(self.definite_by_body_part),
                                                   "overall": self.definite_overall},
                                    "rule": dataclasses.asdict(self.definite_rule)}
            document["indications"] = dataclasses.asdict(self.indications)
        document["evaluation"] = dataclasses.asdict(self.evaluation)
        return (json.dumps(document, indent=2) + "\n").encode("utf-8")


def thresholds_location(reference: str) -> str:
    """The file a user's reference names: a `.json` URI is the file itself, anything else a folder holding `FILE_NAME`.

    The folders that hold one: a `fracdet evaluate` output and a registry version's folder.
    """
    return reference if reference.endswith(".json") else storage.join(reference, FILE_NAME)


def read_thresholds(uri: str, what_to_do: str) -> tuple[bytes, OperatingThresholdsFile]:
    """The file at `uri`, as read (its bytes) and checked (its content).

    Args:
        uri: the file, local or gs://.
        what_to_do: the caller's advice, appended to every error's message.

    Raises:
        ThresholdsFileError: no file there, or a file that breaks the schema; the message names the file and the problem.
    """
    if not storage.exists(uri):
        raise ThresholdsFileError(f"{uri}: no operating thresholds file there; {what_to_do}")
    data = storage.read_bytes(uri)
    return data, parse_thresholds(data, uri, what_to_do)


def parse_thresholds(data: bytes, uri: str, what_to_do: str) -> OperatingThresholdsFile:
    """The content of an operating thresholds file read from `uri`, every field checked.

    Raises:
        ThresholdsFileError: not JSON, not this schema or a newer version of it, or a field missing,
            of the wrong kind or out of range; the message names the file, the problem and `what_to_do`.
    """
    def refuse(problem: str) -> ThresholdsFileError:
        return ThresholdsFileError(f"{uri}: not a valid operating thresholds file: {problem}; {what_to_do}")

    try:
        document = parse_json_object(data)
    except ValueError as error:
        raise refuse(str(error)) from None
    if document.get("schema") != SCHEMA:
        raise refuse(f"its 'schema' is {document.get('schema')!r}, not {SCHEMA!r} (a metrics.json or another file?)")
    version = document.get("schema_version")
    if not _is_int(version) or not 1 <= version <= SCHEMA_VERSION:
        raise refuse(f"schema_version {version!r}: this fracdet reads schema versions 1 to {SCHEMA_VERSION}"
                     + (" (a newer fracdet wrote it)" if _is_int(version) and version > SCHEMA_VERSION else ""))
    model_sha256 = _field(document, "model_sha256", str, refuse)
    if not _SHA256.match(model_sha256):
        raise refuse(f"model_sha256 {model_sha256!r} is not a sha256")
    by_body_part, overall = _thresholds(_field(document, "thresholds", dict, refuse), refuse, "thresholds")
    chosen = OperatingThresholdsFile(model_sha256, by_body_part, overall, _rule(_field(document, "rule", dict, refuse), refuse),
                                     _source(_field(document, "evaluation", dict, refuse), refuse))
    if version == 1:
        return chosen
    indications = _indications(_field(document, "indications", dict, refuse), refuse)
    return dataclasses.replace(chosen, indications=indications,
                               **_definite(_field(document, "definite", dict, refuse), chosen, refuse))


def _thresholds(block: dict, refuse: _Refusal, name: str) -> tuple[dict[str, float], float | None]:
    """(by_body_part, overall) of a `thresholds` block; `name`: its path in the file."""
    by_body_part = _field(block, "by_body_part", dict, refuse, f"{name}.by_body_part")
    unknown = sorted(set(by_body_part) - set(BODY_PARTS))
    if unknown:
        raise refuse(f"{name}.by_body_part names {', '.join(unknown)}, not a body part of {', '.join(BODY_PARTS)}")
    if "overall" not in block:
        raise refuse(f"the '{name}.overall' field is missing")
    overall = block["overall"]
    for field, value in [*((f"{name}.by_body_part.{part}", value) for part, value in by_body_part.items()),
                         *([] if overall is None else [(f"{name}.overall", overall)])]:
        if not _is_number(value) or not 0.0 <= value <= 1.0:
            raise refuse(f"{field} is {value!r}, expected a score within [0, 1]")
    if overall is None and by_body_part:
        raise refuse(f"{name}.overall is null (no threshold chosen) while {name}.by_body_part holds some")
    return {part: float(by_body_part[part]) for part in BODY_PARTS if part in by_body_part}, (
        None if overall is None else float(overall))


def _rule(block: dict, refuse: _Refusal) -> ThresholdRule:
    method = _field(block, "method", str, refuse, "rule.method")
    if method != SPLIT_CONFORMAL:
        raise refuse(f"rule.method is {method!r}; this fracdet knows {SPLIT_CONFORMAL!r}")
    target = _field(block, "target_sensitivity", float, refuse, "rule.target_sensitivity")
    if not 0.0 < target <= 1.0:
        raise refuse(f"rule.target_sensitivity is {target!r}, expected a value within (0, 1]")
    counts = [_field(block, name, int, refuse, f"rule.{name}") for name in ("calibration_images", "calibration_fractured")]
    if not 0 <= counts[1] <= counts[0]:
        raise refuse(f"rule.calibration_fractured {counts[1]} is not between 0 and rule.calibration_images {counts[0]}")
    return ThresholdRule(method, float(target), _field(block, "split", str, refuse, "rule.split"), *counts)


def _definite(block: dict, suspicious: OperatingThresholdsFile, refuse: _Refusal) -> dict:
    """The definite fields of `OperatingThresholdsFile` from a version 2 `definite` block.

    Raises, through `refuse`: a field missing or out of range, a definite threshold without a
    suspicious one, or one below its part's suspicious threshold (a definite call must be a call).
    """
    by_body_part, overall = _thresholds(_field(block, "thresholds", dict, refuse, "definite.thresholds"), refuse,
                                        "definite.thresholds")
    rule_block = _field(block, "rule", dict, refuse, "definite.rule")
    method = _field(rule_block, "method", str, refuse, "definite.rule.method")
    if method != SPLIT_CONFORMAL:
        raise refuse(f"definite.rule.method is {method!r}; this fracdet knows {SPLIT_CONFORMAL!r}")
    target = _field(rule_block, "target_specificity", float, refuse, "definite.rule.target_specificity")
    if not 0.0 < target <= 1.0:
        raise refuse(f"definite.rule.target_specificity is {target!r}, expected a value within (0, 1]")
    counts = [_field(rule_block, name, int, refuse, f"definite.rule.{name}")
              for name in ("calibration_normal", "min_normal_images")]
    if counts[0] < 0 or counts[1] < 1:
        raise refuse(f"definite.rule counts {counts} out of range: calibration_normal >= 0, min_normal_images >= 1")
    if overall is not None and suspicious.overall is None:
        raise refuse("definite.thresholds.overall is set while thresholds.overall is null: a definite call needs a call")
    for part in [None, *BODY_PARTS] if overall is not None else []:
        definite = by_body_part.get(part, overall) if part else overall
        called = suspicious.for_part(part) if part else suspicious.overall
        if definite < called:
            raise refuse(f"the definite threshold of {part or 'overall'} ({definite}) is below its suspicious threshold "
                         f"({called}): a definite call must also be a call")
    return {"definite_by_body_part": by_body_part, "definite_overall": overall,
            "definite_rule": DefiniteRule(method, float(target), *counts)}


def _indications(block: dict, refuse: _Refusal) -> Indications:
    threshold = block.get("in_scope_threshold", _MISSING)
    if threshold is _MISSING:
        raise refuse("the 'indications.in_scope_threshold' field is missing")
    if threshold is not None and (not _is_number(threshold) or not 0.0 <= threshold <= 1.0):
        raise refuse(f"indications.in_scope_threshold is {threshold!r}, expected null or a score within [0, 1]")
    kept = _field(block, "target_in_scope_kept", float, refuse, "indications.target_in_scope_kept")
    if not 0.0 < kept <= 1.0:
        raise refuse(f"indications.target_in_scope_kept is {kept!r}, expected a value within (0, 1]")
    images = _field(block, "calibration_in_scope_images", int, refuse, "indications.calibration_in_scope_images")
    if images < 0:
        raise refuse(f"indications.calibration_in_scope_images is {images}, expected a count >= 0")
    return Indications(None if threshold is None else float(threshold), float(kept), images)


def _source(block: dict, refuse: _Refusal) -> EvaluationSource:
    values = {name: _field(block, name, str, refuse, f"evaluation.{name}")
              for name in ("metrics_sha256", "data", "data_manifest_sha256", "evaluated_at")}
    if not _SHA256.match(values["metrics_sha256"]):
        raise refuse(f"evaluation.metrics_sha256 {values['metrics_sha256']!r} is not a sha256")
    return EvaluationSource(**values)


_MISSING = object()
_KINDS = {str: "a string", dict: "a JSON object", int: "a whole number", float: "a number"}


def _field(block: dict, key: str, kind: type, refuse: _Refusal, name: str | None = None) -> object:
    """`block[key]`, which must be of `kind` (a float field takes any number)."""
    name = name or key
    if key not in block:
        raise refuse(f"the {name!r} field is missing")
    value = block[key]
    fits = _is_number(value) if kind is float else _is_int(value) if kind is int else isinstance(value, kind)
    if not fits:
        raise refuse(f"the {name!r} field is {value!r}, expected {_KINDS[kind]}")
    return value


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
