"""Read an Ultralytics `data.yaml` into the splits, folders and class remap ingest needs.

Conventions users know from Ultralytics:
- `--data` is the YAML file, or a folder or `gs://` prefix holding `data.yaml`;
- `path` is the dataset root; `train` and `val` are image folders (or lists of them, or `.txt`
  files listing images) relative to it;
- `names` is a list or an `{id: name}` map;
- labels sit where `/images/` becomes `/labels/` and the extension `.txt`.

One deviation, on purpose: a relative `path` is taken relative to the YAML's folder (Ultralytics
takes it relative to its own datasets folder), and an absolute local `path` that does not exist
falls back to the YAML's folder, so a dataset copied elsewhere, or into a bucket, still ingests.

One addition: `fracdet_out_of_scope` may name, per split, folders of out-of-scope images (other
anatomy, other modalities, no radiograph at all), each holding one subfolder per kind
(`out_of_scope/train/CHEST/0001.png`). Ultralytics ignores the key; ingest stores those images
unlabelled with `image/in_scope` 0 and the kind as `image/anatomy` (docs/data-and-ingest.md).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping

import yaml

from fracdet_core import storage
from fracdet_core.classes import CLASS_NAMES
from fracdet_core.errors import FracdetError, first_line

SPLITS = ("train", "val")
OUT_OF_SCOPE_KEY = "fracdet_out_of_scope"


class DatasetError(FracdetError):
    """The dataset as a whole cannot be used (as opposed to one bad file, which is quarantined)."""


@dataclasses.dataclass(frozen=True)
class SplitSource:
    """Where one split's images are: folders to walk, single files listed by a `.txt`, and
    folders of out-of-scope images, one subfolder per kind."""

    folders: tuple[str, ...]
    listed_files: tuple[str, ...]
    out_of_scope_folders: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """A parsed `data.yaml`.

    Attributes:
        yaml_uri: the `data.yaml` read.
        root: the dataset root every relative path is resolved against.
        splits: split name -> its sources.
        source_names: class names as the dataset lists them, by the dataset's ids.
        class_remap: the dataset's class id -> fracdet class id (the order of `fracdet_core.classes`).
    """

    yaml_uri: str
    root: str
    splits: Mapping[str, SplitSource]
    source_names: Mapping[int, str]
    class_remap: Mapping[int, int]

    @property
    def remapped(self) -> bool:
        return any(source != target for source, target in self.class_remap.items())


def locate_yaml(data: str) -> str:
    """The `data.yaml` that `--data` names: the file itself, or `data.yaml` inside a folder."""
    if data.endswith((".yaml", ".yml")):
        if not storage.exists(data):
            raise DatasetError(f"{data}: no such data.yaml")
        return data
    candidate = storage.join(data, "data.yaml")
    if storage.exists(candidate):
        return candidate
    raise DatasetError(f"{data}: no data.yaml here; pass the YAML file or the folder holding it")


def read_spec(data: str) -> DatasetSpec:
    """Parse and check `data.yaml`.

    Raises:
        DatasetError: the YAML is not valid, lacks `names`, `train` or `val`, names a class
            outside fracdet's ten, or points at folders that do not exist.
    """
    yaml_uri = locate_yaml(data)
    try:
        content = yaml.safe_load(storage.read_text(yaml_uri))
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise DatasetError(f"{yaml_uri}: not valid YAML: {first_line(error)}") from error
    if not isinstance(content, dict):
        raise DatasetError(f"{yaml_uri}: expected a mapping with path, train, val and names, got {type(content).__name__}")
    source_names = _read_names(yaml_uri, content)
    root = _resolve_root(yaml_uri, content.get("path"))
    out_of_scope = _read_out_of_scope(yaml_uri, root, content.get(OUT_OF_SCOPE_KEY))
    splits = {
        split: dataclasses.replace(_read_split(yaml_uri, root, content, split), out_of_scope_folders=out_of_scope[split])
        for split in SPLITS
    }
    remap = {source_id: CLASS_NAMES.index(name) for source_id, name in source_names.items()}
    return DatasetSpec(yaml_uri, root, splits, source_names, remap)


def _read_names(yaml_uri: str, content: dict) -> dict[int, str]:
    names = content.get("names")
    if names is None:
        raise DatasetError(f"{yaml_uri}: no 'names': list the class names (a list or an id -> name map)")
    if isinstance(names, list):
        mapping = dict(enumerate(names))
    elif isinstance(names, dict):
        try:
            mapping = {int(key): value for key, value in names.items()}
        except (TypeError, ValueError):
            raise DatasetError(f"{yaml_uri}: 'names' keys must be class ids (integers), got {list(names)}") from None
    else:
        raise DatasetError(f"{yaml_uri}: 'names' must be a list or an id -> name map, got {type(names).__name__}")
    if not mapping:
        raise DatasetError(f"{yaml_uri}: 'names' is empty")
    for class_index, name in mapping.items():
        if name not in CLASS_NAMES:
            raise DatasetError(
                f"{yaml_uri}: unknown class {name!r} (id {class_index}) in 'names'; "
                f"fracdet detects exactly: {', '.join(CLASS_NAMES)}"
            )
    repeated = sorted({name for name in mapping.values() if list(mapping.values()).count(name) > 1})
    if repeated:
        raise DatasetError(f"{yaml_uri}: class names listed twice in 'names': {', '.join(repeated)}")
    declared = content.get("nc")
    if declared is not None and declared != len(mapping):
        raise DatasetError(f"{yaml_uri}: 'nc' is {declared} but 'names' lists {len(mapping)} classes")
    return mapping


def _resolve_root(yaml_uri: str, path: object) -> str:
    base = storage.parent(yaml_uri)
    if path in (None, ""):
        return base
    if not isinstance(path, str):
        raise DatasetError(f"{yaml_uri}: 'path' must be a string, got {path!r}")
    if storage.is_gcs(path):
        return path.rstrip("/")
    if os.path.isabs(path):
        if storage.is_gcs(base) or not os.path.isdir(path):
            return base  # the dataset was moved; its YAML's folder is the root now
        return os.path.normpath(path)
    if storage.is_gcs(base):
        return storage.normalize(storage.join(base, path))
    return os.path.normpath(os.path.join(base, path))


def _read_split(yaml_uri: str, root: str, content: dict, split: str) -> SplitSource:
    entries = content.get(split)
    if entries in (None, "", []):
        raise DatasetError(f"{yaml_uri}: no '{split}': name the {split} image folder")
    if isinstance(entries, str):
        entries = [entries]
    if not isinstance(entries, list) or not all(isinstance(entry, str) for entry in entries):
        raise DatasetError(f"{yaml_uri}: '{split}' must be a folder or a list of folders, got {entries!r}")
    folders, listed = [], []
    for entry in entries:
        location = _under_root(root, entry)
        if entry.endswith(".txt"):
            if not storage.exists(location):
                raise DatasetError(f"{yaml_uri}: {split} list {location} does not exist")
            listed.extend(_read_image_list(root, location))
        elif not storage.list_files(location):
            raise DatasetError(f"{yaml_uri}: {split} folder {location} does not exist or holds no files")
        else:
            folders.append(location)
    return SplitSource(tuple(folders), tuple(listed))


def _read_out_of_scope(yaml_uri: str, root: str, entry: object) -> dict[str, tuple[str, ...]]:
    """Split -> its out-of-scope folders, from the `fracdet_out_of_scope` mapping (absent: none)."""
    found: dict[str, tuple[str, ...]] = dict.fromkeys(SPLITS, ())
    if entry is None:
        return found
    if not isinstance(entry, dict) or not set(entry) <= set(SPLITS):
        raise DatasetError(
            f"{yaml_uri}: '{OUT_OF_SCOPE_KEY}' must map train and/or val to folders of out-of-scope images, got {entry!r}"
        )
    for split, folders in entry.items():
        folders = [folders] if isinstance(folders, str) else folders
        if not isinstance(folders, list) or not all(isinstance(folder, str) and folder for folder in folders):
            raise DatasetError(f"{yaml_uri}: '{OUT_OF_SCOPE_KEY}.{split}' must be a folder or a list of folders, got {folders!r}")
        locations = tuple(_under_root(root, folder) for folder in folders)
        for location in locations:
            if not storage.list_files(location):
                raise DatasetError(f"{yaml_uri}: out-of-scope {split} folder {location} does not exist or holds no files")
        found[split] = locations
    return found


def _under_root(root: str, entry: str) -> str:
    if storage.is_gcs(entry) or os.path.isabs(entry):
        return entry
    return storage.join(root, *[part for part in entry.split("/") if part and part != "."])


def _read_image_list(root: str, list_uri: str) -> list[str]:
    """Image paths from an Ultralytics `.txt` list: `./x` is relative to the list's folder."""
    folder = storage.parent(list_uri)
    paths = []
    for line in storage.read_text(list_uri).splitlines():
        line = line.strip()
        if not line:
            continue
        base = folder if line.startswith("./") else root
        paths.append(line if storage.is_gcs(line) or os.path.isabs(line) else storage.join(base, line.removeprefix("./")))
    return paths
