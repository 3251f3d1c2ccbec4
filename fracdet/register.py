"""`fracdet register` and `fracdet registry ...`: registered versions, the champion alias, promotion and rollback."""

from __future__ import annotations

import argparse
import datetime
import json
import re
from typing import TYPE_CHECKING

from fracdet.arguments import positive_int
from fracdet_core import defaults

if TYPE_CHECKING:
    from fracdet_core.registry.claims import IncompleteVersion

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhd]?)$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


_REGISTER_DESCRIPTION = (
    "Copy the model's SavedModel and its evaluation outputs into the registry as the next version "
    "(numbers are allocated atomically: concurrent registrations never collide), with metadata.json "
    "(lineage) and a model card. The version keeps the evaluation's operating_thresholds.json, the thresholds "
    "it serves with. The evaluation must be of this very model (metrics.json's and operating_thresholds.json's "
    "model_sha256 is the model's fingerprint), and the copy is fingerprinted again before it becomes visible. Registering the "
    "same model again returns its existing version. Incomplete registrations older than an hour (killed "
    "mid-copy) are cleaned first."
)
_REGISTRY_ACTION_HELP = {
    "list": "every version with its key metrics, * marking the champion, and incomplete registrations",
    "show": "one version's metadata as JSON",
    "promote": "make a version the champion",
    "rollback": "return the champion to the version before",
    "clean": "remove the files of registrations killed before they completed (their numbers stay taken); complete "
             "versions are never touched",
}


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Add `fracdet register` and `fracdet registry ACTION`."""
    _add_register_command(commands)
    _add_registry_commands(commands)


def _add_register_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("register", help="register an evaluated model as the next immutable version",
                                 description=_REGISTER_DESCRIPTION)
    parser.add_argument("--model", required=True, help="the train output, or its saved_model/ folder")
    parser.add_argument("--eval", required=True,
                        help="the `fracdet evaluate` output (metrics.json, blessing.json, operating_thresholds.json)")
    _add_registry_location(parser)
    parser.add_argument("--eda", help="the EDA output, summarised in the model card")
    parser.add_argument("--promote", action="store_true", help="make the new version the champion if it is blessed")
    parser.set_defaults(run=_register)


def _add_registry_commands(commands: argparse._SubParsersAction) -> None:
    registry = commands.add_parser("registry", help="list, show, promote, roll back and clean registered versions",
                                   description="Read and move the model registry.")
    actions = registry.add_subparsers(dest="action", metavar="ACTION", required=True)
    for action, help_text in _REGISTRY_ACTION_HELP.items():
        sub = actions.add_parser(action, help=help_text, description=help_text[0].upper() + help_text[1:] + ".")
        _add_registry_location(sub)
        _add_action_options(sub, action)
        sub.set_defaults(run=_REGISTRY_ACTIONS[action])


def _add_registry_location(parser: argparse.ArgumentParser) -> None:
    """Where the registry is, and which model in it."""
    parser.add_argument("--registry", required=True,
                        help="registry root folder or gs:// prefix, or an MLflow registry: mlflow://HOST:PORT, "
                             "mlflow+https://HOST, or mlflow:// for MLFLOW_TRACKING_URI's server")
    parser.add_argument("--name", default=defaults.MODEL_NAME, help="model name (default: %(default)s)")


def _add_action_options(sub: argparse.ArgumentParser, action: str) -> None:
    """The options of one `fracdet registry` action beyond the registry's location."""
    if action in ("show", "promote"):
        sub.add_argument("version", type=positive_int, help="version number")
    if action == "promote":
        sub.add_argument("--require-blessed", action="store_true", help="refuse a version its evaluation did not bless")
    if action in ("promote", "rollback"):
        sub.add_argument("--reason", default="", help="why, recorded in the alias history")
    if action == "clean":
        sub.add_argument("--older-than", type=_duration, default=None, metavar="DURATION",
                         help="only registrations claimed longer ago than this, e.g. 90s, 30m, 2h, 1d (default: 1h, so a "
                              "registration still copying is left alone)")


def _duration(text: str) -> datetime.timedelta:
    match = _DURATION.match(text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"a duration such as 90s, 30m, 2h or 1d is needed, got {text!r}")
    return datetime.timedelta(seconds=float(match[1]) * _UNIT_SECONDS[match[2]])


def _register(args: argparse.Namespace) -> int:
    from fracdet_core.registry.backend import open_registry

    registry = open_registry(args.registry)
    for item in registry.clean_incomplete(args.name, _default_grace()):
        print(_removed(args.name, item))
    metadata, created = registry.register(args.model, args.eval, args.name, eda_uri=args.eda)
    print(f"{'registered' if created else 'already registered as'} {metadata['name']} version {metadata['version']}: "
          f"{metadata['uri']}")
    if args.promote:
        if metadata.get("blessed"):
            registry.promote(args.name, metadata["version"], require_blessed=True, reason="fracdet register --promote")
            print(f"champion: version {metadata['version']}")
        else:
            print("not promoted: the evaluation did not bless this model")
    return 0


