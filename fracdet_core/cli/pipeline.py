"""`fracdet pipeline compile|run`: the KFP pipeline as YAML for a cluster, or run here with kfp.local."""

from __future__ import annotations

import argparse
import os

from fracdet_core.cli.arguments import non_negative_int, positive_int


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "pipeline",
        help="compile the KFP pipeline, or run it locally",
        description="Compile the fracdet Kubeflow pipeline to IR YAML (for `kfp run submit` or the "
        "dashboard), or run the same DAG on this machine with kfp.local.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    compile_parser = actions.add_parser(
        "compile", help="write the pipeline's KFP IR YAML",
        description="Write the pipeline as KFP IR YAML, ready for `kfp run submit` or an upload in the dashboard.",
    )
    compile_parser.add_argument("--out", required=True, help="YAML file to write (local path or gs:// URI)")
    compile_parser.add_argument("--image", help="container image for every component (default: the package's own tag)")
    compile_parser.set_defaults(run=_compile)

    run_parser = actions.add_parser(
        "run", help="run the whole pipeline on this machine with kfp.local",
        description="Run every step of the pipeline here, each in a subprocess of this Python environment.",
    )
    run_parser.add_argument("--data", required=True, help="data.yaml, or a folder or gs:// prefix holding one")
    run_parser.add_argument("--root", default="runs/local", help="folder for every task's outputs (default: %(default)s)")
    run_parser.add_argument("--shards", type=non_negative_int, default=0, help="shards per split (default: 0 = automatic)")
    run_parser.add_argument("--max-side", type=non_negative_int, default=0, help="downscale longer sides above this (default: 0 = keep)")
    run_parser.add_argument("--eda-baseline", default="", help="an earlier EDA output to measure drift against")
    run_parser.add_argument("--epochs", type=positive_int, default=30, help="training epochs (default: %(default)s)")
    run_parser.add_argument("--image-size", type=positive_int, default=256, help="training input side (default: %(default)s)")
    run_parser.add_argument("--batch-size", type=positive_int, default=16, help="training batch size (default: %(default)s)")
    run_parser.add_argument("--train-config", default="", help="YAML with 'model:' and 'train:' sections")
    run_parser.add_argument("--registry", help="model registry root (default: ROOT/registry)")
    run_parser.add_argument("--model-name", default="fracdet", help="the model's name in the registry (default: %(default)s)")
    run_parser.add_argument("--promote", action="store_true", help="make a blessed, registered model the champion")
    run_parser.add_argument("--thresholds", default="", help="blessing thresholds YAML (default: the built-in gates)")
    run_parser.set_defaults(run=_run)


def _compile(args: argparse.Namespace) -> int:
    from pipelines.compile import compile_pipeline

    print(f"pipeline: {compile_pipeline(args.out, args.image)}")
    return 0


def _run(args: argparse.Namespace) -> int:
    from pipelines.local_run import registered_version, run_locally, run_summary

    registry = os.path.abspath(args.registry or os.path.join(args.root, "registry"))
    outputs = run_locally(
        args.data, args.root, registry_uri=registry, model_name=args.model_name, promote=args.promote,
        thresholds_uri=args.thresholds, shards=args.shards, max_side=args.max_side, eda_baseline=args.eda_baseline,
        epochs=args.epochs, image_size=args.image_size, batch_size=args.batch_size, train_config_uri=args.train_config,
    )
    print(run_summary(outputs))
    version = registered_version(registry, args.model_name, outputs["model"])
    print(f"ingested dataset: {outputs['dataset']}")
    print(f"EDA report: {outputs['eda_report']}")
    print(f"trained model: {outputs['model']}/saved_model")
    print(f"evaluation report: {outputs['evaluation_report']}")
    print(f"registered: {version['uri'] if version else 'no (not blessed)'}")
    print(f"all task outputs: {os.path.abspath(args.root)}")
    return 0
