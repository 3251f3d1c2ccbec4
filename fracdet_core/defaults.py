"""The one source of every default that more than one place states.

A run parameter reaches the library through several doors: a `fracdet` flag, a pipeline
parameter, a component input, the library's config dataclass. The dataclasses and the loss read
their defaults from here, and the command and the pipeline name these constants, so a default
changes here and nowhere else. This module imports nothing, so the command builds its parser and
the pipeline states its parameters without loading NumPy, scikit-learn or TensorFlow.

KFP ships a lightweight component's source into its task as text, where these names do not
exist: the components restate the values as literals, and `tests/test_defaults.py` holds every
door equal to this module.
"""

# Registry
MODEL_NAME = "fracdet"  # the model's name under a registry root

# Ingest
SHARDS = 0  # TFRecord shards per split; 0 makes one per 1000 images
MAX_SIDE = 0  # downscale images whose longer side exceeds this many pixels; 0 keeps sizes

# EDA
CLASS_WEIGHTING = "balanced"  # or "effective" (Cui et al. 2019)
MAX_QUARANTINE_SHARE = 0.1  # a larger share of quarantined files fails the run

# Training and the model. Focal objectness (gamma 2) with MSE boxes: the loss that scored best on the
# synthetic val split of those compared; gamma 0 is the plain cross-entropy of the original design.
EPOCHS = 30
MODEL_PRESET = "n"  # a named size in fracdet_core.model.presets: n (the demo's), s, m
IMAGE_SIZE = 256  # n's recommended input size, ModelConfig's default
# A pipeline's or component's image_size of 0 keeps the model's own: the config file's, else the preset's.
IMAGE_SIZE_OF_MODEL = 0
BATCH_SIZE = 16
BOX_LOSS = "mse"
FOCAL_GAMMA = 2.0
TRAIN_WORKERS = 1  # training machines; 1 is one training task, more a TrainJob or TFJob the train step launches

# Compiling for a cluster
DEADLINE_SECONDS = 24 * 3600  # the whole run's deadline (Argo's activeDeadlineSeconds); 0 for none
INGEST_PARTS = 0  # 0 or 1: one ingest task; more fans ingest out into that many parallel tasks
TRAINING_JOB_API = "trainjob"  # what a train step on several machines creates: "trainjob" (Trainer v2) or "tfjob"

# Evaluation
TARGET_SENSITIVITY = 0.90  # image-level sensitivity the per-body-part operating thresholds are set for
TARGET_SPECIFICITY = 0.95  # image-level specificity the per-body-part "definite" thresholds are set for
TARGET_IN_SCOPE_KEPT = 0.99  # share of in-scope calibration images the in-scope threshold keeps
