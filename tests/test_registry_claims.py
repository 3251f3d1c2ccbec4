"""Incomplete registrations: reported, cleaned only after the grace period, never a complete version, never a number reused."""

from __future__ import annotations

import datetime
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from registry_builders import evaluation_of, stand_in_model

from fracdet import build_parser, main
from fracdet_core import storage
from fracdet_core.errors import ConfigError
from fracdet_core.registry.claims import (
    AbandonedRegistrationError,
    abandon,
    check_claim_held,
    claim_version,
    clean_incomplete,
    incomplete_versions,
    read_claim,
)
from fracdet_core.registry.layout import saved_model_uri, version_uri
from fracdet_core.registry.run import register_model_version
from fracdet_core.registry.versions import list_versions

HOURS_AGO = (datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=2)).isoformat(timespec="seconds")


def _killed_registration(root: str, claimed_at: str, files: int = 3) -> int:
    """What a registration killed mid-copy leaves: its claim and the first `files` files of the copy."""
    version = claim_version(root, "fracdet", {"source_model_uri": "/models/killed/saved_model", "claimed_at": claimed_at})
    for index in range(files):
        storage.write_text(storage.join(saved_model_uri(root, "fracdet", version), "assets", f"asset-{index}.txt"), str(index))
    return version


@pytest.fixture
def registered(tmp_path, storage_root) -> dict:
    """Version 1, complete, of a stand-in model."""
    model = stand_in_model(tmp_path / "model1", "stand-in 1", assets=2)
    metadata, _ = register_model_version(model, evaluation_of(model, tmp_path / "eval1"), storage_root, "fracdet")
    return metadata


