"""Layers strictly downward, and no import cycle: every ``import`` of the project, read with ``ast``.

Module-level imports and imports inside functions count alike: an import deferred into a function is still a
dependency, and hiding a cycle there is what this test is for. Imports under ``TYPE_CHECKING`` count for the layer
order (a type named from above is still an upward dependency) but not for cycles (they never run). The layer order is
written once, in :data:`LAYERS` (docs/ARCHITECTURE.md shows the same table); a module may import its own layer
(cycles aside) and any layer below it, never one above, and one domain never imports another.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

from medai_core.domains import DOMAINS

REPO = Path(__file__).resolve().parents[2]

LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("frame", ("app", "pages")),
    ("ui", ("medai_core.ui",)),
    (
        "commands",
        (
            "medai_core.__main__",
            "medai_core.cli",
            "medai_core.admin_commands",
            "medai_core.scale_commands",
            "medai_core.batch",
            "medai_core.serve",
            "medai_core.fuzz",
            "medai_core.fuzz_structured",
            "medai_core.workers",
        ),
    ),
    ("results", ("medai_core.results", "medai_core.plots")),
    ("domains", tuple(f"medai_core.{domain.package}" for domain in DOMAINS)),  # ct, glucose, genomics
    ("kernel", ("medai_core",)),
)
"""Top to bottom. A module belongs to the layer of the longest prefix that names it (``medai_core`` alone is the
kernel: models, explain, isolation, audit, deid, provenance, units, config, errors, untrusted, domains, reports,
...). ``reports`` (the case-report document and its HTML/PDF/JSON rendering) is kernel: it imports only kernel
modules, and each domain's ``report.py`` fills one in."""

DOMAIN_LAYER = "domains"


def layer_of(module: str, layers: Iterable[tuple[str, tuple[str, ...]]] = LAYERS) -> tuple[int, str, str] | None:
    """(rank from the top, layer name, matched prefix) of a project module, or None for a third-party module."""
    best: tuple[int, str, str] | None = None
    for rank, (name, prefixes) in enumerate(layers):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and (best is None or len(prefix) > len(best[2])):
                best = (rank, name, prefix)
    return best


def module_files(root: Path, tops: Iterable[str]) -> dict[str, Path]:
    """Dotted module name -> file, for the packages and files named in ``tops`` under ``root``."""
    found: dict[str, Path] = {}
    for top in tops:
        base = root / top
        files = sorted(base.rglob("*.py")) if base.is_dir() else [root / f"{top}.py"]
        for path in files:
            if not path.is_file():
                continue
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _resolve(name: str, modules: Mapping[str, Path]) -> str | None:
    """The project module an imported dotted name refers to (a module, or the package/module defining it)."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """The ids of the nodes inside ``if TYPE_CHECKING:`` (or ``typing.TYPE_CHECKING``) blocks."""
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            inside.update(id(child) for statement in node.body for child in ast.walk(statement))
    return inside


def imports_of(module: str, path: Path, modules: Mapping[str, Path], *, typing: bool = True) -> set[str]:
    """The project modules ``module`` imports anywhere in its file (top level, functions, and with ``typing`` the
    ``TYPE_CHECKING`` blocks)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    skip = set() if typing else _type_checking_nodes(tree)
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            names = [f"{base}.{alias.name}" for alias in node.names]
        for name in names:
            target = _resolve(name, modules)
            if target is not None and target != module:
                found.add(target)
    return found


def import_graph(root: Path, tops: Iterable[str], *, typing: bool = True) -> dict[str, set[str]]:
    """Module -> the project modules it imports (with ``typing``: also those imported only for type checking)."""
    modules = module_files(root, tops)
    return {name: imports_of(name, path, modules, typing=typing) for name, path in modules.items()}


def upward_edges(graph: Mapping[str, set[str]], layers: tuple[tuple[str, tuple[str, ...]], ...] = LAYERS) -> list[str]:
    """Every import that goes up the layer order, or from one domain package into another."""
    bad: list[str] = []
    for source, targets in sorted(graph.items()):
        here = layer_of(source, layers)
        for target in sorted(targets):
            there = layer_of(target, layers)
            if here is None or there is None:
                continue
            if there[0] < here[0]:
                bad.append(f"{source} ({here[1]}) imports {target} ({there[1]})")
            elif here[1] == there[1] == DOMAIN_LAYER and here[2] != there[2]:
                bad.append(f"{source} imports {target}: one domain never imports another")
    return bad


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


PROJECT_TOPS = ("app", "pages", "medai_core")


@pytest.fixture(scope="module")
def project_graph() -> dict[str, set[str]]:
    return import_graph(REPO, PROJECT_TOPS)


@pytest.fixture(scope="module")
def runtime_graph() -> dict[str, set[str]]:
    return import_graph(REPO, PROJECT_TOPS, typing=False)


def test_every_module_has_a_layer(project_graph: dict[str, set[str]]) -> None:
    assert [m for m in project_graph if layer_of(m) is None] == []


def test_imports_go_strictly_downward(project_graph: dict[str, set[str]]) -> None:
    assert upward_edges(project_graph) == []


def test_there_is_no_import_cycle(runtime_graph: dict[str, set[str]]) -> None:
    assert cycles(runtime_graph) == []


def _write(root: Path, files: Mapping[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_the_checks_fail_on_an_upward_import_a_cross_domain_import_and_a_cycle(tmp_path: Path) -> None:
    """The same checks on a synthetic tree: clean, then with one upward import hidden inside a function."""
    _write(
        tmp_path,
        {
            "medai_core/__init__.py": "",
            "medai_core/errors.py": "",
            "medai_core/cli/__init__.py": "from medai_core.ct import analysis\n",
            "medai_core/ct/__init__.py": "",
            "medai_core/ct/analysis.py": "from medai_core import errors\nfrom . import io\n",
            "medai_core/ct/io.py": "from ..errors import *\n",
            "medai_core/glucose/__init__.py": "",
            "medai_core/glucose/io.py": "import numpy\n",
        },
    )
    graph = import_graph(tmp_path, ("medai_core",))
    assert graph["medai_core.ct.analysis"] == {"medai_core.errors", "medai_core.ct.io"}
    assert upward_edges(graph) == [] and cycles(graph) == []

    _write(tmp_path, {"medai_core/ct/io.py": "def read():\n    from medai_core.cli import main\n"})
    graph = import_graph(tmp_path, ("medai_core",))
    assert upward_edges(graph) == ["medai_core.ct.io (domains) imports medai_core.cli (commands)"]
    assert cycles(graph) == [["medai_core.cli", "medai_core.ct.analysis", "medai_core.ct.io"]]

    _write(
        tmp_path,
        {
            "medai_core/ct/io.py": "",
            "medai_core/glucose/io.py": "import typing\nif typing.TYPE_CHECKING:\n    import medai_core.ct.io\n",
        },
    )
    graph = import_graph(tmp_path, ("medai_core",))
    assert upward_edges(graph) == ["medai_core.glucose.io imports medai_core.ct.io: one domain never imports another"]
    assert import_graph(tmp_path, ("medai_core",), typing=False)["medai_core.glucose.io"] == set()
