"""The DICOM tags' verdict, read through the decoder from real files: pydicom-data's images and small DICOMs with
the tags (good, absurd or of the wrong type) each case names."""

from __future__ import annotations

import pydicom
import pytest
from indication_builders import REAL_DICOMS, SECONDARY_CAPTURE_STORAGE, decoded, radiograph_dicom, real_dicom
from pydicom.sequence import Sequence

from fracdet_core.indications.dicom_tags import DicomTags
from fracdet_core.indications.reasons import Reason
from fracdet_core.indications.tag_verdict import named_parts, tag_verdict


def _tags(data: bytes) -> DicomTags:
    tags = decoded(data, ".dcm").facts.dicom_tags
    assert tags is not None
    return tags


@pytest.mark.parametrize(("name", "reason"), sorted(REAL_DICOMS.items()))
def test_pydicom_datas_real_images_are_out_by_their_tags(name, reason):
    assert tag_verdict(_tags(real_dicom(name))).reason == reason


def test_the_tibia_is_named_by_its_study_description_when_its_body_part_says_extremity():
    verdict = tag_verdict(_tags(real_dicom("RG3_UNCR.dcm")))
    assert verdict.detail == "StudyDescription 'Non-ossifying fibroma of distal tibia': TIBIA_FIBULA, outside the five parts"
    assert verdict.notes == ()  # absent tags are not problems


@pytest.mark.parametrize(("tags", "reason", "part"), [
    ({"Modality": "CR", "BodyPartExamined": "HAND"}, Reason.BODY_PART_INDICATED, "HAND"),
    ({"Modality": "DX", "BodyPartExamined": "WRIST"}, Reason.BODY_PART_INDICATED, "HAND"),
    ({"Modality": "RG", "BodyPartExamined": "FINGERS"}, Reason.BODY_PART_INDICATED, "FINGER"),
    ({"Modality": "cr", "BodyPartExamined": "thumb "}, Reason.BODY_PART_INDICATED, "FINGER"),
    ({"Modality": "DX", "BodyPartExamined": "FOREARM"}, Reason.BODY_PART_INDICATED, "FOREARM"),
    ({"Modality": "CR", "BodyPartExamined": "SHOULDER"}, Reason.BODY_PART_INDICATED, "SHOULDER"),
    ({"Modality": "CR", "BodyPartExamined": "EXTREMITY", "SeriesDescription": "L ELBOW 2 VIEWS"},
     Reason.BODY_PART_INDICATED, "ELBOW"),
    ({"Modality": "CR", "StudyDescription": "XR RADIAL HEAD"}, Reason.BODY_PART_INDICATED, "ELBOW"),
    ({"BodyPartExamined": "HAND"}, Reason.BODY_PART_INDICATED, "HAND"),  # no modality: a converted file
    ({"Modality": "CR", "BodyPartExamined": "EXTREMITY"}, None, None),
    ({"Modality": "CR", "BodyPartExamined": ""}, None, None),
    ({"Modality": "CR"}, None, None),
    ({"Modality": "CR", "BodyPartExamined": "HUMERUS"}, None, None),
    ({"Modality": "CR", "StudyDescription": "HAND AND FOOT"}, None, None),
    ({"Modality": "CR", "BodyPartExamined": "CHEST"}, Reason.BODY_PART_NOT_INDICATED, None),
    ({"Modality": "DX", "BodyPartExamined": "KNEE"}, Reason.BODY_PART_NOT_INDICATED, None),
    ({"Modality": "DX", "BodyPartExamined": "FOOT"}, Reason.BODY_PART_NOT_INDICATED, None),
    ({"Modality": "DX", "BodyPartExamined": "ANKLE"}, Reason.BODY_PART_NOT_INDICATED, None),
    ({"Modality": "CR", "BodyPartExamined": "PELVIS"}, Reason.BODY_PART_NOT_INDICATED, None),
    ({"Modality": "CR", "BodyPartExamined": "HIP"}, Reason.BODY_PART_NOT_INDICATED, None),
    ({"Modality": "CR", "BodyPartExamined": "SKULL"}, Reason.BODY_PART_NOT_INDICATED, None),
    ({"Modality": "CR", "BodyPartExamined": "HEAD"}, Reason.BODY_PART_NOT_INDICATED, None),
    ({"Modality": "CR", "BodyPartExamined": "C-SPINE"}, Reason.BODY_PART_NOT_INDICATED, None),
    ({"Modality": "CR", "BodyPartExamined": "LSPINE"}, Reason.BODY_PART_NOT_INDICATED, None),
    ({"Modality": "CR", "BodyPartExamined": "TIBIA"}, Reason.BODY_PART_NOT_INDICATED, None),
    ({"Modality": "CR", "BodyPartExamined": "ABDOMEN"}, Reason.BODY_PART_NOT_INDICATED, None),
    ({"Modality": "CR", "BodyPartExamined": "EXTREMITY", "SeriesDescription": "R KNEE AP"},
     Reason.BODY_PART_NOT_INDICATED, None),
    ({"Modality": "CT", "BodyPartExamined": "HAND"}, Reason.MODALITY_NOT_RADIOGRAPH, None),
    ({"Modality": "MR", "StudyDescription": "SHOULDER"}, Reason.MODALITY_NOT_RADIOGRAPH, None),
    ({"Modality": "US"}, Reason.MODALITY_NOT_RADIOGRAPH, None),
    ({"Modality": "NM"}, Reason.MODALITY_NOT_RADIOGRAPH, None),
    ({"Modality": "PT"}, Reason.MODALITY_NOT_RADIOGRAPH, None),
    ({"Modality": "OT", "BodyPartExamined": "HAND"}, Reason.MODALITY_NOT_RADIOGRAPH, None),
    ({"Modality": "SC"}, Reason.MODALITY_NOT_RADIOGRAPH, None),
    ({"Modality": "XA"}, Reason.MODALITY_NOT_RADIOGRAPH, None),
], ids=lambda value: repr(value) if isinstance(value, dict) else None)
def test_modality_then_body_part_then_descriptions_decide(tags, reason, part):
    verdict = tag_verdict(_tags(radiograph_dicom(**tags)))
    assert (verdict.reason, verdict.body_part, verdict.notes) == (reason, part, ())


