"""The Google Cloud Storage side of storage operations; every call maps API errors to `StorageError`s.

The client library is imported on first use, so local runs never load it.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Iterator
from typing import BinaryIO

from fracdet_core.errors import AccessDeniedError, AlreadyExistsError, ConflictError, NotFoundError, StorageError
from fracdet_core.storage.paths import GCS_SCHEME, TEMP_MARKER, split_gcs

READ_CHUNK = 8 * 1024 * 1024


@functools.lru_cache(maxsize=4)
def _client_for(process_id: int, emulator_host: str | None):  # noqa: ANN202 - lazy import
    """A client per process (clients do not survive fork) and per emulator endpoint."""
    del process_id, emulator_host  # cache keys only; the client reads the environment itself
    from google.auth.exceptions import DefaultCredentialsError
    from google.cloud import storage

    try:
        return storage.Client()
    except DefaultCredentialsError as error:
        raise StorageError(
            "no Google Cloud credentials found for gs:// access: set GOOGLE_APPLICATION_CREDENTIALS, "
            "run `gcloud auth application-default login`, or use Workload Identity"
        ) from error


def _client():  # noqa: ANN202 - lazy import
    return _client_for(os.getpid(), os.environ.get("STORAGE_EMULATOR_HOST"))


class Gcs:
    """The GCS side of each operation; every call maps API errors to `StorageError`s."""

    @staticmethod
    @contextlib.contextmanager
    def errors(uri: str) -> Iterator[None]:
        from google.api_core import exceptions

        try:
            yield
        except exceptions.PreconditionFailed as error:
            raise AlreadyExistsError(f"{uri} already exists") from error
        except exceptions.NotFound as error:
            bucket, _ = split_gcs(uri)
            if not _client().bucket(bucket).exists():
                raise NotFoundError(f"bucket gs://{bucket} does not exist (while accessing {uri})") from error
            raise NotFoundError(f"no object at {uri}") from error
        except (exceptions.Forbidden, exceptions.Unauthorized) as error:
            raise AccessDeniedError(f"access denied to {uri}: {error.message}") from error
        except exceptions.GoogleAPICallError as error:
            raise StorageError(f"storage request for {uri} failed: {error}") from error

    @staticmethod
    def blob(uri: str):  # noqa: ANN205 - lazy import
        bucket, key = split_gcs(uri)
        if not key or key.endswith("/"):
            raise StorageError(f"{uri!r} names a prefix, not an object")
        return _client().bucket(bucket).blob(key)

    @staticmethod
    def upload_options(create_only: bool) -> dict:
        """Keyword arguments of an upload: a create-only precondition, or a retried overwrite.

        With a generation precondition the client picks a conditional retry itself; a plain
        overwrite is retried explicitly, which is safe since it always writes the same bytes.
        """
        from google.cloud.storage.retry import DEFAULT_RETRY

        return {"if_generation_match": 0} if create_only else {"retry": DEFAULT_RETRY}

    @classmethod
    def write_bytes(cls, uri: str, data: bytes, *, create_only: bool) -> None:
        with cls.errors(uri):
            cls.blob(uri).upload_from_string(data, **cls.upload_options(create_only))

    @classmethod
    def read_versioned(cls, uri: str) -> tuple[bytes, str] | None:
        """The object's content and generation, read as one version; None when there is no object."""
        bucket, key = split_gcs(uri)
        while True:
            with cls.errors(uri):
                blob = _client().bucket(bucket).get_blob(key)
            if blob is None:
                return None
            try:
                with cls.errors(uri):
                    return blob.download_as_bytes(if_generation_match=blob.generation), str(blob.generation)
            except (AlreadyExistsError, NotFoundError):  # replaced or deleted between the two calls: read again
                continue

    @classmethod
    def write_if_unchanged(cls, uri: str, data: bytes, token: str) -> None:
        from google.api_core import exceptions

        try:
            with cls.errors(uri):
                cls.blob(uri).upload_from_string(data, if_generation_match=int(token))
        except AlreadyExistsError as error:  # errors() reads every failed precondition as "exists"
            if isinstance(error.__cause__, exceptions.PreconditionFailed):
                raise ConflictError(f"{uri} changed since it was read; read it again and retry") from None
            raise

    @classmethod
    def upload_file(cls, uri: str, filename: str, *, create_only: bool) -> None:
        with cls.errors(uri):
            cls.blob(uri).upload_from_filename(filename, **cls.upload_options(create_only))

    @classmethod
    @contextlib.contextmanager
    def open_read(cls, uri: str) -> Iterator[BinaryIO]:
        blob = cls.blob(uri)
        with cls.errors(uri):
            blob.reload()  # fail here, with a clear message, rather than at the first read
            reader = blob.open("rb", chunk_size=READ_CHUNK)
        with reader, cls.errors(uri):
            yield reader

    @classmethod
    def exists(cls, uri: str) -> bool:
        bucket, key = split_gcs(uri)
        if not key or key.endswith("/"):
            return False
        with cls.errors(uri):
            return _client().bucket(bucket).blob(key).exists()

    @classmethod
    def list_files(cls, prefix: str) -> list[str]:
        bucket, key = split_gcs(prefix)
        folder_key = key.rstrip("/") + "/" if key else ""
        with cls.errors(prefix):
            names = [blob.name for blob in _client().list_blobs(bucket, prefix=folder_key)]
        return sorted(
            f"{GCS_SCHEME}{bucket}/{name}" for name in names
            if not name.endswith("/") and TEMP_MARKER not in name[len(folder_key):]
        )

    @classmethod
    def list_file_versions(cls, prefix: str) -> list[tuple[str, int, str]]:
        """(URI, size, version) of each object under `prefix`, by URI; the version is the MD5, else the generation."""
        bucket, key = split_gcs(prefix)
        folder_key = key.rstrip("/") + "/" if key else ""
        with cls.errors(prefix):
            blobs = list(_client().list_blobs(bucket, prefix=folder_key))
        return sorted(
            (f"{GCS_SCHEME}{bucket}/{blob.name}", int(blob.size or 0), blob.md5_hash or f"generation-{blob.generation}")
            for blob in blobs if not blob.name.endswith("/") and TEMP_MARKER not in blob.name[len(folder_key):]
        )

    @classmethod
    def remove(cls, uri: str, *, missing_ok: bool) -> None:
        try:
            with cls.errors(uri):
                cls.blob(uri).delete()
        except NotFoundError:
            if not missing_ok:
                raise

    @classmethod
    def copy(cls, source: str, target: str) -> None:
        source_blob = cls.blob(source)
        target_bucket, target_key = split_gcs(target)
        with cls.errors(source):
            source_blob.bucket.copy_blob(source_blob, _client().bucket(target_bucket), target_key)
