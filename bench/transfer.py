"""Transfer between renderers: train on one synthetic renderer's radiographs, evaluate on its own and on the others'.

The model is judged on data from renderers it never saw, so each lever is measured across
looks, not on the one it was tuned on. For each renderer this writes the demo's dataset (750
train, 500 val images, `fracdet synth --renderer`), ingests it and runs the EDA once; trains the
recipe (the defaults, or `--recipe`) for the demo's budget on each renderer and seed; and
evaluates every model on every renderer's val split as `make demo` does (test half, thresholds
of the calibration half, default gates). One row per (trained on, evaluated on, seed), appended
to `<out>/transfer.jsonl` as it finishes (rows already there are not repeated), then a table per
body part: overall and per-part AUC, and each fracture class's AP@0.5.

    python bench/transfer.py --out runs/transfer --renderers tubes outlines --seeds 0
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from cpu import cpu_description

FRACDET = str(Path(sys.executable).with_name("fracdet"))
PARTS = ("ELBOW", "FINGER", "FOREARM", "HAND", "SHOULDER")
QUIET = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}


def prepare(renderer: str, images: tuple[int, int], data_seed: int, work: Path) -> Path:
    """The renderer's ingest, with its EDA's class weights beside it, made once."""
    data, ingest, eda = work / "data", work / "ingest", work / "eda"
    if not (data / "data.yaml").exists():
        subprocess.run([FRACDET, "synth", "--out", str(data), "--renderer", renderer, "--train", str(images[0]),
                        "--val", str(images[1]), "--seed", str(data_seed), "--overwrite", "--quiet"], check=True)
    if not (ingest / "manifest.json").exists():
        subprocess.run([FRACDET, "ingest", "--data", str(data), "--out", str(ingest), "--quiet"], check=True)
    if not (eda / "class_weights.json").exists():
        subprocess.run([FRACDET, "eda", "--data", str(ingest), "--out", str(eda)], check=True, stdout=subprocess.DEVNULL)
    return work


def train(work: Path, recipe: Path | None, epochs: int, seed: int, out: Path) -> float:
    """Train on the prepared renderer into `out` (unless already there); the training's seconds, or 0 if it was."""
    if (out / "saved_model" / "saved_model.pb").exists():
        return 0.0
    command = [FRACDET, "train", "--data", str(work / "ingest"), "--class-weights", str(work / "eda" / "class_weights.json"),
               "--out", str(out), "--epochs", str(epochs), "--seed", str(seed)]
    if recipe:
        command += ["--config", str(recipe)]
    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    with open(out.parent / f"{out.name}.log", "w") as log:
        subprocess.run(command, check=True, stdout=log, stderr=subprocess.STDOUT, env=QUIET)
    return time.perf_counter() - started


def evaluate(model: Path, work: Path, out: Path) -> dict:
    """The figures of `model` on the prepared renderer's val split."""
    with open(out.parent / f"{out.name}.log", "w") as log:
        subprocess.run([FRACDET, "evaluate", "--model", str(model), "--data", str(work / "ingest"), "--out", str(out),
                        "--quiet"], check=True, stdout=log, stderr=subprocess.STDOUT, env=QUIET)
    metrics = json.loads((out / "metrics.json").read_text())
    fracture = metrics["fracture"]
    return {
        "auc": fracture["overall"]["auc"],
        "part_auc": {part: fracture[part]["auc"] for part in PARTS if part in fracture},
        "fracture_ap": {part: metrics["per_class_ap"].get(f"XR_{part}_positive") for part in PARTS},
        "map50": metrics["map50"],
        "sensitivity": fracture["overall"]["sensitivity"],
        "specificity": fracture["overall"]["specificity"],
        "blessed": json.loads((out / "blessing.json").read_text())["blessed"],
    }


def print_table(rows: list[dict]) -> None:
    header = ["trained on", "evaluated on", "seed", "AUC", *PARTS, "mAP@0.5", *(f"{p} AP" for p in PARTS)]
    print("| " + " | ".join(header) + " |")
    print("|" + " --- |" * len(header))
    for row in rows:
        cells = [row["trained_on"], row["evaluated_on"], str(row["seed"]), f"{row['auc']:.3f}",
                 *(f"{row['part_auc'].get(p, float('nan')):.3f}" for p in PARTS), f"{row['map50']:.3f}",
                 *(f"{row['fracture_ap'][p]:.2f}" if row["fracture_ap"][p] is not None else "-" for p in PARTS)]
        print("| " + " | ".join(cells) + " |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--renderers", nargs="+", default=["tubes", "outlines"])
    parser.add_argument("--recipe", type=Path, help="training config YAML (default: the defaults)")
    parser.add_argument("--name", default="defaults", help="the recipe's name in the rows (default: %(default)s)")
    parser.add_argument("--epochs", type=int, default=28, help="the demo's budget (default: %(default)s)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="training seeds")
    parser.add_argument("--data-seed", type=int, default=0)
    parser.add_argument("--images", type=int, nargs=2, default=(750, 500), metavar=("TRAIN", "VAL"))
    args = parser.parse_args()
    print(f"CPU: {cpu_description()}; Python {platform.python_version()}", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    log = args.out / "transfer.jsonl"
    rows = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    done = {(r["recipe"], r["trained_on"], r["evaluated_on"], r["seed"]) for r in rows}
    works = {name: prepare(name, tuple(args.images), args.data_seed, args.out / name) for name in args.renderers}
    for trained_on in args.renderers:
        for seed in args.seeds:
            model = args.out / "models" / f"{args.name}-{trained_on}-s{seed}"
            seconds = train(works[trained_on], args.recipe, args.epochs, seed, model)
            for evaluated_on in args.renderers:
                if (args.name, trained_on, evaluated_on, seed) in done:
                    continue
                figures = evaluate(model, works[evaluated_on], model.parent / f"{model.name}-on-{evaluated_on}")
                row = {"recipe": args.name, "trained_on": trained_on, "evaluated_on": evaluated_on, "seed": seed,
                       "epochs": args.epochs, "train_seconds": round(seconds, 1), **figures}
                rows.append(row)
                with open(log, "a") as stream:
                    stream.write(json.dumps(row) + "\n")
    print_table([row for row in rows if row["recipe"] == args.name])


if __name__ == "__main__":
    main()
