"""Models and evaluations to register: stand-in SavedModels for the registry's bookkeeping, and evaluations that describe them
(metrics.json, blessing.json and the operating_thresholds.json chosen with them).

The registry never loads a model; it fingerprints and copies files. A stand-in SavedModel (a
`saved_model.pb` holding known bytes, plus assets) exercises all of that cheaply; tests that
serve a version use a real one from `model_builders`.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from fracdet_core import storage
from fracdet_core.operating_thresholds import (
    FILE_NAME,
    SPLIT_CONFORMAL,
    DefiniteRule,
    EvaluationSource,
    Indications,
    OperatingThresholdsFile,
    ThresholdRule,
    parse_thresholds,
)


def stand_in_model(folder: Path, content: str, assets: int = 0) -> str:
    """A train output `folder` whose saved_model/ holds `content` as saved_model.pb and `assets` small asset files."""
    saved_model = folder / "saved_model"
    (saved_model / "assets").mkdir(parents=True)
    (saved_model / "saved_model.pb").write_text(content)
    for index in range(assets):
        (saved_model / "assets" / f"asset-{index:04d}.txt").write_text(f"asset {index}")
    return str(folder)


def evaluation_of(model: str, out: Path, *, blessed: bool | None = None, base: str | None = None) -> str:
    """An evaluation output in `out` that describes the train output `model`: its metrics.json names the model's fingerprint.

    `base`: a real evaluation output to copy (of a model that differs from `model` only by an
    asset, so its measurements hold for `model`), keeping its blessing unless `blessed` is
    given; without it, minimal metrics and a blessing of `bool(blessed)`.
    """
    if base:
        shutil.copytree(base, out)
        metrics = json.loads((out / "metrics.json").read_text())
    else:
        out.mkdir(parents=True)
        metrics = {"map50": 0.5}
    # What `fracdet evaluate` records: the fingerprint of the SavedModel it measured.
    metrics["model_sha256"] = storage.tree_sha256(str(Path(model) / "saved_model"))
    (out / "metrics.json").write_text(json.dumps(metrics))
    if base:  # the base evaluation's thresholds, now of this model and this metrics.json
        chosen = parse_thresholds((out / FILE_NAME).read_bytes(), str(out / FILE_NAME), "")
        definite = (chosen.definite_by_body_part, chosen.definite_overall) if chosen.definite_rule else None
        write_operating_thresholds(out, chosen.by_body_part, chosen.overall, definite)
    else:
        write_operating_thresholds(out, {"HAND": 0.4}, 0.5)
    if blessed is not None or not base:
        blessing = {"blessed": bool(blessed), "reasons": ["PASS stand-in" if blessed else "FAIL stand-in"]}
        (out / "blessing.json").write_text(json.dumps(blessing))
    return str(out)


def write_operating_thresholds(evaluation: Path, by_body_part: dict[str, float], overall: float | None,
                               definite: tuple[dict[str, float], float | None] | None = None) -> bytes:
    """The operating_thresholds.json `fracdet evaluate` writes beside the evaluation's metrics.json, of the model it names.

    `definite`: the definite point's (by_body_part, overall), in a version 2 file; None: a version 1 file, as a
    fracdet before the definite point wrote.
    """
    metrics_json = (evaluation / "metrics.json").read_bytes()
    metrics = json.loads(metrics_json)
    version_2 = {} if definite is None else {
        "definite_by_body_part": definite[0], "definite_overall": definite[1],
        "definite_rule": DefiniteRule(SPLIT_CONFORMAL, 0.95, calibration_normal=4, min_normal_images=19),
        "indications": Indications(None, 0.99, calibration_in_scope_images=8),
    }
    chosen = OperatingThresholdsFile(
        model_sha256=metrics["model_sha256"], by_body_part=by_body_part, overall=overall,
        rule=ThresholdRule(SPLIT_CONFORMAL, 0.9, "val", calibration_images=8, calibration_fractured=4),
        evaluation=EvaluationSource(hashlib.sha256(metrics_json).hexdigest(), "stand-in ingest", "0" * 64,
                                    "2026-01-01T00:00:00+00:00"),
        **version_2,
    )
    (evaluation / FILE_NAME).write_bytes(chosen.encode())
    return chosen.encode()
