"""Reading the registry's own JSON files without trusting them: a damaged file is a clear error naming it.

Every registry file is written whole (atomic writes), so a file that does not parse, or lacks a
field the registry always writes, was truncated or edited by something else. Reading it raises
`RegistryCorruptError` with the file's URI and what is wrong, instead of a `JSONDecodeError` or
`KeyError` traceback from deep inside a command.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping

from fracdet_core import storage
from fracdet_core.errors import FracdetError
from fracdet_core.json_object import parse_json_object

FieldKinds = Mapping[str, type | tuple[type, ...]]

_KIND_NAMES = {int: "a whole number", str: "a string", dict: "a JSON object", list: "a list", bool: "true or false",
               float: "a number", type(None): "null"}
_REMEDY = "restore it from a backup or repair it by hand"


class RegistryCorruptError(FracdetError):
    """A registry file that is there but is not what the registry writes: truncated, edited or overwritten."""


def corrupt(uri: str, problem: str) -> RegistryCorruptError:
    """The error for a damaged registry file, in one wording everywhere."""
    return RegistryCorruptError(f"{uri}: damaged registry file: {problem}; {_REMEDY}")


def _has_kind(value: object, kinds: tuple[type, ...]) -> bool:
    if isinstance(value, bool):  # bool is an int to Python, never to the registry
        return bool in kinds
    return isinstance(value, kinds)


def parse_record(data: bytes, uri: str, fields: FieldKinds) -> dict:
    """The JSON object in `data` (read from `uri`), with each of `fields` present and of its kind.

    Raises:
        RegistryCorruptError: not JSON, not an object, or a field missing or of another kind.
    """
    try:
        record = parse_json_object(data)
    except ValueError as error:
        raise corrupt(uri, str(error)) from error
    for key, kind in fields.items():
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if key not in record:
            raise corrupt(uri, f"the {key!r} field is missing")
        if not _has_kind(record[key], kinds):
            expected = " or ".join(_KIND_NAMES.get(item, item.__name__) for item in kinds)
            raise corrupt(uri, f"the {key!r} field is {record[key]!r}, expected {expected}")
    return record


def read_record(uri: str, fields: FieldKinds) -> dict:
    """`parse_record` of the file at `uri`.

    Raises:
        NotFoundError: no file there.
        RegistryCorruptError: see `parse_record`.
    """
    return parse_record(storage.read_bytes(uri), uri, fields)


def parse_time(record: dict, key: str, uri: str) -> datetime.datetime:
    """A timestamp field the registry wrote with `isoformat`, timezone-aware.

    Raises:
        RegistryCorruptError: not an ISO 8601 time with a timezone.
    """
    try:
        moment = datetime.datetime.fromisoformat(record[key])
    except (TypeError, ValueError) as error:
        raise corrupt(uri, f"the {key!r} field is {record[key]!r}, expected an ISO 8601 time") from error
    if moment.tzinfo is None:
        raise corrupt(uri, f"the {key!r} field {record[key]!r} has no timezone")
    return moment
