"""`fracdet register` and `fracdet registry ...`: registered versions, the champion alias, promotion and rollback."""

from __future__ import annotations

import argparse
import json

from fracdet_core.cli.arguments import positive_int


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "register",
        help="register an evaluated model as the next immutable version",
        description=(
            "Copy the model's SavedModel and its evaluation outputs into the registry as the next version "
            "(numbers are allocated atomically: concurrent registrations never collide), with metadata.json "
            "(lineage) and a model card. Registering the same model again returns its existing version."
        ),
    )
    parser.add_argument("--model", required=True, help="the train output, or its saved_model/ folder")
    parser.add_argument("--eval", required=True, help="the `fracdet evaluate` output (metrics.json, blessing.json)")
    parser.add_argument("--registry", required=True, help="registry root folder or gs:// prefix")
    parser.add_argument("--name", default="fracdet", help="model name (default: %(default)s)")
    parser.add_argument("--eda", help="the EDA output, summarised in the model card")
    parser.add_argument("--promote", action="store_true", help="make the new version the champion if it is blessed")
    parser.set_defaults(run=_register)

    registry = commands.add_parser("registry", help="list, show, promote and roll back registered versions",
                                   description="Read and move the model registry.")
    actions = registry.add_subparsers(dest="action", metavar="ACTION", required=True)
    for action, help_text in (("list", "every version with its key metrics; * marks the champion"),
                              ("show", "one version's metadata as JSON"),
                              ("promote", "make a version the champion"),
                              ("rollback", "return the champion to the version before")):
        sub = actions.add_parser(action, help=help_text, description=help_text[0].upper() + help_text[1:] + ".")
        sub.add_argument("--registry", required=True, help="registry root folder or gs:// prefix")
        sub.add_argument("--name", default="fracdet", help="model name (default: %(default)s)")
        if action in ("show", "promote"):
            sub.add_argument("version", type=positive_int, help="version number")
        if action == "promote":
            sub.add_argument("--require-blessed", action="store_true", help="refuse a version its evaluation did not bless")
        if action in ("promote", "rollback"):
            sub.add_argument("--reason", default="", help="why, recorded in the alias history")
        sub.set_defaults(run=_REGISTRY_ACTIONS[action])


def _register(args: argparse.Namespace) -> int:
    from fracdet_core.registry.aliases import promote
    from fracdet_core.registry.versions import register as register_model

    metadata, created = register_model(args.model, args.eval, args.registry, args.name, eda_uri=args.eda)
    print(f"{'registered' if created else 'already registered as'} {metadata['name']} version {metadata['version']}: {metadata['uri']}")
    if args.promote:
        if metadata.get("blessed"):
            promote(args.registry, args.name, metadata["version"], require_blessed=True, reason="fracdet register --promote")
            print(f"champion: version {metadata['version']}")
        else:
            print("not promoted: the evaluation did not bless this model")
    return 0


def _list(args: argparse.Namespace) -> int:
    from fracdet_core.registry.aliases import read_alias
    from fracdet_core.registry.versions import list_versions

    versions = list_versions(args.registry, args.name)
    if not versions:
        print(f"no versions of {args.name!r} in {args.registry}")
        return 0
    champion = (read_alias(args.registry, args.name) or {}).get("version")
    print(f"{'':1} {'version':>7} {'created':<25} {'blessed':<7} {'mAP@0.5':>7} {'sens':>5} {'spec':>5}  source")
    for item in versions:
        metrics, overall = item["metrics"], (item["metrics"].get("fracture") or {}).get("overall", {})
        cells = [_cell(metrics.get("map50"), 7), _cell(overall.get("sensitivity"), 5), _cell(overall.get("specificity"), 5)]
        print(f"{'*' if item['version'] == champion else ' ':1} {item['version']:>7} {item['created_at']:<25} "
              f"{'yes' if item.get('blessed') else 'no':<7} {' '.join(cells)}  {item['source_model_uri']}")
    return 0


def _cell(value: float | None, width: int) -> str:
    return f"{'-' if value is None else format(value, '.3f'):>{width}}"


def _show(args: argparse.Namespace) -> int:
    from fracdet_core.registry.versions import get_version

    print(json.dumps(get_version(args.registry, args.name, args.version), indent=2))
    return 0


def _promote(args: argparse.Namespace) -> int:
    from fracdet_core.registry.aliases import promote

    alias = promote(args.registry, args.name, args.version, require_blessed=args.require_blessed, reason=args.reason)
    print(f"champion: {args.name} version {alias['version']}")
    return 0


def _rollback(args: argparse.Namespace) -> int:
    from fracdet_core.registry.aliases import rollback

    alias = rollback(args.registry, args.name, reason=args.reason)
    print(f"champion: {args.name} version {alias['version']} (rolled back from {alias['history'][-1]['previous']})")
    return 0


_REGISTRY_ACTIONS = {"list": _list, "show": _show, "promote": _promote, "rollback": _rollback}
