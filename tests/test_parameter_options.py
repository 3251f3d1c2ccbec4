"""`fracdet pipeline run`'s options: every pipeline parameter, under its own name, typed by the pipeline."""

from __future__ import annotations

import argparse

import pytest

from fracdet import build_parser, main
from fracdet.parameter_options import add_parameter_options
from fracdet_pipelines.fracdet_pipeline import create_pipeline

REQUIRED = ["--data_uri", "data", "--registry_uri", "registry"]
LOCAL_RUN_KEYS = {"command", "action", "run", "root", "verbose"}  # the namespace's keys that are not parameters


@pytest.fixture(scope="module")
def inputs() -> dict:
    """The pipeline's parameters as KFP compiled them from its signature and docstring: the names `kfp run create` takes."""
    return dict(create_pipeline().component_spec.inputs)


def _parse_run(*options: str) -> argparse.Namespace:
    return build_parser().parse_args(["pipeline", "run", *options])


def _given(name: str, spec) -> tuple[list[str], object]:
    """Options that set parameter `name` to a value other than its default, and that value, by the parameter's type."""
    if spec.type == "Boolean":
        return ([f"--no-{name}"] if spec.default else [f"--{name}"]), not spec.default
    value = {"String": f"text of {name}", "Integer": 7, "Float": 0.25}[spec.type]
    return [f"--{name}", str(value)], value


def test_every_pipeline_parameter_is_an_option_with_the_pipelines_default(inputs):
    args = _parse_run(*REQUIRED)
    assert set(vars(args)) - LOCAL_RUN_KEYS == set(inputs)  # a parameter the command does not know fails here
    for name, spec in inputs.items():
        if spec.optional:
            assert getattr(args, name) == spec.default and type(getattr(args, name)) is type(spec.default), name


def test_every_pipeline_parameter_takes_a_value_of_its_type(inputs):
    options, expected = [], {}
    for name, spec in inputs.items():
        given, expected[name] = _given(name, spec)
        options += given
    args = _parse_run(*options)
    assert {name: getattr(args, name) for name in inputs} == expected
    assert all(type(getattr(args, name)) is type(value) for name, value in expected.items())


def test_a_dash_may_stand_for_each_underscore():
    dashed = _parse_run("--data-uri", "d", "--registry-uri", "r", "--max-quarantine-share", "0.5", "--image-size", "64")
    underscored = _parse_run("--data_uri", "d", "--registry_uri", "r", "--max_quarantine_share", "0.5", "--image_size", "64")
    assert dashed == underscored and dashed.max_quarantine_share == 0.5 and dashed.image_size == 64


def test_the_local_runs_own_options_are_not_pipeline_parameters(inputs):
    args = _parse_run(*REQUIRED, "--root", "elsewhere", "--verbose")
    assert args.root == "elsewhere" and args.verbose is True
    assert not LOCAL_RUN_KEYS & set(inputs)
    parser = argparse.ArgumentParser()
    parser.add_argument("--root")
    with pytest.raises(argparse.ArgumentError, match="conflicting option string: --root"):
        add_parameter_options(parser, {"root": {"parameterType": "STRING", "isOptional": True, "defaultValue": ""}})


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--epochs", "2.5"], "argument --epochs: expected a whole number, got '2.5'"),
        (["--image-size", "big"], "argument --image_size/--image-size: expected a whole number, got 'big'"),
        (["--target_sensitivity", "nan"], "--target_sensitivity/--target-sensitivity: expected a finite number, got 'nan'"),
        (["--max_quarantine_share", "a tenth"], "expected a number, got 'a tenth'"),
        (["--promote=yes"], "argument --promote/--no-promote: ignored explicit argument 'yes'"),
    ],
)
def test_a_value_of_the_wrong_type_is_a_usage_error_that_names_the_option(capsys, options, message):
    with pytest.raises(SystemExit) as exited:
        main(["pipeline", "run", *REQUIRED, *options])
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ([], "the following arguments are required: --data_uri/--data-uri, --registry_uri/--registry-uri"),
        ([*REQUIRED, "--registry", "r"], "unrecognized arguments: --registry r"),  # the old names are gone
        ([*REQUIRED, "--train-config", "t.yaml"], "unrecognized arguments: --train-config"),  # and are no abbreviation
    ],
)
def test_required_parameters_and_unknown_options(capsys, options, message):
    with pytest.raises(SystemExit):
        main(["pipeline", "run", *options])
    assert message in capsys.readouterr().err


def test_json_and_required_parameters_follow_their_definitions(capsys):
    parser = argparse.ArgumentParser(prog="run")
    add_parameter_options(parser, {
        "selector": {"parameterType": "STRUCT", "isOptional": True, "defaultValue": {"pool": "gpu"}},
        "items": {"parameterType": "LIST", "isOptional": True},
        "strict": {"parameterType": "BOOLEAN"},
    })
    args = parser.parse_args(["--selector", '{"a": "b"}', "--items", "[1, 2]", "--strict"])
    assert (args.selector, args.items, args.strict) == ({"a": "b"}, [1, 2], True)
    assert parser.parse_args(["--no-strict"]).selector == {"pool": "gpu"}
    with pytest.raises(SystemExit):
        parser.parse_args(["--strict", "--items", '{"a": 1}'])
    assert "argument --items: expected a JSON array, got '{\"a\": 1}'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parser.parse_args([])
    assert "the following arguments are required: --strict/--no-strict" in capsys.readouterr().err


def test_help_shows_each_parameters_description_and_default(capsys, inputs):
    with pytest.raises(SystemExit):
        main(["pipeline", "run", "--help"])
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    for name, spec in inputs.items():
        assert f"--{name}" in text and spec.description.split()[0] in text
    assert "class weights from the EDA, \"balanced\" or \"effective\". (default: balanced)" in text
    assert "(default: --no-promote)" in text
