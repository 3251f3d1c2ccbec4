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
    model_preset: str = "n",
    epochs: int = 30,
    image_size: int = 0,
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
        model_preset: the model's size, n, s or m (fracdet_core.model.presets); config_uri's 'model:'
            section and image_size override its fields.
        epochs: passes over the training data (early stopping may end sooner).
        image_size: square training input side, pixels; 0 keeps the model's: config_uri's, else the
            preset's recommended size (n 256, s 512, m 640).
        batch_size: images per step over all replicas.
        config_uri: a YAML with 'model:' and 'train:' sections; epochs, batch_size and a non-zero
            image_size override it.
        gpu_count, gpu_type: the accelerators the task requested, recorded on the model. They are
            inputs too because KFP 2.17's compiler carries a pipeline parameter into a sub-DAG (here
            the exit handler's) only for task inputs, not for resource requests that read it.
    """
    from fracdet_components.artifacts import run_train_component, train_component_configs

    model_config, train_config = train_component_configs(config_uri=config_uri, model_preset=model_preset, epochs=epochs,
                                                         image_size=image_size, batch_size=batch_size)
    run_train_component(dataset, analysis, model, model_config=model_config, train_config=train_config)
    model.metadata["accelerator"] = f"{gpu_count} x {gpu_type}" if gpu_count else "CPU"
