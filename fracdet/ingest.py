"""`fracdet ingest`: a YOLO dataset to validated TFRecord shards, a manifest and a quarantine list."""

from __future__ import annotations

import argparse

from fracdet.arguments import non_negative_int, positive_int
from fracdet_core import defaults
from fracdet_core.limits import DecodeLimits
from fracdet_core.parallel import default_workers


def add_commands(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "ingest",
        help="turn a YOLO dataset into validated TFRecord shards",
        description=(
            "Read an Ultralytics data.yaml (or the folder or gs:// prefix holding one), check every "
            "image and label file, and write TFRecord shards, manifest.json, labels.parquet and "
            "quarantine.jsonl (every rejected file with its reason) to --out. Output bytes do not "
            "depend on --workers; manifest.json is written last. --out must be empty, new, or an earlier "
            "ingest's output; ingest deletes there only the files it wrote."
        ),
    )
    parser.add_argument("--data", required=True, help="data.yaml, or a folder or gs:// prefix holding one")
    parser.add_argument("--out", required=True,
                        help="output folder or gs://bucket/prefix: new, empty, or an earlier ingest's output")
    parser.add_argument("--shards", type=non_negative_int, default=defaults.SHARDS,
                        help="shards per split; 0 makes one per 1000 images (default: %(default)s)")
    parser.add_argument("--workers", type=positive_int, default=default_workers(),
                        help="parallel processes (default: all cores, here %(default)s)")
    parser.add_argument("--max-side", type=non_negative_int, default=defaults.MAX_SIDE,
                        help="downscale images whose longer side exceeds this; 0 keeps sizes (default: %(default)s)")
    parser.add_argument("--max-pixels", type=positive_int, default=DecodeLimits.max_pixels,
                        help="quarantine images with more pixels as decompression_bomb, checked from the header "
                             "before decoding; it replaces Pillow's own 89 MP guard (default: %(default)s)")
    parser.add_argument("--max-bytes", type=positive_int, default=DecodeLimits.max_bytes,
                        help="quarantine larger files as file_too_large, unread (default: %(default)s = 64 MiB)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from fracdet_core.ingest.config import IngestConfig
    from fracdet_core.ingest.run import ingest_dataset

    config = IngestConfig(
        shards=args.shards,
        workers=args.workers,
        limits=DecodeLimits(max_pixels=args.max_pixels, max_side=args.max_side, max_bytes=args.max_bytes),
    )
    manifest = ingest_dataset(args.data, args.out, config, progress=not args.quiet)
    totals = manifest["totals"]
    print(f"found {totals['found']}, ingested {totals['ingested']}, quarantined {totals['quarantined']}"
          f" ({totals['warnings']} kept with warnings)")
    for reason, count in manifest["quarantine_reasons"].items():
        print(f"  {reason}: {count}")
    for split, summary in manifest["splits"].items():
        outside = f" ({summary['out_of_scope_images']} out of scope)" if summary.get("out_of_scope_images") else ""
        print(f"{split}: {summary['images']} images{outside}, {summary['boxes']} boxes, {len(summary['shards'])} shards")
    print(f"ingest: {args.out} (manifest.json, quarantine.jsonl, labels.parquet)")
    return 0
