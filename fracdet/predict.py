"""`fracdet predict`: run a model on X-ray images and write boxes, labels, the fracture call and annotated pictures.

Exit codes: 0 when at least one image was predicted (skipped inputs are listed on stderr and in
errors.csv); 1 when no input could be predicted (the outputs still list why); 2 when the model
cannot be found or loaded, `--threshold auto` finds no operating thresholds, or an argument is wrong (an
`--out` that is a file, overlaps an input, or holds files predict did not write).
"""

from __future__ import annotations

import argparse
import sys

from fracdet.arguments import non_negative_int, positive_int
from fracdet_core.limits import MAX_BYTES, MAX_PIXELS, DecodeLimits

NOTHING_PREDICTED = 1


def _threshold(text: str) -> float | None:
    if text == "auto":
        return None
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected 'auto' or a score within [0, 1], got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected 'auto' or a score within [0, 1], got {value}")
    return value


_DESCRIPTION = (
    "Run the model's serving signature on every image named (files or folders, local or gs://; PNG, JPEG, "
    "BMP, TIFF, DICOM) and write, per image, <name>.json (boxes in pixels of the original, class names, "
    "scores, body part, the image-level fracture call) and <name>.png (boxes drawn: fracture red, normal "
    "blue, the call underneath), then summary.csv and errors.csv to --out. An image outside the indications (a "
    "radiograph of another body part, CT, MR, ultrasound, a photograph: by its DICOM tags, its pixels or the "
    "model's in-scope score) is answered not supported, with the reason, and gets no fracture call. Unreadable inputs are listed "
    "with the reason and skipped. --out then holds exactly this run's results (listed in "
    ".fracdet-predict.json): they are built beside it and replace it whole, so a killed run leaves the "
    "previous results. --out must be new, empty or an earlier predict output, and neither an input nor "
    "inside or around one. Exit code 0 when at least one image was predicted, 1 when none could be, "
    "2 when --out is refused or the model or its thresholds cannot be found or loaded."
)


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Add `fracdet predict`, its options grouped as `--help` shows them."""
    parser = commands.add_parser(
        "predict", help="run a model on PNG, JPEG or DICOM images: boxes, fracture call, annotated pictures",
        description=_DESCRIPTION,
    )
    _add_inputs_model_and_output(parser)
    _add_fracture_call_options(parser.add_argument_group("the fracture call"))
    _add_picture_options(parser.add_argument_group("annotated pictures"))
    _add_input_limits(parser.add_argument_group("input limits"))
    _add_run_options(parser.add_argument_group("running"))
    parser.set_defaults(run=run)


def _add_inputs_model_and_output(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", metavar="IMAGE_OR_DIR", help="image files or folders, local or gs://")
    parser.add_argument("--model", required=True,
                        help="a registry reference, [registry://]<root>/<name>@champion or @<N> (the root may be "
                             "mlflow://HOST:PORT), an MLflow one, models:/<name>@champion or models:/<name>/<N> "
                             "(MLFLOW_TRACKING_URI's server), or a model URI (a train output or a SavedModel folder)")
    parser.add_argument("--out", required=True,
                        help="output folder or gs:// prefix: new, empty, or an earlier predict output (replaced whole)")


def _add_fracture_call_options(group: argparse._ArgumentGroup) -> None:
    group.add_argument("--threshold", type=_threshold, default=None, metavar="auto|X",
                       help="score at which an image is called fractured; auto (default): the per-body-part "
                            "operating thresholds chosen when the model was evaluated, from --evaluation or, for a "
                            "registry version, the ones it keeps")
    group.add_argument("--evaluation", metavar="URI",
                       help="the operating thresholds for auto: a `fracdet evaluate` output or its "
                            "operating_thresholds.json (a registry version's folder holds one too); needed for a model "
                            "named by URI, which names no thresholds of its own")


def _add_picture_options(group: argparse._ArgumentGroup) -> None:
    group.add_argument("--max-boxes", type=non_negative_int, default=5,
                       help="most boxes drawn per picture; the JSON keeps every detection (default: %(default)s)")
    group.add_argument("--draw-threshold", type=_threshold, default=None, metavar="auto|X",
                       help="draw boxes scoring at least this; auto (default): the image's fracture threshold")


def _add_input_limits(group: argparse._ArgumentGroup) -> None:
    group.add_argument("--max-pixels", type=positive_int, default=MAX_PIXELS,
                       help="skip images with more pixels as decompression_bomb, checked from the header before "
                            "decoding; the model's own serving limit still applies (default: %(default)s)")
    group.add_argument("--max-bytes", type=positive_int, default=MAX_BYTES,
                       help="skip larger files as file_too_large, without reading them (default: %(default)s)")


def _add_run_options(group: argparse._ArgumentGroup) -> None:
    group.add_argument("--batch-size", type=positive_int, default=8, help="images per serving call (default: %(default)s)")
    group.add_argument("--quiet", action="store_true", help="no progress bar")


def closing_line(rows: list[dict], skipped: int, out: str) -> str:
    """The last line: images predicted, called fractured, not supported (outside the indications), skipped."""
    not_supported = sum(not row["in_scope"] for row in rows)
    fractured = sum(bool(row["fractured"]) for row in rows if row["in_scope"])
    return (f"predicted {len(rows)} image(s): {fractured} called fractured, {not_supported} not supported (outside the "
            f"indications: no fracture call); skipped {skipped}; outputs in {out} (summary.csv, errors.csv)")


def run(args: argparse.Namespace) -> int:
    from fracdet_core.predict.config import DisplayConfig, PredictConfig
    from fracdet_core.predict.run import predict
    from fracdet_core.tensorflow_start import import_tensorflow_quietly

    import_tensorflow_quietly()  # before anything imports it: the command prints its own lines only

    config = PredictConfig(threshold=args.threshold, evaluation_uri=args.evaluation, batch_size=args.batch_size,
                           display=DisplayConfig(max_boxes=args.max_boxes, min_score=args.draw_threshold),
                           show_progress=not args.quiet, limits=DecodeLimits(max_pixels=args.max_pixels,
                                                                                max_bytes=args.max_bytes))
    summary = predict(args.model, args.inputs, args.out, config)
    thresholds = summary.thresholds
    shown = ", ".join(f"{part} {value:.3f}" for part, value in thresholds.by_part.items())
    print(f"model: {summary.model.location}" + (f" (version {summary.model.version.version})" if summary.model.version else ""))
    print(f"thresholds: {shown + ', ' if shown else ''}other {thresholds.overall:.3f} (from {thresholds.source})")
    print(_definite_line(thresholds))
    for item in summary.unreadable:
        print(f"fracdet predict: skipped {item.uri}: {item.reason}: {item.detail}", file=sys.stderr)
    if summary.ignored:
        ignored = ", ".join(f"{count} {suffix}" for suffix, count in summary.ignored.items())
        print(f"fracdet predict: ignored files that are not images: {ignored}", file=sys.stderr)
    print(closing_line(summary.rows, len(summary.unreadable), args.out))
    return 0 if summary.rows else NOTHING_PREDICTED


def _definite_line(thresholds) -> str:  # noqa: ANN001 - OperatingThresholds, imported late
    """The definite operating point's thresholds, or why there are none."""
    if thresholds.definite_overall is None:
        return "definite: none (every fracture call is suspicious; boxes dashed)"
    shown = ", ".join(f"{part} {value:.3f}" for part, value in thresholds.definite_by_part.items())
    return f"definite: {shown + ', ' if shown else ''}other {thresholds.definite_overall:.3f} (solid boxes; suspicious dashed)"
