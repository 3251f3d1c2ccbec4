"""Find every file of each split, pair images with labels, and flag files that cannot be used.

Every file under a split's image folders and label folders is accounted for: an image (to be
ingested), or a `Problem` (a label with no image, a file of an unsupported type, a path that
leaves the dataset root through a symbolic link or `..`). Nothing found is dropped silently.

Out-of-scope folders (`spec.OUT_OF_SCOPE_KEY`) hold one subfolder per kind, named in upper case
(CHEST, KNEE, CT, PHOTO, ...); the subfolder's name is the image's anatomy. A file not inside
such a subfolder, or inside one whose name is not a kind (lower case, or one of the five in-scope
body parts), is a `Problem` naming the file.
"""

from __future__ import annotations

import dataclasses
import os
import posixpath
import re
from collections.abc import Iterator

from fracdet_core import storage
from fracdet_core.classes import BODY_PARTS
from fracdet_core.errors import StorageError
from fracdet_core.ingest.spec import DatasetSpec

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".dcm", ".dicom")
ANATOMY_NAME = re.compile(r"[A-Z][A-Z0-9_]*")  # an out-of-scope kind: CHEST, ANKLE_FOOT, CT, ...


@dataclasses.dataclass(frozen=True)
class ImageTask:
    """One image to ingest.

    Attributes:
        split: "train" or "val".
        image_uri: where the image is.
        label_uri: its label file, or None when it has none (a background or out-of-scope image).
        source_id: the image's path relative to the dataset root (stable across machines).
        anatomy: "" for an in-scope image; for an out-of-scope one, its kind (its folder's name).
    """

    split: str
    image_uri: str
    label_uri: str | None
    source_id: str
    anatomy: str = ""


@dataclasses.dataclass(frozen=True)
class Problem:
    """A file that is not ingested: one line of `quarantine.jsonl`."""

    path: str
    split: str
    reason: str
    detail: str


def label_uri_for(image_uri: str) -> str:
    """The Ultralytics rule: the last `/images/` becomes `/labels/`, the extension `.txt`."""
    head, separator, tail = image_uri.rpartition("/images/")
    moved = f"{head}/labels/{tail}" if separator else image_uri
    return posixpath.splitext(moved)[0] + ".txt"


def discover(spec: DatasetSpec) -> tuple[dict[str, list[ImageTask]], list[Problem]]:
    """Images per split (sorted by source id) and the problems found while listing."""
    tasks: dict[str, list[ImageTask]] = {}
    problems: list[Problem] = []
    root_resolved = spec.root if storage.is_gcs(spec.root) else os.path.realpath(spec.root)
    for split, source in spec.splits.items():
        found = [uri for folder in source.folders for uri in _walk(folder, spec.root, split, problems)]
        images, others = _sort_files(found + list(source.listed_files), spec.root, root_resolved, split, problems)
        wanted = {label_uri_for(uri) for uri in images.values()}
        labels = _existing_labels({posixpath.dirname(label) for label in wanted}, split, problems)
        tasks[split] = [
            ImageTask(split, uri, label_uri_for(uri) if label_uri_for(uri) in labels else None, source_id)
            for source_id, uri in sorted(images.items())
        ]
        problems.extend(_unused_files(split, others, labels, wanted))
        tasks[split] += _out_of_scope_tasks(spec, split, source.out_of_scope_folders, set(images), problems)
    return tasks, problems


def _out_of_scope_tasks(
    spec: DatasetSpec, split: str, folders: tuple[str, ...], in_scope_ids: set[str], problems: list[Problem]
) -> list[ImageTask]:
    """The out-of-scope images of a split (sorted by source id); unusable files go to `problems`."""
    root_resolved = spec.root if storage.is_gcs(spec.root) else os.path.realpath(spec.root)
    tasks: dict[str, ImageTask] = {}
    for folder in folders:
        for uri in _walk(folder, spec.root, split, problems):
            problem = _check_path(uri, spec.root, root_resolved, split) or _anatomy_problem(uri, folder, split)
            source_id = _source_id(uri, spec.root)
            if problem is None and not uri.lower().endswith(IMAGE_SUFFIXES):
                problem = Problem(uri, split, "unsupported_format",
                                  f"not an image type fracdet reads ({', '.join(IMAGE_SUFFIXES)}), in an out-of-scope folder")
            elif problem is None and (source_id in in_scope_ids or source_id in tasks):
                problem = Problem(uri, split, "listed_twice", "listed as an in-scope image and again as an out-of-scope one"
                                  if source_id in in_scope_ids else "found twice among the out-of-scope folders")
            if problem is not None:
                problems.append(problem)
            else:
                tasks[source_id] = ImageTask(split, uri, None, source_id, anatomy_folder(uri, folder))
    return [tasks[source_id] for source_id in sorted(tasks)]


def anatomy_folder(uri: str, folder: str) -> str:
    """The first folder of `uri` below the out-of-scope `folder` ("" when the file lies in `folder` itself)."""
    relative = uri[len(folder.rstrip("/")) + 1 :] if storage.is_gcs(uri) else os.path.relpath(uri, folder)
    parts = relative.replace(os.sep, "/").split("/")
    return parts[0] if len(parts) > 1 else ""


