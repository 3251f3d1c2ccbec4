"""Train the detector on an ingest, then its indications head on it frozen, with checkpoints that survive preemption.

Validation is on the val split's calibration half (`validation`): the test half, which the
evaluation reports on, takes no part in choosing the model.

- Resume: `BackupAndRestore` saves the model, optimizer and epoch after every epoch under
  `<out>/backup`; the same command restarted after a kill continues from the last finished
  epoch instead of starting over, and the backup is removed when training completes. The finished
  detector waits there while the indications head trains (`indications_phase`), so that a kill
  in the head's phase resumes in it.
- Best weights by val loss in `<out>/checkpoints/best.weights.h5`; TensorBoard logs in
  `<out>/logs`; early stopping on val loss (restoring the best weights); TerminateOnNaN.
- Adam, linear warm-up then cosine decay, per step.
- Strategy: `MultiWorkerMirroredStrategy` when `TF_CONFIG` is set, `MirroredStrategy` with
  several local GPUs, the default otherwise; mixed precision on GPUs. With several workers all
  get the same `out`, each reads its share of the data, and only the chief writes to `out`
  (see `distribute`); `batch_size` is the global batch.

Writes `<out>/model.keras`, the serving SavedModel in `<out>/saved_model` (see `serving.signature`),
`model_config.json` and `train_summary.json` (epochs run, best val loss, images/s, wall time).
TensorFlow reads and writes local folders only: a `gs://` ingest or `out` goes through the
storage layer and its retry policy (`staging`).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import sys
import time
import warnings

import keras
import tensorflow as tf

from fracdet_core import storage
from fracdet_core.classes import CLASS_NAMES
from fracdet_core.data.manifest import read_manifest
from fracdet_core.errors import ConfigError
from fracdet_core.limits import MAX_BYTES, MAX_PIXELS
from fracdet_core.model.config import ModelConfig
from fracdet_core.model.detector import build_detector
from fracdet_core.model.indications import OUTPUT as INDICATIONS
from fracdet_core.model.loss import DetectionLoss
from fracdet_core.serving.signature import export_saved_model
from fracdet_core.train.acquisition import AcquisitionConfig
from fracdet_core.train.augment import AugmentConfig
from fracdet_core.train.config import TrainConfig
from fracdet_core.train.dataset import cached_bytes, canvas_sizes, training_dataset
from fracdet_core.train.distribute import BackupAndRestoreFrom, Worker, choose_strategy, wait_for_all_workers, worker_of
from fracdet_core.train.fine_canvas import fit_fine_canvas, train_image_sides
from fracdet_core.train.indications_phase import indications_datasets, indications_learner, release
from fracdet_core.train.processing import ProcessingConfig
from fracdet_core.train.schedule import steps_for, warmup_cosine
from fracdet_core.train.staging import BACKUP, RemoteSync, local_ingest, local_output
from fracdet_core.train.validation import calibration_source_ids


class ProgressLog(keras.callbacks.Callback):
    """One line per epoch with losses, images/s and the time left, readable in a task's log; and each epoch's figures
    (losses, images/s, learning rate) kept for train_summary.json's `history`, which tracking logs with their step."""

    def __init__(self, epochs: int, images_per_epoch: int, label: str = "epoch") -> None:
        super().__init__()
        self.epochs = epochs
        self.images_per_epoch = images_per_epoch
        self.label = label
        self.rates: list[float] = []
        self.history: list[dict[str, float]] = []
        self.epochs_done = 0
        self._started = 0.0

    def state(self) -> dict:
        """What `restore` takes back: the figures so far, for a run that resumes after this phase."""
        return {"rates": self.rates, "history": self.history, "epochs_done": self.epochs_done}

    def restore(self, state: dict) -> None:
        self.rates, self.history, self.epochs_done = list(state["rates"]), list(state["history"]), state["epochs_done"]

    def steady_rate(self) -> float | None:
        """The median images/s of the epochs after the first, which also traces the graph."""
        steady = sorted(self.rates[1:] or self.rates)
        return steady[len(steady) // 2] if steady else None

    def on_epoch_begin(self, epoch: int, logs=None) -> None:  # noqa: ANN001
        self._started = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs=None) -> None:  # noqa: ANN001
        seconds = time.perf_counter() - self._started
        rate = self.images_per_epoch / max(seconds, 1e-9)
        self.rates.append(rate)
        self.epochs_done = epoch + 1
        left = (self.epochs - epoch - 1) * seconds
        # The total first, then its terms and validation's, by name.
        ordered = sorted((logs or {}).items(), key=lambda item: (item[0] != "loss", item[0]))
        losses = {name: float(value) for name, value in ordered if "loss" in name}
        figures = ", ".join(f"{name} {value:.4f}" for name, value in losses.items())
        self.history.append({"epoch": epoch + 1, **losses, "images_per_second": rate,
                             "learning_rate": float(self.model.optimizer.learning_rate)})
        print(f"{self.label} {epoch + 1}/{self.epochs}: {figures}; {rate:.1f} images/s; about {left:.0f} s left",
              file=sys.stderr, flush=True)


