"""README.md is the front door: short, its links and picture resolve, its docs links are pages of the
site's navigation, and its table of commands is the `fracdet` command's own list of sub-commands."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import yaml

from fracdet import build_parser

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
MAX_LINES = 150
# [text](target) and ![alt](target); the target up to the first space or closing parenthesis.
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)[^)]*\)")
COMMAND_ROW = re.compile(r"^\| `fracdet ([a-z-]+)` \|", re.MULTILINE)


def readme() -> str:
    return README.read_text(encoding="utf-8")


def nav_pages(entries: object) -> set[str]:
    """Every page file that mkdocs.yml's nav names, however deep."""
    if isinstance(entries, str):
        return {entries}
    if isinstance(entries, list):
        return set().union(*(nav_pages(entry) for entry in entries))
    if isinstance(entries, dict):
        return set().union(*(nav_pages(value) for value in entries.values()))
    return set()


def sub_commands() -> set[str]:
    (commands,) = [action for action in build_parser()._actions if isinstance(action, argparse._SubParsersAction)]
    return set(commands.choices)


def test_the_readme_is_short():
    lines = readme().splitlines()
    assert len(lines) <= MAX_LINES, f"README.md has {len(lines)} lines; the rest belongs in docs/"


def test_every_relative_link_and_picture_of_the_readme_exists():
    targets = [target for target in LINK.findall(readme()) if "://" not in target]
    assert "docs/images/pipeline.svg" in targets, "the README shows the pipeline's picture"
    missing = [target for target in targets if not (ROOT / target.split("#")[0]).exists()]
    assert not missing, f"README.md links to files that do not exist: {missing}"


def test_the_readme_links_into_pages_of_the_site():
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    pages = nav_pages(config["nav"])
    linked = {target.split("#")[0].removeprefix("docs/") for target in LINK.findall(readme())
              if target.startswith("docs/") and target.endswith(".md")}
    assert {"getting-started.md", "architecture.md", "experiments.md"} <= linked
    assert linked <= pages, f"not pages of the site's navigation: {sorted(linked - pages)}"


def test_the_readme_does_not_send_readers_outside_the_repository():
    assert "DESIGN.md" not in readme() and "shared/" not in readme()


def test_the_tables_of_commands_list_every_sub_command_of_fracdet():
    commands = sub_commands()
    assert {"synth", "ingest", "train", "predict", "registry", "pipeline"} <= commands
    for document in (README, ROOT / "docs" / "getting-started.md"):
        listed = COMMAND_ROW.findall(document.read_text(encoding="utf-8"))
        assert sorted(listed) == sorted(commands), f"{document.name} lists {listed}, fracdet has {sorted(commands)}"
