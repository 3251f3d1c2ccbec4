"""The pipeline's parameters as command-line options, made from the pipeline's own definitions so they cannot drift.

Parameter `name` is the option `--name`, the name `kfp run create` and `fracdet pipeline submit`
take, with `--name-with-dashes` as an alias. Its type, default, help and whether it is required
come from the definition (`fracdet_pipelines.parameters`); a boolean is a flag pair,
`--promote/--no-promote`, which reads as what it does and takes no value to misspell.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Mapping

from fracdet_pipelines.parameters import parse_value

_METAVARS = {"STRING": "TEXT", "NUMBER_INTEGER": "INT", "NUMBER_DOUBLE": "NUMBER", "STRUCT": "JSON", "LIST": "JSON"}


def add_parameter_options(parser: argparse.ArgumentParser, parameters: Mapping[str, dict]) -> None:
    """One option per parameter (definitions as `fracdet_pipelines.parameters.defined_parameters` gives them).

    Raises:
        argparse.ArgumentError: a parameter's option is one the parser already has.
    """
    group = parser.add_argument_group(
        "pipeline parameters", "The pipeline's own parameters, under the names `kfp run create` takes "
        "(a dash may stand for each underscore).",
    )
    for name, definition in parameters.items():
        _add_parameter(group, name, definition)


def parameter_arguments(args: argparse.Namespace, parameters: Mapping[str, dict]) -> dict[str, object]:
    """Parameter -> value, from parsed options; a parameter left unset and without a default is left out."""
    return {name: getattr(args, name) for name in parameters if getattr(args, name) is not None}


def option_strings(name: str) -> tuple[str, ...]:
    """`--name`, and `--name-with-dashes` when the name has underscores."""
    dashed = name.replace("_", "-")
    return (f"--{name}",) if dashed == name else (f"--{name}", f"--{dashed}")


def _add_parameter(group: argparse._ArgumentGroup, name: str, definition: dict) -> None:
    kind = definition["parameterType"]
    required = not definition.get("isOptional")
    default = definition.get("defaultValue")
    text = definition.get("description", "").replace("%", "%%")  # argparse formats help with %
    if kind == "BOOLEAN":
        if not required:
            text += f" (default: --{'' if default else 'no-'}{name})"
        group.add_argument(*option_strings(name), dest=name, action=argparse.BooleanOptionalAction, default=default,
                           required=required, help=text)
        return
    if not required:
        text += f" (default: {_shown(default)})"
    group.add_argument(*option_strings(name), dest=name, type=_option_type(kind), metavar=_METAVARS[kind], default=default,
                       required=required, help=text)


def _option_type(kind: str) -> Callable[[str], object]:
    """argparse's `type` for a parameter type: a bad value is a usage error that says what the type takes."""

    def parse(text: str) -> object:
        try:
            return parse_value(text, kind)
        except ValueError as error:
            raise argparse.ArgumentTypeError(f"{error}, got {text!r}") from None

    return parse


def _shown(default: object) -> str:
    if default is None:
        return "none"
    if default == "":
        return "empty"
    return json.dumps(default) if isinstance(default, dict | list) else str(default)
