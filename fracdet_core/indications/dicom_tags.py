"""The DICOM tags the indications read, taken from a parsed dataset without ever failing.

A tag can be missing, empty, of the wrong value representation (Modality written as a number),
multi-valued where the standard allows one value, not decodable in its character set, or absurd
(control characters, a length no system writes). Each is kept as a `TagValue` with its `problem`
and decides nothing; only a clean single string is interpreted (`tag_verdict`).
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    import pydicom

# Keyword -> the longest value believed: well above the standard's maxima (CS 16, LO 64, UI 64 characters),
# since systems do write longer values, and far below what a damaged element holds.
READ_TAGS: Final[dict[str, int]] = {
    "Modality": 64, "BodyPartExamined": 256, "SeriesDescription": 1024, "StudyDescription": 1024, "SOPClassUID": 256,
}


@dataclasses.dataclass(frozen=True)
class TagValue:
    """One tag as read.

    Attributes:
        keyword: the DICOM keyword (`Modality`, `BodyPartExamined`, ...).
        value: the stripped string; None when the tag is absent, empty or has a problem.
        problem: why the tag cannot be used (wrong type, several values, unreadable, absurd); None when it can.
    """

    keyword: str
    value: str | None = None
    problem: str | None = None


@dataclasses.dataclass(frozen=True)
class DicomTags:
    """The tags of `READ_TAGS`, keyword -> `TagValue` (every keyword present)."""

    tags: dict[str, TagValue]

    def value(self, keyword: str) -> str | None:
        return self.tags[keyword].value

    def problems(self) -> list[TagValue]:
        return [tag for tag in self.tags.values() if tag.problem is not None]


def read_dicom_tags(dataset: pydicom.Dataset) -> DicomTags:
    """The indication tags of `dataset`, each a clean value or a stated problem; never raises."""
    return DicomTags({keyword: read_tag(dataset, keyword, longest) for keyword, longest in READ_TAGS.items()})


def read_tag(dataset: pydicom.Dataset, keyword: str, longest: int) -> TagValue:
    """One tag as a `TagValue`: see the module docstring for what counts as a problem."""
    try:
        with warnings.catch_warnings():  # pydicom warns about invalid values; the problem is reported instead
            warnings.simplefilter("ignore")
            if keyword not in dataset:
                return TagValue(keyword)
            element = dataset[keyword]
            vr, raw = element.VR, element.value
    except Exception as error:  # noqa: BLE001 - any failure to read a tag is reported, never a crash of the run
        return TagValue(keyword, problem=f"{keyword} cannot be read: {type(error).__name__}: {error}"[:300])
    return _checked(keyword, vr, raw, longest)


def _checked(keyword: str, vr: str, raw: object, longest: int) -> TagValue:
    if raw is None or raw == "":
        return TagValue(keyword)
    if not isinstance(raw, str):
        kind = "several values" if _is_multi_value(raw) else f"a {type(raw).__name__} value"
        return TagValue(keyword, problem=f"{keyword} holds {kind} ({_shown(raw)}, VR {vr}); one text value was expected")
    text = raw.strip().strip("\x00").strip()
    if len(text) > longest:
        return TagValue(keyword, problem=f"{keyword} is {len(text)} characters long, far above what the standard allows")
    if any(not character.isprintable() for character in text):
        return TagValue(keyword, problem=f"{keyword} holds control characters ({_shown(text)})")
    return TagValue(keyword, text or None)


def _is_multi_value(raw: object) -> bool:
    from pydicom.multival import MultiValue
    from pydicom.sequence import Sequence

    return isinstance(raw, MultiValue | list | tuple) and not isinstance(raw, Sequence)


def _shown(raw: object) -> str:
    text = repr(list(raw) if _is_multi_value(raw) else raw)
    return text if len(text) <= 60 else text[:57] + "..."
