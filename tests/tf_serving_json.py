"""TF Serving's REST JSON mapping for `:predict`, in Python, for proving the request contract without a server.

Follows tensorflow_serving/util/json_tensor.cc and the REST API page (tensorflow.org/tfx/serving/api_rest):
- a body holds `instances` (row format) or `inputs` (columnar), and optionally `signature_name`;
- row format: a signature with one input may take plain values (`[v, ...]`); otherwise each
  instance is an object with exactly the input names as keys. A `{"b64": "..."}` object (that
  one key, a string value) is a value, not a named-inputs object. Instances are stacked along a
  new first dimension and must all have the same shape;
- columnar: `inputs` is the value of the only input, or an object of input name -> value;
- a JSON string is a DT_STRING element as its UTF-8 bytes; a b64 object is its base64-decoded
  bytes and is allowed only for DT_STRING;
- row-format responses: `{"predictions": [{output name: value of that instance}, ...]}`.
"""

from __future__ import annotations

import base64
import binascii
import json

import numpy as np


class RequestError(ValueError):
    """A body TF Serving answers with HTTP 400."""


def _is_b64(value: object) -> bool:
    return isinstance(value, dict) and len(value) == 1 and isinstance(value.get("b64"), str)


def _element(value: object, dtype: str) -> object:
    if isinstance(value, dict):
        if dtype != "string" or not _is_b64(value):
            raise RequestError(f"JSON object {value!r} where a {dtype} value was expected")
        try:
            return base64.b64decode(value["b64"], validate=True)
        except binascii.Error:
            raise RequestError("Unable to base64 decode") from None
    if dtype == "string":
        if not isinstance(value, str):
            raise RequestError(f"{value!r} is not a string")
        return value.encode("utf-8")
    if isinstance(value, (bool, str)) or not isinstance(value, (int, float)):
        raise RequestError(f"{value!r} is not a number")
    return value


def _tensor(value: object, dtype: str) -> np.ndarray:
    """A dense tensor of a nested JSON list: the shape from the first element at each level, every leaf at the same depth."""
    shape = []
    probe = value
    while isinstance(probe, list):
        shape.append(len(probe))
        probe = probe[0] if probe else None
    flat: list[object] = []

    def fill(item: object, level: int) -> None:
        if not isinstance(item, list):
            if level != len(shape):
                raise RequestError(f"value {item!r} at level {level + 1}, expected at level {len(shape)}")
            flat.append(_element(item, dtype))
            return
        if level >= len(shape) or len(item) != shape[level]:
            expected = shape[level] if level < len(shape) else "a value"
            raise RequestError(f"list of {len(item)} at level {level}, expected {expected}")
        for child in item:
            fill(child, level + 1)

    fill(value, 0)
    array = np.empty(len(flat), dtype=object if dtype == "string" else dtype)
    array[:] = flat
    return array.reshape(shape)


def decode_predict_request(body: str, inputs: dict[str, str]) -> dict[str, np.ndarray]:
    """The input tensors TF Serving builds from a `:predict` body, for a signature's `inputs` (name -> numpy dtype name)."""
    request = json.loads(body)
    if not isinstance(request, dict):
        raise RequestError("the body is not a JSON object")
    if ("instances" in request) == ("inputs" in request):
        raise RequestError("the body needs exactly one of 'instances' and 'inputs'")
    if "inputs" in request:
        value = request["inputs"]
        if not isinstance(value, dict) or _is_b64(value):
            if len(inputs) > 1:
                raise RequestError("inputs is a plain value/list, but the signature has several inputs")
            (name, dtype), = inputs.items()
            return {name: _tensor(value, dtype)}
        missing = set(inputs) - set(value)
        if missing:
            raise RequestError(f"Missing named input: {sorted(missing)[0]} in 'inputs' object.")
        return {name: _tensor(value[name], dtype) for name, dtype in inputs.items()}
    instances = request["instances"]
    if not isinstance(instances, list) or not instances:
        raise RequestError("'instances' must be a non-empty list")
    named = isinstance(instances[0], dict) and not _is_b64(instances[0])
    if not named and len(inputs) > 1:
        raise RequestError("instances is a plain list, but the signature has several inputs")
    rows: dict[str, list[np.ndarray]] = {name: [] for name in inputs}
    for index, instance in enumerate(instances):
        if named != (isinstance(instance, dict) and not _is_b64(instance)):
            raise RequestError(f"item {index} of 'instances' mixes named objects and plain values")
        items = instance if named else {next(iter(inputs)): instance}
        if set(items) != set(inputs):
            raise RequestError(f"item {index} of 'instances' must only have keys: {','.join(sorted(inputs))}")
        for name, value in items.items():
            tensor = _tensor(value, inputs[name])
            if rows[name] and tensor.shape != rows[name][0].shape:
                raise RequestError(f"Expecting shape {rows[name][0].shape} but got: {tensor.shape}")
            rows[name].append(tensor)
    return {name: np.stack(tensors) for name, tensors in rows.items()}


def encode_row_response(outputs: dict[str, np.ndarray]) -> str:
    """The row-format response body for a signature's outputs (every output batched along its first dimension)."""
    batch = {len(value) for value in outputs.values()}
    assert len(batch) == 1, "row format needs outputs of one batch size"
    predictions = [{name: np.asarray(value[row]).tolist() for name, value in outputs.items()} for row in range(batch.pop())]
    return json.dumps({"predictions": predictions})
