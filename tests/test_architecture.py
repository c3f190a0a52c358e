"""The import rules of STYLE.md's map, read from the code: data flows one way and nothing reaches back up.

Every module under ``optimal/`` is imported (so none is dead or broken), and the import graph is built from each
module's syntax tree, function-local imports included (an import hidden in a function still ties the modules):

* no cycle between modules, and none between the stages (the top-level subpackages and modules);
* ``laws/`` imports only ``errors``, ``_util`` and itself; ``data/`` also ``laws``; ``allocation/`` ``errors``,
  ``_util``, ``laws`` and itself; ``planning/`` only ``errors``, ``_util`` and itself; ``errors`` nothing of the
  package and ``_util`` only ``errors``;
* ``fitting/`` imports none of ``allocation/``, ``analysis/``, ``io/``, ``planning/``, ``plot/`` and ``cli/``;
* nothing imports ``optimal.baseline`` (the SciPy way, for tests and benchmarks only);
* only ``cli/`` and ``plot/`` import the package face (``optimal/__init__.py``).

Run as a script (``python tests/test_architecture.py``) it prints the graph's violations.
"""

import ast
import importlib
import importlib.util
import pkgutil
from pathlib import Path

import pytest

import optimal

PACKAGE = "optimal"
ROOT = Path(optimal.__file__).parent

# Which stages a stage may import (besides itself); a stage not named here is limited only by the other rules.
ONLY = {
    "errors": set(),
    "_util": {"errors"},
    "laws": {"errors", "_util"},
    "data": {"errors", "_util", "laws"},
    "allocation": {"errors", "_util", "laws"},
    "planning": {"errors", "_util"},
}
NEVER = {"fitting": {"allocation", "analysis", "io", "planning", "plot", "cli"}}
FACE_USERS = {"cli", "plot"}  # the command line and the figures use the public API

# Violations tolerated for a stated reason, each (importer, imported); an entry that no longer occurs fails
# test_allowed_violations_still_occur, so the list cannot outlive its reason. Empty: every rule holds.
ALLOWED = set()


def module_names():
    """Every module of the package, dotted (``optimal`` for the face, ``optimal.laws`` for a subpackage's
    ``__init__``)."""
    names = [PACKAGE]
    for info in pkgutil.walk_packages([str(ROOT)], prefix=PACKAGE + "."):
        names.append(info.name)
    return sorted(names)


def source_path(name):
    parts = name.split(".")[1:]
    package = ROOT.joinpath(*parts, "__init__.py")
    if package.exists():
        return package
    return ROOT.joinpath(*parts[:-1], parts[-1] + ".py")


def is_package(name):
    return source_path(name).name == "__init__.py"


def imports_of(name, modules):
    """``[(imported module, line)]`` of module ``name``: every ``import`` and ``from ... import`` in its tree,
    function-local ones included, resolved to modules of the package (``from X import y`` is module ``X.y`` when
    that is a module, else ``X``; imports from outside the package are left out)."""
    tree = ast.parse(source_path(name).read_text(), str(source_path(name)))
    here = name if is_package(name) else name.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == PACKAGE or alias.name.startswith(PACKAGE + "."):
                    found.append((alias.name, node.lineno))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here.split(".")
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not (target == PACKAGE or target.startswith(PACKAGE + ".")):
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.append((sub if sub in modules else target, node.lineno))
    first = {}
    for target, line in found:
        if target != name:
            first[target] = min(line, first.get(target, line))
    return sorted(first.items(), key=lambda item: item[1])


def stage(name):
    """The stage of a module: its top-level subpackage or module under ``optimal`` (``optimal`` for the face)."""
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else PACKAGE


def graph():
    """``{module: [(imported module, line)]}`` over every module of the package."""
    modules = set(module_names())
    return {name: imports_of(name, modules) for name in sorted(modules)}


