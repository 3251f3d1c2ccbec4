"""How the tags, the image checks and the model's in-scope answer combine into one indication, and the likely part."""

from __future__ import annotations

import numpy as np
import pytest
from indication_builders import decoded, radiograph_dicom

from fracdet_core.classes import SCOPE_PARTS
from fracdet_core.indications.content import gray_histogram
from fracdet_core.indications.facts import ImageFacts
from fracdet_core.indications.reasons import MEANING, OUT_OF_SCOPE, Reason
from fracdet_core.indications.verdict import ModelAnswer, decide

CONTINUOUS = gray_histogram(np.arange(256, dtype=np.uint8).repeat(4))
FLAT = gray_histogram(np.full(1024, 7, np.uint8))
# The model's probabilities over SCOPE_PARTS (the five, then OTHER): most probable FOREARM.
FOREARM_MOSTLY = np.array([0.1, 0.05, 0.6, 0.1, 0.05, 0.1], np.float32)


def _facts(chroma: float = 0.0, histogram: np.ndarray = CONTINUOUS, **tags: object) -> ImageFacts:
    dicom_tags = decoded(radiograph_dicom(**tags), ".dcm").facts.dicom_tags if tags else None
    return ImageFacts(chroma, histogram, dicom_tags)


@pytest.mark.parametrize(("facts", "model", "expected"), [
    # Tags out decide, whatever the pixels and the model say.
    (lambda: _facts(0.5, Modality="CT"), ModelAnswer(0.9, FOREARM_MOSTLY, 0.5),
     (False, Reason.MODALITY_NOT_RADIOGRAPH, "dicom_tags", "FOREARM")),
    (lambda: _facts(Modality="CR", BodyPartExamined="KNEE"), ModelAnswer(),
     (False, Reason.BODY_PART_NOT_INDICATED, "dicom_tags", "OTHER")),
    # The image checks overrule tags that say in scope.
    (lambda: _facts(0.5, Modality="CR", BodyPartExamined="HAND"), ModelAnswer(),
     (False, Reason.COLOUR_IMAGE, "image", "HAND")),
    (lambda: _facts(histogram=FLAT), ModelAnswer(0.9, None, 0.5), (False, Reason.NOT_RADIOGRAPH_CONTENT, "image", "OTHER")),
    # Tags in decide in, and their part is the likely one, whatever the model says.
    (lambda: _facts(Modality="DX", BodyPartExamined="WRIST"), ModelAnswer(0.1, FOREARM_MOSTLY, 0.5),
     (True, Reason.BODY_PART_INDICATED, "dicom_tags", "HAND")),
    # Where tags decide nothing, the model decides at its threshold (at it: in).
    (lambda: _facts(Modality="CR", BodyPartExamined="EXTREMITY"), ModelAnswer(0.5, FOREARM_MOSTLY, 0.5),
     (True, Reason.MODEL_IN_SCOPE, "model", "FOREARM")),
    (lambda: _facts(), ModelAnswer(0.49, FOREARM_MOSTLY, 0.5), (False, Reason.MODEL_OUT_OF_SCOPE, "model", "FOREARM")),
    (lambda: _facts(), ModelAnswer(0.2, None, 0.5), (False, Reason.MODEL_OUT_OF_SCOPE, "model", "OTHER")),
    # A model or thresholds without an in-scope answer decide nothing: in scope, as before.
    (lambda: _facts(), ModelAnswer(0.2, FOREARM_MOSTLY, None), (True, Reason.NOT_DECIDED, None, "FOREARM")),
    (lambda: _facts(), ModelAnswer(), (True, Reason.NOT_DECIDED, None, None)),
], ids=["tags CT over colour and model", "tags KNEE", "colour over tags HAND", "flat", "tags WRIST over the model",
        "model at threshold", "model under threshold", "model under threshold without probabilities",
        "no threshold", "old model"])
def test_tags_then_image_then_model(facts, model, expected):
    indication = decide(facts(), model)
    decided_by = None if indication.decided_by is None else str(indication.decided_by)
    assert (indication.in_scope, indication.reason, decided_by, indication.likely_body_part) == expected
    assert indication.in_scope == (indication.reason not in OUT_OF_SCOPE)


def test_what_decided_nothing_is_said_in_the_detail_and_the_notes():
    indication = decide(_facts(Modality=("US", 7), BodyPartExamined="EXTREMITY"), ModelAnswer(0.7, None, None))
    assert indication.detail == ("nothing decided: no Modality, and no tag names a body part the indications know; the "
                                 "operating thresholds carry no in-scope threshold, so the model decides nothing")
    assert [str(reason) for reason, _ in indication.notes] == ["dicom_tag_invalid", "model_undecided"]
    old_model = decide(_facts(), ModelAnswer())
    assert old_model.detail == "nothing decided: no DICOM tags; the model returns no in-scope score, so the model decides nothing"


def test_the_reason_codes_are_a_closed_documented_list():
    assert set(MEANING) == set(Reason)
    assert {str(reason) for reason in OUT_OF_SCOPE} == {
        "modality_not_radiograph", "body_part_not_indicated", "colour_image", "not_radiograph_content", "model_out_of_scope"}
    assert len(SCOPE_PARTS) == len(FOREARM_MOSTLY)