def test_a_secondary_capture_without_a_radiograph_modality_is_out_and_one_with_cr_is_a_digitised_radiograph():
    assert tag_verdict(_tags(radiograph_dicom(sop_class=SECONDARY_CAPTURE_STORAGE, BodyPartExamined="HAND"))).reason \
        == Reason.MODALITY_NOT_RADIOGRAPH
    assert tag_verdict(_tags(radiograph_dicom(sop_class=SECONDARY_CAPTURE_STORAGE, Modality="CR",
                                              BodyPartExamined="HAND"))).reason == Reason.BODY_PART_INDICATED


HAND_BY_TAGS = (Reason.BODY_PART_INDICATED, "HAND")


@pytest.mark.parametrize(("tags", "problem", "verdict"), [
    ({"Modality": ("US", 7)}, "Modality holds a int value (7, VR US); one text value was expected", HAND_BY_TAGS),
    ({"Modality": ["CR", "CT"]}, "Modality holds several values (['CR', 'CT'], VR CS); one text value was expected",
     HAND_BY_TAGS),
    ({"Modality": "BANANA"}, "Modality 'BANANA' is not a DICOM modality", HAND_BY_TAGS),
    ({"Modality": "CR\x07"}, "Modality holds control characters ('CR\\x07')", HAND_BY_TAGS),
    ({"BodyPartExamined": "HAND" * 100}, "BodyPartExamined is 400 characters long, far above what the standard allows",
     (None, None)),
    ({"BodyPartExamined": ("SQ", Sequence([pydicom.Dataset()]))},
     "BodyPartExamined holds a Sequence value (<Sequence, length 1>, VR SQ); one text value was expected", (None, None)),
    ({"StudyDescription": ("OB", b"\x00\xffKNEE")},
     "StudyDescription holds a bytes value (b'\\x00\\xffKNEE', VR OB); one text value was expected", HAND_BY_TAGS),
], ids=["wrong VR", "multi-valued", "unknown code", "control characters", "absurd length", "a sequence", "bytes"])
def test_a_bad_tag_decides_nothing_and_is_reported(tags, problem, verdict):
    """Each broken tag over a good CR HAND: what is left decides, the broken tag is a note."""
    good = {"Modality": "CR", "BodyPartExamined": "HAND"}
    found = tag_verdict(_tags(radiograph_dicom(**{**good, **tags})))
    assert found.notes == ((Reason.DICOM_TAG_INVALID, problem),)
    assert (found.reason, found.body_part) == verdict


def test_text_in_a_character_set_it_is_not_written_in_never_crashes():
    data = radiograph_dicom(Modality="CR", SpecificCharacterSet="ISO_IR 192", StudyDescription=("LO", b"HAND \xff\xfe"))
    verdict = tag_verdict(_tags(data))
    assert verdict.reason in (Reason.BODY_PART_INDICATED, None)  # pydicom replaces or refuses the bytes: either way no crash


@pytest.mark.parametrize(("text", "indicated", "other"), [
    ("XR HAND 3+ VIEWS LEFT", ["HAND"], []),
    ("RADIAL HEAD", ["ELBOW"], []),
    ("HUMERAL HEAD", ["SHOULDER"], []),
    ("FEMORAL HEAD", [], ["PELVIS"]),
    ("Head CT", [], ["SKULL"]),
    ("C SPINE", [], ["SPINE"]),
    ("forearm/elbow", ["FOREARM", "ELBOW"], []),
    ("hand and foot", ["HAND"], ["ANKLE_FOOT"]),
    ("Handle", [], []),  # whole words only
    ("", [], []),
])
def test_named_parts_reads_whole_words_pairs_first(text, indicated, other):
    assert named_parts(text) == (indicated, other)
