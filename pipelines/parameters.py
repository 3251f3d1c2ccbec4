"""Pipeline parameters and their values, typed by the pipeline's own parameter definitions.

The KFP backend rejects a run whose argument has the wrong type only after it was created, and
`kfp run create` guesses types from the text (`"007"` becomes 7). Reading the types from the
pipeline catches a misspelt name, a missing required parameter or a bad value before anything
runs, with a message that names the parameter and what it takes. The definitions come either
from a compiled YAML (`fracdet pipeline submit`) or from the pipeline itself (`fracdet pipeline
run`), in the same shape, so both commands take the same names, types and defaults.
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Callable, Mapping, Sequence

import yaml
from kfp.dsl import graph_component
from kfp.dsl.types import type_utils

from fracdet_core import storage
from fracdet_core.errors import ConfigError

_TRUE = ("true", "yes", "1")
_FALSE = ("false", "no", "0")
# Parameter -> the least value the pipeline can use, and what values from there mean: its KFP type says only "integer".
_MINIMUMS = {"train_workers": (1, "1 trains in one task, more on that many machines")}


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


def defined_parameters(pipeline: graph_component.GraphComponent) -> dict[str, dict]:
    """Parameter name -> its definition, as `pipeline_parameters` reads it from the compiled YAML, in declaration order.

    Raises:
        TypeError: the pipeline takes an artifact, which no command line can give.
    """
    definitions = {}
    for name, spec in pipeline.component_spec.inputs.items():
        if not type_utils.is_parameter_type(spec.type):
            raise TypeError(f"pipeline input {name!r} is an artifact ({spec.type}); a run takes parameters only")
        definition = {"parameterType": type_utils.get_parameter_type_name(spec.type), "description": spec.description or ""}
        if spec.optional:
            definition["isOptional"] = True
            if spec.default is not None:
                definition["defaultValue"] = spec.default
        definitions[name] = definition
    return definitions


def parse_arguments(pairs: Sequence[str], parameters: Mapping[str, dict]) -> dict[str, object]:
    """Typed arguments from `key=value` strings.

    Raises:
        ConfigError: a pair without '=', an unknown or repeated name, a value that does not fit
            the parameter's type or that the pipeline cannot use, or a required parameter left out.
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
        try:
            arguments[name] = parse_value(text, parameters[name]["parameterType"])
        except ValueError as error:
            raise ConfigError(f"{name}={text!r}: {error}") from None
    missing = sorted(name for name, spec in parameters.items() if not spec.get("isOptional") and name not in arguments)
    if missing:
        raise ConfigError(f"required pipeline parameters missing: {', '.join(f'{name}=...' for name in missing)}")
    check_values(arguments)
    return arguments


def check_values(arguments: Mapping[str, object]) -> None:
    """Refuse a value of the right type that the pipeline cannot use, before anything runs.

    Raises:
        ConfigError: naming the parameter, its value and what it takes.
    """
    for name, (least, meaning) in _MINIMUMS.items():
        value = arguments.get(name)
        if isinstance(value, int) and value < least:
            raise ConfigError(f"{name}={value}: expected {least} or more ({meaning})")


def argument_value(name: str, arguments: Mapping[str, object], parameters: Mapping[str, dict]) -> object:
    """The value a run gets for `name`: the argument, else the pipeline's default."""
    if name in arguments:
        return arguments[name]
    return parameters[name].get("defaultValue")


def parse_value(text: str, kind: str) -> object:
    """`text` as a value of the KFP parameter type `kind` (`parameterType`: STRING, NUMBER_INTEGER, ...).

    Raises:
        ValueError: the text does not fit the type; the message says what the type takes.
    """
    if kind not in _PARSERS:
        raise ValueError(f"parameter type {kind} is not supported on the command line")
    return _PARSERS[kind](text)


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError("expected a whole number") from None


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError("expected a number") from None
    if not math.isfinite(value):
        raise ValueError("expected a finite number")
    return value


def _boolean(text: str) -> bool:
    if text.lower() not in _TRUE + _FALSE:
        raise ValueError("expected true or false")
    return text.lower() in _TRUE


def _json_of(expected: type, shape: str) -> Callable[[str], object]:
    def parse(text: str) -> object:
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = None
        if not isinstance(value, expected):
            raise ValueError(f"expected a JSON {shape}")
        return value

    return parse


_PARSERS: dict[str, Callable[[str], object]] = {
    "STRING": str,
    "NUMBER_INTEGER": _integer,
    "NUMBER_DOUBLE": _number,
    "BOOLEAN": _boolean,
    "STRUCT": _json_of(dict, "object"),
    "LIST": _json_of(list, "array"),
}
