"""The `fracdet` command: one sub-command per pipeline stage.

Each module of this package adds its sub-commands to the parser with `add_commands(commands)`.

Library code raises `FracdetError` for problems the user can fix; this is the one place that
turns them into a single line on stderr and exit code 2. Anything else is a bug and keeps its
traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from fracdet import eda, evaluate, ingest, pipeline, predict, register, synth, train, train_job
from fracdet_core import __version__
from fracdet_core.errors import FracdetError

_COMMAND_MODULES = (synth, ingest, eda, train, train_job, evaluate, register, pipeline, predict)
USAGE_ERROR = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fracdet",
        description=(
            "Bone-fracture detection on X-ray images, from a YOLO-format dataset to a trained, "
            "evaluated and registered model. Each sub-command is one pipeline stage."
        ),
        epilog="Run `fracdet COMMAND --help` for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in _COMMAND_MODULES:
        module.add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except FracdetError as error:
        print(f"fracdet {args.command}: error: {error}", file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:
        print(f"fracdet {args.command}: interrupted", file=sys.stderr)
        return 130
