"""fracdet: bone-fracture detection on X-rays, from YOLO data to a registered model.

The library does the work; the `fracdet` CLI and the KFP components are thin doors into it.
"""

from importlib.metadata import PackageNotFoundError, version

from fracdet_core.tensorflow_cpu import apply_safe_defaults

apply_safe_defaults()  # before any TensorFlow op of this process: see tensorflow_cpu.py

try:
    __version__ = version("fracdet")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"
