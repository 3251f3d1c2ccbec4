"""The steps of a pass and the learning rate over a training: what both phases of training share."""

from __future__ import annotations

import math

import keras


def steps_for(images: int, batch_size: int) -> int:
    """Steps of one pass over `images` in batches of `batch_size`."""
    return max(1, math.ceil(images / batch_size))


def warmup_cosine(peak_rate: float, steps_per_epoch: int, epochs: int,
                  warmup_epochs: float) -> keras.optimizers.schedules.LearningRateSchedule:
    """A linear warm-up from 1% of `peak_rate` over `warmup_epochs`, then a cosine decay to 1% of it, per step."""
    total_steps = steps_per_epoch * epochs
    warmup_steps = min(int(warmup_epochs * steps_per_epoch), total_steps - 1)
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=peak_rate * 0.01,
        decay_steps=max(total_steps - warmup_steps, 1),
        alpha=0.01,
        warmup_target=peak_rate,
        warmup_steps=warmup_steps,
    )
