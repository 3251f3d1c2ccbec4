"""The ten detection classes, in their fixed order (docs/architecture.md, "Classes").

The index of a name in `CLASS_NAMES` is its class id everywhere: in label files, TFRecords and
model outputs. Datasets that list the names in another order are remapped by name.
"""

from typing import Final

BODY_PARTS: Final[tuple[str, ...]] = ("ELBOW", "FINGER", "FOREARM", "HAND", "SHOULDER")

# Everything outside the product's indications: another anatomy, another modality, not a radiograph.
OTHER: Final[str] = "OTHER"

# The serving signature's `body_part_probabilities` columns, in order: the five parts, then OTHER.
SCOPE_PARTS: Final[tuple[str, ...]] = (*BODY_PARTS, OTHER)

CLASS_NAMES: Final[tuple[str, ...]] = tuple(
    [f"XR_{part}_positive" for part in BODY_PARTS] + [f"XR_{part}_negative" for part in BODY_PARTS]
)

# Whether each class marks a fracture (the positive classes), in class-id order.
IS_FRACTURE: Final[tuple[bool, ...]] = tuple(name.endswith("_positive") for name in CLASS_NAMES)


def class_id(body_part: str, fractured: bool) -> int:
    """Class id for a body part and a fracture finding.

    Raises:
        ValueError: if `body_part` is not one of `BODY_PARTS`.
    """
    if body_part not in BODY_PARTS:
        raise ValueError(f"unknown body part {body_part!r}; expected one of {', '.join(BODY_PARTS)}")
    suffix = "positive" if fractured else "negative"
    return CLASS_NAMES.index(f"XR_{body_part}_{suffix}")


def describe_class(name: str) -> tuple[str, bool]:
    """Split a class name into (body part, fractured).

    Raises:
        ValueError: if `name` is not one of `CLASS_NAMES`.
    """
    if name not in CLASS_NAMES:
        raise ValueError(f"unknown class {name!r}; expected one of {', '.join(CLASS_NAMES)}")
    _, part, finding = name.split("_")
    return part, finding == "positive"
