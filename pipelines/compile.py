"""Compile the DAG to KFP IR YAML, for one cluster's settings and one image tag."""

from __future__ import annotations

import os
import tempfile

import yaml
from kfp import compiler

from fracdet_components.image import FRACDET_GPU_IMAGE, FRACDET_IMAGE, gpu_image
from fracdet_core import storage
from fracdet_pipelines.cluster import ClusterConfig
from fracdet_pipelines.fracdet_pipeline import create_pipeline


def compile_pipeline(out: str, image: str | None = None, cluster: ClusterConfig = ClusterConfig()) -> str:  # noqa: B008
    """Write the pipeline's IR YAML to `out` (a local path or gs:// URI); returns `out`.

    The same arguments give the same bytes, so a compiled file can be diffed and committed.

    Args:
        out: where to write the YAML.
        image: the CPU image `REPOSITORY:TAG` for every component; the training task, and the
            workers of a train step on several machines, get its GPU twin `REPOSITORY:TAG-gpu`.
            None keeps the package's own tags.
        cluster: the Kubernetes settings compiled in (node selector, tolerations, secret, deadline,
            training job API).

    Raises:
        ConfigError: `image` is not `REPOSITORY:TAG`.
    """
    images = {FRACDET_IMAGE: image, FRACDET_GPU_IMAGE: gpu_image(image)} if image else {}
    with tempfile.TemporaryDirectory(prefix="fracdet-compile-") as folder:
        compiled = os.path.join(folder, "pipeline.yaml")
        pipeline = create_pipeline(cluster, worker_image=images.get(FRACDET_GPU_IMAGE, FRACDET_GPU_IMAGE))
        compiler.Compiler().compile(pipeline_func=pipeline, package_path=compiled)
        with open(compiled, encoding="utf-8") as stream:
            documents = list(yaml.safe_load_all(stream))
    for executor in documents[0]["deploymentSpec"]["executors"].values():
        container = executor["container"]
        container["image"] = images.get(container["image"], container["image"])
    storage.write_text(out, yaml.safe_dump_all(documents, sort_keys=False))
    return out
