"""The report's "Where it goes wrong": each body part's worst misses and false alarms, on a hand-built evaluation."""

from __future__ import annotations

import dataclasses
import html
import re

import numpy as np
import pytest
from yolo_builders import add_image, png_bytes, write_data_yaml

from fracdet_core.evaluate.config import EvaluateConfig
from fracdet_core.evaluate.inference import read_split
from fracdet_core.evaluate.measure import Evaluation, measure_records
from fracdet_core.evaluate.partition import Partition
from fracdet_core.evaluate.report import _errors_section
from fracdet_core.ingest import IngestConfig, ingest_dataset
from fracdet_core.records import ImageDetections

ELBOW_FRACTURE, FINGER_FRACTURE, FOREARM_FRACTURE, SHOULDER_FRACTURE = 0, 1, 2, 4
ELBOW_NORMAL, FOREARM_NORMAL, HAND_NORMAL, SHOULDER_NORMAL = 5, 7, 8, 9


@dataclasses.dataclass(frozen=True)
class Planted:
    """One val image: its label classes, what this test says of it, and the detections planted on it.

    Attributes:
        part: the body part the image shows (None: no labels); fractured: it has a fracture box.
        tested: in the test half, which this test chooses.
        found: (class id, score) of each planted detection; score: the best fracture-class one, 0 without.
    """

    classes: list[int]
    part: str | None
    fractured: bool
    tested: bool
    found: list[tuple[int, float]]
    score: float


IMAGES = {
    "elbow_fx_a": Planted([ELBOW_FRACTURE], "ELBOW", True, True, [(ELBOW_FRACTURE, 0.40)], 0.40),
    "elbow_fx_b": Planted([ELBOW_FRACTURE], "ELBOW", True, True, [(ELBOW_FRACTURE, 0.10)], 0.10),
    "elbow_fx_c": Planted([ELBOW_FRACTURE], "ELBOW", True, True, [(ELBOW_FRACTURE, 0.25)], 0.25),
    "elbow_fx_d": Planted([ELBOW_FRACTURE], "ELBOW", True, True, [(ELBOW_FRACTURE, 0.10)], 0.10),  # ties b
    # One box of each of two parts: the part with the fracture box (`image_body_parts`).
    "elbow_fx_e": Planted([ELBOW_FRACTURE, FOREARM_NORMAL], "ELBOW", True, True, [(ELBOW_FRACTURE, 0.05)], 0.05),
    "elbow_fx_calibration": Planted([ELBOW_FRACTURE], "ELBOW", True, False, [], 0.0),  # worse, but not tested
    "elbow_normal_a": Planted([ELBOW_NORMAL], "ELBOW", False, True, [(ELBOW_FRACTURE, 0.70)], 0.70),
    "elbow_normal_b": Planted([ELBOW_NORMAL], "ELBOW", False, True, [(ELBOW_FRACTURE, 0.20)], 0.20),
    "finger_fx_calibration": Planted([FINGER_FRACTURE], "FINGER", True, False, [], 0.0),  # no FINGER image tested
    # A confident normal-class detection is no fracture score.
    "forearm_fx": Planted([FOREARM_FRACTURE], "FOREARM", True, True, [(FOREARM_FRACTURE, 0.30), (FOREARM_NORMAL, 0.95)],
                          0.30),
    "hand_normal_a": Planted([HAND_NORMAL], "HAND", False, True, [(HAND_NORMAL, 0.90), (ELBOW_FRACTURE, 0.60)], 0.60),
    "hand_normal_b": Planted([HAND_NORMAL], "HAND", False, True, [(ELBOW_FRACTURE, 0.60)], 0.60),
    "hand_normal_c": Planted([HAND_NORMAL], "HAND", False, True, [(ELBOW_FRACTURE, 0.80)], 0.80),
    "hand_normal_d": Planted([HAND_NORMAL], "HAND", False, True, [(ELBOW_FRACTURE, 0.60)], 0.60),  # ties a, b: one is cut
    "hand_normal_e": Planted([HAND_NORMAL], "HAND", False, True, [], 0.0),
    "shoulder_fx": Planted([SHOULDER_FRACTURE], "SHOULDER", True, True, [], 0.0),
    # The fracture score is of any part: another part's fracture box is a false alarm too.
    "shoulder_normal": Planted([SHOULDER_NORMAL], "SHOULDER", False, True, [(ELBOW_FRACTURE, 0.55)], 0.55),
    # Without labels: no body part, so in no gallery, however confident its fracture box.
    "background": Planted([], None, False, True, [(ELBOW_FRACTURE, 0.99)], 0.99),
    "background_calibration": Planted([], None, False, False, [], 0.0),
}
PARTS = ["ELBOW", "FINGER", "FOREARM", "HAND", "SHOULDER"]
SHOWN = 3
CAPTION = re.compile(r"valid/images/(\w+)\.png \(fracture score \d\.\d\d\)")


