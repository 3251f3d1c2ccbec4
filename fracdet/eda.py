"""`fracdet eda`: statistics, class weights, data checks and drift for an ingest, with a report."""

from __future__ import annotations

import argparse

from fracdet.arguments import non_negative_int
from fracdet_core import defaults
from fracdet_core.eda.config import WEIGHTINGS, EdaConfig


def add_commands(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "eda",
        help="analyse an ingest: statistics, class weights, data checks, drift, report",
        description=(
            "Read an ingest's manifest.json and labels.parquet (not its images) and write stats.json, "
            "class_weights.json, report.html and report.md to --out. Exits 2 after writing them when a "
            "data check fails (a class without training boxes, an empty val split, too many quarantined "
            "files, too many boxes in an image, degenerate boxes)."
        ),
    )
    parser.add_argument("--data", required=True, help="the ingest output folder or gs:// prefix")
    parser.add_argument("--out", required=True, help="output folder or gs:// prefix")
    parser.add_argument("--baseline", help="an earlier EDA output to compare against (drift)")
    parser.add_argument("--weighting", choices=WEIGHTINGS, default=defaults.CLASS_WEIGHTING,
                        help="class weights: balanced (n / (k n_c)) or effective (Cui et al. 2019) (default: %(default)s)")
    parser.add_argument("--beta", type=float, default=EdaConfig.beta,
                        help="beta of the effective weighting (default: %(default)s)")
    parser.add_argument("--max-weight", type=float, default=EdaConfig.max_weight,
                        help="cap on any class weight (default: %(default)s)")
    parser.add_argument("--max-quarantine-share", type=float, default=defaults.MAX_QUARANTINE_SHARE,
                        help="fail above this share of quarantined files (default: %(default)s)")
    parser.add_argument("--min-class-boxes", type=non_negative_int, default=EdaConfig.min_class_boxes,
                        help="warn for classes with fewer training boxes (default: %(default)s)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from fracdet_core import storage
    from fracdet_core.eda.run import run_eda

    config = EdaConfig(
        weighting=args.weighting,
        beta=args.beta,
        max_weight=args.max_weight,
        max_quarantine_share=args.max_quarantine_share,
        min_class_boxes=args.min_class_boxes,
    )
    stats = run_eda(args.data, args.out, config, baseline_uri=args.baseline)
    warnings = [check for check in stats["checks"] if check["severity"] == "warning" and not check["passed"]]
    for check in warnings:
        print(f"warning: {check['name']}: {check['detail']}")
    if stats["drift"] is not None:
        moved = stats["drift"]["flagged"]
        print("drift: " + ("; ".join(moved) if moved else "nothing moved beyond the thresholds"))
    print(f"all data checks passed; report: {storage.join(args.out, 'report.html')}")
    return 0
