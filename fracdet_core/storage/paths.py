"""Names of storage locations: local paths and `gs://bucket/key` URIs, joined, normalised, compared.

Only string and path work (`overlap` resolves links); the other storage modules build on it.
"""

from __future__ import annotations

import os
import posixpath

from fracdet_core.errors import StorageError

GCS_SCHEME = "gs://"
TEMP_MARKER = ".tmp-"  # in the names of staging files and folders, which listings leave out


def is_gcs(uri: str | os.PathLike[str]) -> bool:
    """Whether `uri` names a Google Cloud Storage location."""
    return str(uri).startswith(GCS_SCHEME)


def join(base: str | os.PathLike[str], *parts: str) -> str:
    """Join path segments onto a local path or a `gs://` URI."""
    if is_gcs(base):
        segments = [str(base).rstrip("/")] + [part.strip("/") for part in parts]
        return "/".join(segment for segment in segments if segment)
    return os.path.join(os.fspath(base), *parts)


def parent(uri: str | os.PathLike[str]) -> str:
    """The folder holding `uri`: the prefix above a `gs://` URI, or a local path's parent, made absolute.

    A trailing slash does not count: the parent of `gs://b/data/` is `gs://b`, as `data/`'s is `.`'s.
    """
    if is_gcs(uri):
        return posixpath.dirname(str(uri).rstrip("/"))
    return os.path.dirname(os.path.abspath(uri))


def normalize(uri: str | os.PathLike[str]) -> str:
    """Collapse `.`, `..` and repeated slashes, on local paths and in `gs://` keys alike.

    Raises:
        StorageError: a `gs://` key whose `..` climbs above the bucket.
    """
    if is_gcs(uri):
        bucket, key = split_gcs(str(uri))
        key = posixpath.normpath(key) if key else ""
        if key == ".." or key.startswith("../"):
            raise StorageError(f"{uri} climbs above its bucket")
        return f"{GCS_SCHEME}{bucket}" + ("" if key in ("", ".") else f"/{key}")
    return os.path.normpath(os.fspath(uri))


def split_gcs(uri: str) -> tuple[str, str]:
    """Split `gs://bucket/key` into (bucket, key); the key may be empty.

    Raises:
        StorageError: if `uri` has no bucket name.
    """
    bucket, _, key = uri[len(GCS_SCHEME) :].partition("/")
    if not bucket:
        raise StorageError(f"{uri!r} names no bucket; expected gs://BUCKET/PATH")
    return bucket, key


def overlap(first: str | os.PathLike[str], second: str | os.PathLike[str]) -> str | None:
    """How two locations nest: "same", "inside" (`first` lies inside `second`), "contains", or None.

    Local paths are compared as resolved real paths (symbolic links followed, `..` collapsed),
    so two spellings of one folder are the same; `gs://` URIs as normalised keys, on whole path
    segments (`gs://b/in` does not contain `gs://b/input`). A local path and a URI never overlap.
    """
    if is_gcs(first) != is_gcs(second):
        return None
    if is_gcs(first):
        first_key, second_key = normalize(first), normalize(second)
    else:
        first_key, second_key = os.path.realpath(first), os.path.realpath(second)
    if first_key == second_key:
        return "same"
    if first_key.startswith(second_key.rstrip("/") + "/"):
        return "inside"
    if second_key.startswith(first_key.rstrip("/") + "/"):
        return "contains"
