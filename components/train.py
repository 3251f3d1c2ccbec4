"""The train component: the residual-FPN detector, exported as a serving SavedModel.

It runs on the GPU image (TensorFlow with CUDA); the other components on the smaller CPU image.
"""

from kfp import dsl
from kfp.dsl import Artifact, Dataset, Input, Model, Output

from fracdet_components.image import FRACDET_GPU_IMAGE


@dsl.component(base_image=FRACDET_GPU_IMAGE, install_kfp_package=False)
def train(
    dataset: Input[Dataset],
    analysis: Input[Artifact],
    model: Output[Model],
    epochs: int = 30,
    image_size: int = 256,
    batch_size: int = 16,
    config_uri: str = "",
    gpu_count: int = 0,
    gpu_type: str = "nvidia.com/gpu",
) -> None:
    """Train on the ingest's train split with the EDA's class weights; resume after preemption.

    Args:
        dataset: the ingest output (TFRecord shards).
        analysis: the EDA output; its class_weights.json weighs the classification loss.
        model: folder with saved_model/ (the serving SavedModel), model.keras, checkpoints/,
            TensorBoard logs/, model_config.json and train_summary.json.
        epochs: passes over the training data (early stopping may end sooner).
        image_size: square training input side, pixels.
        batch_size: images per step over all replicas.
        config_uri: a YAML with 'model:' and 'train:' sections; the three numbers above override it.
        gpu_count, gpu_type: the accelerators the task requested, recorded on the model. They are
            inputs too because KFP 2.17's compiler carries a pipeline parameter into a sub-DAG (here
            the exit handler's) only for task inputs, not for resource requests that read it.
    """
    from fracdet_components.artifacts import run_train_component

    run_train_component(dataset, analysis, model, epochs=epochs, image_size=image_size, batch_size=batch_size,
                        config_uri=config_uri or None)
    model.metadata["accelerator"] = f"{gpu_count} x {gpu_type}" if gpu_count else "CPU"