def serving_limits(manifest: dict) -> dict[str, int]:
    """The serving signature's input limits: the defaults, raised to what this ingest admitted.

    A model must serve every image its own data could hold: data ingested with `--max-pixels`
    above the default would otherwise be refused by the signature when the model is evaluated.
    """
    options = manifest.get("options", {})
    return {"max_pixels": max(MAX_PIXELS, options.get("max_pixels") or 0),
            "max_bytes": max(MAX_BYTES, options.get("max_bytes") or 0)}


# The train split's letterboxed images stay in memory after the first epoch when they fit in this,
# so later epochs neither read nor decode them: the demo's split fits with room to spare; the real
# dataset's does not and is read from the shards every epoch.
CACHE_BUDGET_BYTES = 2 << 30

# The finished detector's weights and its phase's record, kept in the backup while the indications head trains.
DETECTOR_WEIGHTS = "detector.weights.h5"
DETECTOR_RECORD = "detector.json"

_DEFAULT_MODEL_CONFIG = ModelConfig()
_DEFAULT_TRAIN_CONFIG = TrainConfig()


def train(
    ingest_uri: str,
    class_weights_uri: str | None,
    out: str,
    model_config: ModelConfig = _DEFAULT_MODEL_CONFIG,
    config: TrainConfig = _DEFAULT_TRAIN_CONFIG,
) -> dict:
    """Train on the ingest's train split, validate on its val split's calibration half; returns the train summary.

    Every worker resumes from the backup in `out`; only the chief writes there (see `distribute`).
    """
    started = time.perf_counter()
    strategy = choose_strategy()  # first: it must precede any other TensorFlow work
    worker = worker_of(strategy)
    replicas = strategy.num_replicas_in_sync
    _check_batch_shares(config.batch_size, replicas)
    with (local_ingest(ingest_uri) as ingest, local_output(out, publish=worker.is_chief) as local_out,
          worker.output_folder(local_out) as write_to):
        keras.utils.set_random_seed(config.seed)
        manifest = read_manifest(ingest)
        model_config = _fine_canvas_for(model_config, ingest_uri)  # the staged copy holds only the shards
        weights = json.loads(storage.read_text(class_weights_uri)) if class_weights_uri else {}
        sync = RemoteSync(local_out, out) if worker.is_chief and storage.is_gcs(out) else None
        session = _Session(strategy, worker, local_out, write_to, sync, calibration_source_ids(ingest))
        train_split = manifest["splits"]["train"]
        detector, loss, history, progress = _detector_phase(ingest, train_split, model_config, config, weights, session)
        model, indications = detector, None
        if model_config.indications:
            model, indications = _indications_phase(detector, ingest, train_split["images"], model_config, config,
                                                    session)
        model.save(storage.join(write_to, "model.keras"))
        export_saved_model(model, model_config, storage.join(write_to, "saved_model"), **serving_limits(manifest))
        summary = _summary(history, progress, config.epochs, loss.class_weights, indications,
                           wall_time_s=time.perf_counter() - started, workers=worker.count, replicas=replicas)
        _write_records(write_to, model_config, config, summary)
        if worker.is_chief and not storage.is_gcs(out):
            shutil.rmtree(os.path.join(local_out, BACKUP), ignore_errors=True)
    wait_for_all_workers(strategy)
    return summary


