"""The import directions docs/architecture.md draws, read from the code's own imports (function-level ones too):
apps import only the apps below them, nothing imports in a circle, services never import tasks, tasks and the
storefront API call services and selectors, benchmarks share helpers only through bench.common, and no module
grows past what one reading takes in."""

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# From the bottom up: each app may import those before it, never those after.
LAYERS = ["config", "catalog", "recommender", "homepage", "merchandising"]
# The URL root routes to every app.
ROUTING = {"config.urls"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules(*packages: str) -> dict[str, Path]:
    found = {}
    for package in packages:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" not in path.parts:
                found[_module_name(path)] = path
    return found


PRODUCT = _modules(*LAYERS)
BENCH = _modules("bench")
ALL = {**PRODUCT, **BENCH}


def _imports(module: str, path: Path) -> set[str]:
    """The modules (of this repository) that `module` imports, anywhere in it."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # `from a import b` imports the module a.b when there is one, else names of a.
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in ALL else base for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in ALL:
                target = target.rpartition(".")[0]
            if target and target != module:
                found.add(target)
    return found


GRAPH = {module: _imports(module, path) for module, path in ALL.items()}


def _app(module: str) -> str:
    return module.split(".")[0]


def _layer_breaks() -> list[str]:
    breaks = []
    for module in PRODUCT:
        if module in ROUTING:
            continue
        for target in GRAPH[module]:
            app, target_app = _app(module), _app(target)
            if target_app not in LAYERS or LAYERS.index(target_app) <= LAYERS.index(app):
                continue
            breaks.append(f"{module} -> {target}")
    return sorted(breaks)


def test_each_app_imports_only_the_apps_below_it():
    assert _layer_breaks() == []


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index, low, on_stack, stack, groups = {}, {}, set(), [], []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def test_no_modules_import_each_other_in_a_circle():
    assert _cycles(GRAPH) == []


def _importing(kind: str) -> list[str]:
    return [module for module in PRODUCT if kind in module.split(".")]


@pytest.mark.parametrize("kind, forbidden", [
    ("services", {"tasks", "api", "views"}),
    ("selectors", {"tasks", "api", "views"}),
    ("tasks", {"api", "views", "selectors", "forms"}),
    ("api", {"tasks", "views", "ml"}),
])
def test_each_kind_of_module_stays_out_of_the_layers_it_must_not_reach(kind, forbidden):
    reached = {
        f"{module} -> {target}"
        for module in _importing(kind)
        for target in GRAPH[module]
        if forbidden & set(target.split("."))
    }
    assert reached == set()


def test_benchmarks_import_the_product_and_bench_common_never_each_other():
    crossed = {
        f"{module} -> {target}"
        for module in BENCH
        if not module.startswith("bench.common")
        for target in GRAPH[module]
        if _app(target) == "bench" and not target.startswith("bench.common")
    }
    assert crossed == set()


MODULE_LINES_MAX = 400


def test_no_module_carries_more_than_a_newcomer_reads_at_once():
    # Past this, a module holds several responsibilities: split it into a package by concern.
    longest = {module: len(path.read_text(encoding="utf-8").splitlines()) for module, path in ALL.items()}
    assert {module: lines for module, lines in longest.items() if lines > MODULE_LINES_MAX} == {}


def test_the_reader_finds_the_imports_it_checks():
    # A reader that found nothing would pass every test above.
    assert "homepage.arms" in GRAPH["homepage.services.serve"]
    assert "merchandising.lookups" in GRAPH["merchandising.services.drafts"]
    assert "bench.common.swarm" in GRAPH["bench.soak"]
    assert sum(len(targets) for targets in GRAPH.values()) > 300
    planted = defaultdict(set, {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}})
    assert _cycles(planted) == [["a", "b", "c"]]
