"""Training's `gs://` reads and writes go through the storage layer; TensorFlow only ever sees local paths.

TensorFlow 2.21's own `gs://` file system (tsl's `gcs_file_system`, under `tf.data`, Keras
saving and SavedModel export) sends every request to `www.googleapis.com` and
`storage.googleapis.com`, names fixed in the binary: it reads no `STORAGE_EMULATOR_HOST` and
has no endpoint setting (its `GCS_*` variables tune retries, timeouts and caches). So it cannot
be tested against an emulator, nor does it follow fracdet's retry policy. Instead:

- `local_ingest`: a `gs://` ingest's manifest and shards are copied to a local folder first;
- `local_output`: the outputs are written to a local folder and published to a `gs://` `--out`
  when training ends (the model, checkpoints, records, logs); the backup that resuming needs
  is fetched from `<out>/backup` at the start and, with the TensorBoard logs, copied back after
  every epoch by `RemoteSync`, so a preempted run resumes and a dashboard shows progress.

Local paths pass through unchanged.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator

import keras

from fracdet_core import storage
from fracdet_core.data.manifest import read_manifest, shard_uris

BACKUP = "backup"
LOGS = "logs"


@contextlib.contextmanager
def local_ingest(ingest_uri: str) -> Iterator[str]:
    """The ingest as a local folder: `ingest_uri` itself, or a temporary copy of a `gs://` ingest's manifest and shards."""
    if not storage.is_gcs(ingest_uri):
        yield ingest_uri
        return
    manifest = read_manifest(ingest_uri)
    sources = [storage.join(ingest_uri, "manifest.json")]
    sources += [uri for split in manifest["splits"] for uri in shard_uris(ingest_uri, split, manifest)]
    with tempfile.TemporaryDirectory(prefix="fracdet-train-ingest-") as folder:
        for uri in sources:
            storage.copy_file(uri, os.path.join(folder, uri.rsplit("/", 1)[1]))
        yield folder


@contextlib.contextmanager
def local_output(out: str, *, publish: bool) -> Iterator[str]:
    """A local folder to train into: `out` itself, or for a `gs://` `out` a temporary folder holding `out`'s backup.

    Args:
        out: the train output folder.
        publish: copy the folder's files to `out` when the block ends cleanly, then delete
            `out`'s backup (training finished); false for a worker that writes nothing.
    """
    if not storage.is_gcs(out):
        yield out
        return
    remote_backup = storage.join(out, BACKUP)
    with tempfile.TemporaryDirectory(prefix="fracdet-train-out-") as folder:
        if storage.list_files(remote_backup):
            storage.copy_tree(remote_backup, os.path.join(folder, BACKUP))
        yield folder
        if publish:
            for path in storage.list_files(folder):
                relative = os.path.relpath(path, folder).split(os.sep)
                if relative[0] != BACKUP:
                    storage.copy_file(path, storage.join(out, *relative))
            storage.remove_folder(remote_backup)


class RemoteSync(keras.callbacks.Callback):
    """Copy the local backup and logs to a `gs://` `out` after every epoch; list it after `BackupAndRestore`."""

    def __init__(self, local: str, out: str) -> None:
        super().__init__()
        self.local = local
        self.out = out

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        for name in (BACKUP, LOGS):
            if storage.list_files(os.path.join(self.local, name)):
                storage.copy_tree(os.path.join(self.local, name), storage.join(self.out, name))
