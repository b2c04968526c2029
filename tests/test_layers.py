"""The architecture as a test: imports point one way, cli -> app -> backends -> core, with no cycles.

Every module under sheets_crm/ is parsed with ast (nothing is imported), every import is collected —
module level, inside functions, and under TYPE_CHECKING — and resolved to the sheets_crm module it
names. A failure lists each offending edge as `importer -> imported (line N)`.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "sheets_crm"

#: the layers, highest first; a module may import its own layer or any layer below it
LAYERS = ("cli", "app", "backends", "core")
#: importable by anyone, imports nothing of ours
LEAVES = {"sheets_crm.errors"}
#: the package's front door and `python -m`: they re-export / start the CLI, above every layer
EXEMPT = {"sheets_crm", "sheets_crm.__main__"}
#: third-party packages the pure core must never touch (I/O, network, a backend's library)
CORE_FORBIDDEN = ("openpyxl", "gspread", "requests", "google", "googleapiclient", "google_auth_oauthlib", "httplib2")
#: the terminal belongs to the command line
CLI_ONLY = ("typer", "rich", "click")


@dataclass(frozen=True)
class Edge:
    source: str
    target: str  # a dotted name: one of our modules, or the third-party name as written
    line: int
    type_only: bool  # under `if TYPE_CHECKING:`: no run-time dependency

    def __str__(self) -> str:
        return f"{self.source} -> {self.target} (line {self.line}{', TYPE_CHECKING' if self.type_only else ''})"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def our_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST) -> list[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every import statement anywhere in the tree, with whether it sits under TYPE_CHECKING."""
    found: list[tuple[ast.Import | ast.ImportFrom, bool]] = []

    def walk(node: ast.AST, type_only: bool) -> None:
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append((node, type_only))
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                walk(child, True)
            for child in node.orelse:
                walk(child, type_only)
            return
        for child in ast.iter_child_nodes(node):
            walk(child, type_only)

    walk(tree, False)
    return found


def _resolve(name: str, known: set[str]) -> str:
    """The longest known module that `name` is or lies inside (`sheets_crm.core.model.Call` -> the module)."""
    while name not in known and "." in name:
        name = name.rsplit(".", 1)[0]
    return name


def edges_of(name: str, path: Path, known: set[str]) -> list[Edge]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    edges: list[Edge] = []
    for node, type_only in _imports(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            if node.level:  # relative: from the importer's package, up level-1 more
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if module == "__future__":
                continue
            # `from pkg import sub` names the submodule when it is one of ours
            targets = [f"{module}.{a.name}" if f"{module}.{a.name}" in known else module for a in node.names]
        for target in dict.fromkeys(targets):
            resolved = _resolve(target, known) if target.split(".")[0] == "sheets_crm" else target
            edges.append(Edge(name, resolved, node.lineno, type_only))
    return edges


def all_edges() -> list[Edge]:
    modules = our_modules()
    known = set(modules)
    return [edge for name, path in modules.items() for edge in edges_of(name, path, known)]


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "sheets_crm" and parts[1] in LAYERS else None


def _top(module: str) -> str:
    return module.split(".")[0]


def _report(title: str, bad: list[Edge]) -> str:
    return f"{title} ({len(bad)}):\n  " + "\n  ".join(str(e) for e in bad)


EDGES = all_edges()
OURS = [e for e in EDGES if _top(e.target) == "sheets_crm"]


def test_the_scan_sees_the_architecture():
    # guards the test itself: a parser that found nothing would pass every rule below
    modules = our_modules()
    assert {layer_of(m) for m in modules} >= set(LAYERS)
    assert any(e.source == "sheets_crm.app.sync" and e.target == "sheets_crm.core.planner" for e in OURS)
    assert any(e.source == "sheets_crm.backends.local.workbook" and e.target == "openpyxl" for e in EDGES)
    # an import inside a function counts too
    assert any(e.source == "sheets_crm.backends" and e.target == "sheets_crm.backends.local.workbook" for e in OURS)


def test_imports_point_down_the_layers():
    rank = {layer: i for i, layer in enumerate(LAYERS)}
    bad = []
    for e in OURS:
        if e.source in EXEMPT or e.target in LEAVES:
            continue
        if e.target == "sheets_crm":  # the package root: only for the version, only in the CLI
            if layer_of(e.source) != "cli":
                bad.append(e)
            continue
        src, dst = layer_of(e.source), layer_of(e.target)
        if src is None or dst is None or rank[dst] < rank[src]:
            bad.append(e)
    assert not bad, _report("imports against the layering cli -> app -> backends -> core", bad)


def test_errors_is_a_leaf():
    bad = [e for e in OURS if e.source in LEAVES]
    assert not bad, _report("sheets_crm/errors.py must import nothing of ours", bad)


def test_core_is_pure():
    bad = [e for e in EDGES if layer_of(e.source) == "core" and _top(e.target) in CORE_FORBIDDEN]
    assert not bad, _report("the core imports an I/O or backend library", bad)


def test_only_the_cli_talks_to_the_terminal():
    bad = [e for e in EDGES if _top(e.target) in CLI_ONLY and layer_of(e.source) != "cli"]
    assert not bad, _report("terminal libraries outside sheets_crm/cli", bad)


def test_the_product_never_imports_the_stand_in():
    bad = [e for e in EDGES if _top(e.target) == "google_standin"]
    assert not bad, _report("the Google stand-in is dev-only", bad)


@pytest.mark.parametrize(("one", "other"), [("local", "google"), ("google", "local")])
def test_backends_do_not_import_each_other(one, other):
    bad = [
        e
        for e in OURS
        if e.source.startswith(f"sheets_crm.backends.{one}") and e.target.startswith(f"sheets_crm.backends.{other}")
    ]
    assert not bad, _report(f"backends/{one} imports backends/{other} (only the factory in backends/__init__ may)", bad)


def find_cycles(edges: list[Edge]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each as a sorted list."""
    graph: dict[str, set[str]] = {}
    for e in edges:
        graph.setdefault(e.source, set()).add(e.target)
        graph.setdefault(e.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
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
            if len(component) > 1 or v in graph[v]:
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return cycles


def test_find_cycles_finds_one():
    fake = [Edge("a", "b", 1, False), Edge("b", "c", 1, False), Edge("c", "a", 1, False), Edge("c", "d", 1, False)]
    assert find_cycles(fake) == [["a", "b", "c"]]
    assert find_cycles(fake[1:]) == []


def test_no_import_cycles():
    # run-time imports only (a TYPE_CHECKING import cannot loop); the package root re-exports everything
    # lazily, so it is left out
    runtime = [e for e in OURS if not e.type_only and "sheets_crm" not in (e.source, e.target)]
    cycles = find_cycles(runtime)
    detail = [
        "  " + " <-> ".join(c) + "\n    " + "\n    ".join(str(e) for e in runtime if e.source in c and e.target in c)
        for c in cycles
    ]
    assert not cycles, "import cycles:\n" + "\n".join(detail)
