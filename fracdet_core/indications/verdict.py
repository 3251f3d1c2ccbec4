"""One image's indication: the DICOM tags, then the image checks, then the model's in-scope answer.

- Tags that decide out (modality, body part) decide; so do the image checks (colour, content),
  whatever the tags say: a colour image tagged CR HAND is still not a radiograph.
- Tags that name one of the five parts on a radiograph decide in scope, with that part.
- Otherwise the model decides where it can: its in-scope score against the in-scope threshold
  (at or above: in scope). A model exported before it had an in-scope score, or thresholds
  without an in-scope threshold, decide nothing; the image is then answered in scope, as fracdet
  answered every image before it read indications, and the detail says that nothing decided.

The likely body part: the tags' part when they name one of the five; else the model's most
probable of `SCOPE_PARTS` where it has probabilities; else OTHER for an image out of scope.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from fracdet_core.classes import OTHER, SCOPE_PARTS
from fracdet_core.indications.colour import colour_detail
from fracdet_core.indications.content import content_detail
from fracdet_core.indications.facts import ImageFacts
from fracdet_core.indications.reasons import OUT_OF_SCOPE, DecidedBy, Reason
from fracdet_core.indications.tag_verdict import TagVerdict, tag_verdict


@dataclasses.dataclass(frozen=True)
class ModelAnswer:
    """The model's in-scope answer for one image.

    Attributes:
        in_scope_score: the signature's `in_scope_score`; None from a model without one.
        body_part_probabilities: float32 (6,) over `SCOPE_PARTS`; None from a model without them.
        in_scope_threshold: the operating thresholds' in-scope threshold; None when they carry none.
    """

    in_scope_score: float | None = None
    body_part_probabilities: np.ndarray | None = None
    in_scope_threshold: float | None = None


@dataclasses.dataclass(frozen=True)
class Indication:
    """Attributes:
        in_scope: False: no fracture call.
        reason: why (`reasons.Reason`).
        detail: what decided, in words, with what decided nothing.
        decided_by: the source that decided; None when nothing did.
        likely_body_part: see the module docstring; one of `SCOPE_PARTS`, or None.
        model: the model's answer as it was (scores reported whether or not they decided).
        notes: (reason, detail) of what decided nothing: invalid tags, a model without an in-scope answer.
    """

    in_scope: bool
    reason: Reason
    detail: str
    decided_by: DecidedBy | None
    likely_body_part: str | None
    model: ModelAnswer
    notes: tuple[tuple[Reason, str], ...] = ()


def decide(facts: ImageFacts, model: ModelAnswer) -> Indication:
    """The indication of an image from what the decoder measured and what the model answered; never raises."""
    tags = tag_verdict(facts.dicom_tags) if facts.dicom_tags is not None else None
    notes, tagged_part = (tags.notes, tags.body_part) if tags else ((), None)
    if tags and tags.reason in OUT_OF_SCOPE:
        return _indication(tags.reason, tags.detail, DecidedBy.DICOM_TAGS, model, notes)
    for reason, detail in ((Reason.COLOUR_IMAGE, colour_detail(facts.chroma_share)),
                           (Reason.NOT_RADIOGRAPH_CONTENT, content_detail(facts.gray_histogram))):
        if detail is not None:
            return _indication(reason, detail, DecidedBy.IMAGE, model, notes, tagged_part)
    if tags and tags.reason is Reason.BODY_PART_INDICATED:
        return _indication(tags.reason, tags.detail, DecidedBy.DICOM_TAGS, model, notes, tagged_part)
    return _model_verdict(tags, model, notes)


def _model_verdict(tags: TagVerdict | None, model: ModelAnswer, notes: tuple[tuple[Reason, str], ...]) -> Indication:
    if model.in_scope_score is None or model.in_scope_threshold is None:
        missing = ("the model returns no in-scope score" if model.in_scope_score is None
                   else "the operating thresholds carry no in-scope threshold")
        undecided = f"{missing}, so the model decides nothing"
        said = f"{tags.detail}; " if tags else "no DICOM tags; "
        return _indication(Reason.NOT_DECIDED, f"nothing decided: {said}{undecided}", None, model,
                           (*notes, (Reason.MODEL_UNDECIDED, undecided)))
    score, threshold = model.in_scope_score, model.in_scope_threshold
    if score >= threshold:
        return _indication(Reason.MODEL_IN_SCOPE, f"in-scope score {score:.3f} >= threshold {threshold:.3f}",
                           DecidedBy.MODEL, model, notes)
    return _indication(Reason.MODEL_OUT_OF_SCOPE, f"in-scope score {score:.3f} < threshold {threshold:.3f}",
                       DecidedBy.MODEL, model, notes)


def _indication(reason: Reason, detail: str, decided_by: DecidedBy | None, model: ModelAnswer,
                notes: tuple[tuple[Reason, str], ...], tagged_part: str | None = None) -> Indication:
    in_scope = reason not in OUT_OF_SCOPE
    return Indication(in_scope, reason, detail, decided_by, likely_body_part(tagged_part, model, in_scope), model, notes)


def likely_body_part(tagged_part: str | None, model: ModelAnswer, in_scope: bool) -> str | None:
    """The tags' part, else the model's most probable of `SCOPE_PARTS`, else OTHER when out of scope, else None."""
    if tagged_part is not None:
        return tagged_part
    if model.body_part_probabilities is not None:
        return SCOPE_PARTS[int(np.argmax(model.body_part_probabilities))]
    return None if in_scope else OTHER
