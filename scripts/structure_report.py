"""Print the structure figures of ``medai_core``: the largest modules, the functions over 60 lines or 15 branches,
and the import cycles and upward imports found by ``tests/unit/test_layers.py``'s checks.

Usage: ``python scripts/structure_report.py [REPO]`` (default: this checkout), e.g. on an export of an older commit
to compare before and after a restructuring.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
MAX_LINES, MAX_BRANCHES = 60, 15
_BRANCHES = (ast.If, ast.For, ast.While, ast.Try, ast.With, ast.BoolOp, ast.IfExp, ast.ExceptHandler, ast.comprehension)


def functions(root: Path) -> list[tuple[int, int, str]]:
    """(lines, branch nodes, ``file:function``) of every function in ``medai_core``, longest first."""
    rows = []
    for path in sorted((root / "medai_core").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                branches = sum(isinstance(n, _BRANCHES) for n in ast.walk(node))
                rows.append((lines, branches, f"{path.relative_to(root)}:{node.name}"))
    return sorted(rows, reverse=True)


def main() -> int:
    root = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else HERE
    sys.path[:0] = [str(HERE / "tests" / "unit"), str(HERE)]
    from test_layers import PROJECT_TOPS, cycles, import_graph, upward_edges

    sizes = sorted((len(p.read_text().splitlines()), p.relative_to(root)) for p in (root / "medai_core").rglob("*.py"))
    print("largest modules:")
    for n, path in sizes[::-1][:8]:
        print(f"  {n:>6}  {path}")
    rows = functions(root)
    long = [r for r in rows if r[0] > MAX_LINES or r[1] > MAX_BRANCHES]
    print(f"functions over {MAX_LINES} lines or {MAX_BRANCHES} branches: {len(long)}")
    for lines, branches, name in long[:10]:
        print(f"  {lines:>4} lines {branches:>3} branches  {name}")
    graph = import_graph(root, PROJECT_TOPS)
    found, upward = cycles(import_graph(root, PROJECT_TOPS, typing=False)), upward_edges(graph)
    print(f"import cycles: {len(found)}; upward imports: {len(upward)}")
    for item in [*(" <-> ".join(c) for c in found), *upward]:
        print(f"  {item}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
