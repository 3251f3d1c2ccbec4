"""Find and read an ingest's `manifest.json`, whose presence means the ingest is whole."""

from __future__ import annotations

import json

from fracdet_core import storage
from fracdet_core.errors import FracdetError


class IngestNotFoundError(FracdetError):
    """The folder holds no complete ingest."""


def read_manifest(ingest_uri: str) -> dict:
    """The manifest of the ingest at `ingest_uri`.

    Raises:
        IngestNotFoundError: no `manifest.json` there (never ingested, or interrupted).
    """
    uri = storage.join(ingest_uri, "manifest.json")
    if not storage.exists(uri):
        raise IngestNotFoundError(
            f"{ingest_uri} holds no manifest.json: it is not an ingest output, or its ingest did not finish"
        )
    return json.loads(storage.read_text(uri))


def shard_uris(ingest_uri: str, split: str, manifest: dict | None = None) -> list[str]:
    """The shard files of `split`, as the manifest lists them.

    Raises:
        FracdetError: the manifest has no such split.
    """
    manifest = manifest or read_manifest(ingest_uri)
    if split not in manifest["splits"]:
        raise FracdetError(f"{ingest_uri}: no split {split!r}; it has {', '.join(manifest['splits'])}")
    return [storage.join(ingest_uri, shard["file"]) for shard in manifest["splits"][split]["shards"]]
