"""No import cycle inside course_utils/ and autograder/ (issue 20): each pair of modules imports one way.

The graph: a node per module of the two packages; an edge A -> B for every ``import``/``from ... import``
in A's source that names B, at module level *and inside functions* (a function-local import is still
a dependency: it runs on first call, and the grader's sealed copy of the package follows it too).
Relative imports are resolved against A's package. ``from P import name`` is an edge to ``P.name`` when
that is a module, otherwise to ``P``. Not edges: a package's parents (Python imports them first
whatever the importing module says), and modules named only in strings (the rule registry's
"module:attribute" backends, imported by ``importlib`` on first use).
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("course_utils", "autograder")


def module_files(packages=PACKAGES, root: Path = ROOT) -> dict[str, Path]:
    """{dotted module name: path} for every .py file of the packages."""
    files = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            parts = path.relative_to(root).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            files[name] = path
    return files


def _absolute(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute module that ``from <node.level dots><node.module> import ...`` in ``module`` names."""
    if not node.level:
        return node.module or ""
    parts = module.split(".") if is_package else module.split(".")[:-1]
    parts = parts[:len(parts) - (node.level - 1)]
    return ".".join(parts + ([node.module] if node.module else []))


def imports_of(module: str, path: Path, modules) -> dict[str, int]:
    """{imported module of ``modules``: line of the first import of it} in ``module``'s source, every
    import statement at any depth (module level, functions, classes, try/if blocks)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    found: dict[str, int] = {}

    def add(target: str, line: int):
        if target in modules and target != module:
            found.setdefault(target, line)

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(module, is_package, node)
            for alias in node.names:
                if f"{base}.{alias.name}" in modules:
                    add(f"{base}.{alias.name}", node.lineno)
                else:
                    add(base, node.lineno)
    return found


def import_graph(packages=PACKAGES, root: Path = ROOT) -> dict[str, dict[str, int]]:
    files = module_files(packages, root)
    return {name: imports_of(name, path, files) for name, path in files.items()}


def cycles(graph: dict[str, dict]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
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
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(out)


def _describe(component, graph, files) -> str:
    edges = [f"{a} -> {b} ({files[a].relative_to(ROOT)}:{graph[a][b]})"
             for a in component for b in sorted(graph[a]) if b in component]
    return "; ".join(edges)


def test_no_import_cycle_in_course_utils_or_autograder():
    """(The last cycle, batch <-> report, went when the journal and the file helpers moved to
    autograder.records, below both.)"""
    graph, files = import_graph(), module_files()
    found = cycles(graph)
    assert not found, "import cycles (each module of a cycle imports the next, directly or in a " \
        "function); give each pair one direction:\n" + "\n".join(_describe(c, graph, files) for c in found)


def test_the_walk_sees_every_kind_of_import(tmp_path):
    """The walk itself: relative imports at any level, imports inside functions, ``from . import mod``,
    and a cycle made only of function-local imports."""
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "low.py").write_text("X = 1\n")
    (pkg / "a.py").write_text("from .low import X\n\ndef f():\n    from .b import g\n    return g\n")
    (pkg / "b.py").write_text("def g():\n    from . import a\n    return a\n")
    (pkg / "sub" / "c.py").write_text("from ..low import X\nimport pkg.a\n")
    (pkg / "sub" / "d.py").write_text("from .. import low\nfrom . import c\n")
    graph = import_graph(("pkg",), tmp_path)
    assert graph["pkg.a"] == {"pkg.low": 1, "pkg.b": 4}
    assert graph["pkg.b"] == {"pkg.a": 2}
    assert graph["pkg.sub.c"] == {"pkg.low": 1, "pkg.a": 2}
    assert graph["pkg.sub.d"] == {"pkg.low": 1, "pkg.sub.c": 2}
    assert cycles(graph) == [["pkg.a", "pkg.b"]]


@pytest.mark.parametrize("lower, upper", [
    # tutorial 05: both the reference and its twin take the neurons' constants from course_utils.neurons;
    # the reference's run_rule runs the twin for backend="jax", and the twin never imports the reference
    ("course_utils.neurons", "course_utils.online"),
    ("course_utils.neurons", "course_utils.jax.online"),
    ("course_utils.jax.online", "course_utils.online"),
    # the shared measures (cosine similarity, angle, gradient SNR) sit below the tutorials' modules
    ("course_utils.metrics", "course_utils.perturbation"),
    # the table of rules (and their type) sits below the registry, which registers each entry explicitly
    ("course_utils.rules", "course_utils.registry"),
])
def test_the_pairs_of_issue_20_import_one_way(lower, upper):
    graph = import_graph()
    assert lower in graph[upper], f"{upper} should import {lower}"
    assert upper not in _reachable(graph, lower), f"{lower} imports {upper}, directly or through others"
    assert not [m for m in graph[lower] if m.startswith("course_utils.") and lower == "course_utils.rules"], \
        "course_utils.rules imports nothing of the course"


def _reachable(graph, start) -> set:
    seen, todo = set(), [start]
    while todo:
        for nxt in graph[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen
