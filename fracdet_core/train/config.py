"""Training settings, checked on creation, and the YAML file that may hold them with the model's."""

from __future__ import annotations

import dataclasses
from typing import TypeVar

import yaml

from fracdet_core import defaults, storage
from fracdet_core.errors import ConfigError
from fracdet_core.model.config import BOX_LOSSES, ModelConfig
from fracdet_core.model.presets import model_preset


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Attributes:
        epochs: passes over the training split (early stopping may end sooner).
        batch_size: images per step, over all replicas.
        learning_rate: Adam's peak rate, reached after the warm-up, then cosine-decayed.
        warmup_epochs: linear warm-up length.
        box_loss: "mse" (the original design) or "giou".
        focal_gamma: focal exponent on objectness; 0 for plain cross-entropy (then averaged over
            all cells, where the few positive cells barely count).
        study_weight: weight of the image-level fracture term (`fracdet_core.model.loss.study_term`);
            0 leaves it out. On by default: with the fine pass it raised the hand's AUC most.
        indications_epochs: passes over the training split, out-of-scope images included, of the
            indications head's own phase, on the frozen detector (`fracdet_core.train.indications_phase`),
            for a model that has the indications output.
        early_stopping_patience: epochs without a better val loss before stopping (0: never).
        augment: augment training images.
        augment_acquisition: also blur and collimate some of them (`fracdet_core.train.acquisition`),
            as other X-ray units would; off by default, as it lowered the demo's AUC.
        augment_processing: also give some of them another vendor's processing (edge enhancement,
            display window, grain: `fracdet_core.train.processing`).
        fine_crop_share: with a model's `fine_image_size`, the share of training samples that are
            crops of the fine canvas rather than whole images (`fracdet_core.train.crop`).
        weight_averaging: momentum of an exponential moving average of the weights, which the model
            keeps at the end of training (Adam's `use_ema`, lowered for short trainings); 0 keeps the
            last step's weights. On by default: it raised the fracture classes' AP for nothing.
        seed: seeds Python, NumPy, TensorFlow and the input pipeline.
        xla: compile the training step with XLA.

    The loss defaults (`fracdet_core.defaults`) and the learning rate are the ones that scored best
    on the synthetic val split of those compared: mse boxes with focal objectness (gamma 2) against
    plain cross-entropy and GIoU boxes, and the rate against half and twice it.
    """

    epochs: int = defaults.EPOCHS
    batch_size: int = defaults.BATCH_SIZE
    learning_rate: float = 4e-3
    warmup_epochs: float = 1.0
    box_loss: str = defaults.BOX_LOSS
    focal_gamma: float = defaults.FOCAL_GAMMA
    study_weight: float = 1.0
    indications_epochs: int = 8
    early_stopping_patience: int = 8
    augment: bool = True
    augment_acquisition: bool = False
    augment_processing: bool = False
    fine_crop_share: float = 0.5
    weight_averaging: float = 0.99
    seed: int = 0
    xla: bool = False

    def __post_init__(self) -> None:
        if min(self.epochs, self.batch_size, self.indications_epochs) < 1:
            raise ConfigError(f"epochs, batch_size and indications_epochs must be at least 1, got {self.epochs}, "
                              f"{self.batch_size} and {self.indications_epochs}")
        if not 0 < self.learning_rate < 1:
            raise ConfigError(f"learning_rate must be within (0, 1), got {self.learning_rate}")
        if min(self.warmup_epochs, self.focal_gamma, self.study_weight,
               self.early_stopping_patience) < 0:
            raise ConfigError("warmup_epochs, focal_gamma, study_weight and early_stopping_patience "
                              "must be 0 or more")
        if not 0 <= self.fine_crop_share <= 1:
            raise ConfigError(f"fine_crop_share must be within [0, 1], got {self.fine_crop_share}")
        if not 0 <= self.weight_averaging < 1:
            raise ConfigError(f"weight_averaging must be within [0, 1), got {self.weight_averaging}")
        if self.box_loss not in BOX_LOSSES:
            raise ConfigError(f"box_loss must be one of {', '.join(BOX_LOSSES)}, got {self.box_loss!r}")


_Config = TypeVar("_Config", ModelConfig, TrainConfig)


def load_configs(uri: str | None, preset: str = defaults.MODEL_PRESET, **overrides: object) -> tuple[ModelConfig, TrainConfig]:
    """Model and training configs from a named model preset and a YAML file with optional `model:` and `train:` sections.

    Each layer replaces fields of the one below, by field name: the preset (`fracdet_core.model.presets`,
    its recommended `image_size` included), then the file's `model:` section, then `overrides` (the
    flags or parameters that were given; None means not given). The `train:` section starts from
    `TrainConfig`'s defaults. Every override must name a field of `ModelConfig` or `TrainConfig`:
    a misspelt flag or parameter would otherwise be dropped without a word. A preset's fine canvas
    that the file and the overrides leave as it is goes when they raise `image_size` to it or above:
    the input is then as fine as that canvas (`fracdet_core.model.presets`).

    Raises:
        ConfigError: an unknown preset or override, the file is not YAML, has unknown sections or fields,
            or a value is invalid.
    """
    _check_overrides(overrides)
    base_model = model_preset(preset)
    content = _read_sections(uri) if uri else {}
    model_config = _layered(base_model, "model", content, overrides, uri)
    train_config = _layered(TrainConfig(), "train", content, overrides, uri)
    return model_config, train_config


def _field_names(config: type[ModelConfig] | type[TrainConfig]) -> set[str]:
    return {field.name for field in dataclasses.fields(config)}


def _check_overrides(overrides: dict[str, object]) -> None:
    """Every override names a field of the model or the training config."""
    unknown = set(overrides) - _field_names(ModelConfig) - _field_names(TrainConfig)
    if unknown:
        raise ConfigError(f"unknown settings {sorted(unknown)}; known: model {sorted(_field_names(ModelConfig))}, "
                          f"train {sorted(_field_names(TrainConfig))}")


def _read_sections(uri: str) -> dict:
    """The YAML file's sections, checked to be only `model` and `train`, each a mapping."""
    try:
        content = yaml.safe_load(storage.read_text(uri)) or {}
    except yaml.YAMLError as error:
        raise ConfigError(f"{uri}: not valid YAML: {error}") from None
    if not isinstance(content, dict):
        raise ConfigError(f"{uri}: expected a mapping with 'model' and 'train' sections, got {type(content).__name__}")
    unknown = set(content) - {"model", "train"}
    if unknown:
        raise ConfigError(f"{uri}: unknown sections {sorted(unknown, key=str)}; expected 'model' and 'train'")
    for name, section in content.items():
        if section is not None and not isinstance(section, dict):
            raise ConfigError(f"{uri}: the {name} section must map settings to values, got {type(section).__name__}")
    return content


def _layered(base: _Config, name: str, content: dict, overrides: dict[str, object], uri: str | None) -> _Config:
    """`base` with the fields of the file's section `name`, then the given overrides that name its fields, replaced."""
    fields = _field_names(type(base))
    values = dict(content.get(name) or {})
    unknown = set(values) - fields
    if unknown:
        raise ConfigError(f"{uri}: unknown {name} settings {sorted(unknown, key=str)}; known: {sorted(fields)}")
    values.update({key: value for key, value in overrides.items() if key in fields and value is not None})
    if isinstance(base, ModelConfig) and "fine_image_size" not in values:
        values["fine_image_size"] = _fine_canvas_above(base.fine_image_size, values.get("image_size", base.image_size))
    return dataclasses.replace(base, **{key: tuple(value) if isinstance(value, list) else value
                                        for key, value in values.items()})


def _fine_canvas_above(fine_image_size: int, image_size: int) -> int:
    """The preset's fine canvas, or 0 where the input is as fine already."""
    return fine_image_size if fine_image_size > image_size else 0
