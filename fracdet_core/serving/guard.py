"""The serving signature's checks on each encoded image, made from its header before anything is decoded.

A server that decodes whatever it is sent can be taken down by one small request: a 388 KB PNG
of 20000x20000 pixels decodes to 400 MB of gray bytes and 1.6 GB of float32, and a KServe
container has a memory limit of a few GiB. So the signature reads each image's size from its
header, which costs a few bytes and no memory, and refuses the image before decoding when:
- its encoded bytes are over `max_bytes` (`tf.strings.length`);
- it is neither PNG nor JPEG by its magic bytes (the signature takes PNG or JPEG);
- it is a PNG whose header is cut short or damaged (no `IHDR` chunk first, or a size of 0);
- its width x height is over `max_pixels`. A PNG's size is in its `IHDR` chunk, bytes 16-24
  of the file (big-endian width, then height); a JPEG's is in its start-of-frame segment, which
  `tf.image.extract_jpeg_shape` parses without decoding.

A refusal is a `tf.errors.InvalidArgumentError` that names the image by its position in
`images` and says what is wrong, e.g. "images[3] is 20000x20000 = 400000000 pixels, above the
serving limit of 25000000". A damaged JPEG header gets TensorFlow's own "Invalid JPEG data" error.
"""

from __future__ import annotations

import re

import tensorflow as tf

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SIGNATURE = b"\xff\xd8\xff"
_PNG_HEADER_BYTES = 24  # signature (8), IHDR chunk length and type (8), width (4), height (4)
_ASSERTION = re.compile(r"assertion failed: \[(.*)\]")
_FUNCTION_TAG = re.compile(r"\{\{function_node [^}]*\}\}")
_BOILERPLATE = ("Graph execution error", "Detected at node", "<stack traces", "[[{{node", "defined at")


def checked_encoded_image(encoded: tf.Tensor, index: tf.Tensor, max_pixels: int, max_bytes: int) -> tf.Tensor:
    """`encoded`, once its byte count, format and pixel count pass; decode what this returns.

    Args:
        encoded: scalar string, one image's encoded bytes.
        index: scalar int32, the image's position in the request, for messages.
        max_pixels: the most width x height allowed.
        max_bytes: the most encoded bytes allowed.

    Returns:
        `encoded`, behind control dependencies on every check, so a decode of it runs only
        after they pass.

    Raises:
        tf.errors.InvalidArgumentError: when run, for the first check that fails.
    """
    length = tf.cast(tf.strings.length(encoded), tf.int64)
    within_bytes = _require(length <= max_bytes, "images[{}] is {} bytes, above the serving limit of {} bytes",
                            [index, length, tf.constant(max_bytes, tf.int64)])
    with tf.control_dependencies([within_bytes]):
        is_png = tf.strings.substr(encoded, 0, len(PNG_SIGNATURE)) == PNG_SIGNATURE
        is_jpeg = tf.strings.substr(encoded, 0, len(JPEG_SIGNATURE)) == JPEG_SIGNATURE
        known_format = _require(is_png | is_jpeg, "images[{}] is neither PNG nor JPEG: the serving signature takes "
                                                  "PNG or JPEG bytes", [index])
    with tf.control_dependencies([known_format]):
        height, width, header_valid = tf.cond(is_jpeg, lambda: _jpeg_size(encoded), lambda: _png_size(encoded, length))
        whole_header = _require(header_valid, "images[{}] is a PNG whose header is cut short or damaged ({} bytes): "
                                              "no IHDR chunk with a width and height", [index, length])
    with tf.control_dependencies([whole_header]):
        pixels = height * width
        within_pixels = _require(pixels <= max_pixels, "images[{}] is {}x{} = {} pixels, above the serving limit of {}",
                                 [index, width, height, pixels, tf.constant(max_pixels, tf.int64)])
    with tf.control_dependencies([within_pixels]):
        return tf.identity(encoded)


def _png_size(encoded: tf.Tensor, length: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """(height, width, valid) int64, int64, bool from the IHDR chunk, without reading past the data."""
    head = tf.strings.join([tf.strings.substr(encoded, 0, _PNG_HEADER_BYTES), b"\0" * _PNG_HEADER_BYTES])
    width = _big_endian_int32(tf.strings.substr(head, 16, 4))
    height = _big_endian_int32(tf.strings.substr(head, 20, 4))
    valid = (length >= _PNG_HEADER_BYTES) & (tf.strings.substr(head, 12, 4) == b"IHDR") & (width > 0) & (height > 0)
    return height, width, valid


def _jpeg_size(encoded: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    shape = tf.cast(tf.image.extract_jpeg_shape(encoded), tf.int64)  # (height, width, channels)
    return shape[0], shape[1], tf.constant(True)


def _big_endian_int32(four_bytes: tf.Tensor) -> tf.Tensor:
    """A PNG size field as int64: PNG sizes are unsigned 32-bit numbers below 2**31, so a negative one is damage."""
    return tf.cast(tf.io.decode_raw(four_bytes, tf.int32, little_endian=False)[0], tf.int64)


def _require(condition: tf.Tensor, template: str, values: list[tf.Tensor]) -> tf.Operation:
    return tf.debugging.Assert(condition, [tf.strings.format(template, values)])


def refusal_reason(error: tf.errors.OpError) -> str:
    """What a refusal by the signature says is wrong, without TensorFlow's graph boilerplate.

    A check's message comes as "assertion failed: [images[0] is ...]" among lines naming graph
    nodes, sometimes after a "{{function_node ...}}" tag; another error (a damaged JPEG) as its
    own line among the same.
    """
    lines = [_FUNCTION_TAG.sub("", line).strip() for line in error.message.splitlines()]
    for line in lines:
        check = _ASSERTION.fullmatch(line)
        if check:
            return check.group(1)
    meaningful = [line for line in lines if line and not line.startswith(_BOILERPLATE)]
    return (meaningful or [type(error).__name__])[0]
