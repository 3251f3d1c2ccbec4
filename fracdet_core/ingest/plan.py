"""Plan a fanned-out ingest: list the dataset once and give each part whole shards.

Each shard of the plan is the run of positions in its split's processing order that a single
ingest with the same options writes into that shard. A part ingests whole shards under their
final names, so the merged output has exactly the shard layout, and the same bytes, as a single
ingest: the merge only decides duplicates (which needs every part) and counts.

Whole shards are the unit of work because a shard is one file written in order; cutting one
across parts would mean re-sharding at merge. So there are at most as many parts as shards: to
fan out wider, ask for more shards.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Sequence

from fracdet_core import storage
from fracdet_core.errors import ConfigError, FracdetError
from fracdet_core.ingest.config import IngestConfig
from fracdet_core.ingest.discovery import ImageTask, Problem, discover
from fracdet_core.ingest.outputs import shard_bounds, shard_name
from fracdet_core.ingest.run import processing_order
from fracdet_core.ingest.spec import SPLITS, DatasetSpec, SplitSource, read_spec
from fracdet_core.limits import DecodeLimits

PLAN_FILE = "plan.json"
PLAN_SCHEMA_VERSION = 2  # 2: tasks carry their anatomy, splits their out-of-scope folders
_DEFAULT_CONFIG = IngestConfig()


class FanOutError(FracdetError):
    """The plan or the parts of a fanned-out ingest are missing, unfinished, or do not belong together."""


@dataclasses.dataclass(frozen=True)
class PlannedShard:
    """One shard of the output and the images that go into it.

    Attributes:
        split: "train" or "val".
        index: the shard's index within its split.
        count: shards in the split.
        tasks: its images, in processing order.
    """

    split: str
    index: int
    count: int
    tasks: tuple[ImageTask, ...]

    @property
    def name(self) -> str:
        return shard_name(self.split, self.index, self.count)


@dataclasses.dataclass(frozen=True)
class IngestPlan:
    """What every part of a fanned-out ingest needs, and what the merge checks the parts against.

    Attributes:
        spec: the parsed `data.yaml`.
        shards_option: the `shards` asked for (0: automatic), recorded in the manifest.
        limits: image size bounds and downscaling.
        listing_problems: files quarantined while listing (orphan labels, unsupported types).
        parts: per part, its shards in single-ingest order.
    """

    spec: DatasetSpec
    shards_option: int
    limits: DecodeLimits
    listing_problems: tuple[Problem, ...]
    parts: tuple[tuple[PlannedShard, ...], ...]

    def shards(self) -> list[PlannedShard]:
        """Every shard, in the order a single ingest writes them: train before val, by index."""
        every = [shard for part in self.parts for shard in part]
        return sorted(every, key=lambda shard: (SPLITS.index(shard.split), shard.index))

    def tasks(self) -> dict[str, list[ImageTask]]:
        """The images of each split, in processing order."""
        tasks: dict[str, list[ImageTask]] = {split: [] for split in SPLITS}
        for shard in self.shards():
            tasks[shard.split].extend(shard.tasks)
        return tasks

    def to_json(self) -> str:
        return json.dumps(
            {
                "schema_version": PLAN_SCHEMA_VERSION,
                "spec": {
                    "yaml_uri": self.spec.yaml_uri,
                    "root": self.spec.root,
                    "splits": {name: dataclasses.asdict(source) for name, source in self.spec.splits.items()},
                    "source_names": {str(key): value for key, value in self.spec.source_names.items()},
                    "class_remap": {str(key): value for key, value in self.spec.class_remap.items()},
                },
                "shards_option": self.shards_option,
                "limits": dataclasses.asdict(self.limits),
                "listing_problems": [dataclasses.asdict(problem) for problem in self.listing_problems],
                "parts": [[_shard_json(shard) for shard in part] for part in self.parts],
            },
            indent=1,
        )

    @property
    def fingerprint(self) -> str:
        """sha256 of the plan's JSON: parts record it, so the merge can tell a part of another plan."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()

    def describe(self) -> dict[str, object]:
        """Figures for the plan artifact in the dashboard."""
        return {
            "display_name": "Ingest plan (shards per part)",
            "parts": len(self.parts),
            "shards": sum(len(part) for part in self.parts),
            "images": sum(len(shard.tasks) for part in self.parts for shard in part),
            "listing_problems": len(self.listing_problems),
        }


