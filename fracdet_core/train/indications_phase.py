"""Training's second phase: the indications head learns on the finished detector, frozen.

Why a phase of its own: trained with the detector, the out-of-scope images took places in the
detector's batches and moved its batch-norm statistics, and the demo's fracture AUC fell from
0.920 to 0.860 (docs/experiments.md, "The in-scope answer"), whether their detection loss was
masked or not. Here the detector's layers are frozen, so its backbone runs in inference mode
(Keras runs a non-trainable BatchNormalization on its moving statistics) and its weights end as
the first phase left them: the detections are those of a model trained without the head. The
head (`fracdet_core.model.indications`) learns from every train image, out-of-scope ones
included, on whole images as the serving signature's indications pass sees them.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from fracdet_core.model.config import ModelConfig
from fracdet_core.model.indications import OUTPUT, IndicationsLoss, with_indications_head
from fracdet_core.train.acquisition import AcquisitionConfig
from fracdet_core.train.augment import AugmentConfig
from fracdet_core.train.config import TrainConfig
from fracdet_core.train.dataset import cached_bytes, training_dataset
from fracdet_core.train.processing import ProcessingConfig
from fracdet_core.train.schedule import warmup_cosine


def head_augmentation(config: TrainConfig) -> AugmentConfig | None:
    """The head's augmentation: the detector's, with other units' acquisition and other vendors' processing always on.

    The head must tell anatomy, not one unit's look: on the demo's data these raised the share of
    another renderer's in-scope images it kept from 7.8% to 17.6% at the same threshold, and kept
    the demo's own (docs/experiments.md). They cost the detector AUC, so it trains without them.
    """
    if not config.augment:
        return None
    return AugmentConfig(acquisition=AcquisitionConfig(), processing=ProcessingConfig())


def indications_datasets(ingest_uri: str, train_images: int, model_config: ModelConfig, config: TrainConfig,
                         input_context: tf.distribute.InputContext, calibration: list[str],
                         cache_budget_bytes: int) -> tuple[tf.data.Dataset, tf.data.Dataset]:
    """(train, val) batches of whole images with their indications targets: every train image, augmented
    (`head_augmentation`); the val split's calibration half (`calibration`'s source ids), out-of-scope images
    included, as stored."""
    augmentation = head_augmentation(config)
    cache = cached_bytes(train_images, (model_config.image_size,)) <= cache_budget_bytes
    train_data = training_dataset(ingest_uri, "train", model_config, config.batch_size, augmentation=augmentation,
                                  seed=config.seed, input_context=input_context, target=OUTPUT, cache=cache)
    val_data = training_dataset(ingest_uri, "val", model_config, config.batch_size, augmentation=None, shuffle=False,
                                deterministic=True, source_ids=calibration, target=OUTPUT,
                                cache=True)
    return train_data, val_data


def indications_learner(detector: keras.Model, model_config: ModelConfig, config: TrainConfig,
                        steps_per_epoch: int) -> tuple[keras.Model, keras.Model]:
    """(the served model, the model that trains): the detector with its indications head, and the same layers with the
    indications output alone, compiled with the detector's layers frozen. Build it in the strategy's scope.

    Training only the head's output leaves out the pyramid and the detection heads, which the
    head does not read: a step costs the backbone's forward pass and the head's.
    """
    for layer in detector.layers:
        layer.trainable = False
    served = with_indications_head(detector, model_config)
    learner = keras.Model(served.input, served.output[OUTPUT], name="indications_learner")
    schedule = warmup_cosine(config.learning_rate, steps_per_epoch, config.indications_epochs, warmup_epochs=1.0)
    learner.compile(optimizer=keras.optimizers.Adam(schedule, clipnorm=10.0), loss=IndicationsLoss(),
                    jit_compile=config.xla)
    return served, learner


def release(detector: keras.Model) -> None:
    """The detector's layers trainable again, as a saved model's layers should be for whoever fine-tunes it."""
    for layer in detector.layers:
        layer.trainable = True

