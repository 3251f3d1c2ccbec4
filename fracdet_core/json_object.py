"""One JSON object read from a file's bytes, with its two failures worded once for every reader that names the file."""

from __future__ import annotations

import json


def parse_json_object(data: bytes) -> dict:
    """The JSON object `data` holds.

    Raises:
        ValueError: not UTF-8 JSON, or JSON that is not an object; the message is the problem alone, for the caller to
            put after the file's name in its own error.
    """
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"not valid JSON ({error})") from error
    if not isinstance(value, dict):
        raise ValueError(f"a JSON object was expected, found {type(value).__name__}")
    return value
