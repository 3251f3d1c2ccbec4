"""What `fracdet predict` reads: image files and folders, local or gs://, decoded as ingest decodes them.

Every input is an image to predict on or an `Unreadable` with a stable reason (ingest's codes:
`missing_file`, `unsupported_format`, `empty_file`, `corrupt_image`, `dicom_no_pixel_data`,
`dicom_unsupported_transfer_syntax`, `image_too_small`, `decompression_bomb`, `unreadable_file`,
and `file_too_large` for a file over the byte limit); one bad file never stops the others.

- A file named on the command line is read whatever its name; a folder contributes every file
  under it (recursively) with an image extension, and every file without an extension, since
  DICOM studies often have none. Other files in a folder (labels, YAML, notes) are counted,
  not read.
- Decoding is ingest's (`ingest.decode.decode_image`): grayscale, EXIF orientation applied,
  DICOM through its modality LUT and VOI window with MONOCHROME1 inverted and stretched over
  16 bits, so the model sees what training saw. An 8-bit gray PNG or JPEG goes to the model as
  its own bytes; anything else as a lossless PNG of the decoded pixels.
- The same decode measures what the indications read (colour before the conversion to gray, the
  gray levels, a DICOM's tags): each file is read and decoded once.
"""

from __future__ import annotations

import collections
import dataclasses
import posixpath
from collections.abc import Iterable, Sequence

from fracdet_core import storage
from fracdet_core.errors import NotFoundError, StorageError, StorageUnavailableError
from fracdet_core.indications.facts import ImageFacts
from fracdet_core.ingest.decode import DICOM_SUFFIXES, ImageRejectionError, decode_image, read_within
from fracdet_core.ingest.discovery import IMAGE_SUFFIXES
from fracdet_core.limits import DecodeLimits

_DICOM_MAGIC_OFFSET = 128
_DEFAULT_LIMITS = DecodeLimits()


@dataclasses.dataclass(frozen=True)
class InputFile:
    """An input found on the command line or in a folder.

    Attributes:
        uri: where it is.
        name: the stem its outputs take (`<name>.json`, `<name>.png`), unique within the run.
    """

    uri: str
    name: str


@dataclasses.dataclass(frozen=True)
class InputImage:
    """A decoded input, ready for the serving signature.

    Attributes:
        file: the input.
        encoded: PNG or JPEG bytes of the grayscale image, at the source's size.
        width, height: pixels.
        facts: what the file says about itself (colour, gray levels, DICOM tags), measured while it was
            decoded, for its indication (`predict.indication`).
    """

    file: InputFile
    encoded: bytes
    width: int
    height: int
    facts: ImageFacts


@dataclasses.dataclass(frozen=True)
class Unreadable:
    """An input that is skipped: `reason` is a stable code, `detail` says what is wrong."""

    uri: str
    reason: str
    detail: str


@dataclasses.dataclass(frozen=True)
class Discovery:
    """Attributes:
        files: the inputs to read, in command-line order, each folder's files sorted.
        missing: named paths that are neither a file nor a non-empty folder.
        ignored: extension -> count of files in folders that are not images.
    """

    files: list[InputFile]
    missing: list[Unreadable]
    ignored: dict[str, int]


def discover(paths: Sequence[str]) -> Discovery:
    """The input files under `paths` (files or folders, local or gs://), each once."""
    found: list[str] = []
    missing: list[Unreadable] = []
    ignored: collections.Counter[str] = collections.Counter()
    for path in paths:
        if storage.exists(path):
            found.append(path)
            continue
        listed = storage.list_files(path)
        if not listed:
            missing.append(Unreadable(path, "missing_file", "no such file, and no folder with files"))
        for uri in listed:
            suffix = _suffix(uri)
            if suffix in IMAGE_SUFFIXES or not suffix:
                found.append(uri)
            else:
                ignored[suffix] += 1
    return Discovery(_named(dict.fromkeys(found)), missing, dict(sorted(ignored.items())))


def _suffix(uri: str) -> str:
    return posixpath.splitext(posixpath.basename(uri.replace("\\", "/")))[1].lower()


def _named(uris: Iterable[str]) -> list[InputFile]:
    """Each input with a unique output stem: its file stem, then `-2`, `-3`, ... for later files of the same stem."""
    taken: set[str] = set()
    files = []
    for uri in uris:
        stem = posixpath.splitext(posixpath.basename(uri.rstrip("/")))[0] or "image"
        name, counter = stem, 1
        while name in taken:
            counter += 1
            name = f"{stem}-{counter}"
        taken.add(name)
        files.append(InputFile(uri, name))
    return files


def read_image(file: InputFile, limits: DecodeLimits = _DEFAULT_LIMITS) -> InputImage:
    """Read and decode one input, within `limits`.

    The size is checked before the file is read, so a file over `limits.max_bytes` costs nothing,
    and the pixel count is checked from the image header before decoding.

    Raises:
        ImageRejectionError: the file is missing, unreadable, larger than `limits.max_bytes`
            (`file_too_large`), not an image type fracdet reads, or does not decode; `reason`
            is the stable code.
    """
    try:
        data = read_within(file.uri, limits.max_bytes)
    except NotFoundError as error:
        raise ImageRejectionError("missing_file", str(error)) from None
    except StorageUnavailableError:  # storage down, not the file bad: the run fails rather than skip it
        raise
    except StorageError as error:
        raise ImageRejectionError("unreadable_file", str(error)) from None
    suffix = _suffix(file.uri)
    is_dicom = suffix in DICOM_SUFFIXES or data[_DICOM_MAGIC_OFFSET:_DICOM_MAGIC_OFFSET + 4] == b"DICM"
    if data and suffix not in IMAGE_SUFFIXES and not is_dicom:
        raise ImageRejectionError("unsupported_format", f"not an image type fracdet reads ({', '.join(IMAGE_SUFFIXES)}, "
                                                  "or DICOM without an extension)")
    decoded = decode_image(data, suffix, limits)
    return InputImage(file, decoded.encoded, decoded.width, decoded.height, decoded.facts)


def read_or_reject(file: InputFile, limits: DecodeLimits = _DEFAULT_LIMITS) -> InputImage | Unreadable:
    """`read_image`, with a rejection turned into the `Unreadable` the outputs list."""
    try:
        return read_image(file, limits)
    except ImageRejectionError as rejected:
        return Unreadable(file.uri, rejected.reason, rejected.detail)