@pytest.fixture(scope="module")
def evaluation(tmp_path_factory) -> tuple[Evaluation, str]:
    """(an Evaluation of the planted detections, with IMAGES' test half, the ingest folder)."""
    base = tmp_path_factory.mktemp("report")
    for seed, (name, planted) in enumerate(IMAGES.items()):
        label = "".join(f"{class_id} 0.5 0.5 0.4 0.4\n" for class_id in planted.classes) if planted.classes else None
        add_image(base / "data", "valid", f"{name}.png", png_bytes(seed), label)
    add_image(base / "data", "train", "train.png", png_bytes(100), f"{ELBOW_NORMAL} 0.5 0.5 0.4 0.4\n")
    write_data_yaml(base / "data")
    ingest = str(base / "ingest")
    ingest_dataset(str(base / "data"), ingest, IngestConfig(), progress=False)
    truths = [truth for truth, _ in read_split(ingest, "val")]
    names = [_name(truth.source_id) for truth in truths]
    detections = [_detections(IMAGES[name].found) for name in names]
    # The galleries show the half that `partition` says is tested; here it is chosen by hand.
    tested = np.array([index for index, name in enumerate(names) if IMAGES[name].tested], np.int64)
    chosen = Partition(calibration=np.setdiff1d(np.arange(len(names)), tested), test=tested)
    measures = dataclasses.replace(measure_records(truths, detections, EvaluateConfig()), partition=chosen)
    return Evaluation("model", truths, detections, measures, metrics={}), ingest


def _name(source_id: str) -> str:
    return re.fullmatch(r"valid/images/(\w+)\.png", source_id).group(1)


def _detections(found: list[tuple[int, float]]) -> ImageDetections:
    return ImageDetections(np.full((len(found), 4), [0.3, 0.3, 0.7, 0.7], np.float32).reshape(-1, 4),
                           np.array([score for _, score in found], np.float32),
                           np.array([class_id for class_id, _ in found], np.int32))


def _galleries(section: str) -> dict[str, tuple[str, str]]:
    """Body part -> (its misses' HTML, its false alarms' HTML), in the page's order."""
    chunks = re.split(r"<h3>(\w+)</h3>", section)[1:]
    galleries = {}
    for part, chunk in zip(chunks[0::2], chunks[1::2], strict=True):
        misses, alarms = chunk.split("<h4>Worst false alarms: normal test images scored highest</h4>")
        assert misses.startswith("\n<h4>Worst misses: fractured test images scored lowest</h4>")
        galleries[part] = misses, alarms
    return galleries


def _captions(gallery_html: str) -> list[str]:
    return [html.unescape(caption) for caption in re.findall(r"<figcaption>(.*?)</figcaption>", gallery_html)]


def _expected(truths: list, part: str, fractured: bool) -> list[str]:
    """The captions, from IMAGES alone: misses lowest score first, false alarms highest first; ties in split order."""
    ranked = []
    for index, truth in enumerate(truths):
        planted = IMAGES[_name(truth.source_id)]
        if planted.part == part and planted.fractured == fractured and planted.tested:
            key = planted.score if fractured else -planted.score
            ranked.append(((key, index), f"{truth.source_id} (fracture score {planted.score:.2f})"))
    return [caption for _, caption in sorted(ranked)[:SHOWN]]


def test_each_body_part_shows_its_own_worst_misses_and_false_alarms_in_order(evaluation):
    truths = evaluation[0].truths
    galleries = _galleries("\n".join(_errors_section(*evaluation, "val")))
    assert list(galleries) == PARTS
    for part, (misses, alarms) in galleries.items():
        assert _captions(misses) == _expected(truths, part, fractured=True), part
        assert _captions(alarms) == _expected(truths, part, fractured=False), part
    # What that comes to, by name; the split's order (not the names') breaks the planted ties.
    position = {_name(truth.source_id): index for index, truth in enumerate(truths)}

    def shown(gallery_html: str) -> list[str]:
        return [CAPTION.fullmatch(caption).group(1) for caption in _captions(gallery_html)]

    def in_split_order(*names: str) -> list[str]:
        return sorted(names, key=position.__getitem__)

    assert shown(galleries["ELBOW"][0]) == ["elbow_fx_e", *in_split_order("elbow_fx_b", "elbow_fx_d")]
    assert shown(galleries["ELBOW"][1]) == ["elbow_normal_a", "elbow_normal_b"]
    assert shown(galleries["FOREARM"][0]) == ["forearm_fx"]
    tied_hands = in_split_order("hand_normal_a", "hand_normal_b", "hand_normal_d")
    assert shown(galleries["HAND"][1]) == ["hand_normal_c", *tied_hands[:2]]
    assert _captions(galleries["SHOULDER"][0]) == ["valid/images/shoulder_fx.png (fracture score 0.00)"]
    assert _captions(galleries["SHOULDER"][1]) == ["valid/images/shoulder_normal.png (fracture score 0.55)"]


def test_a_part_without_test_images_of_a_kind_says_so(evaluation):
    galleries = _galleries("\n".join(_errors_section(*evaluation, "val")))
    empty = {part: ("No fractured test image." in misses, "No normal test image." in alarms)
             for part, (misses, alarms) in galleries.items()}
    assert empty == {"ELBOW": (False, False), "FINGER": (True, True), "FOREARM": (False, True),
                     "HAND": (True, False), "SHOULDER": (False, False)}


def test_images_without_labels_are_in_no_gallery_and_counted_in_the_note(evaluation):
    section = "\n".join(_errors_section(*evaluation, "val"))
    assert "background" not in section
    assert "1 test image(s) without labels have no body part and are in no gallery" in section
    # Self-contained: the confusion matrix and the 11 thumbnails shown, nothing else drawn or linked.
    assert section.count("data:image/png;base64,") == 1 + 11
    assert not re.search(r"(src|href)=\"https?:", section)
