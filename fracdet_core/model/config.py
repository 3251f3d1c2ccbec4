"""The detector's shape, in one small frozen config checked on creation.

Read once at the edge (a YAML file or CLI flags) and handed to `build_detector`; library
classes take explicit arguments.
"""

from __future__ import annotations

import dataclasses

from fracdet_core import defaults
from fracdet_core.classes import CLASS_NAMES
from fracdet_core.errors import ConfigError

BOX_LOSSES = ("mse", "giou")  # the box terms DetectionLoss offers


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """Attributes:
        image_size: side of the square, letterboxed training input, pixels; a multiple of the
            coarsest stride.
        stem_width: channels of the stride-2 stem convolution.
        stage_widths: channels of each residual stage; each stage halves the resolution.
        stage_depths: residual blocks per stage.
        fpn_levels: pyramid levels used for detection (level l has stride 2**l); they must be
            the last stages of the backbone.
        fpn_width: channels of every pyramid level.
        head_depth: 3x3 convolutions in each head before its output layer.
        num_classes: detection classes (fracdet's ten).
        fine_image_size: side of a second, finer canvas the image is also letterboxed to, or 0 for
            none. The detector is fully convolutional: it trains on whole images at `image_size`
            and on `image_size` crops of the fine canvas, and serving runs it on both canvases,
            taking the boxes up to `fine_box_limit` pixels of the fine canvas from the fine pass and
            the larger ones from the whole-image pass (`fracdet_core.serving.signature`). Small
            fractures are thus seen at full resolution at the cost of a crop in training. The
            default, 512, is the full resolution of radiographs whose longer side is 512 px, as the
            synthetic ones are; training lowers it to the images' own (`fit_fine_canvas`).
        fine_box_share: the longest box side the fine pass answers for, as a share of the training
            crop (`fine_box_limit`).
        test_time_flip: serving also runs the model on each canvas mirrored left to right and
            averages the two views' cell predictions, for twice the serving compute: on by default,
            as it raised every fracture class's AP at no cost in training.
        indications: the model also says which of the five body parts, or something else, the
            image shows (`fracdet_core.model.indications`), and the signature returns it
            (`body_part_probabilities`, `in_scope_score`): what keeps a chest film from a fracture call.
        indications_tower: 3x3 convolutions of the head's own before it pools: the head trains
            after the detector, on its frozen backbone (`fracdet_core.train.indications_phase`), so
            these are where it learns what the detector's features do not already separate.
    """

    image_size: int = defaults.IMAGE_SIZE
    stem_width: int = 16
    stage_widths: tuple[int, ...] = (24, 32, 64, 96)
    stage_depths: tuple[int, ...] = (1, 1, 2, 2)
    fpn_levels: tuple[int, ...] = (3, 4, 5)
    fpn_width: int = 64
    # Output convolutions straight on the FPN: head towers add compute that did not pay for itself at
    # equal training time.
    head_depth: int = 0
    num_classes: int = len(CLASS_NAMES)
    fine_image_size: int = 512
    fine_box_share: float = 0.5
    test_time_flip: bool = True
    indications: bool = True
    indications_tower: int = 2

    def __post_init__(self) -> None:
        if len(self.stage_widths) != len(self.stage_depths) or not self.stage_widths:
            raise ConfigError(
                f"stage_widths and stage_depths need one entry per stage, got {self.stage_widths} and {self.stage_depths}"
            )
        if min(self.stage_widths) < 1 or min(self.stage_depths) < 1 or self.stem_width < 1 or self.fpn_width < 1:
            raise ConfigError("widths and depths must be at least 1")
        deepest = len(self.stage_widths) + 1  # the stem halves once, then each stage
        levels = list(self.fpn_levels)
        if not levels or sorted(levels) != levels or levels[0] < 2 or levels[-1] > deepest:
            raise ConfigError(f"fpn_levels must be increasing levels within [2, {deepest}], got {self.fpn_levels}")
        if levels != list(range(levels[0], levels[-1] + 1)):
            raise ConfigError(f"fpn_levels must be consecutive, got {self.fpn_levels}")
        coarsest = 2 ** self.fpn_levels[-1]
        if self.image_size < coarsest or self.image_size % coarsest:
            raise ConfigError(
                f"image_size must be a positive multiple of {coarsest} (the coarsest stride), got {self.image_size}"
            )
        if self.fine_image_size and (self.fine_image_size <= self.image_size or self.fine_image_size % coarsest):
            raise ConfigError(f"fine_image_size must be 0 or a multiple of {coarsest} (the coarsest stride) above "
                              f"image_size {self.image_size}, got {self.fine_image_size}")
        if not 0 < self.fine_box_share <= 1:
            raise ConfigError(f"fine_box_share must be within (0, 1], got {self.fine_box_share}")
        if self.indications_tower < 0:
            raise ConfigError(f"indications_tower must be 0 or more, got {self.indications_tower}")
        if self.head_depth < 0 or self.num_classes < 1:
            raise ConfigError(f"head_depth must be >= 0 and num_classes >= 1, got {self.head_depth}, {self.num_classes}")

    @property
    def strides(self) -> tuple[int, ...]:
        return tuple(2**level for level in self.fpn_levels)

    def grid_sizes(self, size: int | None = None) -> tuple[int, ...]:
        """Cells per side of each level on a `size` canvas (default `image_size`)."""
        return tuple((size or self.image_size) // stride for stride in self.strides)

    @property
    def fine_box_limit(self) -> float:
        """The longest box side, fine-canvas pixels, that the fine pass answers for: `fine_box_share` of a training crop.

        A box up to half the crop fits whole in most crops that hold it, so the fine pass has
        seen such boxes whole; larger ones (whole-bone boxes) are cut by crops and left to the
        whole-image pass.
        """
        return self.image_size * self.fine_box_share