def cycles(edges):
    """The strongly connected components with more than one node (or a self-loop) of ``{node: {node}}``
    (Tarjan's algorithm), each a sorted list."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or v in edges.get(v, ()):
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def rule_violations(imports):
    """``[(importer, imported, line, rule)]``: every import that breaks a rule of the module docstring (cycles
    apart)."""
    found = []
    for importer, targets in imports.items():
        source = stage(importer)
        for target, line in targets:
            into = stage(target)
            if target == PACKAGE and source not in FACE_USERS:
                found.append((importer, target, line, "imports the package face (only cli/ and plot/ may)"))
            elif target == f"{PACKAGE}.baseline":
                found.append((importer, target, line, "imports the SciPy baseline (tests and benchmarks only)"))
            elif into != source and source in ONLY and into not in ONLY[source]:
                allowed = ", ".join(sorted(ONLY[source] | {source})) or "nothing"
                found.append((importer, target, line, f"{source}/ may import only {allowed}"))
            elif into in NEVER.get(source, ()):
                found.append((importer, target, line, f"{source}/ must not import {into}/"))
    return found


def shortest_cycle(edges, members):
    """One shortest cycle ``[a, b, ..., a]`` through the strongly connected ``members`` of ``{node: {node}}``
    (a breadth-first search back to each start)."""
    best = None
    for start in sorted(members):
        previous, queue, end = {start: None}, [start], None
        while queue and end is None:
            node = queue.pop(0)
            for following in sorted(edges.get(node, ())):
                if following == start:
                    end = node
                    break
                if following in members and following not in previous:
                    previous[following] = node
                    queue.append(following)
        if end is None:
            continue
        path = [end]
        while previous[path[-1]] is not None:
            path.append(previous[path[-1]])
        cycle = path[::-1] + [start]
        if best is None or len(cycle) < len(best):
            best = cycle
    return best


def cycle_violations(imports):
    """``[(description of a cycle)]`` between modules and between stages: for each knot of mutually importing
    modules (or stages), one shortest cycle through it, every link with the line of an import that makes it."""
    found = []
    modules = {m: {t for t, _ in targets} for m, targets in imports.items()}
    line_of = {(m, t): line for m, targets in imports.items() for t, line in targets}
    for component in cycles(modules):
        path = shortest_cycle(modules, set(component))
        found.append("module cycle: " + " -> ".join(
            f"{a} (line {line_of[a, b]})" for a, b in zip(path, path[1:])) + f" -> {path[-1]}")
    stages, stage_line = {}, {}
    for m, targets in imports.items():
        for t, line in targets:
            if stage(t) != stage(m):
                stages.setdefault(stage(m), set()).add(stage(t))
                stage_line.setdefault((stage(m), stage(t)), f"{m} -> {t}, line {line}")
    for component in cycles(stages):
        path = shortest_cycle(stages, set(component))
        found.append("stage cycle: " + " -> ".join(
            f"{a} ({stage_line[a, b]})" for a, b in zip(path, path[1:])) + f" -> {path[-1]}")
    return found


def report(imports=None):
    """Every violation in words, one per line (the allowed ones marked)."""
    imports = graph() if imports is None else imports
    lines = [f"{'(allowed) ' if (a, b) in ALLOWED else ''}{a} -> {b} (line {line}): {rule}"
             for a, b, line, rule in rule_violations(imports)]
    return lines + cycle_violations(imports)


@pytest.mark.parametrize("name", module_names())
def test_every_module_imports(name):
    if name == f"{PACKAGE}.__main__":  # importing it runs the command line; its syntax tree is in the graph
        assert importlib.util.find_spec(name) is not None
        return
    importlib.import_module(name)


def test_import_rules():
    imports = graph()
    broken = [v for v in rule_violations(imports) if (v[0], v[1]) not in ALLOWED]
    for importer, target, line, rule in broken:
        print(f"{importer} -> {target} (line {line}): {rule}")
    assert not broken, f"{len(broken)} imports break the rules (printed above)"


def test_no_import_cycles():
    imports = graph()
    # an allowed violation may close a cycle only through its own edge: leave those edges out
    kept = {m: [(t, line) for t, line in targets if (m, t) not in ALLOWED] for m, targets in imports.items()}
    found = cycle_violations(kept)
    for line in found:
        print(line)
    assert not found, f"{len(found)} import cycles (printed above)"


def test_allowed_violations_still_occur():
    """The allow-list only names imports that exist and break a rule: a fixed one must leave the list."""
    imports = graph()
    occurring = {(a, b) for a, b, _, _ in rule_violations(imports)}
    occurring |= {(m, t) for m, targets in imports.items() for t, _ in targets}  # edges that may close a cycle
    stale = sorted(ALLOWED - occurring)
    assert not stale, f"allowed violations that no longer occur, remove them from ALLOWED: {stale}"


def test_rules_see_a_bad_import():
    """The checks see a function-local import that breaks a rule and closes a cycle (on a copy of the graph)."""
    imports = graph()
    imports["optimal.laws.family"] = imports["optimal.laws.family"] + [("optimal.fitting.fit", 999)]
    assert any(v[:3] == ("optimal.laws.family", "optimal.fitting.fit", 999) for v in rule_violations(imports))
    assert any("optimal.laws.family (line 999) -> optimal.fitting.fit" in c for c in cycle_violations(imports))


def test_public_names_are_listed():
    """``optimal.__all__`` names every public name of the package face (grouped by stage there), and each exists;
    the subpackages are reached as attributes, not exported."""
    listed = set(optimal.__all__)
    assert len(listed) == len(optimal.__all__), "a name is listed twice in optimal.__all__"
    missing = sorted(name for name in listed if not hasattr(optimal, name))
    assert not missing, f"optimal.__all__ names what the package does not define: {missing}"
    public = {name for name, value in vars(optimal).items()
              if not name.startswith("_") and not type(value).__name__ == "module"}
    assert public == listed, f"not in __all__: {sorted(public - listed)}; in __all__ only: {sorted(listed - public)}"
    assert {"Family", "custom_family"} <= listed


if __name__ == "__main__":
    for line in report():
        print(line)