def _fine_canvas_for(model_config: ModelConfig, ingest_uri: str) -> ModelConfig:
    """The model's fine canvas fitted to the train split's images, saying so when that changes it."""
    fitted = fit_fine_canvas(model_config, train_image_sides(ingest_uri))
    if fitted.fine_image_size != model_config.fine_image_size:
        print(f"fine canvas {fitted.fine_image_size or 'none'} instead of {model_config.fine_image_size}: the train "
              f"images' median longer side is below it", file=sys.stderr, flush=True)
    return fitted


def _check_batch_shares(batch_size: int, replicas: int) -> None:
    """Refuse a global batch that the replicas cannot share equally."""
    if batch_size % replicas:
        raise ConfigError(f"batch_size {batch_size} must be a multiple of the {replicas} replicas that share each batch")


def _datasets(ingest_uri: str, train_images: int, model_config: ModelConfig, config: TrainConfig,
              input_context: tf.distribute.InputContext,
              calibration: list[str]) -> tuple[tf.data.Dataset, tf.data.Dataset]:
    """The detector's (train, val) batches: this worker's share of the train split's `train_images` in-scope images,
    augmented; the in-scope images of the val split's calibration half (`calibration`'s source ids), as stored.

    The train images are kept in memory, letterboxed, when they fit in `CACHE_BUDGET_BYTES`.
    """
    acquisition = AcquisitionConfig() if config.augment_acquisition else None
    processing = ProcessingConfig() if config.augment_processing else None
    augmentation = AugmentConfig(acquisition=acquisition, processing=processing) if config.augment else None
    sizes = canvas_sizes(model_config, augmentation, config.fine_crop_share)
    cache = cached_bytes(train_images, sizes) <= CACHE_BUDGET_BYTES
    train_data = training_dataset(ingest_uri, "train", model_config, config.batch_size, augmentation=augmentation,
                                  seed=config.seed, fine_crop_share=config.fine_crop_share, input_context=input_context,
                                  in_scope_only=True, cache=cache)
    # Every worker validates on the whole calibration half (small): identical batches everywhere
    # keep the collectives' shapes equal, where uneven shares would not.
    val_data = training_dataset(ingest_uri, "val", model_config, config.batch_size, augmentation=None, shuffle=False,
                                deterministic=True, source_ids=calibration, in_scope_only=True,
                                cache=True)
    return train_data, val_data


def _compiled_detector(model_config: ModelConfig, config: TrainConfig, class_weights: dict[str, float],
                       steps_per_epoch: int) -> tuple[keras.Model, DetectionLoss]:
    """The detector compiled with its loss and Adam on a warm-up then cosine schedule; build it in the strategy's scope.

    Mixed precision on GPUs, set before the model is built.
    """
    if tf.config.list_logical_devices("GPU"):
        keras.mixed_precision.set_global_policy("mixed_float16")
    model = build_detector(model_config)
    schedule = warmup_cosine(config.learning_rate, steps_per_epoch, config.epochs, config.warmup_epochs)
    loss = DetectionLoss(class_weights=class_weights, box_loss=config.box_loss, focal_gamma=config.focal_gamma,
                         study_weight=config.study_weight)
    momentum = averaging_momentum(config.weight_averaging, steps_per_epoch * config.epochs)
    optimizer = keras.optimizers.Adam(schedule, clipnorm=10.0, use_ema=momentum > 0, ema_momentum=momentum)
    model.compile(optimizer=optimizer, loss=loss, jit_compile=config.xla)
    return model, loss


@dataclasses.dataclass(frozen=True)
class _Session:
    """Where this process trains: its strategy, its part among the workers, the local output folder, the folder it
    writes to (`out` for the chief), the copy to a `gs://` output after every epoch, if any, and the val split's
    calibration half (`validation`), which both phases validate on."""

    strategy: tf.distribute.Strategy
    worker: Worker
    out: str
    write_to: str
    sync: RemoteSync | None
    calibration: list[str]

    def callbacks(self, early_stopping_patience: int, progress: ProgressLog,
                  **options: object) -> list[keras.callbacks.Callback]:
        found = _callbacks(self.out, self.write_to, self.worker, early_stopping_patience, progress, **options)
        return found + ([self.sync] if self.sync else [])


