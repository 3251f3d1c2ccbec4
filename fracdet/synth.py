"""`fracdet synth`: write synthetic radiographs in the Ultralytics YOLO layout."""

from __future__ import annotations

import argparse

from fracdet.arguments import non_negative_int, positive_int
from fracdet_core.parallel import default_workers
from fracdet_core.synth.config import IMAGE_FORMATS, RENDERERS, SynthConfig


def add_commands(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "synth",
        help="write a synthetic radiograph dataset (YOLO layout)",
        description=(
            "Render synthetic X-rays of elbows, fingers, forearms, hands and shoulders, with and "
            "without fractures, and write them with YOLO labels and a data.yaml in the layout of "
            "the XR Bones dataset. The output depends only on the options, not on --workers."
        ),
    )
    parser.add_argument("--out", required=True, help="output folder or gs://bucket/prefix")
    parser.add_argument("--train", type=non_negative_int, default=SynthConfig.train,
                        help="training images (default: %(default)s)")
    parser.add_argument("--val", type=non_negative_int, default=SynthConfig.val, help="validation images (default: %(default)s)")
    parser.add_argument("--size", type=positive_int, default=SynthConfig.size,
                        help="longer image side in pixels (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=SynthConfig.seed, help="random seed (default: %(default)s)")
    parser.add_argument("--format", dest="image_format", choices=IMAGE_FORMATS, default=SynthConfig.image_format,
                        help="png: 8-bit grayscale; dcm: 12-bit CR DICOM (default: %(default)s)")
    parser.add_argument("--renderer", choices=RENDERERS, default=SynthConfig.renderer,
                        help="tubes: bones as tapered tubes; outlines: bones as outlines that overlap at the joints, "
                             "another look throughout, to judge a detector trained on the other (default: %(default)s)")
    _add_out_of_scope_arguments(parser)
    parser.add_argument("--workers", type=positive_int, default=default_workers(),
                        help="parallel processes (default: all cores, here %(default)s)")
    parser.add_argument("--overwrite", action="store_true", help="replace a dataset already in --out")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(run=run)


def _add_out_of_scope_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out-of-scope-train", type=non_negative_int, default=SynthConfig.out_of_scope_train,
                        help="out-of-scope training images: radiographs of other anatomy (chest, knee, ankle and foot, "
                             "pelvis, skull, spine, tibia and fibula) and CT, MR, ultrasound, photograph and document "
                             "images, spread evenly, written to out_of_scope/train/<KIND>/ (default: %(default)s)")
    parser.add_argument("--out-of-scope-val", type=non_negative_int, default=SynthConfig.out_of_scope_val,
                        help="out-of-scope validation images, written to out_of_scope/valid/<KIND>/ (default: %(default)s)")


def run(args: argparse.Namespace) -> int:
    from fracdet_core.synth.dataset import generate_dataset

    config = SynthConfig(
        train=args.train, val=args.val, size=args.size, seed=args.seed, image_format=args.image_format, renderer=args.renderer,
        out_of_scope_train=args.out_of_scope_train, out_of_scope_val=args.out_of_scope_val,
    )
    summary = generate_dataset(config, args.out, workers=args.workers, overwrite=args.overwrite, progress=not args.quiet)
    for split, count in summary.images.items():
        boxes = sum(summary.boxes[split].values())
        print(f"{split}: {count} images ({summary.background[split]} without labels), {boxes} boxes")
    for split, kinds in summary.out_of_scope.items():
        if kinds:
            print(f"{split}: {sum(kinds.values())} out-of-scope images ({', '.join(f'{k} {n}' for k, n in kinds.items())})")
    print(f"dataset: {summary.out}/data.yaml")
    return 0
