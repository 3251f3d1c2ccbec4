"""What the DICOM tags decide: out of scope by modality or body part, in scope with a part, or nothing.

Order: the modality first (a CT of the hand is out whatever its body part), then the body part
from `BodyPartExamined`, then `SeriesDescription`, then `StudyDescription`: the first of these
that names a part decides (RG3's EXTREMITY decides nothing, its study description's "distal
tibia" does). A text naming both an indicated part and another anatomy ("HAND AND FOOT")
decides nothing. Words are read as `vocabulary` says.

In scope by tags needs a radiograph modality or none at all (a converted file may have lost it);
a modality outside DICOM's list, and every tag with a problem, decide nothing and are noted.
"""

from __future__ import annotations

import dataclasses
import re

from fracdet_core.indications.dicom_tags import DicomTags
from fracdet_core.indications.reasons import Reason
from fracdet_core.indications.vocabulary import (
    INDICATED,
    NOT_INDICATED,
    NOT_RADIOGRAPH_MODALITIES,
    RADIOGRAPH_MODALITIES,
    SECONDARY_CAPTURE_SOP_CLASSES,
)

BODY_PART_SOURCES = ("BodyPartExamined", "SeriesDescription", "StudyDescription")
_WORD = re.compile(r"[A-Z0-9]+")


@dataclasses.dataclass(frozen=True)
class TagVerdict:
    """What the tags say.

    Attributes:
        reason: `MODALITY_NOT_RADIOGRAPH`, `BODY_PART_NOT_INDICATED` or `BODY_PART_INDICATED`; None: they decide nothing.
        detail: the tag and value that decided, or why nothing did.
        body_part: the indicated part (one of the five) for `BODY_PART_INDICATED`, else None.
        notes: (reason, detail) of what decided nothing: tags with a problem, an unknown modality.
    """

    reason: Reason | None
    detail: str
    body_part: str | None = None
    notes: tuple[tuple[Reason, str], ...] = ()


def tag_verdict(tags: DicomTags) -> TagVerdict:
    """The verdict of `tags` (see the module docstring); never raises."""
    notes = [(Reason.DICOM_TAG_INVALID, tag.problem) for tag in tags.problems()]
    modality = (tags.value("Modality") or "").upper()
    if modality and modality not in RADIOGRAPH_MODALITIES | NOT_RADIOGRAPH_MODALITIES:
        notes.append((Reason.DICOM_TAG_INVALID, f"Modality {modality!r} is not a DICOM modality"))
        modality = ""
    if modality in NOT_RADIOGRAPH_MODALITIES:
        return TagVerdict(Reason.MODALITY_NOT_RADIOGRAPH, f"Modality {modality}: not a radiograph", notes=tuple(notes))
    if not modality and tags.value("SOPClassUID") in SECONDARY_CAPTURE_SOP_CLASSES:
        return TagVerdict(Reason.MODALITY_NOT_RADIOGRAPH, "a Secondary Capture object without a radiograph modality",
                          notes=tuple(notes))
    for keyword in BODY_PART_SOURCES:
        text = tags.value(keyword)
        found = _body_part(keyword, text) if text else None
        if found is not None:
            return dataclasses.replace(found, notes=tuple(notes))
    said = f"Modality {modality}" if modality else "no Modality"
    return TagVerdict(None, f"{said}, and no tag names a body part the indications know", notes=tuple(notes))


def _body_part(keyword: str, text: str) -> TagVerdict | None:
    """The verdict of one body-part text, or None when it names no part (or names parts of both kinds)."""
    indicated, other = named_parts(text)
    if indicated and other:
        return None
    if other:
        return TagVerdict(Reason.BODY_PART_NOT_INDICATED, f"{keyword} {text!r}: {other[0]}, outside the five parts")
    if indicated:
        return TagVerdict(Reason.BODY_PART_INDICATED, f"{keyword} {text!r}: {indicated[0]}", body_part=indicated[0])
    return None


def named_parts(text: str) -> tuple[list[str], list[str]]:
    """(indicated parts, other anatomies) that `text` names, in order of appearance, each once.

    Two neighbouring words are tried joined before each alone, so "RADIAL HEAD" and "C-SPINE" are one term.
    """
    words = _WORD.findall(text.upper())
    indicated: list[str] = []
    other: list[str] = []
    index = 0
    while index < len(words):
        pair = "".join(words[index:index + 2]) if index + 1 < len(words) else None
        term, index = (pair, index + 2) if pair in INDICATED or pair in NOT_INDICATED else (words[index], index + 1)
        for table, found in ((INDICATED, indicated), (NOT_INDICATED, other)):
            if term in table and table[term] not in found:
                found.append(table[term])
    return indicated, other
