"""Training on several workers: the strategy, this worker's role and where it may write.

Multi-worker training follows the TensorFlow multi-worker guide: every worker runs the same
`fracdet train` command with the same `--out` and its own `TF_CONFIG` (a TFJob sets it in each
pod). All workers run the same steps, saves included, since saving may read variables that
sync across workers; but only the chief (task `chief`, or `worker` 0 when the cluster has no
chief) writes to `--out`. The others write into a local scratch folder that is deleted when
training ends, so that no worker overwrites the chief's files; all resume from the chief's
backup, and all leave together. Keras 3 needs a shim to train with this strategy at all.

A worker that dies does not leave the others waiting, so nothing here adds a timeout: its peers'
collectives find it gone, or the strategy's coordination service (on the chief) misses its
heartbeats, and every survivor's `fit` fails at the latest soon after TensorFlow's heartbeat
timeout (ten seconds by default); the engine (JobSet's failurePolicy, a TFJob's restartPolicy)
then starts them again, and all resume from the chief's backup. Only the first gathering waits longer, up to
TensorFlow's register timeout (an hour), which lets a pod wait for its node; the launcher's
timeout bounds the whole job.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import tempfile
from collections.abc import Iterator

import keras
import tensorflow as tf


class MultiWorkerMirroredStrategy(tf.distribute.MultiWorkerMirroredStrategy):
    """`tf.distribute.MultiWorkerMirroredStrategy` with the `reduce` that Keras 3 expects.

    Keras 3's TensorFlow trainer fails on several workers (keras-team/keras#20585) in two calls:
    it reduces a whole input batch, `(images, targets)`, at once to learn its shapes, which this
    strategy (unlike `MirroredStrategy`) rejects for a nest ("Attempt to convert a value
    (PerReplica...) to a Tensor"); and it averages each step's scalar logs "along axis 0"
    ("Invalid reduction dimension 0 for input with 0 dimensions"). This `reduce` takes nests,
    and reduces a scalar across replicas only, since it has no axis within.
    """

    def reduce(self, reduce_op: tf.distribute.ReduceOp | str, value: object, axis: int | None = None) -> object:
        reduce_one = super().reduce

        def reduce_item(item: object) -> tf.Tensor:
            rank = self.experimental_local_results(item)[0].shape.rank
            return reduce_one(reduce_op, item, None if rank == 0 else axis)

        return tf.nest.map_structure(reduce_item, value)


def choose_strategy() -> tf.distribute.Strategy:
    """The distribution strategy this machine calls for.

    Call it before any other TensorFlow work: `MultiWorkerMirroredStrategy` configures the
    collective ops, which TensorFlow allows only before its runtime starts.
    """
    if os.environ.get("TF_CONFIG"):
        return MultiWorkerMirroredStrategy()
    gpus = tf.config.list_logical_devices("GPU")
    if len(gpus) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


@dataclasses.dataclass(frozen=True)
class Worker:
    """This process's place in the training cluster: `index` of `count` input pipelines.

    Index 0 is the chief, as `tf.distribute` numbers them: the `chief` task when the cluster has
    one, then the `worker` tasks in order.
    """

    count: int = 1
    index: int = 0

    @property
    def is_chief(self) -> bool:
        return self.index == 0

    def input_context(self, strategy: tf.distribute.Strategy) -> tf.distribute.InputContext:
        """What the input pipeline needs to read only this worker's share."""
        return tf.distribute.InputContext(self.count, self.index, strategy.num_replicas_in_sync)

    @contextlib.contextmanager
    def output_folder(self, out: str) -> Iterator[str]:
        """`out` for the chief; for another worker a local scratch folder, removed on leaving."""
        if self.is_chief:
            yield out
            return
        with tempfile.TemporaryDirectory(prefix=f"fracdet-train-worker{self.index}-") as scratch:
            yield scratch


def worker_of(strategy: tf.distribute.Strategy) -> Worker:
    """This process's role under `strategy`; a single `Worker()` without a cluster."""
    resolver = strategy.cluster_resolver
    if resolver is None:
        return Worker()
    cluster = resolver.cluster_spec().as_dict()
    chiefs = len(cluster.get("chief", []))
    index = 0 if resolver.task_type == "chief" else chiefs + resolver.task_id
    return Worker(count=chiefs + len(cluster.get("worker", [])), index=index)


def wait_for_all_workers(strategy: tf.distribute.Strategy) -> None:
    """Return once every worker has got here; at once without a cluster.

    A worker that leaves while the chief is still writing stops sending heartbeats, which the
    chief's coordination service reports as that worker's crash.
    """
    if strategy.cluster_resolver is None:
        return

    def all_reduce_one() -> tf.Tensor:
        return strategy.reduce(tf.distribute.ReduceOp.SUM, strategy.run(lambda: tf.constant(1.0)), axis=None)

    tf.function(all_reduce_one, autograph=False)()


class BackupAndRestoreFrom(keras.callbacks.BackupAndRestore):
    """`BackupAndRestore` for a worker other than the chief: restores from the chief's backup,
    backs up into its own scratch folder.

    Every worker must resume from the same epoch and weights (one that started over would wait
    forever for the others), so all read the chief's backup, as Keras 2 did; Keras 3's callback
    would also have every worker write, and at the end delete, the same shared files.
    """

    def __init__(self, shared_dir: str, own_dir: str, **kwargs: object) -> None:
        super().__init__(own_dir, **kwargs)
        self._shared = keras.callbacks.BackupAndRestore(shared_dir, **kwargs)

    def set_model(self, model: keras.Model) -> None:
        super().set_model(model)
        self._shared.set_model(model)

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._shared.on_train_begin(logs)
