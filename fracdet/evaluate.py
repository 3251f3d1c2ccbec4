"""`fracdet evaluate`: measure a trained model on an ingest's val split and decide whether to bless it."""

from __future__ import annotations

import argparse

from fracdet.arguments import positive_int
from fracdet.tracking_options import add_tracking_options, log_if_tracked
from fracdet_core import defaults
from fracdet_core.evaluate.config import EvaluateConfig

_DESCRIPTION = (
    "Run the model's serving signature on the ingest's val split, as a server would, and write "
    "metrics.json (COCO mAP@0.5 with a bootstrap interval, mAP@[.5:.95], per-class AP, FROC, "
    "per-body-part sensitivity, specificity, ROC AUC and operating threshold, latency), operating_thresholds.json "
    "(the thresholds the model is to serve with, which register keeps and predict reads), blessing.json (blessed "
    "or not, with every check's reason) and report.html to --out, the four together: they are "
    "built beside --out and replace it whole, so a killed run leaves the previous evaluation. --out must be "
    "new, empty or an earlier evaluation, and clear of the model, data, champion, thresholds and cache. "
    "With --champion, the "
    "champion is evaluated on the same split and the candidate must not regress against it. "
    "Exits 0 whether or not the model is blessed; read blessing.json."
)


def add_commands(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "evaluate",
        help="evaluate a model: COCO mAP, per-class AP, FROC, per-body-part clinical metrics, blessing",
        description=_DESCRIPTION,
    )
    parser.add_argument("--model", required=True, help="a SavedModel folder, or a train output holding saved_model/")
    parser.add_argument("--data", required=True, help="the ingest output folder or gs:// prefix")
    parser.add_argument("--out", required=True,
                        help="output folder or gs:// prefix: new, empty, or an earlier evaluation (replaced whole)")
    parser.add_argument("--champion", help="the model in service (same forms as --model), to compare against")
    parser.add_argument("--thresholds", help="blessing thresholds YAML: min_map50, min_sensitivity, max_regression")
    parser.add_argument("--cache", help="folder or gs:// prefix caching the champion's metrics by model and data")
    parser.add_argument("--split", default=EvaluateConfig.split, help="the ingest split to evaluate on (default: %(default)s)")
    parser.add_argument("--target-sensitivity", type=float, default=defaults.TARGET_SENSITIVITY,
                        help="image-level sensitivity the per-body-part thresholds are set for (default: %(default)s)")
    parser.add_argument("--target-specificity", type=float, default=defaults.TARGET_SPECIFICITY,
                        help="image-level specificity the per-body-part 'definite' thresholds are set for "
                             "(default: %(default)s)")
    parser.add_argument("--target-in-scope-kept", type=float, default=defaults.TARGET_IN_SCOPE_KEPT,
                        help="share of in-scope images the in-scope threshold keeps (default: %(default)s)")
    parser.add_argument("--batch-size", type=positive_int, default=EvaluateConfig.batch_size,
                        help="images per serving call (default: %(default)s)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_tracking_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from fracdet_core import storage
    from fracdet_core.evaluate.run import run_evaluation
    from fracdet_core.evaluate.summary import blessing_lines, metrics_table
    from fracdet_core.operating_thresholds import FILE_NAME

    config = EvaluateConfig(split=args.split, target_sensitivity=args.target_sensitivity,
                            target_specificity=args.target_specificity, target_in_scope_kept=args.target_in_scope_kept,
                            batch_size=args.batch_size, show_progress=not args.quiet)
    evaluation, blessing = run_evaluation(args.model, args.data, args.out, champion_uri=args.champion,
                                       thresholds_uri=args.thresholds, cache_uri=args.cache, config=config)
    print(metrics_table(evaluation.metrics))
    print(blessing_lines(blessing.blessed, blessing.reasons))
    print(f"operating thresholds: {storage.join(args.out, FILE_NAME)}")
    print(f"report: {storage.join(args.out, 'report.html')}")
    log_if_tracked(args, "evaluate", evaluation_uri=args.out)
    return 0