def _anatomy_problem(uri: str, folder: str, split: str) -> Problem | None:
    """Why a file of an out-of-scope folder has no usable anatomy, or None when its folder names one."""
    anatomy = anatomy_folder(uri, folder)
    if not anatomy:
        return Problem(uri, split, "no_anatomy_folder",
                       f"out-of-scope images sit in one subfolder per kind under {folder} (CHEST/, KNEE/, CT/, ...), "
                       "and this file lies in none")
    if anatomy in BODY_PARTS:
        return Problem(uri, split, "bad_anatomy_folder",
                       f"its folder {anatomy!r} is one of the five in-scope body parts ({', '.join(BODY_PARTS)}); "
                       "in-scope images belong in the YOLO images folders, with labels")
    if not ANATOMY_NAME.fullmatch(anatomy):
        return Problem(uri, split, "bad_anatomy_folder",
                       f"its folder {anatomy!r} is not a kind's name: upper case letters, digits and _, "
                       "starting with a letter (CHEST, ANKLE_FOOT, CT, ...)")
    return None


def _sort_files(
    uris: list[str], root: str, root_resolved: str, split: str, problems: list[Problem]
) -> tuple[dict[str, str], list[str]]:
    """Images by source id (the first URI of each) and the other files; paths leaving the root go to `problems`."""
    images: dict[str, str] = {}
    others: list[str] = []
    for uri in uris:
        problem = _check_path(uri, root, root_resolved, split)
        if problem:
            problems.append(problem)
        elif uri.lower().endswith(IMAGE_SUFFIXES):
            images.setdefault(_source_id(uri, root), uri)
        else:
            others.append(uri)
    return images, others


def _unused_files(split: str, others: list[str], labels: set[str], wanted: set[str]) -> list[Problem]:
    """Files that are neither an image nor the label of one: unsupported types, then orphan labels."""
    unsupported = [
        Problem(uri, split, "unsupported_format", f"not an image type fracdet reads ({', '.join(IMAGE_SUFFIXES)})")
        for uri in others
        if uri not in labels  # labels kept beside their images, when a path has no /images/
    ]
    orphans = [
        Problem(label, split, "orphan_label", "label file with no image of the same name in the images folder")
        for label in sorted(labels - wanted)
    ]
    return unsupported + orphans


def _source_id(uri: str, root: str) -> str:
    if storage.is_gcs(uri):
        return uri[len(root.rstrip("/")) + 1 :]
    return os.path.relpath(uri, root).replace(os.sep, "/")


def _check_path(uri: str, root: str, root_resolved: str, split: str) -> Problem | None:
    """A problem if `uri` leaves the dataset root (`..`, or a link pointing outside)."""
    if storage.is_gcs(uri):
        try:
            normalized = storage.normalize(uri)
        except StorageError as error:
            return Problem(uri, split, "path_outside_root", str(error))
        if not normalized.startswith(root.rstrip("/") + "/"):
            return Problem(uri, split, "path_outside_root", f"resolves to {normalized}, outside the dataset root {root}")
        return None
    resolved = os.path.realpath(uri)
    if os.path.commonpath([resolved, root_resolved]) != root_resolved:
        how = "a symbolic link" if os.path.islink(uri) or resolved != os.path.abspath(uri) else "the path"
        return Problem(uri, split, "path_outside_root", f"{how} leads to {resolved}, outside the dataset root {root}")
    if not os.path.exists(uri):
        return Problem(uri, split, "missing_file", "listed or linked, but no such file")
    return None


def _walk(folder: str, root: str, split: str, problems: list[Problem]) -> Iterator[str]:
    """Files under `folder`; linked folders are followed only while they stay under the root."""
    if storage.is_gcs(folder):
        yield from storage.list_files(folder)
        return
    root_resolved = os.path.realpath(root)
    stack, visited = [folder], set()
    while stack:
        current = stack.pop()
        resolved = os.path.realpath(current)
        if resolved in visited:
            continue
        visited.add(resolved)
        with os.scandir(current) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                if entry.is_dir(follow_symlinks=True):
                    target = os.path.realpath(entry.path)
                    if os.path.commonpath([target, root_resolved]) != root_resolved:
                        problems.append(Problem(
                            entry.path, split, "path_outside_root",
                            f"a symbolic link leads to the folder {target}, outside the dataset root {root}",
                        ))
                    else:
                        stack.append(entry.path)
                else:
                    yield entry.path


def _existing_labels(folders: set[str], split: str, problems: list[Problem]) -> set[str]:
    """Label files in the label folders next to the images' folders (not their sub-folders)."""
    labels: set[str] = set()
    for folder in sorted(folders):
        if storage.is_gcs(folder):
            found = [uri for uri in storage.list_files(folder) if "/" not in uri[len(folder) + 1 :]]
        elif os.path.isdir(folder):
            found = sorted(entry.path for entry in os.scandir(folder) if not entry.is_dir())
        else:
            continue
        for uri in found:
            if uri.endswith(".txt"):
                labels.add(uri)
            elif not uri.lower().endswith(IMAGE_SUFFIXES):
                problems.append(Problem(uri, split, "unsupported_format", "not a .txt label file, in a labels folder"))
    return labels
