"""EDA seconds for 1k and 24k label rows (the size of the real XR Bones training set).

The label tables are synthesised directly (no images, as the stage reads only the manifest and
labels.parquet); thumbnails are therefore off. Each size runs in a fresh process, so the figure
includes importing pandas, scikit-learn and Matplotlib, as a pipeline task pays it.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from fracdet_core.classes import CLASS_NAMES, describe_class
from fracdet_core.ingest.outputs import LABEL_SCHEMA

_TIMED_RUN = """
import sys, time
started = time.perf_counter()
from fracdet_core.eda.config import EdaConfig
from fracdet_core.eda.run import run_eda
run_eda(sys.argv[1], sys.argv[2], EdaConfig(thumbnails_per_class=0))
print(time.perf_counter() - started)
"""


def synthesise_ingest(folder: str, rows: int, seed: int = 0) -> None:
    """labels.parquet and manifest.json of an ingest with about `rows` label rows, no shards."""
    rng = np.random.default_rng(seed)
    images = int(rows / 1.1)
    split = np.where(rng.random(images) < 0.96, "train", "val")
    background = (rng.random(images) < 0.11) & (split == "train")
    records = []
    for index in range(images):
        image_id = f"{split[index]}/images/img_{index:06d}.jpg"
        width, height = int(rng.integers(300, 600)), int(rng.integers(300, 600))
        common = {"image_id": image_id, "split": str(split[index]), "image_width": width, "image_height": height,
                  "shard": "train-00000-of-00001.tfrecord", "sha256": f"{index:064x}"}
        if background[index]:
            records.append({**common, "class_id": None, "class_name": None, "body_part": None, "positive": None,
                            "cx": None, "cy": None, "w": None, "h": None})
            continue
        class_id = int(rng.integers(0, len(CLASS_NAMES)))
        part, positive = describe_class(CLASS_NAMES[class_id])
        for _ in range(1 + int(rng.random() < 0.1 and positive)):
            w, h = rng.uniform(0.03, 0.6, 2)
            records.append({**common, "class_id": class_id, "class_name": CLASS_NAMES[class_id], "body_part": part,
                            "positive": positive, "cx": float(rng.uniform(w / 2, 1 - w / 2)),
                            "cy": float(rng.uniform(h / 2, 1 - h / 2)), "w": float(w), "h": float(h)})
    os.makedirs(folder, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(records, schema=LABEL_SCHEMA), os.path.join(folder, "labels.parquet"))
    manifest = {
        "schema_version": 1,
        "source": {"data_yaml": "synthesised-labels-only"},
        "splits": {name: {"images": int((split == name).sum())} for name in ("train", "val")},
        "totals": {"found": images, "ingested": images, "quarantined": 0, "warnings": 0},
        "quarantine_reasons": {},
        "warning_reasons": {},
    }
    with open(os.path.join(folder, "manifest.json"), "w", encoding="utf-8") as stream:
        json.dump(manifest, stream)


def main() -> None:
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    with tempfile.TemporaryDirectory(prefix="fracdet-bench-") as folder:
        for rows in (1_000, 24_000):
            ingest = os.path.join(folder, f"ingest-{rows}")
            synthesise_ingest(ingest, rows)
            table_rows = pq.read_metadata(os.path.join(ingest, "labels.parquet")).num_rows
            result = subprocess.run([sys.executable, "-c", _TIMED_RUN, ingest, os.path.join(folder, f"eda-{rows}")],
                                    capture_output=True, text=True, check=True)
            print(f"  eda, {table_rows:6,} label rows: {float(result.stdout.strip()):5.2f} s (fresh process, imports included)")


if __name__ == "__main__":
    main()
