"""Quality against training compute: a recipe trained at multiples of the demo's budget, evaluated as `make demo` is.

For each multiple of the demo's training compute (the epochs that take the dataset's images
through that many times the demo's 750 x 12 image-steps; the model and every other setting as
the recipe says) and each seed, runs `fracdet train` then
`fracdet evaluate` in fresh processes on one prepared ingest, and prints one row per run: the
test half's overall AUC, HAND AUC, mAP@0.5, HAND fracture AP, overall specificity at the
calibration half's thresholds, blessed or not, and the training time. Rows are appended to
`<out>/curve.jsonl` as they finish (a run already there is not repeated, so an interrupted curve
continues), and `<out>/curve.png` plots the figures against the multiple.

Compute is counted in the demo's units: training steps times batch times input pixels, over the
demo's 750 images x 12 epochs at 256 px. A recipe that trains on crops pays for the crop's
pixels, not the canvas's.

    python bench/learning_curve.py --data runs/demo/data --recipe recipe.yaml --out runs/curve \
        --multiples 1 2 4 8 --seeds 0 --extra-seeds 1 2
    python bench/learning_curve.py --out docs --plot runs/curve/curve.jsonl runs/curve-new/curve.jsonl
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from cpu import cpu_description

DEMO_EPOCHS = 12
DEMO_IMAGES = 750
DEMO_COMPUTE = DEMO_IMAGES * DEMO_EPOCHS * 256 * 256  # image-pixels the demo's training processes
FRACDET = str(Path(sys.executable).with_name("fracdet"))


def prepare(data: Path, work: Path) -> tuple[Path, Path]:
    """The ingest and its class weights, made once per dataset."""
    ingest, eda = work / "ingest", work / "eda"
    if not (ingest / "manifest.json").exists():
        subprocess.run([FRACDET, "ingest", "--data", str(data), "--out", str(ingest)], check=True)
    if not (eda / "class_weights.json").exists():
        subprocess.run([FRACDET, "eda", "--data", str(ingest), "--out", str(eda)], check=True)
    return ingest, eda / "class_weights.json"


def run_once(ingest: Path, weights: Path, recipe: Path | None, epochs: int, seed: int, folder: Path,
             images: int) -> dict:
    """Train and evaluate one setting; the figures of one row."""
    train_out, eval_out = folder / "train", folder / "evaluate"
    command = [FRACDET, "train", "--data", str(ingest), "--class-weights", str(weights), "--out", str(train_out),
               "--epochs", str(epochs), "--seed", str(seed)]
    if recipe:
        command += ["--config", str(recipe)]
    started = time.perf_counter()
    with open(folder / "train.log", "w") as log:
        subprocess.run(command, check=True, stdout=log, stderr=subprocess.STDOUT,
                       env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    train_seconds = time.perf_counter() - started
    started = time.perf_counter()
    with open(folder / "evaluate.log", "w") as log:
        subprocess.run([FRACDET, "evaluate", "--model", str(train_out), "--data", str(ingest), "--out", str(eval_out),
                        "--quiet"], check=True, stdout=log, stderr=subprocess.STDOUT,
                       env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    return {**figures(train_out, eval_out, train_seconds, images),
            "evaluate_seconds": round(time.perf_counter() - started, 1)}


def train_images(ingest: Path) -> int:
    return json.loads((ingest / "manifest.json").read_text())["splits"]["train"]["images"]


def figures(train_out: Path, eval_out: Path, train_seconds: float, train_images: int) -> dict:
    metrics = json.loads((eval_out / "metrics.json").read_text())
    blessing = json.loads((eval_out / "blessing.json").read_text())
    summary = json.loads((train_out / "train_summary.json").read_text())
    configs = json.loads((train_out / "model_config.json").read_text())
    fracture = metrics["fracture"]
    ap = metrics["per_class_ap"]
    size = configs["model"]["image_size"]
    batch = configs["train"]["batch_size"]
    steps = summary["epochs_run"] * math.ceil(train_images / batch)
    return {
        "auc": fracture["overall"]["auc"],
        "specificity": fracture["overall"]["specificity"],
        "sensitivity": fracture["overall"]["sensitivity"],
        "map50": metrics["map50"],
        "part_auc": {part: values["auc"] for part, values in fracture.items() if part != "overall"},
        "fracture_ap": {name: value for name, value in ap.items() if name.endswith("_positive")},
        "blessed": blessing["blessed"],
        "epochs_run": summary["epochs_run"],
        "train_images": train_images,
        "compute": steps * batch * size * size / DEMO_COMPUTE,
        "train_seconds": round(train_seconds, 1),
    }


def print_row(row: dict) -> None:
    hand_ap = row["fracture_ap"].get("XR_HAND_positive")
    print(f"{row['recipe']:>12} x{row['multiple']:<3} seed {row['seed']}: AUC {row['auc']:.3f}  HAND AUC "
          f"{row['part_auc'].get('HAND') or float('nan'):.3f}  mAP@0.5 {row['map50']:.3f}  HAND AP "
          f"{hand_ap if hand_ap is not None else float('nan'):.3f}  spec {row['specificity']:.2f} at sens "
          f"{row['sensitivity']:.2f}  blessed {row['blessed']}  compute {row['compute']:.2f}  "
          f"train {row['train_seconds']:.0f} s", flush=True)


def plot(rows: list[dict], path: Path) -> None:
    """One panel per figure against compute: each run a dot, each recipe's mean per multiple a line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    panels = (("overall AUC", lambda r: r["auc"]), ("HAND AUC", lambda r: r["part_auc"].get("HAND")),
              ("mAP@0.5", lambda r: r["map50"]))
    figure, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    for axis, (title, value) in zip(axes, panels, strict=True):
        for colour, recipe in enumerate(sorted({row["recipe"] for row in rows})):
            runs = [(row["multiple"], row["compute"], value(row)) for row in rows if row["recipe"] == recipe]
            multiples = sorted({multiple for multiple, _, _ in runs})
            means = [[(c, v) for m, c, v in runs if m == multiple] for multiple in multiples]
            axis.plot([sum(c for c, _ in group) / len(group) for group in means],
                      [sum(v for _, v in group) / len(group) for group in means], "-", color=f"C{colour}", label=recipe)
            axis.plot([c for _, c, _ in runs], [v for _, _, v in runs], "o", color=f"C{colour}", alpha=0.6)
        axis.set_xscale("log", base=2)
        axis.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda value, _: f"{value:g}x"))
        axis.set_xlabel("training compute (x the demo's before)")
        axis.set_title(title)
        axis.grid(alpha=0.3)
    axes[0].legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="a YOLO dataset (fracdet synth's output); needed to train")
    parser.add_argument("--recipe", type=Path, help="training config YAML (default: the defaults)")
    parser.add_argument("--name", help="the recipe's name in the table (default: the file's stem, or 'defaults')")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--multiples", type=float, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--extra-seeds", type=int, nargs="*", default=[1, 2], help="more seeds at 1x")
    parser.add_argument("--plot", type=Path, nargs="+", metavar="CURVE_JSONL",
                        help="only plot these curves' rows together into <out>/curve.png, training nothing")
    args = parser.parse_args()
    if args.plot:
        args.out.mkdir(parents=True, exist_ok=True)
        plot([json.loads(line) for path in args.plot for line in path.read_text().splitlines()], args.out / "curve.png")
        return
    if not args.data:
        parser.error("--data is needed to train (or --plot to only plot)")
    name = args.name or (args.recipe.stem if args.recipe else "defaults")
    args.out.mkdir(parents=True, exist_ok=True)
    ingest, weights = prepare(args.data, args.out)
    results = args.out / "curve.jsonl"
    rows = [json.loads(line) for line in results.read_text().splitlines()] if results.exists() else []
    cpu = cpu_description()
    images = train_images(ingest)
    print(f"CPU: {cpu}; Python {platform.python_version()}", flush=True)
    plan = [(multiple, seed) for multiple in args.multiples for seed in args.seeds]
    plan += [(1.0, seed) for seed in args.extra_seeds if (1.0, seed) not in plan]
    for multiple, seed in plan:
        done = [row for row in rows if (row["recipe"], row["multiple"], row["seed"]) == (name, multiple, seed)]
        if done:
            print_row(done[0])
            continue
        folder = args.out / f"{name}-x{multiple:g}-seed{seed}"
        epochs = max(1, round(DEMO_EPOCHS * multiple * DEMO_IMAGES / images))
        folder.mkdir(exist_ok=True)
        row = {"recipe": name, "multiple": multiple, "seed": seed, "cpu": cpu,
               **run_once(ingest, weights, args.recipe, epochs, seed, folder, images)}
        rows.append(row)
        with results.open("a") as stream:
            stream.write(json.dumps(row) + "\n")
        print_row(row)
    plot(rows, args.out / "curve.png")


if __name__ == "__main__":
    main()
