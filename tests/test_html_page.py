"""The reports' building blocks: a figure becomes inline PNG bytes and is closed."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from PIL import Image

from fracdet_core.html_page import figure_png, image


def test_a_figure_becomes_a_png_of_its_size_at_96_dpi_and_is_closed():
    figure, axes = plt.subplots(figsize=(2, 1.5))
    axes.plot([0, 1], [1, 0])
    png = figure_png(figure)
    assert Image.open(io.BytesIO(png)).size == (192, 144)
    assert figure.number not in plt.get_fignums()


def test_the_png_is_inlined_as_data():
    assert image(b"\x89PNG", 'a "chart"') == '<img alt="a &quot;chart&quot;" src="data:image/png;base64,iVBORw==">'