def _default_grace() -> datetime.timedelta:
    from fracdet_core.registry.claims import DEFAULT_GRACE

    return DEFAULT_GRACE


def _list(args: argparse.Namespace) -> int:
    from fracdet_core.registry.backend import open_registry

    registry = open_registry(args.registry)
    versions = registry.list_versions(args.name)
    incomplete = registry.incomplete(args.name)
    if not versions:
        print(f"no versions of {args.name!r} in {args.registry}")
    else:
        _table(versions, registry.alias_version(args.name, "champion"))
    for item in incomplete:
        print(_incomplete(item))
    return 0


def _table(versions: list[dict], champion: int | None) -> None:
    """One line per complete version."""
    print(f"{'':1} {'version':>7} {'created':<25} {'blessed':<7} {'mAP@0.5':>7} {'sens':>5} {'spec':>5}  source")
    for item in versions:
        metrics, overall = item["metrics"], (item["metrics"].get("fracture") or {}).get("overall", {})
        cells = [_cell(metrics.get("map50"), 7), _cell(overall.get("sensitivity"), 5), _cell(overall.get("specificity"), 5)]
        print(f"{'*' if item['version'] == champion else ' ':1} {item['version']:>7} {item['created_at']:<25} "
              f"{'yes' if item.get('blessed') else 'no':<7} {' '.join(cells)}  {item['source_model_uri']}")


def _incomplete(item: IncompleteVersion) -> str:
    """What `registry list` says of a claimed number without metadata.json, and what to do about it."""
    from fracdet_core.registry.claims import DEFAULT_GRACE, timestamp

    claim = item.claim
    if claim.abandoned_at is not None:
        left = f", {len(item.files)} files left; `fracdet registry clean` removes them" if item.files else ""
        return (f"version {claim.version}: abandoned registration, given up at {timestamp(claim.abandoned_at)}{left}; "
                "the number is not reused")
    age = datetime.datetime.now(datetime.UTC) - claim.claimed_at
    state = (f"may still be in progress (claimed less than {DEFAULT_GRACE} ago); `fracdet registry clean` removes it once older"
             if age < DEFAULT_GRACE else "`fracdet registry clean` removes it")
    source = f" of {claim.source_model_uri}" if claim.source_model_uri else ""
    return (f"version {claim.version}: incomplete registration claimed at {timestamp(claim.claimed_at)}{source}, "
            f"no metadata.json, {len(item.files)} files; {state}")


def _removed(name: str, item: IncompleteVersion) -> str:
    from fracdet_core.registry.claims import timestamp

    return (f"removed {len(item.files)} files of {name} version {item.claim.version}, an incomplete registration claimed at "
            f"{timestamp(item.claim.claimed_at)}; its number stays taken")


def _clean(args: argparse.Namespace) -> int:
    from fracdet_core.registry.backend import open_registry

    registry = open_registry(args.registry)
    older_than = _default_grace() if args.older_than is None else args.older_than
    removed = registry.clean_incomplete(args.name, older_than)
    for item in removed:
        print(_removed(args.name, item))
    waiting = [item for item in registry.incomplete(args.name) if item.claim.abandoned_at is None]
    for item in waiting:
        print(f"left {args.name} version {item.claim.version} alone: claimed less than {older_than} ago, it may still be in "
              "progress (--older-than overrides)")
    if not removed and not waiting:
        print(f"nothing to clean: {args.name!r} in {args.registry} has no incomplete registrations")
    return 0


def _cell(value: float | None, width: int) -> str:
    return f"{'-' if value is None else format(value, '.3f'):>{width}}"


def _show(args: argparse.Namespace) -> int:
    from fracdet_core.registry.backend import open_registry

    print(json.dumps(open_registry(args.registry).get_version(args.name, args.version), indent=2))
    return 0


def _promote(args: argparse.Namespace) -> int:
    from fracdet_core.registry.backend import open_registry

    alias = open_registry(args.registry).promote(args.name, args.version, require_blessed=args.require_blessed,
                                                 reason=args.reason)
    print(f"champion: {args.name} version {alias['version']}")
    return 0


def _rollback(args: argparse.Namespace) -> int:
    from fracdet_core.registry.backend import open_registry

    alias = open_registry(args.registry).rollback(args.name, reason=args.reason)
    print(f"champion: {args.name} version {alias['version']} (rolled back from {alias['history'][-1]['previous']})")
    return 0


_REGISTRY_ACTIONS = {"list": _list, "show": _show, "promote": _promote, "rollback": _rollback, "clean": _clean}
