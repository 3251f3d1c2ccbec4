"""Register a model as the next immutable version, safely under concurrent registrations.

- Allocation: version numbers are claimed with create-only writes of `claims/<N>.json`
  (`if_generation_match=0` on GCS, an atomic link locally); a writer that loses the race for N
  tries N + 1, so concurrent registrations never share or overwrite a version.
- Visibility: the SavedModel and evaluation files are copied first and `metadata.json` is
  written last, so a registration killed mid-copy leaves a claimed number without metadata:
  never listed, never served, and the next registration simply takes the next number.
- Idempotency: a model whose SavedModel fingerprint is already registered is not registered
  again; the existing version is returned, so a retried pipeline task adds no duplicate.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import subprocess

from fracdet_core import __version__, storage
from fracdet_core.errors import AlreadyExistsError, ConfigError, NotFoundError
from fracdet_core.evaluate.inference import saved_model_location
from fracdet_core.registry.card import render_card_html, render_card_markdown

METADATA = "metadata.json"
EVALUATION_FILES = {"metrics.json": "metrics.json", "blessing.json": "blessing.json", "report.html": "evaluation_report.html"}
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")


def check_name(name: str) -> str:
    """Model names become path segments and Kubernetes names: lowercase letters, digits, '.', '_', '-'."""
    if not _NAME.match(name):
        raise ConfigError(f"model name {name!r} must be 1-63 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit")
    return name


def model_root(registry: str, name: str) -> str:
    return storage.join(registry, check_name(name))


def version_uri(registry: str, name: str, version: int) -> str:
    """The version's folder: also the `storageUri` KServe's TensorFlow predictor serves."""
    return storage.join(model_root(registry, name), "versions", str(version))


def saved_model_uri(registry: str, name: str, version: int) -> str:
    return storage.join(version_uri(registry, name, version), str(version))


def _numbers(prefix: str, pattern: str) -> set[int]:
    found = set()
    for uri in storage.list_files(prefix):
        match = re.search(pattern, uri)
        if match:
            found.add(int(match.group(1)))
    return found


def list_versions(registry: str, name: str) -> list[dict]:
    """The metadata of every complete version, oldest first."""
    root = model_root(registry, name)
    numbers = _numbers(storage.join(root, "versions"), r"/versions/(\d+)/metadata\.json$")
    return [json.loads(storage.read_text(storage.join(root, "versions", str(n), METADATA))) for n in sorted(numbers)]


def get_version(registry: str, name: str, version: int) -> dict:
    """One complete version's metadata.

    Raises:
        NotFoundError: no such complete version.
    """
    uri = storage.join(version_uri(registry, name, version), METADATA)
    if not storage.exists(uri):
        raise NotFoundError(f"{registry}: model {name!r} has no version {version}")
    return json.loads(storage.read_text(uri))


def _claim(registry: str, name: str, claim: dict) -> int:
    """The next free version number, claimed for this registration."""
    claims = storage.join(model_root(registry, name), "claims")
    candidate = max(_numbers(claims, r"/claims/(\d+)\.json$"), default=0) + 1
    while True:
        try:
            storage.write_text(storage.join(claims, f"{candidate}.json"), json.dumps(claim) + "\n", create_only=True)
            return candidate
        except AlreadyExistsError:
            candidate += 1


def git_commit() -> str | None:
    """The code's commit: `FRACDET_GIT_COMMIT` (set in the image at build time), else the checkout's HEAD."""
    if os.environ.get("FRACDET_GIT_COMMIT"):
        return os.environ["FRACDET_GIT_COMMIT"]
    try:
        result = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10,
                                cwd=os.path.dirname(os.path.abspath(__file__)))
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() or None if result.returncode == 0 else None


def _optional_json(uri: str) -> dict | None:
    return json.loads(storage.read_text(uri)) if storage.exists(uri) else None


def register(
    model_uri: str,
    evaluation_uri: str,
    registry: str,
    name: str = "fracdet",
    *,
    eda_uri: str | None = None,
    run: dict | None = None,
) -> tuple[dict, bool]:
    """Register the model as a new version; returns (its metadata, whether it was created now).

    Args:
        model_uri: the train output (or the SavedModel folder itself).
        evaluation_uri: the evaluate output with metrics.json and blessing.json.
        registry: the registry root, local or gs://.
        name: the model name.
        eda_uri: the EDA output, whose stats.json summarises the training data in the model card.
        run: pipeline run details (run id, task name) recorded in the metadata.

    Raises:
        NotFoundError: the model or the evaluation outputs are missing.
    """
    check_name(name)
    location = saved_model_location(model_uri)
    fingerprint = storage.tree_sha256(location)
    for existing in list_versions(registry, name):
        if existing["model_sha256"] == fingerprint:
            return existing, False
    metrics_uri = storage.join(evaluation_uri, "metrics.json")
    if not storage.exists(metrics_uri):
        raise NotFoundError(f"{evaluation_uri}: no metrics.json; register takes the output of `fracdet evaluate`")
    metrics = json.loads(storage.read_text(metrics_uri))
    blessing = _optional_json(storage.join(evaluation_uri, "blessing.json")) or {}
    source_root = location[: -len("/saved_model")] if location.rstrip("/").endswith("/saved_model") else location
    created = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    version = _claim(registry, name, {"source_model_uri": location, "model_sha256": fingerprint, "claimed_at": created})
    target = version_uri(registry, name, version)

    storage.copy_tree(location, saved_model_uri(registry, name, version))
    for source_name, target_name in EVALUATION_FILES.items():
        source = storage.join(evaluation_uri, source_name)
        if storage.exists(source):
            storage.write_bytes(storage.join(target, target_name), storage.read_bytes(source))
    metadata = {
        "name": name,
        "version": version,
        "created_at": created,
        "uri": target,
        "saved_model_uri": saved_model_uri(registry, name, version),
        "source_model_uri": location,
        "model_sha256": fingerprint,
        "data_uri": metrics.get("data"),
        "data_manifest_sha256": metrics.get("data_manifest_sha256"),
        "code_version": __version__,
        "git_commit": git_commit(),
        "training": _optional_json(storage.join(source_root, "model_config.json")),
        "train_summary": _optional_json(storage.join(source_root, "train_summary.json")),
        "metrics": {key: metrics.get(key) for key in ("map50", "map50_ci95", "map50_95", "ar100", "per_class_ap", "fracture",
                                                      "froc", "latency_ms", "split", "images")},
        "blessed": blessing.get("blessed"),
        "blessing_reasons": blessing.get("reasons", []),
        "run": run or {},
    }
    eda_stats = _optional_json(storage.join(eda_uri, "stats.json")) if eda_uri else None
    storage.write_text(storage.join(target, "model_card.md"), render_card_markdown(metadata, eda_stats))
    storage.write_text(storage.join(target, "model_card.html"), render_card_html(metadata, eda_stats))
    storage.write_text(storage.join(target, METADATA), json.dumps(metadata, indent=2) + "\n", create_only=True)
    return metadata, True
