"""The documentation site as a reader gets it: built by MkDocs with --strict, served over HTTP on
127.0.0.1, and rendered by headless Chromium, whose DOM after the pages' JavaScript ran is checked.

The build is the real `mkdocs build --strict` of the repository's mkdocs.yml (a broken link, a missing
anchor or a page left out of the navigation fails it); the browser is the system's Chromium. A machine
without Chromium fails here with the command that installs it: `.ci/run` installs it on CI.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Debian's package, then the names other systems give it; FRACDET_CHROMIUM names another binary.
BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome")
# The navigation's page titles, as mkdocs.yml names them: one of each section.
NAV_TITLES = (
    "Home", "Getting started", "Data and ingest", "EDA and class weights", "Training and presets",
    "Evaluation and blessing", "Registry", "Prediction and serving", "Running on Kubeflow", "Deployment",
    "Troubleshooting", "Architecture", "Performance", "Experiments", "API reference", "fracdet_core.storage",
)
VOID_ELEMENTS = frozenset(
    ("area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr")
)


@dataclass
class Element:
    """One element of a parsed page: its tag, attributes and children (elements and text)."""

    tag: str
    attrs: dict[str, str]
    children: list[Element | str] = field(default_factory=list)

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def text(self) -> str:
        """The element's text, its whitespace collapsed."""
        parts = [child if isinstance(child, str) else child.text() for child in self.children]
        return " ".join("".join(parts).split())

    def find_all(self, tag: str, css_class: str | None = None) -> Iterator[Element]:
        """Every descendant with this tag (and this class, when given), in document order."""
        for child in self.children:
            if isinstance(child, Element):
                if child.tag == tag and (css_class is None or css_class in child.classes):
                    yield child
                yield from child.find_all(tag, css_class)

    def ancestors_have_class(self, css_class: str, parents: dict[int, Element]) -> bool:
        node = parents.get(id(self))
        while node is not None:
            if css_class in node.classes:
                return True
            node = parents.get(id(node))
        return False


class _TreeBuilder(HTMLParser):
    """A page's elements as a tree; enough HTML for Chromium's serialised DOM, which closes every element."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self.parents: dict[int, Element] = {}
        self._open = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {name: value or "" for name, value in attrs})
        self._open[-1].children.append(element)
        self.parents[id(element)] = self._open[-1]
        if tag not in VOID_ELEMENTS:
            self._open.append(element)

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self._open) - 1, 0, -1):
            if self._open[depth].tag == tag:
                del self._open[depth:]
                return

    def handle_data(self, data: str) -> None:
        self._open[-1].children.append(data)


def parse(html: str) -> _TreeBuilder:
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder


def chromium() -> str:
    named = os.environ.get("FRACDET_CHROMIUM")
    found = named or next(filter(None, map(shutil.which, BROWSER_NAMES)), None)
    if not found:
        pytest.fail(
            "chromium is not installed, and the documentation test renders the site in it: "
            "apt-get install chromium (Debian), or name a Chromium or Chrome binary in FRACDET_CHROMIUM",
            pytrace=False,
        )
    return found


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """No line per request on stderr."""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site built from this checkout with `mkdocs build --strict`, into a folder of its own."""
    out = tmp_path_factory.mktemp("site")
    environment = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    built = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT, env=environment, capture_output=True, text=True, timeout=600,
    )
    assert built.returncode == 0, f"mkdocs build --strict failed:\n{built.stderr}"
    return out


@pytest.fixture(scope="module")
def server(site: Path) -> Iterator[str]:
    """The built site served on 127.0.0.1 (a free port), as a URL ending in /."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(site)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}/"
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=10)


def rendered(url: str, profile: Path) -> _TreeBuilder:
    """The page's DOM as headless Chromium leaves it after loading it and running its scripts."""
    command = [
        chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}", "--dump-dom", url,
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "<html" in result.stdout, (
        f"chromium could not render {url} (exit {result.returncode}):\n{result.stderr[-2000:]}"
    )
    return parse(result.stdout)


def primary_navigation(page: _TreeBuilder) -> Element:
    navs = [nav for nav in page.root.find_all("nav") if "md-nav--primary" in nav.classes]
    assert len(navs) == 1, f"expected Material's one primary navigation, found {len(navs)}"
    return navs[0]


def test_every_page_of_the_navigation_is_listed_in_the_rendered_site(server: str, tmp_path: Path):
    page = rendered(server, tmp_path)
    titles = [link.text() for link in primary_navigation(page).find_all("a", "md-nav__link")]
    missing = [title for title in NAV_TITLES if title not in titles]
    assert not missing, f"the navigation lacks {missing}; it lists {titles}"
    assert page.root.find_all("img") and any(
        image.attrs.get("src", "").endswith("images/pipeline.svg") for image in page.root.find_all("img")
    ), "the home page shows the pipeline's picture"


def test_the_performance_page_renders_its_tables_through_the_theme(site: Path, server: str, tmp_path: Path):
    page = rendered(server + "performance/", tmp_path)
    tables = list(page.root.find_all("table"))
    headers = [[cell.text() for cell in table.find_all("th")] for table in tables]
    assert ["benchmark (bench/)", "figure"] in headers, f"the benchmark table is missing; headers: {headers}"
    benchmark = tables[headers.index(["benchmark (bench/)", "figure"])]
    rows = [[cell.text() for cell in row.find_all("td")] for row in benchmark.find_all("tr")]
    assert ["synth.py: 192 images, 512 px PNG, 1 worker", "11.2 images/s"] in rows
    # Material's JavaScript wraps each table for scrolling; the served HTML has no such wrapper, so this
    # holds only in a DOM that the page's scripts ran on.
    assert "md-typeset__table" not in (site / "performance" / "index.html").read_text(encoding="utf-8")
    assert benchmark.ancestors_have_class("md-typeset__table", page.parents), "the theme's scripts did not run"
    current = [link.text() for link in primary_navigation(page).find_all("a", "md-nav__link--active")]
    assert current == ["Performance"]


def test_the_api_reference_is_rendered_from_the_docstrings(server: str, tmp_path: Path):
    page = rendered(server + "api/storage/", tmp_path)
    headings = {element.attrs.get("id") for level in ("h2", "h3") for element in page.root.find_all(level)}
    assert {"fracdet_core.storage.files", "fracdet_core.storage.files.write_bytes"} <= headings, sorted(filter(None, headings))
    assert "atomic" in page.root.text(), "the package docstring (writes are atomic) is on the page"
