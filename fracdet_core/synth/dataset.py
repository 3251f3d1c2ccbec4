"""Write a synthetic radiograph dataset in the Ultralytics YOLO layout.

The layout is that of the Kaggle "XR Bones" dataset the model was designed for:
`data.yaml`, `train/images`, `train/labels`, `valid/images`, `valid/labels`, one label file per
image with `class cx cy w h` lines normalised to [0, 1]. Positive studies carry one
`XR_<PART>_positive` box per fracture; negative studies one `XR_<PART>_negative` box around the
examined bones; a share of training images has no label file at all, as in the real data, where
such images serve as background.

Every image is a pure function of (seed, split, index, renderer), so the output is byte-identical
whatever the number of worker processes. The plan of each image (body part, fracture, background)
does not depend on the renderer, so two renderers' datasets of one seed hold the same studies.

Out-of-scope images, when asked for, go beside the YOLO folders (`out_of_scope.plan`), each from
a seed of its own, so the in-scope images of a seed are the same bytes with them or without.
"""

from __future__ import annotations

import dataclasses
import io
import os
from collections import Counter
from collections.abc import Mapping

import numpy as np
import yaml
from PIL import Image

from fracdet_core import storage
from fracdet_core.boxes import xyxy_to_cxcywh
from fracdet_core.classes import BODY_PARTS, CLASS_NAMES, class_id
from fracdet_core.errors import ConfigError, FracdetError
from fracdet_core.parallel import worker_pool
from fracdet_core.progress import progress_bar
from fracdet_core.synth.config import RENDERERS, SPLIT_FOLDERS, SynthConfig
from fracdet_core.synth.dicom import encode_dicom
from fracdet_core.synth.out_of_scope.encode import encode_out_of_scope
from fracdet_core.synth.out_of_scope.kinds import OUT_OF_SCOPE_FOLDER
from fracdet_core.synth.out_of_scope.plan import DATA_YAML_KEY, OutOfScopePlan, plan_out_of_scope, split_folder_uri
from fracdet_core.synth.radiograph import Box, draw_radiograph

_SPLIT_CODES = {"train": 0, "val": 1}


@dataclasses.dataclass(frozen=True)
class ImagePlan:
    """What one image shows, drawn from its own seed before anything is rendered."""

    split: str
    index: int
    body_part: str
    fractured: bool
    background: bool
    seed: int

    @property
    def stem(self) -> str:
        return f"synth_{self.split}_{self.index:06d}"


@dataclasses.dataclass(frozen=True)
class SynthSummary:
    """What was written: per split, images, background images, boxes per class name and out-of-scope images per kind."""

    out: str
    images: Mapping[str, int]
    background: Mapping[str, int]
    boxes: Mapping[str, Mapping[str, int]]
    out_of_scope: Mapping[str, Mapping[str, int]] = dataclasses.field(default_factory=dict)


def plan_image(config: SynthConfig, split: str, index: int) -> ImagePlan:
    """The content of image `index` of `split`, independent of every other image."""
    sequence = np.random.SeedSequence([config.seed, _SPLIT_CODES[split], index])
    rng = np.random.default_rng(sequence)
    shares = np.array([config.body_part_shares[part] for part in BODY_PARTS], dtype=float)
    body_part = str(rng.choice(BODY_PARTS, p=shares / shares.sum()))
    background = split == "train" and bool(rng.random() < config.background_share)
    fractured = not background and bool(rng.random() < config.positive_share)
    return ImagePlan(split, index, body_part, fractured, background, int(rng.integers(0, 2**63 - 1)))


def yolo_line(class_index: int, box: Box, width: int, height: int) -> str:
    """One Ultralytics label line for a pixel box (xmin, ymin, xmax, ymax)."""
    xmin, ymin, xmax, ymax = box
    cx, cy, w, h = xyxy_to_cxcywh(xmin / width, ymin / height, xmax / width, ymax / height)
    return f"{class_index} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}"


def make_image(config: SynthConfig, plan: ImagePlan) -> tuple[bytes, list[str]]:
    """Encoded image bytes and its label lines (empty for background images)."""
    radiograph = draw_radiograph(config.renderer, np.random.default_rng(plan.seed), plan.body_part, plan.fractured, config.size)
    signal = radiograph.signal()
    if config.image_format == "dcm":
        encoded = encode_dicom(signal, radiograph, identity=_dicom_identity(config, plan))
    else:
        buffer = io.BytesIO()
        # Level 3: noisy radiographs compress little further at the default 6, which takes longer.
        Image.fromarray(radiograph.display(signal)).save(buffer, format="PNG", compress_level=3)
        encoded = buffer.getvalue()
    if plan.background:
        return encoded, []
    boxes = radiograph.fracture_boxes() if plan.fractured else [radiograph.examined_box()]
    label = class_id(plan.body_part, plan.fractured)
    height, width = signal.shape
    return encoded, [yolo_line(label, box, width, height) for box in boxes]


def _dicom_identity(config: SynthConfig, plan: ImagePlan) -> str:
    """The UIDs' entropy: the first renderer's studies keep theirs, another's never share them."""
    identity = f"{config.seed}-{plan.split}-{plan.index}"
    return identity if config.renderer == RENDERERS[0] else f"{identity}-{config.renderer}"


