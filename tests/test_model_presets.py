"""Model presets: valid configs that build, `n` the default, and every door (flag, YAML, pipeline parameter) reaching them."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from fracdet import build_parser
from fracdet.train import load_flag_configs
from fracdet_components.artifacts import train_component_configs
from fracdet_core import defaults
from fracdet_core.errors import ConfigError
from fracdet_core.model.config import ModelConfig
from fracdet_core.model.detector import build_detector
from fracdet_core.model.presets import PRESETS, model_preset
from fracdet_core.train.config import TrainConfig, load_configs

S, M = PRESETS["s"], PRESETS["m"]


def test_the_presets_are_n_s_m_and_n_is_the_default_model():
    assert tuple(PRESETS) == ("n", "s", "m")
    assert model_preset("n") == ModelConfig() and model_preset(defaults.MODEL_PRESET) == ModelConfig()
    assert ModelConfig().image_size == defaults.IMAGE_SIZE


@pytest.mark.parametrize("name", ["s", "m"])
def test_larger_presets_grow_the_model_and_its_input(name):
    smaller = PRESETS["n" if name == "s" else "s"]
    larger = PRESETS[name]
    assert larger.image_size > smaller.image_size and larger.fpn_width > smaller.fpn_width
    assert sum(larger.stage_depths) > sum(smaller.stage_depths)
    assert larger.fpn_levels[0] == 3  # stride 8 stays the finest level, where fractures land
    assert larger.fpn_levels[-1] == len(larger.stage_widths) + 1  # the pyramid ends at the last stage built


@pytest.mark.parametrize("name", list(PRESETS))
def test_each_preset_builds_a_detector_with_one_row_per_cell_of_each_canvas(name):
    config = PRESETS[name]
    model = build_detector(config)
    for size in filter(None, (config.image_size, config.fine_image_size)):
        cells = sum(side * side for side in config.grid_sizes(size))
        assert tuple(model(np.zeros((1, size, size, 1), np.float32)).shape) == (1, cells, 5 + config.num_classes)


def test_n_sees_512_px_radiographs_at_full_resolution_and_s_and_m_need_no_fine_canvas():
    """A fine canvas above the images' own 512 px would only upsample them (the presets' docstring)."""
    assert (PRESETS["n"].image_size, PRESETS["n"].fine_image_size) == (256, 512)
    assert (S.image_size, S.fine_image_size) == (512, 0) and (M.image_size, M.fine_image_size) == (640, 0)


@pytest.mark.parametrize(("image_size", "fine_image_size"), [(320, 512), (512, 0), (640, 0)])
def test_an_input_as_fine_as_the_presets_fine_canvas_drops_it(image_size, fine_image_size):
    model_config, _ = load_configs(None, preset="n", image_size=image_size)
    assert (model_config.image_size, model_config.fine_image_size) == (image_size, fine_image_size)


def test_a_fine_canvas_the_file_states_is_kept_or_refused_never_dropped(tmp_path):
    path = tmp_path / "train.yaml"
    path.write_text("model:\n  fine_image_size: 1024\n")
    model_config, _ = load_configs(str(path), preset="s")
    assert (model_config.image_size, model_config.fine_image_size) == (512, 1024)
    with pytest.raises(ConfigError, match=r"fine_image_size must be 0 or a multiple of 32 .* above image_size 1024"):
        load_configs(str(path), preset="s", image_size=1024)


@pytest.mark.parametrize("name", ["", "N", "l", "small"])
def test_an_unknown_preset_names_the_choices(name):
    with pytest.raises(ConfigError, match=rf"unknown model preset {name!r}; choose one of: n, s, m"):
        model_preset(name)


def test_the_file_overrides_the_preset_and_the_flags_override_the_file(tmp_path):
    path = tmp_path / "train.yaml"
    path.write_text("model:\n  fpn_width: 80\n  image_size: 768\ntrain:\n  epochs: 5\n")
    model_config, train_config = load_configs(str(path), preset="s")
    assert model_config == dataclasses.replace(S, fpn_width=80, image_size=768)
    assert train_config == TrainConfig(epochs=5)
    model_config, _ = load_configs(str(path), preset="s", image_size=384, epochs=None)
    assert model_config == dataclasses.replace(S, fpn_width=80, image_size=384)


def test_load_configs_rejects_an_unknown_preset():
    with pytest.raises(ConfigError, match="choose one of: n, s, m"):
        load_configs(None, preset="xl")


def test_a_field_the_preset_cannot_take_is_a_config_error():
    with pytest.raises(ConfigError, match="multiple of 64"):
        load_configs(None, preset="m", image_size=512 + 32)


@pytest.mark.parametrize(("options", "expected"), [
    ([], ModelConfig()),
    (["--preset", "s"], S),
    (["--preset", "m", "--image-size", "768"], dataclasses.replace(M, image_size=768)),
])
def test_the_train_command_takes_a_preset(options, expected):
    args = build_parser().parse_args(["train", "--data", "d", "--out", "o", *options])
    model_config, train_config = load_flag_configs(args)
    assert model_config == expected and train_config == TrainConfig()


def test_the_train_command_refuses_an_unknown_preset(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "--data", "d", "--out", "o", "--preset", "xl"])
    assert "invalid choice: 'xl' (choose from 'n', 's', 'm')" in capsys.readouterr().err


@pytest.mark.parametrize(("preset", "image_size", "expected"), [
    ("n", 0, ModelConfig()),  # the pipeline's defaults: the demo's model, unchanged
    ("s", 0, S),
    ("m", 0, M),
    ("s", 256, dataclasses.replace(S, image_size=256)),
])
def test_the_train_components_inputs_choose_the_preset_and_its_size(preset, image_size, expected):
    model_config, train_config = train_component_configs(
        config_uri="", model_preset=preset, epochs=defaults.EPOCHS, image_size=image_size, batch_size=defaults.BATCH_SIZE,
    )
    assert model_config == expected and train_config == TrainConfig()


def test_an_image_size_of_0_keeps_the_config_files(tmp_path):
    path = tmp_path / "train.yaml"
    path.write_text("model:\n  image_size: 448\n")
    model_config, _ = train_component_configs(config_uri=str(path), model_preset="s", epochs=3, image_size=0, batch_size=8)
    assert model_config == dataclasses.replace(S, image_size=448)


def test_the_train_component_refuses_an_unknown_preset():
    with pytest.raises(ConfigError, match="unknown model preset 'large'; choose one of: n, s, m"):
        train_component_configs(config_uri="", model_preset="large", epochs=1, image_size=0, batch_size=1)


def test_the_local_run_passes_the_preset_on():
    args = build_parser().parse_args(["pipeline", "run", "--data_uri", "d", "--registry_uri", "r", "--model_preset", "s"])
    assert args.model_preset == "s" and args.image_size == defaults.IMAGE_SIZE_OF_MODEL
