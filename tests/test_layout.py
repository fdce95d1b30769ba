"""The folders tell the architecture: rooms by domain, small modules, no package cycles.

A newcomer finds a feature by its folder's name; these tests keep the hallway
(`gateway/`'s top level) short, every module readable in one sitting, and the
dependencies between rooms pointing one way, so any room can be read (and tested)
without the ones that use it.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

from gateway.settings import REPO_ROOT

SOURCE_PACKAGES = ("core", "gateway", "channels", "agent_console", "demo_shop")
MAX_TOP_LEVEL_MODULES = 12
MAX_MODULE_LINES = 400


def _modules() -> dict[str, Path]:
    """Every source module by its dotted name."""
    found: dict[str, Path] = {}
    for package in SOURCE_PACKAGES:
        for path in sorted((REPO_ROOT / package).rglob("*.py")):
            parts = path.relative_to(REPO_ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _room(module: str) -> str:
    """The unit a dependency is drawn between: a top-level package, a room of gateway's,
    or one of gateway's own top-level modules (app and cli compose the rooms; keys,
    settings, texts and the like sit below all of them).
    """
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "gateway" and len(parts) > 1 else parts[0]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def _room_graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in modules.items():
        for imported in _imports(path):
            if imported in modules:
                source, target = _room(name), _room(imported)
                if source != target:
                    graph[source].add(target)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The groups of rooms that reach one another (Tarjan's strongly connected components)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = [stack.pop()]
            while group[-1] != node:
                group.append(stack.pop())
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def test_gateway_top_level_is_a_short_hallway() -> None:
    top_level = sorted(p.name for p in (REPO_ROOT / "gateway").glob("*.py"))

    assert len(top_level) <= MAX_TOP_LEVEL_MODULES, top_level


def test_no_source_module_is_too_long_to_read() -> None:
    too_long = {
        str(path.relative_to(REPO_ROOT)): lines
        for path in _modules().values()
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }

    assert not too_long, too_long


def test_no_room_imports_one_that_imports_it_back() -> None:
    assert _cycles(_room_graph()) == []


def test_shared_types_import_nothing_of_storechat() -> None:
    graph = _room_graph()

    assert graph.get("core", set()) == set()
    # The demo shop is mounted by the gateway, so it must not lean on it.
    assert graph.get("demo_shop", set()) <= {"core"}
    for room in ("channels", "agent_console"):
        assert graph.get(room, set()) <= {"core"}, (room, graph.get(room))


def test_the_cycle_check_can_fail() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": {"c"}}) == []
