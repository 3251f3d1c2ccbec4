"""The out-of-scope kinds the generator draws: radiographs of other anatomy, and images that are no radiograph.

Kept apart from the drawing code so the configuration, the CLI and ingest can name the kinds
without importing NumPy or SciPy. A kind is also the image's `image/anatomy` feature and the
name of its folder in the dataset (`out_of_scope/train/CHEST/...`), always upper case.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

# Radiographs outside the five indicated body parts, drawn with the in-scope "tubes" renderer's
# plate, exposure, noise and display, so only the anatomy tells them apart.
RADIOGRAPH_KINDS = ("CHEST", "KNEE", "ANKLE_FOOT", "PELVIS", "SKULL", "SPINE", "TIBIA_FIBULA")
# Images that are not projection radiographs at all.
OTHER_MODALITY_KINDS = ("CT", "MR", "US", "PHOTO", "DOCUMENT")
KINDS = RADIOGRAPH_KINDS + OTHER_MODALITY_KINDS

# What a DICOM of each kind says about itself: (Modality, BodyPartExamined or "").
DICOM_TAGS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "CHEST": ("CR", "CHEST"),
        "KNEE": ("CR", "KNEE"),
        "ANKLE_FOOT": ("CR", "FOOT"),
        "PELVIS": ("CR", "PELVIS"),
        "SKULL": ("CR", "SKULL"),
        "SPINE": ("CR", "LSPINE"),
        "TIBIA_FIBULA": ("CR", "LEG"),
        "CT": ("CT", ""),
        "MR": ("MR", ""),
        "US": ("US", ""),
        "PHOTO": ("XC", ""),
        "DOCUMENT": ("OT", ""),
    }
)

OUT_OF_SCOPE_FOLDER = "out_of_scope"  # under the dataset root; one subfolder per split, then one per kind


def kind_of(index: int) -> str:
    """The kind of out-of-scope image `index` of a split: the kinds in turn, so any count spreads evenly."""
    return KINDS[index % len(KINDS)]
