"""What an ingest counts and decides per accepted image: duplicates, per-split tallies, the manifest.

Kept apart from the loop that decodes images so that a single ingest and the merge of a fanned-out
ingest (`merge.py`) count with the same code, in the same order, and so publish the same manifest.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from fracdet_core import __version__
from fracdet_core.classes import CLASS_NAMES
from fracdet_core.ingest.discovery import ImageTask, Problem
from fracdet_core.ingest.spec import DatasetSpec
from fracdet_core.limits import DecodeLimits

SCHEMA_VERSION = 1


class DuplicateFinder:
    """Keeps the first copy of each image content, in the order images are offered.

    Train is offered before val, so a val image with the bytes of a train image is the one
    quarantined (`duplicate_across_splits`), and a repeat within a split is `duplicate_within_split`.
    """

    def __init__(self) -> None:
        self._first: dict[str, tuple[str, str]] = {}  # sha256 -> (split, source id) of the kept copy

    def check(self, sha256: str, split: str, source_id: str, image_uri: str) -> Problem | None:
        """The quarantine entry when these bytes were seen before; otherwise remember this copy."""
        earlier = self._first.get(sha256)
        if earlier is None:
            self._first[sha256] = (split, source_id)
            return None
        earlier_split, earlier_id = earlier
        reason = "duplicate_across_splits" if earlier_split != split else "duplicate_within_split"
        return Problem(image_uri, split, reason, f"same bytes as {earlier_split} image {earlier_id}; that copy is kept")


class SplitTally:
    """Images, background images, boxes per class and out-of-scope images per anatomy of one split, as images are accepted."""

    def __init__(self) -> None:
        self._images: Counter[str] = Counter()
        self._boxes: Counter[str] = Counter()
        self._out_of_scope: Counter[str] = Counter()
        self._background = 0
        self._ingested = 0

    def add(self, class_ids: Sequence[int], anatomy: str = "") -> None:
        """Count one accepted image by the class ids of its boxes (none: a background image) or its out-of-scope anatomy."""
        names = [CLASS_NAMES[class_id] for class_id in class_ids]
        self._ingested += 1
        if anatomy:
            self._out_of_scope[anatomy] += 1
            return
        self._background += not names
        self._boxes.update(names)
        self._images.update(set(names))

    def summary(self, shards: list[dict[str, object]]) -> dict:
        """The split's entry in `manifest.json`, with its shards as written.

        `images` counts every image in the split's shards; `background_images` the in-scope ones
        without boxes; `out_of_scope_images` the others, by anatomy in `out_of_scope`.
        """
        return {
            "images": self._ingested,
            "background_images": self._background,
            "out_of_scope_images": sum(self._out_of_scope.values()),
            "out_of_scope": dict(sorted(self._out_of_scope.items())),
            "boxes": sum(self._boxes.values()),
            "classes": {name: {"images": self._images[name], "boxes": self._boxes[name]} for name in CLASS_NAMES},
            "shards": shards,
        }


def build_manifest(
    spec: DatasetSpec,
    shards_option: int,
    limits: DecodeLimits,
    splits: Mapping[str, dict],
    quarantine: Iterable[tuple[Problem, str]],
    tasks: Mapping[str, Sequence[ImageTask]],
    listing_problems: Sequence[Problem],
) -> dict:
    """The content of `manifest.json` (docs/architecture.md, "Data contracts"), with `found == ingested + quarantined`."""
    entries = list(quarantine)
    rejected = [problem for problem, action in entries if action == "rejected"]
    warnings = [problem for problem, action in entries if action == "kept"]
    return {
        "schema_version": SCHEMA_VERSION,
        "created_by": f"fracdet {__version__}",
        "source": _source_record(spec),
        "class_names": list(CLASS_NAMES),
        "options": _options_record(shards_option, limits),
        "splits": dict(splits),
        "totals": {
            "found": sum(len(split_tasks) for split_tasks in tasks.values()) + len(listing_problems),
            "ingested": sum(summary["images"] for summary in splits.values()),
            "quarantined": len(rejected),
            "warnings": len(warnings),
        },
        "quarantine_reasons": _count_by_reason(rejected),
        "warning_reasons": _count_by_reason(warnings),
    }


def _source_record(spec: DatasetSpec) -> dict:
    """Where the data came from, and how its class ids were mapped onto ours."""
    return {
        "data_yaml": spec.yaml_uri,
        "root": spec.root,
        "names": {str(k): v for k, v in sorted(spec.source_names.items())},
        "class_remap": {str(k): v for k, v in sorted(spec.class_remap.items())},
        "remapped": spec.remapped,
    }


def _options_record(shards_option: int, limits: DecodeLimits) -> dict[str, int]:
    """The options that decide which images are kept and how they are stored."""
    return {
        "shards": shards_option,
        "max_side": limits.max_side,
        "max_pixels": limits.max_pixels,
        "max_bytes": limits.max_bytes,
        "min_side": limits.min_side,
    }


def _count_by_reason(problems: Sequence[Problem]) -> dict[str, int]:
    """Reason code -> number of problems, sorted by code."""
    return dict(sorted(Counter(problem.reason for problem in problems).items()))
