"""The report is self-contained (the dashboard shows it in a sandboxed frame) and readable."""

from __future__ import annotations

import base64
import io
from html.parser import HTMLParser

import pytest
from PIL import Image

from fracdet_core.classes import CLASS_NAMES
from fracdet_core.eda.run import run_eda
from fracdet_core.ingest import ingest_dataset
from fracdet_core.synth import SynthConfig, generate_dataset


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    base = tmp_path_factory.mktemp("report")
    generate_dataset(SynthConfig(train=120, val=30, size=96, seed=31), str(base / "data"), workers=2, progress=False)
    ingest_dataset(str(base / "data"), str(base / "ingest"), progress=False)
    run_eda(str(base / "ingest"), str(base / "eda"))
    return (base / "eda" / "report.html").read_text(), (base / "eda" / "report.md").read_text()


def test_nothing_is_loaded_from_outside(report):
    page, _ = report
    collector = _Collector()
    collector.feed(page)
    tags = {tag for tag, _ in collector.tags}
    assert not tags & {"script", "link", "iframe", "object", "embed"}
    assert "http://" not in page and "https://" not in page and "@import" not in page and "url(" not in page
    for _, attributes in collector.tags:
        for name in ("src", "href"):
            assert name not in attributes or attributes[name].startswith("data:image/png;base64,")


def test_every_image_decodes(report):
    page, _ = report
    collector = _Collector()
    collector.feed(page)
    images = [attributes["src"] for tag, attributes in collector.tags if tag == "img"]
    assert len(images) >= 4 + 10  # four figures and at least one sample per class
    for source in images:
        with Image.open(io.BytesIO(base64.b64decode(source.split(",", 1)[1]))) as image:
            image.load()
            assert image.format == "PNG" and min(image.size) > 20


def test_the_page_names_every_section_and_class(report):
    page, markdown = report
    for heading in ("Data checks", "Classes", "Fractured and normal studies per body part", "Box sizes and positions",
                    "Sample training images", "Quarantine", "Class weights"):
        assert f"<h2>{heading}</h2>" in page
    for name in CLASS_NAMES:
        assert f"<h3>{name}</h3>" in page and f"| {name} |" in markdown
    assert "All data checks passed." in page
