"""The image checks on real files: scikit-image's photographs are colour, a radiograph is not, whatever its file type;
an image of a few gray levels has no radiograph-like content; the project's synthetic radiographs, both renderers
and their 16-bit DICOMs, and real radiographs pass both checks."""

from __future__ import annotations

import io

import numpy as np
import pytest
from indication_builders import REAL_DICOMS, decoded, encode, pixels_as_png, radiograph_dicom, real_dicom, skimage_file
from PIL import Image

from fracdet_core.indications.colour import CHROMA_LEVEL, chroma_share, colour_detail
from fracdet_core.indications.content import MIN_LEVELS, content_detail, gray_histogram, levels_holding
from fracdet_core.indications.verdict import ModelAnswer, decide
from fracdet_core.synth import SynthConfig
from fracdet_core.synth.dataset import make_image, plan_image

COLOUR_PHOTOGRAPHS = ("astronaut.png", "chelsea.png", "coffee.png", "color.png", "hubble_deep_field.jpg", "ihc.png",
                      "logo.png", "motorcycle_left.png", "retina.jpg", "rocket.jpg")
GRAY_PHOTOGRAPHS = ("camera.png", "moon.png", "coins.png", "page.png", "text.png", "brick.png", "grass.png",
                    "clock_motion.png", "cell.png")
FEW_LEVELS = ("chessboard_GRAY.png", "chessboard_RGB.png", "phantom.png")


def _verdict(data: bytes, suffix: str) -> tuple[str, str | None]:
    indication = decide(decoded(data, suffix).facts, ModelAnswer())
    return str(indication.reason), None if indication.decided_by is None else str(indication.decided_by)


@pytest.mark.parametrize("name", COLOUR_PHOTOGRAPHS)
def test_scikit_images_colour_photographs_are_colour_images(name):
    assert _verdict(skimage_file(name), "." + name.rsplit(".", 1)[1]) == ("colour_image", "image")


@pytest.mark.parametrize("name", GRAY_PHOTOGRAPHS)
def test_gray_photographs_pass_the_image_checks_and_are_left_to_the_model(name):
    """A gray photograph is continuous-tone like a radiograph: the model's in-scope score is what rejects it."""
    assert _verdict(skimage_file(name), ".png") == ("not_decided", None)


@pytest.mark.parametrize("name", FEW_LEVELS)
def test_images_of_a_few_levels_have_no_radiograph_like_content(name):
    assert _verdict(skimage_file(name), ".png") == ("not_radiograph_content", "image")


def test_a_colour_photograph_tagged_cr_hand_is_still_a_colour_image():
    photograph = decoded(skimage_file("astronaut.png"), ".png")
    tagged = decoded(radiograph_dicom(Modality="CR", BodyPartExamined="HAND"), ".dcm").facts
    facts = type(tagged)(photograph.facts.chroma_share, photograph.facts.gray_histogram, tagged.dicom_tags)
    assert decide(facts, ModelAnswer()).reason == "colour_image"


@pytest.mark.parametrize("name", sorted(REAL_DICOMS))
def test_pydicom_datas_pixels_without_their_tags(name):
    """The colour ultrasound is a colour image; the gray CR, CT, MR and ultrasound pass the image checks (the model's part)."""
    expected = ("colour_image", "image") if name == "US1_UNCR.dcm" else ("not_decided", None)
    assert _verdict(pixels_as_png(name), ".png") == expected


def test_a_palette_colour_ultrasound_is_read_through_its_palette():
    facts = decoded(real_dicom("OBXXXX1A.dcm"), ".dcm").facts
    assert colour_detail(facts.chroma_share) is not None


def _synthetic(renderer: str, image_format: str, count: int = 10) -> list[bytes]:
    config = SynthConfig(train=0, val=count, size=384, seed=11, image_format=image_format, renderer=renderer)
    return [make_image(config, plan_image(config, "val", index))[0] for index in range(count)]


@pytest.mark.parametrize("renderer", ["tubes", "outlines"])
@pytest.mark.parametrize("image_format", ["png", "dcm"])
def test_the_projects_synthetic_radiographs_are_kept(renderer, image_format):
    """PNGs pass the image checks and nothing decides against them; the 16-bit DICOMs are in scope by their tags."""
    expected = ("body_part_indicated", "dicom_tags") if image_format == "dcm" else ("not_decided", None)
    for data in _synthetic(renderer, image_format):
        facts = decoded(data, "." + image_format).facts
        assert levels_holding(facts.gray_histogram) >= 4 * MIN_LEVELS  # far from the rule, not just past it
        assert _verdict(data, "." + image_format) == expected


def test_gray_stored_as_rgb_a_jpeg_of_it_and_a_small_coloured_annotation_are_not_colour():
    gray = np.asarray(Image.open(io.BytesIO(_synthetic("tubes", "png", 1)[0])).convert("L"))
    rgb = np.repeat(gray[..., None], 3, axis=2)
    annotated = rgb.copy()
    annotated[:12, :40] = (255, 0, 0)  # a red marker over a corner, about 1% of the image
    for data, suffix in ((encode(rgb), ".png"), (encode(rgb, "JPEG"), ".jpg"), (encode(annotated), ".png")):
        assert _verdict(data, suffix) == ("not_decided", None)


@pytest.mark.parametrize(("spread", "share"), [(0, 0.0), (CHROMA_LEVEL, 0.0), (CHROMA_LEVEL + 1, 1.0)])
def test_chroma_counts_a_pixel_when_its_channels_differ_by_more_than_the_level(spread, share):
    pixels = np.full((8, 8, 3), 100, np.uint8)
    pixels[..., 0] += spread
    assert chroma_share(pixels) == share


def test_the_content_rule_at_its_edge():
    """Exactly `MIN_LEVELS` equally filled levels are content; one fewer is not."""
    assert content_detail(gray_histogram(np.repeat(np.arange(MIN_LEVELS, dtype=np.uint8), 10))) is None
    below = content_detail(gray_histogram(np.repeat(np.arange(MIN_LEVELS - 1, dtype=np.uint8), 10)))
    assert below == "15 gray level(s) of 256 hold 99% of the pixels; a radiograph spreads over many (at least 16)"
    assert gray_histogram(np.array([[0x0100, 0xFFFF]], np.uint16))[[1, 255]].tolist() == [1, 1]  # 16 bits by the top byte
