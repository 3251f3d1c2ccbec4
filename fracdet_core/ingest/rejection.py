"""The exception a file check raises: a stable reason code for `quarantine.jsonl` and a detail."""

from __future__ import annotations


class RejectionError(Exception):
    """A file that cannot be used; `reason` is a stable code, `detail` says what is wrong."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