def _detector_phase(ingest: str, train_split: dict, model_config: ModelConfig, config: TrainConfig,
                    class_weights: dict[str, float],
                    session: _Session) -> tuple[keras.Model, DetectionLoss, dict[str, list[float]], ProgressLog]:
    """The detector trained on the in-scope images (or loaded, where an interrupted run had trained it), its loss, its
    fit history and its progress.

    The finished detector and its history wait in the backup (`DETECTOR_WEIGHTS`, `DETECTOR_RECORD`)
    until the whole training ends, so that a run killed in the indications phase resumes there.
    """
    in_scope_images = train_split["images"] - train_split.get("out_of_scope_images", 0)
    steps_per_epoch = steps_for(in_scope_images, config.batch_size)
    with session.strategy.scope():
        detector, loss = _compiled_detector(model_config, config, class_weights, steps_per_epoch)
    progress = ProgressLog(config.epochs, in_scope_images)
    weights, record = (storage.join(session.out, BACKUP, name) for name in (DETECTOR_WEIGHTS, DETECTOR_RECORD))
    if os.path.exists(weights) and os.path.exists(record):
        detector.load_weights(weights)
        done = json.loads(storage.read_text(record))
        progress.restore(done["progress"])
        print(f"detector: trained already ({progress.epochs_done} epochs), resuming with the indications head",
              file=sys.stderr, flush=True)
        return detector, loss, done["history"], progress
    train_data, val_data = _datasets(ingest, in_scope_images, model_config, config,
                                     session.worker.input_context(session.strategy), session.calibration)
    callbacks = session.callbacks(config.early_stopping_patience, progress, restore_best=not detector.optimizer.use_ema,
                                  best_checkpoint=True)
    history = _fit(detector, train_data, val_data, steps_per_epoch, config.epochs, callbacks)
    if session.worker.is_chief:
        os.makedirs(os.path.join(session.out, BACKUP), exist_ok=True)
        detector.save_weights(weights)
        storage.write_text(record, json.dumps({"history": history.history, "progress": progress.state()}) + "\n")
        if session.sync:
            session.sync.on_epoch_end(config.epochs - 1)
    return detector, loss, history.history, progress


def _indications_phase(detector: keras.Model, ingest: str, train_images: int, model_config: ModelConfig,
                       config: TrainConfig, session: _Session) -> tuple[keras.Model, dict]:
    """The detector with its indications head, trained on the frozen detector (`indications_phase`); its summary."""
    steps_per_epoch = steps_for(train_images, config.batch_size)
    train_data, val_data = indications_datasets(ingest, train_images, model_config, config,
                                                session.worker.input_context(session.strategy), session.calibration,
                                                CACHE_BUDGET_BYTES)
    with session.strategy.scope():
        served, learner = indications_learner(detector, model_config, config, steps_per_epoch)
    progress = ProgressLog(config.indications_epochs, train_images, label="indications epoch")
    callbacks = session.callbacks(config.early_stopping_patience, progress, backup=os.path.join(BACKUP, INDICATIONS))
    history = _fit(learner, train_data, val_data, steps_per_epoch, config.indications_epochs, callbacks)
    release(detector)
    val_losses = history.history.get("val_loss", [])
    return served, {"epochs_run": progress.epochs_done, "epochs_planned": config.indications_epochs,
                    "best_val_loss": min(val_losses) if val_losses else None,
                    "train_images_per_second": progress.steady_rate(), "history": progress.history}


def averaging_momentum(weight_averaging: float, total_steps: int) -> float:
    """The weight average's momentum for a training of `total_steps`: `weight_averaging`, lowered so that the
    initial weights keep under e**-10 of the average (Keras starts the average at them), 0 (none) for the few steps
    where that leaves no average worth the name."""
    momentum = min(weight_averaging, 1.0 - 10.0 / total_steps)
    return momentum if momentum >= 0.5 else 0.0


