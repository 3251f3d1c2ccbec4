"""Named detector sizes: `n` for the CPU demo, `s` and `m` for the real dataset on a GPU.

A preset is a whole `ModelConfig`, its `image_size` being the input size recommended for it. All
three keep the design (residual backbone, FPN, shared heads) and its target assignment, which
puts a box on the stride-8 level while its longer side is at most 64 px, where a thin fracture
box claims the cells whose centres lie inside it. So the input size decides whether the smallest
fractures span a cell at all: at 256 px the thinnest synthetic fracture boxes are narrower than a
cell, at 512 and 640 px they span one (`bench/presets.py` measures them). The larger models cost
many times `n`'s compute per image, which a GPU pays for (`bench/presets.py` counts it).

Each preset's fine canvas suits its input size and is never finer than the images: a canvas
above the radiographs' own resolution only upsamples them, more pixels for no more detail
(training lowers it to the images' own, `fracdet_core.train.fine_canvas`).

- `n`: the default `ModelConfig()`: whole images at 256 px and, on the fine canvas, the image at
  its full 512 px, seen in 256-px crops in training and whole in serving.
- `s`: wider and deeper stages, the FPN over the last three of four stages, 512 px: its input is
  already a 512-px radiograph's full resolution, so it has no fine canvas (set `fine_image_size`
  for larger images).
- `m`: wider still, a fifth stage for a stride-64 level (P6), so that whole-bone boxes of 300 px
  and more at 640 px have a level of their own; one 3x3 convolution in each head tower; no fine
  canvas, as its input is finer than 512-px radiographs already.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from fracdet_core.errors import ConfigError
from fracdet_core.model.config import ModelConfig

PRESETS: Mapping[str, ModelConfig] = MappingProxyType({
    "n": ModelConfig(),
    "s": ModelConfig(
        image_size=512, stem_width=24, stage_widths=(32, 48, 96, 160), stage_depths=(1, 2, 3, 3),
        fpn_levels=(3, 4, 5), fpn_width=96, head_depth=0, fine_image_size=0,
    ),
    "m": ModelConfig(
        image_size=640, stem_width=32, stage_widths=(48, 64, 128, 224, 320), stage_depths=(1, 2, 4, 4, 2),
        fpn_levels=(3, 4, 5, 6), fpn_width=128, head_depth=1, fine_image_size=0,
    ),
})


def model_preset(name: str) -> ModelConfig:
    """The preset called `name`, with its recommended `image_size`.

    Raises:
        ConfigError: no preset has that name; the message lists the names.
    """
    if name not in PRESETS:
        raise ConfigError(f"unknown model preset {name!r}; choose one of: {', '.join(PRESETS)}")
    return PRESETS[name]
