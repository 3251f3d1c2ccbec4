"""`key=value` run arguments, typed by the compiled pipeline's own parameter definitions.

The KFP backend rejects a run whose argument has the wrong type only after it was created, and
`kfp run create` guesses types from the text (`"007"` becomes 7). Reading the types from the
compiled YAML catches a misspelt name, a missing required parameter or a bad value before
anything is submitted, with a message that names the parameter and what it takes.
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Mapping, Sequence

import yaml

from fracdet_core import storage
from fracdet_core.errors import ConfigError

_TRUE = ("true", "yes", "1")
_FALSE = ("false", "no", "0")


def pipeline_parameters(pipeline_file: str) -> dict[str, dict]:
    """Parameter name -> its definition (`parameterType`, `defaultValue`, ...) in a compiled pipeline.

    Raises:
        ConfigError: the file is not a compiled KFP pipeline.
    """
    try:
        document = next(yaml.safe_load_all(storage.read_text(pipeline_file)))
        return dict(document["root"]["inputDefinitions"]["parameters"])
    except (yaml.YAMLError, StopIteration, KeyError, TypeError) as error:
        raise ConfigError(f"{pipeline_file}: not a compiled KFP pipeline (no root.inputDefinitions.parameters)") from error


def parse_arguments(pairs: Sequence[str], parameters: Mapping[str, dict]) -> dict[str, object]:
    """Typed arguments from `key=value` strings.

    Raises:
        ConfigError: a pair without '=', an unknown or repeated name, a value that does not fit
            the parameter's type, or a required parameter left out.
    """
    arguments: dict[str, object] = {}
    for pair in pairs:
        name, has_value, text = pair.partition("=")
        if not has_value or not name:
            raise ConfigError(f"run arguments are key=value, got {pair!r}")
        if name not in parameters:
            close = difflib.get_close_matches(name, parameters, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ConfigError(f"unknown pipeline parameter {name!r}; {hint}the pipeline takes: {', '.join(sorted(parameters))}")
        if name in arguments:
            raise ConfigError(f"pipeline parameter {name!r} is given twice")
        arguments[name] = _typed(name, text, parameters[name]["parameterType"])
    missing = sorted(name for name, spec in parameters.items() if not spec.get("isOptional") and name not in arguments)
    if missing:
        raise ConfigError(f"required pipeline parameters missing: {', '.join(f'{name}=...' for name in missing)}")
    return arguments


def argument_value(name: str, arguments: Mapping[str, object], parameters: Mapping[str, dict]) -> object:
    """The value a run gets for `name`: the argument, else the pipeline's default."""
    if name in arguments:
        return arguments[name]
    return parameters[name].get("defaultValue")


def _typed(name: str, text: str, kind: str) -> object:
    if kind == "STRING":
        return text
    if kind == "NUMBER_INTEGER":
        try:
            return int(text)
        except ValueError:
            raise ConfigError(f"{name}={text!r}: expected a whole number") from None
    if kind == "NUMBER_DOUBLE":
        try:
            value = float(text)
        except ValueError:
            raise ConfigError(f"{name}={text!r}: expected a number") from None
        if not math.isfinite(value):
            raise ConfigError(f"{name}={text!r}: expected a finite number")
        return value
    if kind == "BOOLEAN":
        if text.lower() in _TRUE + _FALSE:
            return text.lower() in _TRUE
        raise ConfigError(f"{name}={text!r}: expected true or false")
    if kind in ("STRUCT", "LIST"):
        expected = dict if kind == "STRUCT" else list
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = None
        if not isinstance(value, expected):
            raise ConfigError(f"{name}={text!r}: expected a JSON {'object' if kind == 'STRUCT' else 'array'}")
        return value
    raise ConfigError(f"{name}: parameter type {kind} is not supported on the command line")
