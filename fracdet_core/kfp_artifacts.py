"""What components need to turn KFP artifacts into locations and summaries.

Kept in the library so component bodies stay a few lines and the logic is tested directly.
"""

from __future__ import annotations

from typing import Protocol

from fracdet_core.storage import is_gcs


class _Artifact(Protocol):
    uri: str
    path: str


def artifact_location(artifact: _Artifact) -> str:
    """Where a stage should read or write an artifact.

    A `gs://` URI is used as is: the storage layer speaks GCS directly, which beats the
    `/gcs/` FUSE mount for many small writes. Any other scheme (MinIO or S3 on an on-premises
    Kubeflow, or the local folder of `kfp.local`) is used through the artifact's local path,
    which the KFP launcher uploads when the task ends.
    """
    return artifact.uri if is_gcs(artifact.uri) else artifact.path


def ingest_metadata(manifest: dict) -> dict:
    """The ingest figures shown beside the artifact in the Kubeflow dashboard."""
    totals = manifest["totals"]
    metadata: dict[str, object] = {
        "display_name": "Ingested dataset (TFRecord shards)",
        "found": totals["found"],
        "ingested": totals["ingested"],
        "quarantined": totals["quarantined"],
        "warnings": totals["warnings"],
        "schema_version": manifest["schema_version"],
        "source": manifest["source"]["data_yaml"],
    }
    for split, summary in manifest["splits"].items():
        metadata[f"{split}_images"] = summary["images"]
        metadata[f"{split}_boxes"] = summary["boxes"]
        metadata[f"{split}_shards"] = len(summary["shards"])
    for reason, count in manifest["quarantine_reasons"].items():
        metadata[f"quarantined_{reason}"] = count
    return metadata
