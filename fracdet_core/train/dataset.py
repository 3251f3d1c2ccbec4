"""The training input pipeline: shards -> letterboxed, augmented images with dense targets.

Files are interleaved and records parsed, decoded and letterboxed in parallel (AUTOTUNE), kept
in memory where asked (`cache`), shuffled, then augmented and assigned targets in parallel,
batched and prefetched. Shuffling letterboxed images rather than decoded ones also keeps the
shuffle buffer small: 512 images of 256 px are 134 MB, of 512 x 450 px 470 MB. Augmentation
draws its randomness from a seeded random stream (a new draw every epoch), so
`deterministic=True` with a fixed seed gives the same batches on every run: what the tests use.

Under a multi-worker strategy each worker reads only its share (`input_context`, see
`load_examples`), and tf.data's auto-sharding is off so that it does not shard again; the
batch size stays global: `tf.distribute` splits each batch among the replicas.

Elements: images float32 (B, S, S, 1) in [0, 1] and the targets of one of the model's outputs
(`target`): the detector's, float32 (B, cells, 5 + classes) (`fracdet_core.model.assign`), or
the indications', each image's part (B,) (`fracdet_core.model.indications`), which the two
phases of training take in turn (`fracdet_core.train.run`).
"""

from __future__ import annotations

from collections.abc import Sequence

import tensorflow as tf

from fracdet_core.data.reader import load_examples
from fracdet_core.model.assign import assign_targets
from fracdet_core.model.config import ModelConfig
from fracdet_core.model.indications import DETECTIONS, OUTPUT, indications_target
from fracdet_core.serving.letterbox import letterbox
from fracdet_core.train.augment import AugmentConfig, augment
from fracdet_core.train.crop import fine_crop

SHUFFLE_BUFFER = 512
_DEFAULT_AUGMENTATION = AugmentConfig()


def training_dataset(
    ingest_uri: str,
    split: str,
    model: ModelConfig,
    batch_size: int,
    *,
    augmentation: AugmentConfig | None = _DEFAULT_AUGMENTATION,
    shuffle: bool = True,
    deterministic: bool = False,
    seed: int = 0,
    fine_crop_share: float = 0.0,
    input_context: tf.distribute.InputContext | None = None,
    source_ids: Sequence[str] | None = None,
    in_scope_only: bool = False,
    target: str = DETECTIONS,
    cache: bool = False,
) -> tf.data.Dataset:
    """(images, targets) batches of one split; `augmentation=None` for validation, on whole images.

    With a model's `fine_image_size`, a `fine_crop_share` of the augmented samples are crops of the
    fine canvas (`fracdet_core.train.crop`), the others whole images. `source_ids` keeps only
    those images (validation's calibration half, `fracdet_core.train.validation`), `in_scope_only`
    only the images within the indications (what the detector learns from). `cache` keeps
    the letterboxed images in memory after the first pass (`cached_bytes`), so that later epochs
    neither read nor decode nor resize them again; augmentation still draws anew every epoch.
    A cached pipeline runs without tf.data's autotuning: its parallel steps take one thread per
    core, and no iterator waits for the tuner when Keras tears it down.
    """
    if target not in (DETECTIONS, OUTPUT):
        raise ValueError(f"target must be {DETECTIONS!r} or {OUTPUT!r}, got {target!r}")
    examples = load_examples(ingest_uri, split, deterministic=deterministic, input_context=input_context)
    if source_ids is not None:
        wanted = tf.constant(list(source_ids), tf.string, shape=[len(source_ids)])
        examples = examples.filter(lambda example: tf.reduce_any(tf.equal(example["source_id"], wanted)))
    if in_scope_only:
        examples = examples.filter(lambda example: tf.equal(example["in_scope"], 1))
    sizes = canvas_sizes(model, augmentation, fine_crop_share)
    canvases = examples.map(lambda example: _letterboxed(example, sizes), num_parallel_calls=tf.data.AUTOTUNE,
                            deterministic=deterministic)
    if cache:
        canvases = canvases.cache()
    if shuffle:
        canvases = canvases.shuffle(SHUFFLE_BUFFER, seed=seed, reshuffle_each_iteration=True)
    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)

    pipeline = tf.data.Dataset.zip((canvases, seeds)).map(
        lambda letterboxed, pair: _prepared(letterboxed, pair, model, augmentation, fine_crop_share, target),
        num_parallel_calls=tf.data.AUTOTUNE, deterministic=deterministic,
    )
    options = tf.data.Options()
    options.deterministic = deterministic
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
    # A cached split has little left to tune, and tearing down an autotuned iterator (Keras does
    # it for validation every epoch, and for training when `fit` returns) can stall for seconds.
    options.autotune.enabled = not cache
    return pipeline.batch(batch_size).prefetch(tf.data.AUTOTUNE).with_options(options)


def _prepared(letterboxed: dict, pair: tf.Tensor, model: ModelConfig, augmentation: AugmentConfig | None,
              fine_crop_share: float, target: str) -> tuple[tf.Tensor, tf.Tensor]:
    """(image, targets) of one letterboxed example: as stored, augmented, or a crop of its fine canvas, drawn from `pair`.

    The indications target is the whole image's, taken before a crop may cut its boxes away.
    """
    (whole, whole_boxes), *fine = letterboxed["canvases"]
    classes = letterboxed["classes"]
    if augmentation is None:
        image, boxes = whole, whole_boxes
    elif not fine:
        image, boxes, classes = augment(whole, whole_boxes, classes, augmentation, pair)
    else:
        seeds = tf.random.experimental.stateless_split(pair, num=3)
        image, boxes, classes = tf.cond(
            tf.random.stateless_uniform([], seeds[0]) < fine_crop_share,
            lambda: fine_crop(*fine[0], classes, augmentation, model.image_size, model.fine_box_limit, seeds[2]),
            lambda: augment(whole, whole_boxes, classes, augmentation, seeds[1]),
        )
    if target == OUTPUT:
        return image, indications_target(letterboxed["classes"], letterboxed["in_scope"])
    return image, assign_targets(boxes, classes, model)


def canvas_sizes(model: ModelConfig, augmentation: AugmentConfig | None, fine_crop_share: float) -> tuple[int, ...]:
    """The canvases each image is letterboxed to: the model's input, and the fine canvas where crops are cut from it."""
    if augmentation is None or not model.fine_image_size or not fine_crop_share:
        return (model.image_size,)
    return (model.image_size, model.fine_image_size)


def cached_bytes(images: int, sizes: tuple[int, ...]) -> int:
    """The memory that `cache=True` takes for `images` images letterboxed to `sizes` (float32 pixels)."""
    return images * sum(4 * size * size for size in sizes)


def _letterboxed(example: dict, sizes: tuple[int, ...]) -> dict:
    """The example's image and boxes letterboxed to each of `sizes`, as `canvases`, with its `classes`."""
    return {"canvases": tuple(letterbox(example["image"], example["boxes"], size) for size in sizes),
            "classes": example["classes"], "in_scope": example["in_scope"]}