def generate_dataset(
    config: SynthConfig, out: str, *, workers: int = 1, overwrite: bool = False, progress: bool = True
) -> SynthSummary:
    """Render and write the dataset under `out` (a folder or `gs://` prefix).

    `data.yaml` is written last, so its presence means the dataset is complete.

    Raises:
        FracdetError: `out` already holds files and `overwrite` is false.
        ConfigError: `workers` is below 1.
    """
    if workers < 1:
        raise ConfigError(f"workers must be >= 1, got {workers}")
    _prepare_output(out, overwrite)
    plans = [plan_image(config, split, i) for split in ("train", "val") for i in range(getattr(config, split))]
    others = out_of_scope_plans(config)
    tasks = [(config, out, plan) for plan in [*plans, *others]]
    boxes: dict[str, Counter[str]] = {split: Counter() for split in SPLIT_FOLDERS}
    bar = progress_bar(len(tasks), "synth", enabled=progress)
    with bar, worker_pool(workers) as pool:
        for plan, lines in zip([*plans, *others], pool.imap(_write_image, tasks, chunksize=4), strict=True):
            _count(boxes[plan.split], lines)
            bar.update()
    storage.write_text(storage.join(out, "data.yaml"), _data_yaml(config, out))
    return SynthSummary(
        out=out,
        images={split: getattr(config, split) for split in SPLIT_FOLDERS},
        background={split: sum(p.background for p in plans if p.split == split) for split in SPLIT_FOLDERS},
        boxes={split: dict(sorted(counter.items())) for split, counter in boxes.items()},
        out_of_scope={split: dict(sorted(Counter(p.kind for p in others if p.split == split).items()))
                      for split in SPLIT_FOLDERS},
    )


def out_of_scope_plans(config: SynthConfig) -> list[OutOfScopePlan]:
    """The out-of-scope images the config asks for, train then val."""
    counts = {"train": config.out_of_scope_train, "val": config.out_of_scope_val}
    return [plan_out_of_scope(config.seed, _SPLIT_CODES[split], split, index)
            for split in SPLIT_FOLDERS for index in range(counts[split])]


def _write_image(task: tuple[SynthConfig, str, ImagePlan | OutOfScopePlan]) -> list[str]:
    config, out, plan = task
    if isinstance(plan, OutOfScopePlan):
        identity = f"{config.seed}-{plan.stem}"
        encoded = encode_out_of_scope(plan.kind, plan.seed, config.size, config.image_format, identity)
        storage.write_bytes(plan.uri(out, SPLIT_FOLDERS[plan.split], config.image_format), encoded)
        return []
    encoded, lines = make_image(config, plan)
    folder = SPLIT_FOLDERS[plan.split]
    storage.write_bytes(storage.join(out, folder, "images", f"{plan.stem}.{config.image_format}"), encoded)
    if not plan.background:
        storage.write_text(storage.join(out, folder, "labels", f"{plan.stem}.txt"), "\n".join(lines) + "\n")
    return lines


def _count(counter: Counter[str], lines: list[str]) -> None:
    counter.update(CLASS_NAMES[int(line.split()[0])] for line in lines)


def _prepare_output(out: str, overwrite: bool) -> None:
    """Refuse to mix with an earlier dataset in `out`, or remove it when told to.

    Only what the generator writes (`data.yaml` and the split folders) is ever removed.
    """
    existing = [
        uri
        for folder in (*SPLIT_FOLDERS.values(), OUT_OF_SCOPE_FOLDER)
        for uri in storage.list_files(storage.join(out, folder))
    ]
    data_yaml = storage.join(out, "data.yaml")
    if storage.exists(data_yaml):
        existing.append(data_yaml)
    if existing and not overwrite:
        raise FracdetError(f"{out} already holds a dataset ({len(existing)} files); pass --overwrite to replace it")
    for uri in existing:
        storage.remove(uri, missing_ok=True)


def _data_yaml(config: SynthConfig, out: str) -> str:
    root = out if storage.is_gcs(out) else os.path.abspath(out)
    content = {
        "path": root,
        "train": f"{SPLIT_FOLDERS['train']}/images",
        "val": f"{SPLIT_FOLDERS['val']}/images",
        "nc": len(CLASS_NAMES),
        "names": dict(enumerate(CLASS_NAMES)),
    }
    header = (
        "# Synthetic radiographs made by `fracdet synth`: "
        f"seed {config.seed}, {config.train} train and {config.val} val images, "
        f"{config.size} px, {config.image_format}, renderer {config.renderer}.\n"
    )
    counts = {"train": config.out_of_scope_train, "val": config.out_of_scope_val}
    if any(counts.values()):
        content[DATA_YAML_KEY] = {split: split_folder_uri(SPLIT_FOLDERS[split]) for split, count in counts.items() if count}
        header += (
            f"# Out of scope (no labels, one folder per kind): {counts['train']} train and {counts['val']} val images.\n"
        )
    return header + yaml.safe_dump(content, sort_keys=False)
