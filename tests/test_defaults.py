"""Every door's defaults equal their one source, `fracdet_core.defaults`, parameter by parameter, and every door
trains the same recipe.

A run parameter reaches the library as a pipeline parameter, a component input or a `fracdet`
flag. The pipeline and the command name the source; the components cannot (KFP ships their
source into the task as text) and restate it as literals, which is what these tests hold equal.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest
from kfp.dsl.base_component import BaseComponent

import fracdet_components
from fracdet import build_parser, main
from fracdet.train import load_flag_configs
from fracdet_components.artifacts import train_component_configs
from fracdet_components.eda import eda
from fracdet_components.evaluate import evaluate
from fracdet_components.fingerprint import fingerprint
from fracdet_components.ingest import ingest
from fracdet_components.ingest_fanout import ingest_merge, ingest_part, ingest_plan
from fracdet_components.record_outcome import record_outcome
from fracdet_components.register import register
from fracdet_components.train import train
from fracdet_components.train_workers import train_on_workers
from fracdet_core import defaults
from fracdet_core.eda.config import EdaConfig
from fracdet_core.evaluate.clinical import calibrate_thresholds
from fracdet_core.evaluate.config import EvaluateConfig
from fracdet_core.ingest.config import IngestConfig
from fracdet_core.limits import DecodeLimits
from fracdet_core.model.config import ModelConfig
from fracdet_core.model.presets import PRESETS, model_preset
from fracdet_core.registry.run import register_model_version
from fracdet_core.synth.config import SynthConfig
from fracdet_core.train.config import TrainConfig, load_configs
from fracdet_pipelines.cluster import GPU_RESOURCE, ClusterConfig
from fracdet_pipelines.fracdet_pipeline import fracdet_pipeline
from fracdet_pipelines.ingest_stage import DEFAULT_PARTS, ingest_fanout

NONE = ""  # an optional URI, baseline or ID left out: KFP parameters cannot be None
ALL_CORES = 0  # a worker count of 0 in a component: every core the task may use

# Pipeline parameter -> its default. data_uri and registry_uri have none: they are required.
PIPELINE = {
    "model_name": defaults.MODEL_NAME,
    "promote": False,
    "shards": defaults.SHARDS,
    "max_side": defaults.MAX_SIDE,
    "eda_baseline": NONE,
    "class_weighting": defaults.CLASS_WEIGHTING,
    "max_quarantine_share": defaults.MAX_QUARANTINE_SHARE,
    "model_preset": defaults.MODEL_PRESET,
    "epochs": defaults.EPOCHS,
    "image_size": defaults.IMAGE_SIZE_OF_MODEL,
    "batch_size": defaults.BATCH_SIZE,
    "train_config_uri": NONE,
    "gpu_count": 0,
    "gpu_type": GPU_RESOURCE,
    "train_workers": defaults.TRAIN_WORKERS,
    "thresholds_uri": NONE,
    "target_sensitivity": defaults.TARGET_SENSITIVITY,
    "target_specificity": defaults.TARGET_SPECIFICITY,
    "target_in_scope_kept": defaults.TARGET_IN_SCOPE_KEPT,
    "mlflow_tracking_uri": NONE,
    "kfp_dashboard_url": NONE,
}
INGEST_FANOUT = {"shards": defaults.SHARDS, "max_side": defaults.MAX_SIDE, "workers": DEFAULT_PARTS}

# Component -> input -> its default, for every input that has one.
COMPONENTS = {
    fingerprint: {},
    ingest: {"shards": defaults.SHARDS, "max_side": defaults.MAX_SIDE, "workers": ALL_CORES, "data_fingerprint": NONE},
    ingest_plan: {"parts": 1, "shards": defaults.SHARDS, "max_side": defaults.MAX_SIDE, "data_fingerprint": NONE},
    ingest_part: {"workers": ALL_CORES},
    ingest_merge: {},
    eda: {"baseline_uri": PIPELINE["eda_baseline"], "weighting": defaults.CLASS_WEIGHTING,
          "max_quarantine_share": defaults.MAX_QUARANTINE_SHARE},
    train: {"model_preset": defaults.MODEL_PRESET, "epochs": defaults.EPOCHS, "image_size": defaults.IMAGE_SIZE_OF_MODEL,
            "batch_size": defaults.BATCH_SIZE,
            "config_uri": PIPELINE["train_config_uri"], "gpu_count": PIPELINE["gpu_count"], "gpu_type": GPU_RESOURCE},
    train_on_workers: {"model_preset": defaults.MODEL_PRESET, "epochs": defaults.EPOCHS,
                       "image_size": defaults.IMAGE_SIZE_OF_MODEL, "batch_size": defaults.BATCH_SIZE,
                       "config_uri": PIPELINE["train_config_uri"], "gpu_count": PIPELINE["gpu_count"], "gpu_type": GPU_RESOURCE,
                       "shm_size": ClusterConfig().shm_size},
    evaluate: {"registry_uri": NONE, "model_name": defaults.MODEL_NAME, "thresholds_uri": PIPELINE["thresholds_uri"],
               "target_sensitivity": defaults.TARGET_SENSITIVITY, "target_specificity": defaults.TARGET_SPECIFICITY,
               "target_in_scope_kept": defaults.TARGET_IN_SCOPE_KEPT, "run_id": NONE,
               "mlflow_tracking_uri": PIPELINE["mlflow_tracking_uri"], "kfp_dashboard_url": PIPELINE["kfp_dashboard_url"]},
    register: {"model_name": defaults.MODEL_NAME, "promote": PIPELINE["promote"], "run_id": NONE, "task_name": NONE},
    record_outcome: {"model_name": defaults.MODEL_NAME, "run_id": NONE},
}

# The library's own defaults: each config and function that takes one reads the same source.
LIBRARY = [
    (TrainConfig(), "epochs", defaults.EPOCHS),
    (TrainConfig(), "batch_size", defaults.BATCH_SIZE),
    (TrainConfig(), "box_loss", defaults.BOX_LOSS),
    (TrainConfig(), "focal_gamma", defaults.FOCAL_GAMMA),
    (ModelConfig(), "image_size", defaults.IMAGE_SIZE),
    (model_preset(defaults.MODEL_PRESET), "image_size", defaults.IMAGE_SIZE),
    (IngestConfig(), "shards", defaults.SHARDS),
    (DecodeLimits(), "max_side", defaults.MAX_SIDE),
    (EdaConfig(), "weighting", defaults.CLASS_WEIGHTING),
    (EdaConfig(), "max_quarantine_share", defaults.MAX_QUARANTINE_SHARE),
    (EvaluateConfig(), "target_sensitivity", defaults.TARGET_SENSITIVITY),
    (EvaluateConfig(), "target_specificity", defaults.TARGET_SPECIFICITY),
    (EvaluateConfig(), "target_in_scope_kept", defaults.TARGET_IN_SCOPE_KEPT),
]
LIBRARY_FUNCTIONS = [
    (register_model_version, "name", defaults.MODEL_NAME),
    (calibrate_thresholds, "target_sensitivity", defaults.TARGET_SENSITIVITY),
    (calibrate_thresholds, "target_specificity", defaults.TARGET_SPECIFICITY),
]

# `fracdet` sub-command (with its required arguments) -> flag destination -> its default.
# `fracdet pipeline run` takes its flags from the pipeline's parameters; `train`'s are checked below.
COMMANDS = {
    ("ingest", "--data", "d", "--out", "o"): {
        "shards": defaults.SHARDS, "max_side": defaults.MAX_SIDE, "max_pixels": DecodeLimits().max_pixels,
        "max_bytes": DecodeLimits().max_bytes,
    },
    ("eda", "--data", "d", "--out", "o"): {
        "weighting": defaults.CLASS_WEIGHTING, "max_quarantine_share": defaults.MAX_QUARANTINE_SHARE,
        "beta": EdaConfig().beta, "max_weight": EdaConfig().max_weight, "min_class_boxes": EdaConfig().min_class_boxes,
    },
    ("evaluate", "--model", "m", "--data", "d", "--out", "o"): {
        "target_sensitivity": defaults.TARGET_SENSITIVITY, "target_specificity": defaults.TARGET_SPECIFICITY,
        "target_in_scope_kept": defaults.TARGET_IN_SCOPE_KEPT, "split": EvaluateConfig().split,
        "batch_size": EvaluateConfig().batch_size,
    },
    ("pipeline", "compile", "--out", "o"): {
        "deadline": ClusterConfig().deadline_seconds, "ingest_parts": ClusterConfig().ingest_parts,
        "training_job_api": ClusterConfig().training_job_api,
        "train_workers_timeout": ClusterConfig().train_workers_timeout_seconds,
    },
    ("register", "--model", "m", "--eval", "e", "--registry", "r"): {"name": defaults.MODEL_NAME},
    ("registry", "list", "--registry", "r"): {"name": defaults.MODEL_NAME},
    ("synth", "--out", "o"): {
        "train": SynthConfig().train, "val": SynthConfig().val, "size": SynthConfig().size, "seed": SynthConfig().seed,
        "image_format": SynthConfig().image_format, "renderer": SynthConfig().renderer,
    },
}


def _same(actual: object, expected: object) -> bool:
    """Equal and of the same type: 0 is not False, and 1 is not 1.0 to a KFP parameter type."""
    return type(actual) is type(expected) and actual == expected


def _input_defaults(component: BaseComponent) -> dict[str, object]:
    """Input name -> default, for the inputs of a component or pipeline that have one (KFP fills in a final status and
    a task config)."""
    inputs = component.component_spec.inputs.items()
    return {name: spec.default for name, spec in inputs
            if spec.optional and spec.type not in ("PipelineTaskFinalStatus", "TaskConfig")}


def test_every_component_is_in_the_table():
    found = set()
    for module in pkgutil.iter_modules(fracdet_components.__path__):
        loaded = importlib.import_module(f"fracdet_components.{module.name}")
        found |= {value.name for value in vars(loaded).values() if isinstance(value, BaseComponent)}
    assert found == {component.name for component in COMPONENTS}


@pytest.mark.parametrize("component", COMPONENTS, ids=lambda component: component.name)
def test_component_defaults_equal_the_source(component):
    actual = _input_defaults(component)
    expected = COMPONENTS[component]
    assert set(actual) == set(expected)  # an input with a new default must be added to the table
    assert {name: value for name, value in actual.items() if not _same(value, expected[name])} == {}


@pytest.mark.parametrize(("pipeline", "expected"), [(fracdet_pipeline, PIPELINE), (ingest_fanout, INGEST_FANOUT)],
                         ids=["fracdet", "ingest-fanout"])
def test_pipeline_defaults_equal_the_source(pipeline, expected):
    actual = _input_defaults(pipeline)
    assert set(actual) == set(expected)
    assert {name: value for name, value in actual.items() if not _same(value, expected[name])} == {}


@pytest.mark.parametrize(("config", "field", "expected"), LIBRARY,
                         ids=[f"{type(config).__name__}.{field}" for config, field, _ in LIBRARY])
def test_library_configs_read_the_source(config, field, expected):
    assert _same(getattr(config, field), expected)


@pytest.mark.parametrize(("function", "parameter", "expected"), LIBRARY_FUNCTIONS,
                         ids=[f"{function.__module__}.{function.__name__}" for function, _, _ in LIBRARY_FUNCTIONS])
def test_library_functions_read_the_source(function, parameter, expected):
    assert _same(inspect.signature(function).parameters[parameter].default, expected)


@pytest.mark.parametrize("argv", COMMANDS, ids=lambda argv: " ".join(argv[:2]))
def test_command_defaults_equal_the_source(argv):
    parsed = vars(build_parser().parse_args(list(argv)))
    expected = COMMANDS[argv]
    assert {name: parsed[name] for name in expected} == expected
    assert all(_same(parsed[name], value) for name, value in expected.items())


def test_train_flags_left_out_give_the_library_configs():
    """`fracdet train` has no argparse defaults, so a config file's values stand; without one, the library's."""
    args = build_parser().parse_args(["train", "--data", "d", "--out", "o"])
    model_config, train_config = load_flag_configs(args)
    assert model_config == ModelConfig() and train_config == TrainConfig()


def test_train_help_shows_the_source(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    options = " ".join(capsys.readouterr().out.split("options:", 1)[1].split())
    for flag, value in (("--epochs", defaults.EPOCHS), ("--preset", defaults.MODEL_PRESET),
                        ("--image-size", f"the preset's, n {PRESETS['n'].image_size}, s {PRESETS['s'].image_size}, "
                                         f"m {PRESETS['m'].image_size}"),
                        ("--batch-size", defaults.BATCH_SIZE), ("--seed", TrainConfig().seed)):
        help_text = options.split(f"{flag} ", 1)[1].split(" --", 1)[0]
        assert help_text.endswith(f"(default: {value})"), (flag, help_text)


# The recipe a user gets without choosing one (docs/experiments.md): the n detector on whole images at 256 px and
# on 256-px crops of the image at its full 512 px, served on both canvases and their mirror images, with the study
# term and an average of the weights. Stated here apart from the code, so that a default that drifts at one door fails.
RECIPE_MODEL = {"image_size": 256, "fine_image_size": 512, "fine_box_share": 0.5, "test_time_flip": True,
                "stage_widths": (24, 32, 64, 96), "fpn_levels": (3, 4, 5)}
RECIPE_TRAIN = {"study_weight": 1.0, "weight_averaging": 0.99, "fine_crop_share": 0.5, "box_loss": "mse",
                "focal_gamma": 2.0, "learning_rate": 4e-3, "batch_size": 16, "epochs": 30}
MAKEFILE = Path(__file__).resolve().parents[1] / "Makefile"


def _recipe_of(model_config: ModelConfig, train_config: TrainConfig) -> tuple[dict, dict]:
    return ({name: getattr(model_config, name) for name in RECIPE_MODEL},
            {name: getattr(train_config, name) for name in RECIPE_TRAIN})


def _component_door(inputs: dict[str, object]) -> tuple[ModelConfig, TrainConfig]:
    return train_component_configs(config_uri=inputs["config_uri"], model_preset=inputs["model_preset"],
                                   epochs=inputs["epochs"], image_size=inputs["image_size"], batch_size=inputs["batch_size"])


def _pipeline_door(parameters: dict[str, object]) -> tuple[ModelConfig, TrainConfig]:
    return _component_door({"config_uri": parameters["train_config_uri"], **parameters})


DOORS = {
    "library": lambda: (ModelConfig(), TrainConfig()),
    "load_configs": lambda: load_configs(None),
    "fracdet train": lambda: load_flag_configs(build_parser().parse_args(["train", "--data", "d", "--out", "o"])),
    "train component": lambda: _component_door(_input_defaults(train)),
    "train_on_workers component": lambda: _component_door(_input_defaults(train_on_workers)),
    "pipeline parameters": lambda: _pipeline_door(_input_defaults(fracdet_pipeline)),
    "fracdet pipeline run": lambda: _pipeline_door(vars(build_parser().parse_args(
        ["pipeline", "run", "--data_uri", "d", "--registry_uri", "r"]))),
}


@pytest.mark.parametrize("door", DOORS)
def test_every_door_trains_the_recipe(door):
    assert _recipe_of(*DOORS[door]()) == (RECIPE_MODEL, RECIPE_TRAIN)


def test_the_demo_chooses_only_its_budget():
    """`make demo` passes its epochs and nothing of the recipe: no config file, preset or model option."""
    pipeline_run = MAKEFILE.read_text().split("fracdet pipeline run", 1)[1].split("\n\t@", 1)[0]
    options = set(re.findall(r"--(\w+)", pipeline_run))
    assert options == {"root", "data_uri", "registry_uri", "epochs", "promote"}