def test_a_fresh_incomplete_registration_is_reported_and_left_alone_until_it_is_old(registered, storage_root, capsys):
    version = _killed_registration(storage_root, datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"))
    assert version == 2
    assert main(["registry", "clean", "--registry", storage_root]) == 0
    assert capsys.readouterr().out == ("left fracdet version 2 alone: claimed less than 1:00:00 ago, it may still be in progress "
                                       "(--older-than overrides)\n")
    assert len(storage.list_files(version_uri(storage_root, "fracdet", 2))) == 3
    assert main(["registry", "clean", "--registry", storage_root, "--older-than", "0"]) == 0
    assert capsys.readouterr().out.startswith("removed 3 files of fracdet version 2, an incomplete registration claimed at ")
    assert storage.list_files(version_uri(storage_root, "fracdet", 2)) == []
    assert main(["registry", "clean", "--registry", storage_root, "--older-than", "0"]) == 0
    assert capsys.readouterr().out == f"nothing to clean: 'fracdet' in {storage_root} has no incomplete registrations\n"


def test_a_complete_version_is_never_cleaned(registered, storage_root):
    before = storage.list_files(registered["uri"])
    assert clean_incomplete(storage_root, "fracdet", older_than=datetime.timedelta(0)) == []
    assert storage.list_files(registered["uri"]) == before
    assert storage.tree_sha256(registered["saved_model_uri"]) == registered["model_sha256"]
    assert abandon(storage_root, "fracdet", 1) == 0  # even when asked directly
    assert read_claim(storage_root, "fracdet", 1).abandoned_at is None
    assert storage.list_files(registered["uri"]) == before


def test_the_next_registration_cleans_an_old_incomplete_one_and_takes_the_next_number(
    registered, storage_root, tmp_path, capsys
):
    _killed_registration(storage_root, HOURS_AGO)
    assert main(["registry", "list", "--registry", storage_root]) == 0
    assert (f"version 2: incomplete registration claimed at {HOURS_AGO} of /models/killed/saved_model, no metadata.json, "
            "3 files; `fracdet registry clean` removes it\n") in capsys.readouterr().out
    model = stand_in_model(tmp_path / "model3", "stand-in 3")
    evaluation = evaluation_of(model, tmp_path / "eval3")
    assert main(["register", "--model", model, "--eval", evaluation, "--registry", storage_root]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == (f"removed 3 files of fracdet version 2, an incomplete registration claimed at {HOURS_AGO}; "
                      "its number stays taken")
    assert out[1].startswith("registered fracdet version 3: ")
    assert [item["version"] for item in list_versions(storage_root, "fracdet")] == [1, 3]
    assert storage.list_files(version_uri(storage_root, "fracdet", 2)) == []
    [abandoned] = incomplete_versions(storage_root, "fracdet")
    assert abandoned.claim.version == 2 and abandoned.claim.abandoned_at is not None and abandoned.files == ()


def test_a_bad_input_is_refused_before_a_number_is_claimed(tmp_path):
    root = tmp_path / "registry"
    model = stand_in_model(tmp_path / "model", "stand-in")
    eda = tmp_path / "eda"
    eda.mkdir()
    (eda / "stats.json").write_text('{"splits": ')
    with pytest.raises(ConfigError, match=f"{eda / 'stats.json'}: not valid JSON"):
        register_model_version(model, evaluation_of(model, tmp_path / "eval"), str(root), "fracdet", eda_uri=str(eda))
    assert not root.exists()


@pytest.mark.slow
def test_a_clean_during_a_slow_registration_stops_it_from_publishing(tmp_path, storage_root):
    model = stand_in_model(tmp_path / "model", "stand-in", assets=300)
    evaluation = evaluation_of(model, tmp_path / "eval")
    registering = subprocess.Popen([sys.executable, "-m", "fracdet", "register", "--model", model, "--eval", evaluation,
                                    "--registry", storage_root], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not storage.list_files(saved_model_uri(storage_root, "fracdet", 1)):  # copying has begun
        assert registering.poll() is None and time.monotonic() < deadline, registering.communicate()
        time.sleep(0.005)
    [cleaned] = clean_incomplete(storage_root, "fracdet", older_than=datetime.timedelta(0))  # as `--older-than 0` would
    _, err = registering.communicate(timeout=300)
    assert cleaned.claim.version == 1 and registering.returncode == 2
    claim = storage.join(storage_root, "fracdet", "claims", "1.json")
    assert err.startswith(f"fracdet register: error: {claim}: version 1 was given up as an incomplete registration at ")
    assert "nothing was published. Register the model again." in err
    assert list_versions(storage_root, "fracdet") == []
    assert storage.list_files(version_uri(storage_root, "fracdet", 1)) == []  # it removed what it had copied since
    metadata, created = register_model_version(model, evaluation, storage_root, "fracdet")
    assert created and metadata["version"] == 2


def test_a_registration_given_up_by_a_clean_cannot_publish(tmp_path):
    root = str(tmp_path / "registry")
    version = _killed_registration(root, HOURS_AGO)
    check_claim_held(root, "fracdet", version)  # still held: it may publish
    [cleaned] = clean_incomplete(root, "fracdet")
    assert cleaned.claim.version == version and len(cleaned.files) == 3
    with pytest.raises(AbandonedRegistrationError, match=f"version {version} was given up as an incomplete registration at .* "
                                                         f"\\(claimed at {re.escape(HOURS_AGO)}, .*nothing was published"):
        check_claim_held(root, "fracdet", version)
    claim = json.loads(Path(root, "fracdet", "claims", f"{version}.json").read_text())
    assert claim["claimed_at"] == HOURS_AGO and claim["source_model_uri"] == "/models/killed/saved_model"


@pytest.mark.parametrize(("text", "seconds"), [("0", 0), ("90", 90), ("90s", 90), ("30m", 1800), ("2h", 7200), ("1d", 86400),
                                               ("1.5h", 5400)])
def test_older_than_takes_a_duration(text, seconds):
    args = build_parser().parse_args(["registry", "clean", "--registry", "r", "--older-than", text])
    assert args.older_than == datetime.timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "-1h", "2x", "h", "1 h 2"])
def test_older_than_refuses_what_is_not_a_duration(text, capsys):
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["registry", "clean", "--registry", "r", f"--older-than={text}"])
    assert exited.value.code == 2 and "a duration such as 90s, 30m, 2h or 1d is needed" in capsys.readouterr().err
