"""`--mlflow-tracking-uri` and `--mlflow-experiment`, shared by `fracdet train` and `fracdet evaluate`.

Without a tracking URI (the flag, else MLFLOW_TRACKING_URI) nothing is logged and MLflow is not
imported.
"""

from __future__ import annotations

import argparse
import os

from fracdet_core import defaults


def add_tracking_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mlflow-tracking-uri", default=os.environ.get("MLFLOW_TRACKING_URI") or None,
                       help="log the run to this MLflow tracking server, e.g. http://mlflow:5000 (default: "
                            "MLFLOW_TRACKING_URI; unset: nothing is logged)")
    parser.add_argument("--mlflow-experiment", default=defaults.MODEL_NAME,
                       help="the experiment, named for the model (default: %(default)s); `fracdet evaluate` logs into "
                            "the run that trained the same model, when there is one")


def log_if_tracked(args: argparse.Namespace, stage: str, **outputs: str | None) -> None:
    """Log a finished stage's outputs to MLflow when a tracking URI was given, and say where."""
    if not args.mlflow_tracking_uri:
        return
    from fracdet_core.tracking.log import log_evaluation, log_training
    from fracdet_core.tracking.run import RunKey

    key = RunKey(args.mlflow_experiment)
    if stage == "train":
        run_id = log_training(args.mlflow_tracking_uri, key, outputs["model_uri"], outputs["dataset_uri"],
                              eda_uri=outputs.get("eda_uri"))
    else:
        run_id = log_evaluation(args.mlflow_tracking_uri, key, outputs["evaluation_uri"])
    print(f"MLflow: run {run_id} in experiment {args.mlflow_experiment!r} at {args.mlflow_tracking_uri}")