def _callbacks(out: str, write_to: str, worker: Worker, early_stopping_patience: int, progress: ProgressLog, *,
               restore_best: bool = True, best_checkpoint: bool = False,
               backup: str = BACKUP) -> list[keras.callbacks.Callback]:
    """Backup for resuming (in `backup`, under `out`), TensorBoard, NaN stop, progress and early stopping; the best
    epoch's weights in `checkpoints/best.weights.h5` where `best_checkpoint`.

    `restore_best`: early stopping puts the best epoch's weights back at the end; off where the
    weights' average is kept instead, which validation, run on the raw weights, does not see.

    Makes the local checkpoint folder, which the checkpoint callback expects to exist.
    """
    callbacks = [
        # Two backups: a kill while one is being written leaves the other to resume from.
        (keras.callbacks.BackupAndRestore(storage.join(out, backup), double_checkpoint=True) if worker.is_chief
         else BackupAndRestoreFrom(storage.join(out, backup), storage.join(write_to, backup), double_checkpoint=True)),
        keras.callbacks.TensorBoard(storage.join(write_to, "logs")),
        keras.callbacks.TerminateOnNaN(),
        progress,
    ]
    if best_checkpoint:
        callbacks.insert(1, keras.callbacks.ModelCheckpoint(storage.join(write_to, "checkpoints", "best.weights.h5"),
                                                            monitor="val_loss", save_best_only=True,
                                                            save_weights_only=True))
    if early_stopping_patience:
        callbacks.append(keras.callbacks.EarlyStopping(monitor="val_loss", patience=early_stopping_patience,
                                                       restore_best_weights=restore_best))
    if best_checkpoint and not storage.is_gcs(write_to):
        os.makedirs(storage.join(write_to, "checkpoints"), exist_ok=True)
    return callbacks


def _fit(model: keras.Model, train_data: tf.data.Dataset, val_data: tf.data.Dataset, steps_per_epoch: int, epochs: int,
         callbacks: list[keras.callbacks.Callback]) -> keras.callbacks.History:
    """`model.fit` over the endless train batches, validating on one full pass of the calibration half each epoch."""
    with warnings.catch_warnings():
        # Keras says the input "ran out of data" when a finite validation set ends: that is the
        # intent (each validation is one full pass over the calibration half).
        warnings.filterwarnings("ignore", message="Your input ran out of data")
        return model.fit(train_data.repeat(), steps_per_epoch=steps_per_epoch, validation_data=val_data,
                         epochs=epochs, callbacks=callbacks, shuffle=False, verbose=0)


def _summary(history: dict[str, list[float]], progress: ProgressLog, epochs_planned: int, class_weights: dict[str, float],
             indications: dict | None, *, wall_time_s: float, workers: int, replicas: int) -> dict:
    """The content of `train_summary.json`: the detector's training, and the indications head's where it has one."""
    val_losses = history.get("val_loss", [])
    return {
        "epochs_run": progress.epochs_done,  # counts epochs before a resume too
        "epochs_planned": epochs_planned,
        "stopped_early": progress.epochs_done < epochs_planned,
        "best_val_loss": min(val_losses) if val_losses else None,
        "final_loss": history["loss"][-1] if history.get("loss") else None,
        "train_images_per_second": progress.steady_rate(),
        "wall_time_s": wall_time_s,
        "workers": workers,
        "replicas": replicas,
        "class_names": list(CLASS_NAMES),
        "class_weights": class_weights,
        "history": progress.history,
        "indications": indications,
    }


def _write_records(write_to: str, model_config: ModelConfig, config: TrainConfig, summary: dict) -> None:
    """`model_config.json` (both configs, to rebuild the model) and `train_summary.json`."""
    configs = {"model": dataclasses.asdict(model_config), "train": dataclasses.asdict(config)}
    storage.write_text(storage.join(write_to, "model_config.json"), json.dumps(configs, indent=2) + "\n")
    storage.write_text(storage.join(write_to, "train_summary.json"), json.dumps(summary, indent=2) + "\n")
