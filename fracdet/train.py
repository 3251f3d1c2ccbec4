"""`fracdet train`: train the detector on an ingest, resuming after a kill."""

from __future__ import annotations

import argparse

from fracdet.arguments import positive_int


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "train",
        help="train the detector on an ingest",
        description=(
            "Train the residual-FPN detector on an ingest's train split, validating on its val split. "
            "Checkpoints after every epoch: the same command restarted after a kill continues from the last "
            "finished epoch. Writes saved_model/ (the serving SavedModel), model.keras, model_config.json, "
            "train_summary.json, checkpoints/ and TensorBoard logs/ to --out."
        ),
    )
    parser.add_argument("--data", required=True, help="the ingest output folder or gs:// prefix")
    parser.add_argument("--class-weights", help="class_weights.json from EDA (default: every class weighs 1)")
    parser.add_argument("--out", required=True, help="output folder or gs:// prefix")
    parser.add_argument("--config", help="YAML with optional 'model:' and 'train:' sections")
    parser.add_argument("--epochs", type=positive_int, help="passes over the training data (default: 30)")
    parser.add_argument("--image-size", type=positive_int, help="square training input side, pixels (default: 256)")
    parser.add_argument("--batch-size", type=positive_int, help="images per step (default: 16)")
    parser.add_argument("--seed", type=int, help="random seed (default: 0)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from fracdet_core import storage
    from fracdet_core.train.config import load_configs
    from fracdet_core.train.trainer import train

    model_config, train_config = load_configs(
        args.config, epochs=args.epochs, image_size=args.image_size, batch_size=args.batch_size, seed=args.seed
    )
    summary = train(args.data, args.class_weights, args.out, model_config, train_config)
    print(f"trained {summary['epochs_run']} epochs; best val loss {summary['best_val_loss']:.4f}; "
          f"{summary['train_images_per_second']:.1f} images/s")
    print(f"model: {storage.join(args.out, 'saved_model')} (serving SavedModel); {storage.join(args.out, 'model.keras')}")
    return 0
