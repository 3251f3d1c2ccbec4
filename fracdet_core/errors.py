"""Exception types the library raises for problems a user can fix.

The CLI turns every `FracdetError` into one line on stderr and exit code 2; anything else
is a bug and keeps its traceback.
"""


class FracdetError(Exception):
    """A problem with the user's input, configuration or environment."""


class ConfigError(FracdetError, ValueError):
    """A parameter or configuration value outside what is allowed."""


class StorageError(FracdetError):
    """A storage operation failed; the message names the URI."""


class NotFoundError(StorageError, FileNotFoundError):
    """The object, file or bucket does not exist."""


class AlreadyExistsError(StorageError, FileExistsError):
    """A create-only write found the target already there."""


class AccessDeniedError(StorageError, PermissionError):
    """The credentials in use may not read or write the URI."""


class ConflictError(StorageError):
    """A conditional write lost: the object changed since it was read."""


class StorageUnavailableError(StorageError):
    """Storage kept failing with transient faults (429, 5xx, resets, stalls) until the retry deadline passed.

    Attributes:
        maybe_applied: whether an attempt may have reached the server and acted (a reset or a
            stall hides the answer), so that the object may hold the new content after all.
    """

    def __init__(self, message: str, *, maybe_applied: bool = False) -> None:
        super().__init__(message)
        self.maybe_applied = maybe_applied


def first_line(error: BaseException) -> str:
    """The first line of `error`'s message, or its type's name when it has none.

    A decoder's or TensorFlow's message can run to many lines; the messages built from them are
    one line, as the CLI prints each error.
    """
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
