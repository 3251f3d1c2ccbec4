"""Compile the DAG to KFP IR YAML, with the image of every component set on request."""

from __future__ import annotations

import os
import tempfile

import yaml
from kfp import compiler

from fracdet_core import storage
from pipelines.fracdet_pipeline import fracdet_pipeline


def compile_pipeline(out: str, image: str | None = None) -> str:
    """Write the pipeline's IR YAML to `out` (a local path or gs:// URI); returns `out`.

    Args:
        out: where to write the YAML.
        image: container image for every component; None keeps `FRACDET_IMAGE`.
    """
    with tempfile.TemporaryDirectory(prefix="fracdet-compile-") as folder:
        compiled = os.path.join(folder, "pipeline.yaml")
        compiler.Compiler().compile(pipeline_func=fracdet_pipeline, package_path=compiled)
        with open(compiled, encoding="utf-8") as stream:
            documents = list(yaml.safe_load_all(stream))
    if image:
        for executor in documents[0]["deploymentSpec"]["executors"].values():
            executor["container"]["image"] = image
    storage.write_text(out, yaml.safe_dump_all(documents, sort_keys=False))
    return out
