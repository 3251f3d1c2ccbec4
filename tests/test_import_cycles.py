"""No module imports itself back, directly or through others, at the top or inside a function.

import-linter's `acyclic_siblings` contract (pyproject.toml) checks cycles between the library's
packages; this checks every module of the four packages, one by one. grimp reads every import
statement, lazy ones inside functions and `TYPE_CHECKING` ones included, so a cycle cannot be
hidden by moving an import into a function.
"""

from __future__ import annotations

import itertools

import grimp
import pytest

PACKAGES = ("fracdet_core", "fracdet", "fracdet_components", "fracdet_pipelines")


def _strongly_connected(modules: set[str], imports_of: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components, iteratively (no recursion limit on deep chains)."""
    index: dict[str, int] = {}
    lowlink: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    for root in sorted(modules):
        if root in index:
            continue
        work = [(root, iter(sorted(imports_of[root])))]
        index[root] = lowlink[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            module, pending = work[-1]
            following = next(pending, None)
            if following is None:
                work.pop()
                if work:
                    lowlink[work[-1][0]] = min(lowlink[work[-1][0]], lowlink[module])
                if lowlink[module] == index[module]:
                    components.append(_pop_component(stack, on_stack, module))
            elif following not in index:
                index[following] = lowlink[following] = len(index)
                stack.append(following)
                on_stack.add(following)
                work.append((following, iter(sorted(imports_of[following]))))
            elif following in on_stack:
                lowlink[module] = min(lowlink[module], index[following])
    return components


def _pop_component(stack: list[str], on_stack: set[str], root: str) -> list[str]:
    component = []
    while True:
        module = stack.pop()
        on_stack.discard(module)
        component.append(module)
        if module == root:
            return sorted(component)


def _ring(graph: grimp.ImportGraph, component: list[str]) -> str:
    """One concrete cycle through the component's first module, each step with its line."""
    start = component[0]
    inside = set(component)
    following = min(graph.find_modules_directly_imported_by(start) & inside)
    chain = (start, *(graph.find_shortest_chain(importer=following, imported=start) or (following,)))
    steps = []
    for importer, imported in itertools.pairwise(chain):
        lines = sorted(detail["line_number"] for detail in graph.get_import_details(importer=importer, imported=imported))
        steps.append(f"{importer} (line {', '.join(map(str, lines))}) -> {imported}")
    return "\n  ".join(steps)


def import_cycles(*packages: str) -> list[str]:
    """Each group of modules that import one another in a ring, as one of its cycles, step by step."""
    graph = grimp.build_graph(*packages, cache_dir=None)
    imports_of = {module: graph.find_modules_directly_imported_by(module) & graph.modules for module in graph.modules}
    components = _strongly_connected(set(graph.modules), imports_of)
    rings = [component for component in components if len(component) > 1 or component[0] in imports_of[component[0]]]
    return [_ring(graph, component) for component in rings]


def test_no_module_is_part_of_an_import_cycle():
    cycles = import_cycles(*PACKAGES)
    assert not cycles, "import cycles:\n" + "\n".join(f"- {cycle}" for cycle in cycles)


@pytest.mark.parametrize(("modules", "expected"), [
    ({"first": "from cyclic_pkg import second\n",
      "second": "def late():\n    from cyclic_pkg import first\n    return first\n"},
     ["cyclic_pkg.first (line 1) -> cyclic_pkg.second\n  cyclic_pkg.second (line 2) -> cyclic_pkg.first"]),
    ({"first": "from cyclic_pkg import second\n", "second": "import json\n"}, []),
])
def test_the_finder_reports_a_cycle_hidden_in_a_function(tmp_path, monkeypatch, modules, expected):
    package = tmp_path / "cyclic_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for name, source in modules.items():
        (package / f"{name}.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))  # undone after the test
    assert import_cycles("cyclic_pkg") == expected
