"""Version numbers: claimed atomically, and registrations that died between claim and publication found and cleaned.

A registration claims N with a create-only write of `claims/<N>.json`, copies the model into
`versions/<N>/` and publishes `metadata.json` last. One killed in between leaves a claim and part
of a copy: invisible (nothing lists, resolves or serves a version without metadata.json) but
taking space and unexplained. `incomplete_versions` finds them; `clean_incomplete` removes their
files once the claim is older than a grace period, so a registration still copying is left alone,
and marks the claim abandoned first, so that registration can no longer publish. The claim itself
stays: a number is never given out twice, and a version number names one model forever.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import re
import time
import uuid

from fracdet_core import storage
from fracdet_core.errors import AlreadyExistsError, ConflictError, FracdetError, NotFoundError, StorageError
from fracdet_core.registry.layout import METADATA, claim_uri, claims_uri, metadata_uri, model_root, version_uri
from fracdet_core.registry.records import parse_record, parse_time

DEFAULT_GRACE = datetime.timedelta(hours=1)
CLAIM_FIELDS = {"claimed_at": str}
_CLAIM_FILE = re.compile(r"/claims/([1-9][0-9]*)\.json$")
_VERSION_FILE = re.compile(r"/versions/([1-9][0-9]*)/(.+)$")
_ATTEMPTS = 20


class AbandonedRegistrationError(FracdetError):
    """A registration whose claim was marked abandoned (it outlived the grace period) before it could publish."""


@dataclasses.dataclass(frozen=True)
class Claim:
    """Attributes:
        version: the number claimed.
        uri: the claim file.
        claimed_at: when the registration took the number.
        source_model_uri: the model it was registering, when recorded.
        abandoned_at: when a clean gave the registration up, or None.
    """

    version: int
    uri: str
    claimed_at: datetime.datetime
    source_model_uri: str | None
    abandoned_at: datetime.datetime | None


@dataclasses.dataclass(frozen=True)
class IncompleteVersion:
    """A claimed number without metadata.json, and the files of the partial copy still under its folder."""

    claim: Claim
    files: tuple[str, ...]


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def timestamp(moment: datetime.datetime | None = None) -> str:
    return (moment or _now()).isoformat(timespec="seconds")


def claim_version(registry: str, name: str, record: dict) -> int:
    """Claim the next free version number with `record` (which holds at least `claimed_at`); returns the number.

    The claim also records a random `claim_id`: no two claims hold the same bytes, which is how
    the storage layer tells a create whose answer was lost from one that another claim beat.
    """
    folder = claims_uri(registry, name)
    numbers = {int(match[1]) for match in map(_CLAIM_FILE.search, storage.list_files(folder)) if match}
    candidate = max(numbers, default=0) + 1
    content = json.dumps(record | {"claim_id": uuid.uuid4().hex}) + "\n"
    while True:
        try:
            storage.write_text(claim_uri(registry, name, candidate), content, create_only=True)
            return candidate
        except AlreadyExistsError:
            candidate += 1


def _parse_claim(version: int, uri: str, data: bytes) -> Claim:
    record = parse_record(data, uri, CLAIM_FIELDS)
    abandoned = parse_time(record, "abandoned_at", uri) if "abandoned_at" in record else None
    source = record.get("source_model_uri")
    return Claim(version, uri, parse_time(record, "claimed_at", uri), source if isinstance(source, str) else None, abandoned)


def read_claim(registry: str, name: str, version: int) -> Claim:
    """One claim.

    Raises:
        NotFoundError: the number was never claimed.
        RegistryCorruptError: the claim file is damaged.
    """
    uri = claim_uri(registry, name, version)
    return _parse_claim(version, uri, storage.read_bytes(uri))


def incomplete_versions(registry: str, name: str) -> list[IncompleteVersion]:
    """Every claimed number without metadata.json (abandoned ones too), oldest first.

    Raises:
        RegistryCorruptError: a claim file is damaged.
    """
    files: dict[int, list[str]] = {}
    complete = set()
    for uri in storage.list_files(storage.join(model_root(registry, name), "versions")):
        match = _VERSION_FILE.search(uri)
        if match:
            files.setdefault(int(match[1]), []).append(uri)
            if match[2] == METADATA:
                complete.add(int(match[1]))
    found = []
    for uri in storage.list_files(claims_uri(registry, name)):
        match = _CLAIM_FILE.search(uri)
        if match and int(match[1]) not in complete:
            claim = _parse_claim(int(match[1]), uri, storage.read_bytes(uri))
            found.append(IncompleteVersion(claim, tuple(files.get(claim.version, []))))
    return sorted(found, key=lambda item: item.claim.version)


def _mark_abandoned(registry: str, name: str, version: int) -> None:
    """Record on the claim that its registration was given up, with compare-and-swap (two cleans may race)."""
    uri = claim_uri(registry, name, version)
    for _ in range(_ATTEMPTS):
        data, token = storage.read_versioned(uri)
        if data is None:
            raise NotFoundError(f"{uri}: no such claim")
        record = parse_record(data, uri, CLAIM_FIELDS)
        if "abandoned_at" in record:
            return
        try:
            storage.write_if_unchanged(uri, (json.dumps({**record, "abandoned_at": timestamp()}) + "\n").encode(), token)
            return
        except ConflictError:
            continue
    raise ConflictError(f"{uri}: gave up marking the claim abandoned after {_ATTEMPTS} attempts; too many concurrent writers")


def abandon(registry: str, name: str, version: int) -> int:
    """Give up the registration of `version` now: mark its claim abandoned, remove its files; returns how many.

    A version whose metadata.json is there is complete and is never touched (returns 0). Its
    presence is checked again after the mark: a registration publishing in between has won.
    """
    if storage.exists(metadata_uri(registry, name, version)):
        return 0
    _mark_abandoned(registry, name, version)
    if storage.exists(metadata_uri(registry, name, version)):
        return 0
    folder = version_uri(registry, name, version)
    count = len(storage.list_files(folder))
    for _ in range(_ATTEMPTS):
        try:
            storage.remove_folder(folder)
            return count
        except OSError:  # a registration still copying renamed or added a file under our feet; go again
            time.sleep(0.05)
    raise StorageError(f"{folder}: files kept appearing while it was removed: a registration is still writing there. Its claim "
                       "is abandoned now, so it will stop and remove its files itself; or run `fracdet registry clean` again")


def clean_incomplete(registry: str, name: str, *, older_than: datetime.timedelta = DEFAULT_GRACE) -> list[IncompleteVersion]:
    """Remove the partial copies of registrations that died; returns those removed.

    A version is removed only when it has a claim, no metadata.json, and a claim older than
    `older_than` (or already abandoned): a registration still copying is not touched, and a
    complete version never is. Its claim stays, marked abandoned, so its number is not reused.

    Raises:
        RegistryCorruptError: a claim file is damaged.
    """
    removed = []
    moment = _now()
    for item in incomplete_versions(registry, name):
        if item.claim.abandoned_at is None and moment - item.claim.claimed_at < older_than:
            continue
        if item.claim.abandoned_at is not None and not item.files:
            continue
        abandon(registry, name, item.claim.version)
        removed.append(item)
    return removed


def check_claim_held(registry: str, name: str, version: int) -> None:
    """Refuse to publish a version whose claim a clean has abandoned meanwhile.

    Raises:
        AbandonedRegistrationError: naming the version and when it was abandoned.
    """
    claim = read_claim(registry, name, version)
    if claim.abandoned_at is not None:
        raise AbandonedRegistrationError(
            f"{claim.uri}: version {version} was given up as an incomplete registration at {timestamp(claim.abandoned_at)} "
            f"(claimed at {timestamp(claim.claimed_at)}, longer ago than the clean's grace period) while this registration "
            "was still copying; nothing was published. Register the model again."
        )
