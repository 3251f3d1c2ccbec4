"""`fracdet train`: train the detector on an ingest, resuming after a kill; `fracdet train-worker`: the same, as one
worker of a TrainJob or TFJob."""

from __future__ import annotations

import argparse
import json
import os
import sys

from fracdet.arguments import positive_int
from fracdet.tracking_options import add_tracking_options, log_if_tracked
from fracdet_components.worker_cluster import tf_config_from_environment
from fracdet_core import defaults
from fracdet_core.model.config import ModelConfig
from fracdet_core.model.presets import PRESETS
from fracdet_core.train.config import TrainConfig, load_configs


def add_commands(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "train",
        help="train the detector on an ingest",
        description=(
            "Train the residual-FPN detector on an ingest's train split, validating on its val split: first the "
            "detector on the in-scope images, then its indications head (which body part, or something else) on "
            "the frozen detector with every image, out-of-scope ones included. "
            "Checkpoints after every epoch: the same command restarted after a kill continues from the last "
            "finished epoch, in either phase. Writes saved_model/ (the serving SavedModel), model.keras, model_config.json, "
            "train_summary.json, checkpoints/ and TensorBoard logs/ to --out."
        ),
    )
    add_train_options(parser)
    add_tracking_options(parser)
    parser.set_defaults(run=run)
    worker = commands.add_parser(
        "train-worker",
        help="train as one worker of several (the entrypoint of a TrainJob's or TFJob's pods)",
        description=(
            "`fracdet train` as one of several workers, with the same options, given the same --out: the pods of a "
            "Kubeflow Trainer TrainJob on fracdet's TrainingRuntime, or of a Training Operator TFJob, run it. Takes "
            "TF_CONFIG when set (a TFJob sets it); otherwise builds it from the pod's JobSet variables (JOBSET_NAME, "
            "REPLICATED_JOB_NAME, JOB_INDEX, JOB_COMPLETION_INDEX), FRACDET_WORKERS and FRACDET_WORKER_PORT (default "
            "2222). Worker 0 (or the chief) writes --out; every worker resumes from its backup."
        ),
    )
    add_train_options(worker)
    add_tracking_options(worker)
    worker.set_defaults(run=run_worker)


def add_train_options(parser: argparse.ArgumentParser) -> None:
    """The options of `fracdet train`, which `fracdet train-worker` takes too."""
    parser.add_argument("--data", required=True, help="the ingest output folder or gs:// prefix")
    parser.add_argument("--class-weights", help="class_weights.json from EDA (default: every class weighs 1)")
    parser.add_argument("--out", required=True, help="output folder or gs:// prefix")
    parser.add_argument("--config", help="YAML with optional 'model:' and 'train:' sections; the flags below override it")
    # No argparse defaults: a flag left out keeps the --config file's value, else the library's.
    parser.add_argument("--epochs", type=positive_int, help=f"passes over the training data (default: {defaults.EPOCHS})")
    parser.add_argument("--preset", choices=tuple(PRESETS), default=defaults.MODEL_PRESET,
                        help="the model's size (docs/training.md, \"Model presets\"); the config file's 'model:' section and "
                             "the flags override its fields (default: %(default)s)")
    recommended = ", ".join(f"{name} {config.image_size}" for name, config in PRESETS.items())
    parser.add_argument("--image-size", type=positive_int,
                        help=f"square training input side, pixels (default: the preset's, {recommended})")
    parser.add_argument("--batch-size", type=positive_int, help=f"images per step (default: {defaults.BATCH_SIZE})")
    parser.add_argument("--seed", type=int, help=f"random seed (default: {TrainConfig.seed})")
    parser.set_defaults(run=run)


def load_flag_configs(args: argparse.Namespace) -> tuple[ModelConfig, TrainConfig]:
    """The model and training configs: the preset's, the --config file's on top, then the flags that were given."""
    return load_configs(args.config, preset=args.preset, epochs=args.epochs, image_size=args.image_size,
                        batch_size=args.batch_size, seed=args.seed)


def run(args: argparse.Namespace) -> int:
    from fracdet_core import storage

    _train(args)
    eda_uri = storage.parent(args.class_weights) if args.class_weights else None
    log_if_tracked(args, "train", model_uri=args.out, dataset_uri=args.data, eda_uri=eda_uri)
    return 0


def run_worker(args: argparse.Namespace) -> int:
    """`fracdet train` with this pod's TF_CONFIG in the environment, set before TensorFlow reads it.

    Only the chief, which writes --out, logs to MLflow, so the training is logged once.
    """
    tf_config = tf_config_from_environment(os.environ)
    os.environ["TF_CONFIG"] = tf_config
    cluster = json.loads(tf_config)
    task = cluster["task"]
    print(f"train-worker: {task['type']} {task['index']} of {tf_config}", file=sys.stderr, flush=True)
    if _is_chief(cluster):
        return run(args)
    _train(args)
    return 0


def _is_chief(tf_config: dict) -> bool:
    """Whether this task is the cluster's chief: its `chief` task, else worker 0 (as `tf.distribute` numbers them)."""
    task = tf_config["task"]
    if "chief" in tf_config["cluster"]:
        return task["type"] == "chief"
    return task["type"] == "worker" and int(task["index"]) == 0


def _train(args: argparse.Namespace) -> None:
    """Train as the flags say and print where the model is."""
    from fracdet_core import storage
    from fracdet_core.train.run import train

    model_config, train_config = load_flag_configs(args)
    summary = train(args.data, args.class_weights, args.out, model_config, train_config)
    print(f"trained {summary['epochs_run']} epochs; best val loss {summary['best_val_loss']:.4f}; "
          f"{summary['train_images_per_second']:.1f} images/s")
    head = summary.get("indications")
    if head:
        print(f"indications head: {head['epochs_run']} epochs on the frozen detector; best val loss "
              f"{head['best_val_loss']:.4f}")
    print(f"model: {storage.join(args.out, 'saved_model')} (serving SavedModel); {storage.join(args.out, 'model.keras')}")
