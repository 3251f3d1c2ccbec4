"""The one constant that names the container image every component runs in.

`fracdet pipeline compile --image` replaces it in the compiled YAML, so a pipeline can be
compiled for any registry without editing code.
"""

from fracdet_core import __version__

FRACDET_IMAGE = f"ghcr.io/fracdet/fracdet:{__version__}"
