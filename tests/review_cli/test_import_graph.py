"""review_cli's modules import each other without cycles, counting late imports inside functions.

tips.py and triage.py used to import each other (tips.py late, inside a
function, to dodge the cycle at import time); what both need now lives in
modules both import (index.py, triage_record.py, workspace.py). This keeps
every module so: a late import is still a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "review_cli"


def _imports(path: Path, *, late: bool = True) -> set[str]:
    """review_cli modules ``path`` imports (also under ``if TYPE_CHECKING``; inside functions too if ``late``)."""
    found: set[str] = set()
    pending: list[ast.stmt] = list(ast.parse(path.read_text()).body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and not late:
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level == 1 and node.module:
                found.add(node.module.split(".")[0])
            elif node.level == 1:
                found.update(alias.name for alias in node.names)
            elif node.module and node.module.startswith("review_cli."):
                found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("review_cli."))
        pending.extend(child for child in ast.iter_child_nodes(node) if isinstance(child, ast.stmt))
    return found


def _graph(package: Path = PACKAGE, *, late: bool = True) -> dict[str, set[str]]:
    return {path.stem: _imports(path, late=late) for path in package.glob("*.py")}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the path, 2: done
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = 1
        path.append(module)
        for imported in sorted(graph.get(module, ())):
            if state.get(imported) == 1:
                return [*path[path.index(imported) :], imported]
            if imported not in state and (found := visit(imported)):
                return found
        path.pop()
        state[module] = 2
        return None

    for module in sorted(graph):
        if module not in state and (found := visit(module)):
            return found
    return None


def test_review_cli_has_no_import_cycle() -> None:
    assert _cycle(_graph()) is None, " -> ".join(_cycle(_graph()) or [])


def test_tips_and_triage_do_not_import_each_other() -> None:
    graph = _graph()
    assert "triage" not in graph["tips"] and "tips" not in graph["triage"]
    assert "triage" not in _graph(late=False)["tips"]
    assert {"index", "triage_record"} <= graph["tips"] and {"index", "triage_record"} <= graph["triage"]


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