def plan_ingest(data: str, parts: int, config: IngestConfig = _DEFAULT_CONFIG) -> IngestPlan:
    """Read and list the dataset that `data` names, and deal its shards into at most `parts` parts.

    Parts are balanced by image count (largest shard first, to the least loaded part) and the
    result depends only on the dataset and the config.

    Raises:
        ConfigError: `parts` is below 1.
        DatasetError: the dataset as a whole is unusable (see `read_spec`).
    """
    if parts < 1:
        raise ConfigError(f"parts must be >= 1, got {parts}")
    spec = read_spec(data)
    tasks, problems = discover(spec)
    shards = []
    for split in SPLITS:
        ordered = processing_order(tasks[split])
        count = config.shard_count(len(ordered))
        bounds = shard_bounds(len(ordered), count)
        shards.extend(PlannedShard(split, k, count, tuple(ordered[bounds[k] : bounds[k + 1]])) for k in range(count))
    return IngestPlan(spec, config.shards, config.limits, tuple(problems), _balance(shards, parts))


def _balance(shards: Sequence[PlannedShard], parts: int) -> tuple[tuple[PlannedShard, ...], ...]:
    """Longest-processing-time-first assignment: within 4/3 of the best possible largest part."""
    used = min(parts, len(shards))
    loads = [0] * used
    members: list[list[tuple[int, PlannedShard]]] = [[] for _ in range(used)]
    for position, shard in sorted(enumerate(shards), key=lambda item: (-len(item[1].tasks), item[0])):
        target = min(range(used), key=lambda part: (loads[part], part))
        loads[target] += len(shard.tasks)
        members[target].append((position, shard))
    return tuple(tuple(shard for _, shard in sorted(part)) for part in members)


def write_plan(plan: IngestPlan, folder: str) -> str:
    """Publish the plan as `plan.json` in `folder`; returns its URI."""
    uri = storage.join(folder, PLAN_FILE)
    storage.write_text(uri, plan.to_json() + "\n")
    return uri


def read_plan(folder: str) -> IngestPlan:
    """The plan `write_plan` published in `folder`.

    Raises:
        FanOutError: there is no plan, or it is not one this version of fracdet wrote.
    """
    uri = storage.join(folder, PLAN_FILE)
    if not storage.exists(uri):
        raise FanOutError(f"{folder} holds no {PLAN_FILE}: it is not the output of an ingest plan")
    try:
        content = json.loads(storage.read_text(uri))
        if content["schema_version"] != PLAN_SCHEMA_VERSION:
            raise FanOutError(f"{uri}: plan schema version {content['schema_version']}, this fracdet reads {PLAN_SCHEMA_VERSION}")
        spec = content["spec"]
        return IngestPlan(
            spec=DatasetSpec(
                yaml_uri=spec["yaml_uri"],
                root=spec["root"],
                splits={name: SplitSource(tuple(source["folders"]), tuple(source["listed_files"]),
                                          tuple(source["out_of_scope_folders"]))
                        for name, source in spec["splits"].items()},
                source_names={int(key): value for key, value in spec["source_names"].items()},
                class_remap={int(key): value for key, value in spec["class_remap"].items()},
            ),
            shards_option=content["shards_option"],
            limits=DecodeLimits(**content["limits"]),
            listing_problems=tuple(Problem(**problem) for problem in content["listing_problems"]),
            parts=tuple(tuple(_shard_from_json(shard) for shard in part) for part in content["parts"]),
        )
    except (ValueError, KeyError, TypeError) as error:
        raise FanOutError(f"{uri}: not a valid ingest plan ({type(error).__name__}: {error})") from error


def _shard_json(shard: PlannedShard) -> dict[str, object]:
    return {
        "split": shard.split,
        "index": shard.index,
        "count": shard.count,
        "tasks": [[task.image_uri, task.label_uri, task.source_id, task.anatomy] for task in shard.tasks],
    }


def _shard_from_json(content: dict) -> PlannedShard:
    split = content["split"]
    tasks = tuple(ImageTask(split, image_uri, label_uri, source_id, anatomy)
                  for image_uri, label_uri, source_id, anatomy in content["tasks"])
    return PlannedShard(split, content["index"], content["count"], tasks)
