"""Training's gs:// staging: shards copied down, outputs published, the resume backup fetched and synced back."""

from __future__ import annotations

import os
from pathlib import Path

from fracdet_core import storage
from fracdet_core.train.staging import RemoteSync, local_ingest, local_output


def _relative(folder: str) -> dict[str, bytes]:
    root = folder.rstrip("/") + "/"
    return {uri[len(root):].replace(os.sep, "/"): storage.read_bytes(uri) for uri in storage.list_files(folder)}


def test_a_gs_ingest_is_staged_to_a_local_folder_with_its_manifest_and_shards_only(gcs_bucket, tmp_path):
    ingest = f"gs://{gcs_bucket}/ingest"
    storage.write_text(f"{ingest}/manifest.json", '{"splits": {"train": {"shards": [{"file": "train-00000-of-00001.tfrecord"}]},'
                                                  ' "val": {"shards": [{"file": "val-00000-of-00001.tfrecord"}]}}}')
    storage.write_bytes(f"{ingest}/train-00000-of-00001.tfrecord", b"train records")
    storage.write_bytes(f"{ingest}/val-00000-of-00001.tfrecord", b"val records")
    storage.write_bytes(f"{ingest}/labels.parquet", b"not needed to train")
    with local_ingest(ingest) as folder:
        assert not storage.is_gcs(folder)
        assert _relative(folder) == {name: data for name, data in _relative(ingest).items() if name != "labels.parquet"}
    assert not os.path.exists(folder)
    with local_ingest(str(tmp_path)) as folder:
        assert folder == str(tmp_path)  # a local ingest is read where it is


def test_a_gs_out_gets_the_backup_at_the_start_every_epoch_s_sync_and_the_outputs_at_the_end(gcs_bucket):
    out = f"gs://{gcs_bucket}/train"
    storage.write_bytes(f"{out}/backup/latest.weights.h5", b"epoch 3")  # a preempted run's
    with local_output(out, publish=True) as folder:
        assert _relative(folder) == {"backup/latest.weights.h5": b"epoch 3"}
        Path(folder, "backup", "latest.weights.h5").write_bytes(b"epoch 4")
        Path(folder, "logs").mkdir()
        Path(folder, "logs", "events.out.tfevents.1").write_bytes(b"loss")
        RemoteSync(folder, out).on_epoch_end(3)
        assert _relative(out) == {"backup/latest.weights.h5": b"epoch 4", "logs/events.out.tfevents.1": b"loss"}
        Path(folder, "saved_model").mkdir()
        Path(folder, "saved_model", "saved_model.pb").write_bytes(b"model")
    assert _relative(out) == {"logs/events.out.tfevents.1": b"loss", "saved_model/saved_model.pb": b"model"}


def test_a_worker_that_does_not_publish_reads_the_backup_and_writes_nothing(gcs_bucket):
    out = f"gs://{gcs_bucket}/train"
    storage.write_bytes(f"{out}/backup/latest.weights.h5", b"epoch 3")
    with local_output(out, publish=False) as folder:
        Path(folder, "model.keras").write_bytes(b"a worker's copy")
        assert _relative(folder)["backup/latest.weights.h5"] == b"epoch 3"
    assert _relative(out) == {"backup/latest.weights.h5": b"epoch 3"}
