import pytest

from fracdet_core.classes import BODY_PARTS, CLASS_NAMES, class_id, describe_class


def test_class_ids_follow_the_design_table():
    assert CLASS_NAMES == (
        "XR_ELBOW_positive", "XR_FINGER_positive", "XR_FOREARM_positive", "XR_HAND_positive",
        "XR_SHOULDER_positive", "XR_ELBOW_negative", "XR_FINGER_negative", "XR_FOREARM_negative",
        "XR_HAND_negative", "XR_SHOULDER_negative",
    )


@pytest.mark.parametrize(
    ("part", "fractured", "expected"),
    [("ELBOW", True, 0), ("SHOULDER", True, 4), ("ELBOW", False, 5), ("HAND", False, 8), ("SHOULDER", False, 9)],
)
def test_class_id(part, fractured, expected):
    assert class_id(part, fractured) == expected
    assert describe_class(CLASS_NAMES[expected]) == (part, fractured)


def test_every_class_round_trips():
    assert [class_id(*describe_class(name)) for name in CLASS_NAMES] == list(range(10))
    assert {describe_class(name)[0] for name in CLASS_NAMES} == set(BODY_PARTS)


@pytest.mark.parametrize("call", [lambda: class_id("KNEE", True), lambda: describe_class("XR_KNEE_positive")])
def test_unknown_names_are_refused(call):
    with pytest.raises(ValueError, match="KNEE"):
        call()
