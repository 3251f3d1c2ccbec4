"""The one constant that names the container image every component runs in, and its GPU twin.

`fracdet pipeline compile --image` replaces it in the compiled YAML, so a pipeline can be
compiled for any registry without editing code. The training task runs in the GPU image
(components/Dockerfile.gpu), whose tag is always the CPU image's tag plus `GPU_TAG_SUFFIX`:
`make images` and the retrain workflow tag both images that way, so one `--image` names both.
"""

from fracdet_core import __version__
from fracdet_core.errors import ConfigError

FRACDET_IMAGE = f"ghcr.io/fracdet/fracdet:{__version__}"
GPU_TAG_SUFFIX = "-gpu"


def gpu_image(image: str) -> str:
    """The GPU training image built from the same commit as `image` (`REPOSITORY:TAG`).

    Raises:
        ConfigError: `image` has no tag, or is pinned by digest: no GPU tag can be derived from it.
    """
    if "@" in image or ":" not in image.rsplit("/", 1)[-1]:
        raise ConfigError(f"image {image!r} must be REPOSITORY:TAG (no digest): its GPU twin is tagged TAG{GPU_TAG_SUFFIX}")
    return image + GPU_TAG_SUFFIX


FRACDET_GPU_IMAGE = gpu_image(FRACDET_IMAGE)
