"""The Google Cloud Storage side of storage operations; every call maps API errors to `StorageError`s.

Every request goes through `retries.call` with the kind of operation it is, which decides
whether and how long it is retried (see `fracdet_core.storage.retries`). The client library is
imported on first use, so local runs never load it.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import io
import os
from collections.abc import Iterator
from typing import BinaryIO

from fracdet_core.errors import AccessDeniedError, AlreadyExistsError, ConflictError, NotFoundError, StorageError
from fracdet_core.storage.paths import GCS_SCHEME, TEMP_MARKER, split_gcs
from fracdet_core.storage.retries import Kind, ShortRead, call

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
            if not call("check the bucket of", uri, Kind.READ, lambda timeout: _client().bucket(bucket).exists(
                    retry=None, timeout=timeout)):
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

    @classmethod
    def _upload(cls, uri: str, source: bytes | str, generation_match: int | None) -> None:
        """Upload `source` (bytes, or the name of a file to upload) as one object, whatever the faults.

        With a generation precondition the write is conditional: a 412 that answers a repeat of
        an attempt whose answer was lost is accepted when the object now holds exactly these bytes.
        """
        blob = cls.blob(uri)
        options = {} if generation_match is None else {"if_generation_match": generation_match}
        upload = blob.upload_from_string if isinstance(source, bytes) else blob.upload_from_filename

        def settle(error: BaseException) -> None:
            current = call("read back", uri, Kind.READ, lambda timeout: blob.bucket.get_blob(
                blob.name, retry=None, timeout=timeout))
            if current is None or current.md5_hash != _md5(source):
                raise error

        call("upload", uri, Kind.OVERWRITE if generation_match is None else Kind.CONDITIONAL,
             lambda timeout: upload(source, retry=None, timeout=timeout, **options), settle=settle)

    @classmethod
    def write_bytes(cls, uri: str, data: bytes, *, create_only: bool) -> None:
        with cls.errors(uri):
            cls._upload(uri, data, 0 if create_only else None)

    @classmethod
    def upload_file(cls, uri: str, filename: str, *, create_only: bool) -> None:
        with cls.errors(uri):
            cls._upload(uri, filename, 0 if create_only else None)

    @classmethod
    def read_versioned(cls, uri: str) -> tuple[bytes, str] | None:
        """The object's content and generation, read as one version; None when there is no object."""
        bucket, key = split_gcs(uri)
        while True:
            with cls.errors(uri):
                blob = call("read", uri, Kind.READ, lambda timeout: _client().bucket(bucket).get_blob(
                    key, retry=None, timeout=timeout))
            if blob is None:
                return None
            try:
                with cls.errors(uri):
                    return _RangeReader(uri, blob).readall(), str(blob.generation)
            except NotFoundError:  # replaced or deleted between the two calls: read again
                continue

    @classmethod
    def write_if_unchanged(cls, uri: str, data: bytes, token: str) -> None:
        from google.api_core import exceptions

        try:
            with cls.errors(uri):
                cls._upload(uri, data, int(token))
        except AlreadyExistsError as error:  # errors() reads every failed precondition as "exists"
            if isinstance(error.__cause__, exceptions.PreconditionFailed):
                raise ConflictError(f"{uri} changed since it was read; read it again and retry") from None
            raise

    @classmethod
    @contextlib.contextmanager
    def open_read(cls, uri: str) -> Iterator[BinaryIO]:
        blob = cls.blob(uri)
        with cls.errors(uri):
            call("read", uri, Kind.READ, lambda timeout: blob.reload(retry=None, timeout=timeout))
        with io.BufferedReader(_RangeReader(uri, blob), buffer_size=READ_CHUNK) as reader, cls.errors(uri):
            yield reader  # type: ignore[misc]

    @classmethod
    def exists(cls, uri: str) -> bool:
        bucket, key = split_gcs(uri)
        if not key or key.endswith("/"):
            return False
        with cls.errors(uri):
            return call("check", uri, Kind.READ, lambda timeout: _client().bucket(bucket).blob(key).exists(
                retry=None, timeout=timeout))

    @classmethod
    def _list(cls, prefix: str) -> tuple[str, str, list]:
        """(bucket, folder key, every blob under the folder key), listed whole again if a page fails."""
        bucket, key = split_gcs(prefix)
        folder_key = key.rstrip("/") + "/" if key else ""
        with cls.errors(prefix):
            blobs = call("list", prefix, Kind.READ, lambda timeout: list(_client().list_blobs(
                bucket, prefix=folder_key, retry=None, timeout=timeout)))
        listed = [blob for blob in blobs if not blob.name.endswith("/") and TEMP_MARKER not in blob.name[len(folder_key):]]
        return bucket, folder_key, listed

    @classmethod
    def list_files(cls, prefix: str) -> list[str]:
        bucket, _, blobs = cls._list(prefix)
        return sorted(f"{GCS_SCHEME}{bucket}/{blob.name}" for blob in blobs)

    @classmethod
    def list_file_versions(cls, prefix: str) -> list[tuple[str, int, str]]:
        """(URI, size, version) of each object under `prefix`, by URI; the version is the MD5, else the generation."""
        bucket, _, blobs = cls._list(prefix)
        return sorted(
            (f"{GCS_SCHEME}{bucket}/{blob.name}", int(blob.size or 0), blob.md5_hash or f"generation-{blob.generation}")
            for blob in blobs
        )

    @classmethod
    def remove(cls, uri: str, *, missing_ok: bool) -> None:
        blob = cls.blob(uri)
        try:
            with cls.errors(uri):
                call("delete", uri, Kind.DELETE, lambda timeout: blob.delete(retry=None, timeout=timeout))
        except NotFoundError:
            if not missing_ok:
                raise

    @classmethod
    def copy(cls, source: str, target: str) -> None:
        source_blob = cls.blob(source)
        target_bucket, target_key = split_gcs(target)
        with cls.errors(source):
            call("copy", f"{source} to {target}", Kind.OVERWRITE, lambda timeout: source_blob.bucket.copy_blob(
                source_blob, _client().bucket(target_bucket), target_key, retry=None, timeout=timeout))


