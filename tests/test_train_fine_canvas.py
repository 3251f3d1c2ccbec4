"""The fine canvas a training run uses: the model's, lowered to the train images' own resolution."""

from __future__ import annotations

import numpy as np
import pytest
from yolo_builders import add_image, png_bytes, write_data_yaml

from fracdet_core.ingest import IngestConfig, ingest_dataset
from fracdet_core.model.config import ModelConfig
from fracdet_core.train.fine_canvas import fit_fine_canvas, train_image_sides

N = ModelConfig()  # 256 px, fine canvas 512, coarsest stride 32


@pytest.mark.parametrize(("sides", "expected"), [
    ([512, 512, 480], 512),  # median 512: the canvas is the images' own
    ([2048, 1500, 3000], 512),  # larger images: the model's canvas stands, never finer
    ([400, 420, 2000], 416),  # median 420, down to a multiple of 32
    ([300, 310, 290], 288),  # still above 256
    ([250, 260, 4000], 0),  # median 260 -> 256: no finer than the input, so no fine canvas
    ([100], 0),
    ([], 512),  # no train images: nothing to fit to
])
def test_the_fine_canvas_is_never_finer_than_the_median_train_image(sides, expected):
    assert fit_fine_canvas(N, np.array(sides)).fine_image_size == expected


def test_a_model_without_a_fine_canvas_is_left_as_it_is():
    whole = ModelConfig(image_size=512, fine_image_size=0)
    assert fit_fine_canvas(whole, np.array([4000])) is whole


def test_the_sides_are_the_train_images_longer_ones_once_per_image(tmp_path):
    data = tmp_path / "data"
    # Two boxes on the first image: it still counts once. Val images and label-less ones as in the real layout.
    add_image(data, "train", "a.png", png_bytes(1, size=(300, 200)), "0 0.5 0.5 0.1 0.1\n3 0.2 0.2 0.1 0.1\n")
    add_image(data, "train", "b.png", png_bytes(2, size=(120, 410)), None)
    add_image(data, "valid", "c.png", png_bytes(3, size=(900, 900)), "1 0.5 0.5 0.1 0.1\n")
    write_data_yaml(data)
    ingest_dataset(str(data), str(tmp_path / "ingest"), IngestConfig(), progress=False)
    assert sorted(train_image_sides(str(tmp_path / "ingest")).tolist()) == [300, 410]
