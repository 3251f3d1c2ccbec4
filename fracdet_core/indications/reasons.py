"""The reason codes of an indication: a closed list, each with the sentence docs/indications.md shows.

An `Indication` carries exactly one of these as its `reason`: why the image is in or out of
scope. `DICOM_TAG_INVALID` and `MODEL_UNDECIDED` decide nothing; they appear as `notes` beside
the reason that did decide (and as the reason itself when nothing else decided).
"""

from __future__ import annotations

import enum
from typing import Final


class Reason(enum.StrEnum):
    """Why an image is within the indications or not; the value is the code written to JSON and CSV."""

    # Out of scope: no fracture call.
    MODALITY_NOT_RADIOGRAPH = "modality_not_radiograph"
    BODY_PART_NOT_INDICATED = "body_part_not_indicated"
    COLOUR_IMAGE = "colour_image"
    NOT_RADIOGRAPH_CONTENT = "not_radiograph_content"
    MODEL_OUT_OF_SCOPE = "model_out_of_scope"
    # In scope: the fracture call as usual.
    BODY_PART_INDICATED = "body_part_indicated"
    MODEL_IN_SCOPE = "model_in_scope"
    NOT_DECIDED = "not_decided"
    # Decide nothing; reported as notes.
    DICOM_TAG_INVALID = "dicom_tag_invalid"
    MODEL_UNDECIDED = "model_undecided"


class DecidedBy(enum.StrEnum):
    """Which source decided: the JSON's `decided_by` (null when none did)."""

    DICOM_TAGS = "dicom_tags"
    IMAGE = "image"
    MODEL = "model"


OUT_OF_SCOPE: Final[frozenset[Reason]] = frozenset({
    Reason.MODALITY_NOT_RADIOGRAPH, Reason.BODY_PART_NOT_INDICATED, Reason.COLOUR_IMAGE, Reason.NOT_RADIOGRAPH_CONTENT,
    Reason.MODEL_OUT_OF_SCOPE,
})

MEANING: Final[dict[Reason, str]] = {
    Reason.MODALITY_NOT_RADIOGRAPH: "the DICOM Modality (or SOP class) is not a radiograph: CT, MR, US, NM, PT, OT, "
                                    "a secondary capture, ...",
    Reason.BODY_PART_NOT_INDICATED: "the DICOM body part or a description names an anatomy outside the five parts: "
                                    "CHEST, KNEE, FOOT, PELVIS, SKULL, SPINE, TIBIA, ...",
    Reason.COLOUR_IMAGE: "the image has real colour (not gray stored as RGB): a photograph, a screenshot, a "
                         "colour ultrasound or a coloured overlay over most of it",
    Reason.NOT_RADIOGRAPH_CONTENT: "the pixels hold no continuous-tone image: blank, flat, or a few levels only "
                                   "(a drawing, a binary mask, a chessboard)",
    Reason.MODEL_OUT_OF_SCOPE: "the model's in-scope score is under the in-scope threshold chosen at evaluation",
    Reason.BODY_PART_INDICATED: "the DICOM tags name one of the five parts on a radiograph (or no modality)",
    Reason.MODEL_IN_SCOPE: "the model's in-scope score reaches the in-scope threshold",
    Reason.NOT_DECIDED: "nothing decided (no telling tags; the model has no in-scope answer or threshold): answered "
                        "as in scope, as fracdet did before it read indications",
    Reason.DICOM_TAG_INVALID: "a DICOM tag of the wrong type, multi-valued, unreadable or absurd; it decides nothing",
    Reason.MODEL_UNDECIDED: "the model returns no in-scope score, or the operating thresholds carry no in-scope "
                            "threshold; the model decides nothing",
}