def _md5(source: bytes | str) -> str:
    """The base64 MD5 that GCS reports for an object holding `source` (bytes, or the content of the file it names)."""
    digest = hashlib.md5(usedforsecurity=False)
    if isinstance(source, str):
        with open(source, "rb") as stream:
            for chunk in iter(lambda: stream.read(READ_CHUNK), b""):
                digest.update(chunk)
    else:
        digest.update(source)
    return base64.b64encode(digest.digest()).decode()


class _RangeReader(io.RawIOBase):
    """One generation of an object, fetched a range at a time, each range one request retried by the policy.

    Pinned to the generation it was opened at: an object replaced mid-read fails with 404 rather
    than mixing two versions. A range shorter than asked (a body cut short) is retried.
    """

    def __init__(self, uri: str, blob) -> None:  # noqa: ANN001 - a loaded google.cloud.storage Blob
        super().__init__()
        self._uri = uri
        self._size = int(blob.size or 0)
        self._blob = blob.bucket.blob(blob.name, generation=blob.generation)
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def tell(self) -> int:
        return self._position

    def readinto(self, buffer: bytearray | memoryview) -> int:
        data = self._fetch(min(len(buffer), self._size - self._position))
        buffer[: len(data)] = data
        return len(data)

    def readall(self) -> bytes:
        parts = []
        while self._position < self._size:
            parts.append(self._fetch(min(READ_CHUNK, self._size - self._position)))
        return b"".join(parts)

    def _fetch(self, length: int) -> bytes:
        if length <= 0:
            return b""
        start = self._position

        def attempt(timeout: float) -> bytes:
            data = self._blob.download_as_bytes(start=start, end=start + length - 1, checksum=None, retry=None,
                                                timeout=timeout)
            if len(data) != length:
                raise ShortRead(f"{len(data)} of {length} bytes from offset {start}")
            return data

        data = call("read", self._uri, Kind.READ, attempt)
        self._position += length
        return data
