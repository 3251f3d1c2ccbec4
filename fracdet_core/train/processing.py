"""Processing augmentation: what a unit's software does to the raw exposure before anyone sees it.

Vendors process radiographs differently: edge enhancement (unsharp masking of varying strength
and radius), a display window that may clip the densest bone to white or leave it grey, and a
noise texture of their own (quantum noise grows with the signal; the detector's correlations
make it grainy). A model trained on one such look learns its bone greys and its fracture
contrast with the breaks. So a share of the training images is given a look drawn at random:
- an unsharp mask, `image + amount * (image - blur(image, radius))`;
- a window: the grey range `[low, high]` stretched to the display's `[floor, ceiling]`;
- grainy, signal-dependent noise: white noise blurred by a pixel, scaled by the square root of
  the grey level.

The anatomy and the boxes are untouched, so labels stay true. Shapes as in
`fracdet_core.train.augment`: image float32 (H, W, 1) in [0, 1]; every draw comes from the
stateless `seed`.
"""

from __future__ import annotations

import dataclasses
import math

import tensorflow as tf

from fracdet_core.train.acquisition import blur


@dataclasses.dataclass(frozen=True)
class ProcessingConfig:
    """Attributes:
        share: share of images given a drawn look.
        max_unsharp: strongest edge enhancement; each image draws its amount below it.
        unsharp_radius: range of the unsharp mask's Gaussian, pixels.
        window_low: range of the grey level shown black.
        window_high: range of the grey level shown white.
        display_floor: range of the display's darkest grey.
        display_ceiling: range of the display's brightest grey.
        max_grain: strongest grainy noise, standard deviation at full brightness.
    """

    share: float = 0.5
    max_unsharp: float = 1.5
    unsharp_radius: tuple[float, float] = (1.0, 3.0)
    window_low: tuple[float, float] = (0.0, 0.2)
    window_high: tuple[float, float] = (0.8, 1.0)
    display_floor: tuple[float, float] = (0.0, 0.15)
    display_ceiling: tuple[float, float] = (0.65, 1.0)
    max_grain: float = 0.04


def simulate_processing(image: tf.Tensor, config: ProcessingConfig, seed: tf.Tensor) -> tf.Tensor:
    """The image as another vendor's software might have shown it (or as it is, `1 - share` of the time)."""
    seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), num=2)
    processed = tf.random.stateless_uniform([], seeds[0]) < config.share
    return tf.cond(processed, lambda: _processed(image, config, seeds[1]), lambda: image)


def _processed(image: tf.Tensor, config: ProcessingConfig, seed: tf.Tensor) -> tf.Tensor:
    """Unsharp mask, window, then grain, each drawn for this image."""
    seeds = tf.random.experimental.stateless_split(seed, num=8)
    amount = tf.random.stateless_uniform([], seeds[0], 0.0, config.max_unsharp)
    radius = tf.random.stateless_uniform([], seeds[1], *config.unsharp_radius)
    taps = math.ceil(3.0 * config.unsharp_radius[1])
    sharpened = image + amount * (image - blur(image, radius, taps))
    low = tf.random.stateless_uniform([], seeds[2], *config.window_low)
    high = tf.random.stateless_uniform([], seeds[3], *config.window_high)
    floor = tf.random.stateless_uniform([], seeds[4], *config.display_floor)
    ceiling = tf.random.stateless_uniform([], seeds[5], *config.display_ceiling)
    windowed = floor + (ceiling - floor) * tf.clip_by_value((sharpened - low) / (high - low), 0.0, 1.0)
    grain = tf.random.stateless_uniform([], seeds[6], 0.0, config.max_grain)
    noise = blur(tf.random.stateless_normal(tf.shape(image), seeds[7]), tf.constant(1.0))
    # A 1-pixel Gaussian keeps about 28% of white noise's deviation; dividing restores the drawn one.
    grainy = windowed + grain * tf.sqrt(windowed) * noise / 0.28
    return tf.clip_by_value(grainy, 0.0, 1.0)
