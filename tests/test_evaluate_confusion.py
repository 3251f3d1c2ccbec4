import numpy as np
from evaluate_builders import found, random_case, truth

from fracdet_core.classes import CLASS_NAMES, class_id
from fracdet_core.evaluate.confusion import COLUMN_LABELS, ROW_LABELS, detection_confusion

ELBOW_FRACTURE = class_id("ELBOW", True)
ELBOW_NORMAL = class_id("ELBOW", False)
HAND_FRACTURE = class_id("HAND", True)
BACKGROUND_ROW = ROW_LABELS.index("background")
MISSED_COLUMN = COLUMN_LABELS.index("missed")


def test_a_right_detection_lands_on_the_diagonal():
    matrix = detection_confusion([truth([[0.1, 0.1, 0.3, 0.3]], [ELBOW_FRACTURE])],
                                 [found([[0.1, 0.1, 0.3, 0.3]], [0.9], [ELBOW_FRACTURE])], score_threshold=0.5)
    assert matrix[ELBOW_FRACTURE, ELBOW_FRACTURE] == 1
    assert matrix.sum() == 1


def test_wrong_class_missed_box_and_false_alarm_go_where_they_belong():
    truths = [truth([[0.1, 0.1, 0.3, 0.3], [0.6, 0.6, 0.8, 0.8]], [ELBOW_FRACTURE, HAND_FRACTURE])]
    detections = [found([[0.1, 0.1, 0.3, 0.3], [0.0, 0.5, 0.05, 0.55]], [0.9, 0.8], [ELBOW_NORMAL, HAND_FRACTURE])]
    matrix = detection_confusion(truths, detections, score_threshold=0.5)
    assert matrix[ELBOW_FRACTURE, ELBOW_NORMAL] == 1  # fracture called normal
    assert matrix[HAND_FRACTURE, MISSED_COLUMN] == 1  # nothing overlaps the hand fracture
    assert matrix[BACKGROUND_ROW, HAND_FRACTURE] == 1  # a confident box on nothing
    assert matrix.sum() == 3


def test_detections_below_the_threshold_or_the_overlap_do_not_count():
    truths = [truth([[0.1, 0.1, 0.3, 0.3]], [ELBOW_FRACTURE])]
    weak = [found([[0.1, 0.1, 0.3, 0.3]], [0.2], [ELBOW_FRACTURE])]
    shifted = [found([[0.2, 0.2, 0.4, 0.4]], [0.9], [ELBOW_FRACTURE])]  # IoU 1/7
    assert detection_confusion(truths, weak, score_threshold=0.5)[ELBOW_FRACTURE, MISSED_COLUMN] == 1
    matrix = detection_confusion(truths, shifted, score_threshold=0.5)
    assert matrix[ELBOW_FRACTURE, MISSED_COLUMN] == 1 and matrix[BACKGROUND_ROW, ELBOW_FRACTURE] == 1


def test_a_duplicate_is_a_false_alarm_not_a_second_match():
    truths = [truth([[0.1, 0.1, 0.3, 0.3]], [ELBOW_FRACTURE])]
    detections = [found([[0.1, 0.1, 0.3, 0.3], [0.11, 0.1, 0.3, 0.3]], [0.9, 0.8], [ELBOW_FRACTURE, ELBOW_FRACTURE])]
    matrix = detection_confusion(truths, detections, score_threshold=0.5)
    assert matrix[ELBOW_FRACTURE, ELBOW_FRACTURE] == 1 and matrix[BACKGROUND_ROW, ELBOW_FRACTURE] == 1


def test_every_truth_box_and_every_confident_detection_is_counted_once():
    truths, detections = random_case(seed=3, num_images=30)
    matrix = detection_confusion(truths, detections, score_threshold=0.4)
    truth_boxes = sum(len(t.classes) for t in truths)
    confident = sum(int(np.sum(d.scores >= 0.4)) for d in detections)
    assert matrix[: len(CLASS_NAMES)].sum() == truth_boxes
    assert matrix[:, : len(CLASS_NAMES)].sum() == confident
