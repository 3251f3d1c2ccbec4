"""An output folder that holds exactly one run's complete results: built aside, then published whole.

`fracdet predict` and `fracdet evaluate` write files that only make sense together (summary.csv
and the pictures it lists; metrics.json and the blessing decided from it). Written one by one into
`--out`, a killed run, or a run with fewer inputs than the one before, leaves a mix of two runs.
So each run builds its files in a hidden staging folder beside `--out` and publishes them whole:

- locally, by swapping the staging folder with `--out` in one rename (`storage.replace_folder`):
  `--out` holds the previous complete run until the instant it holds the new one;
- on GCS, which has no folder rename, by copying the previous run's files aside, then copying the
  new files in, deleting the previous run's files the new run lacks, and rewriting the record
  last. From before the first copy until then the record says `"state": "publishing"`. A publish
  that fails (storage faults that outlast the retry policy) puts back the files it touched from
  the copies aside and the old record last, so `--out` holds the old complete set; a kill, or a
  put-back that fails too, leaves the record saying publishing: a mixed folder is detectable,
  `check_complete` refuses it, and the next run into it replaces it whole.

The record, `.fracdet-<command>.json` in `--out`, names its writer and lists the run's files. It
is how a run recognises an earlier output it may replace: `--out` must be new, empty, or such an
output, and a folder holding any file the record does not list is refused, so nothing fracdet did
not write is deleted. `--out` must also keep clear of every input: not one, not inside one, and
not containing one. All of this is checked before any long work starts.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import os
from collections.abc import Iterable, Iterator

from fracdet_core import storage
from fracdet_core.errors import ConfigError, FracdetError, StorageUnavailableError

COMPLETE = "complete"
PUBLISHING = "publishing"
EVALUATE = "fracdet evaluate"  # the writers, as their records name them
PREDICT = "fracdet predict"
_SHOWN_NAMES = 5

_OVERLAPS = {
    "same": "is the input {input}: the results would be written among the inputs",
    "inside": "lies inside the input {input}: the results would be written among the inputs",
    "contains": "contains the input {input}: replacing --out with the results would delete it",
}


@dataclasses.dataclass(frozen=True)
class OutputFolder:
    """A checked `--out`.

    Attributes:
        given: `--out` as the user wrote it, for messages.
        uri: where the results go: the normalised `gs://` URI, or the local folder's real path.
        command: who writes it, e.g. "fracdet predict": in messages and in the record.
        earlier_files: the files of an output written before records existed, which a run may replace.
    """

    given: str
    uri: str
    command: str
    earlier_files: frozenset[str] = frozenset()

    @property
    def record_name(self) -> str:
        return record_name(self.command)


def record_name(command: str) -> str:
    """`.fracdet-predict.json` for "fracdet predict"."""
    return f".{command.replace(' ', '-')}.json"


def check_complete(folder: str, command: str) -> None:
    """Refuse to read an output whose publishing on gs:// was cut short: its files may come from two runs.

    A folder without a record (written before records, or by hand) passes: there is nothing to check.

    Raises:
        ConfigError: the record says the run was still publishing, or is not `command`'s record.
    """
    record_uri = storage.join(folder, record_name(command))
    if not storage.exists(record_uri):
        return
    state = _read_record(record_uri, command).get("state")
    if state != COMPLETE:
        raise ConfigError(f"{folder}: a {command} run was cut short while publishing here ({record_name(command)} says "
                          f"{state!r}), so its files may come from two runs; run {command} into it again")


def claim(out: str, command: str, *, inputs: Iterable[str] = (), earlier_files: Iterable[str] = ()) -> OutputFolder:
    """Check that `out` may receive `command`'s results; call it before any long work.

    Args:
        out: the output folder or `gs://` prefix.
        command: the writer, e.g. "fracdet predict".
        inputs: everything the run reads, which `out` must keep clear of.
        earlier_files: file names that make a folder without a record an earlier output of `command`.

    Raises:
        ConfigError: `out` is a file or a mount point, overlaps an input, or holds files that
            `command` did not write.
    """
    uri = storage.normalize(out) if storage.is_gcs(out) else os.path.realpath(out)
    if storage.exists(uri):
        raise ConfigError(f"--out {out} is a file; name a folder: a new one, an empty one, or an earlier {command} output")
    if not storage.is_gcs(uri) and os.path.ismount(uri):
        raise ConfigError(f"--out {out} is a mount point, which cannot be replaced in one step; name a folder inside it")
    output = OutputFolder(out, uri, command, frozenset(earlier_files))
    refuse_overlap(output, inputs)
    _refuse_foreign_files(output)
    return output


def refuse_overlap(output: OutputFolder, inputs: Iterable[str]) -> None:
    """Refuse an `--out` that is an input, lies inside one, or contains one (a file found in an input folder too).

    Raises:
        ConfigError: naming the input and why.
    """
    for item in inputs:
        relation = storage.overlap(output.uri, item)
        if relation:
            raise ConfigError(f"--out {output.given} {_OVERLAPS[relation].format(input=item)}; "
                              "choose an --out outside every input")


@contextlib.contextmanager
def publishing(output: OutputFolder) -> Iterator[str]:
    """A staging folder for the run's files, published whole at `output.uri` when the block ends cleanly.

    When the block raises (or the process dies), `output.uri` keeps what it held and the
    staging folder is deleted (by the next run, after a kill).
    """
    with storage.staging_folder(output.uri) as staging:
        yield staging
        _publish(output, staging)


def _publish(output: OutputFolder, staging: str) -> None:
    files = _relative_files(staging)
    _refuse_foreign_files(output)  # a file may have appeared in --out during the run
    if not storage.is_gcs(output.uri):
        _write_record(storage.join(staging, output.record_name), output, COMPLETE, files)
        storage.replace_folder(staging, output.uri)
        return
    record = storage.join(output.uri, output.record_name)
    previous = sorted(set(_relative_files(output.uri)) - {output.record_name})
    old_record = storage.read_bytes(record) if storage.exists(record) else None
    with storage.staging_folder(output.uri) as aside:
        for name in previous:
            storage.copy_file(storage.join(output.uri, name), storage.join(aside, name))
        changed: list[str] = []
        try:
            _write_record(record, output, PUBLISHING, sorted(set(previous) | set(files)))
            _copy_in(output, staging, files, previous, changed)
            _write_record(record, output, COMPLETE, files)
        except FracdetError as error:
            _roll_back(output, aside, previous, changed, old_record, error)
            raise


def _copy_in(output: OutputFolder, staging: str, files: list[str], previous: list[str], changed: list[str]) -> None:
    """Copy the run's files into `--out` and delete the previous run's others, noting in `changed` each file touched.

    A step that fails is noted too when the server may have carried it out (its answer was lost).
    """
    steps = [(name, functools.partial(storage.copy_file, storage.join(staging, name), storage.join(output.uri, name)))
             for name in files]
    steps += [(name, functools.partial(storage.remove, storage.join(output.uri, name), missing_ok=True))
              for name in sorted(set(previous) - set(files))]
    for name, step in steps:
        try:
            step()
        except StorageUnavailableError as error:
            if error.maybe_applied:
                changed.append(name)
            raise
        changed.append(name)


def _roll_back(output: OutputFolder, aside: str, previous: list[str], changed: list[str], old_record: bytes | None,
               error: FracdetError) -> None:
    """Put `--out` back as the previous run left it, from the copies set aside; the record last.

    When that fails too, `--out` keeps the record that says publishing, and `error` gets a note.
    """
    record = storage.join(output.uri, output.record_name)
    try:
        for name in changed:
            if name in previous:
                storage.copy_file(storage.join(aside, name), storage.join(output.uri, name))
            else:
                storage.remove(storage.join(output.uri, name), missing_ok=True)
        if old_record is None:
            storage.remove(record, missing_ok=True)
        else:
            storage.write_bytes(record, old_record)
    except FracdetError as failed:
        error.add_note(f"--out {output.given} could not be put back as the previous run left it ({failed}); its "
                       f"{output.record_name} says {PUBLISHING!r}, so nothing reads it as complete: run {output.command} "
                       "into it again")


def _write_record(uri: str, output: OutputFolder, state: str, files: list[str]) -> None:
    storage.write_text(uri, json.dumps({"writer": output.command, "state": state, "files": files}, indent=2) + "\n")


def _refuse_foreign_files(output: OutputFolder) -> None:
    """Refuse a non-empty `--out` holding files its record does not list (or, without a record, not `earlier_files`)."""
    files = set(_relative_files(output.uri))
    if not files:
        return
    record_uri = storage.join(output.uri, output.record_name)
    if output.record_name in files:
        owned = set(_recorded_files(record_uri, output.command)) | {output.record_name}
        whose = f"the {output.command} run there did not write (by its {output.record_name})"
    else:
        owned = set(output.earlier_files)
        whose = f"{output.command} did not write (it has no {output.record_name})"
    foreign = sorted(files - owned)
    if foreign:
        more = f" and {len(foreign) - _SHOWN_NAMES} more" if len(foreign) > _SHOWN_NAMES else ""
        shown = ", ".join(foreign[:_SHOWN_NAMES]) + more
        raise ConfigError(f"--out {output.given} holds files {whose}: {shown}; a run replaces its --out whole, so "
                          "choose a new or empty folder, or move those files away")


def _recorded_files(record_uri: str, command: str) -> list[str]:
    return [str(name) for name in _read_record(record_uri, command)["files"]]


def _read_record(record_uri: str, command: str) -> dict:
    try:
        record = json.loads(storage.read_text(record_uri))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{record_uri}: not a readable {command} record: {error}") from None
    if not isinstance(record, dict) or record.get("writer") != command or not isinstance(record.get("files"), list):
        raise ConfigError(f"{record_uri}: not a {command} record (expected writer {command!r} and a list of files)")
    return record


def _relative_files(folder: str) -> list[str]:
    """The files under `folder`, as '/'-separated names relative to it."""
    root = folder.rstrip("/") + "/"
    return [uri[len(root):].replace(os.sep, "/") for uri in storage.list_files(folder)]
