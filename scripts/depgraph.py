"""Print the dependency graph between the project's packages, and its cycles.

    python scripts/depgraph.py            # edges "a -> b" and any cycles
    python scripts/depgraph.py --modules  # module cycles inside each package too

A node is a package of the project: `schema`, `tasks`, `wxsandbox`, and each package or top-level
module of `bff` (`bff.orders`, `bff.notices`, `bff.runtime`, ...). Every import counts, also one
inside a function and `importlib.import_module("...")` with a literal name, because a lazy import
is still a dependency. `tests/test_layering.py` uses the same functions.
"""

from __future__ import annotations

import argparse
import ast
import functools
import json
import subprocess
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOP_PACKAGES = ("bff", "schema", "tasks", "wxsandbox")


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules(root: Path = ROOT) -> dict[str, Path]:
    """Every module of the project's packages, by dotted name."""
    found: dict[str, Path] = {}
    for top in TOP_PACKAGES:
        for path in sorted((root / top).rglob("*.py")):
            found[module_name(path, root)] = path
    return found


def _resolve_relative(module: str, is_package: bool, level: int, target: str | None) -> str:
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (level - 1)] if level > 1 else base
    return ".".join([*base, target] if target else base)


def imports_of(module: str, path: Path) -> set[str]:
    """Dotted names this module imports, anywhere in its body."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except SystemError:
        # CPython 3.11 before 3.11.8 (gh-106905): once an AST conversion is interrupted, every later
        # ast.parse in the process fails with "AST constructor recursion depth mismatch". A test
        # process that ran threaded servers can be in that state; a fresh interpreter is not.
        depth = len(module.split(".")) - (0 if path.name == "__init__.py" else 1)
        return set(_imports_from_a_fresh_interpreter(str(path.parents[depth]))[module])
    is_package = path.name == "__init__.py"
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            target = (
                _resolve_relative(module, is_package, node.level, node.module)
                if node.level
                else node.module or ""
            )
            names.add(target)
            # `from bff.notices import sender` imports the module bff.notices.sender
            names.update(f"{target}.{alias.name}" for alias in node.names)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names.add(node.args[0].value)
    return names


def package_of(module: str) -> str:
    """The graph node a module belongs to: `bff.<first part>` inside bff, else the top package."""
    parts = module.split(".")
    if parts[0] == "bff" and len(parts) > 1:
        return f"bff.{parts[1]}"
    return parts[0]


def module_graph(root: Path = ROOT) -> dict[str, set[str]]:
    modules = project_modules(root)
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        # `from bff import constants` names the empty root package too: only the module counts
        targets = {i for i in imports_of(name, path) if i in modules and i not in TOP_PACKAGES}
        graph[name] = targets - {name}
    return graph


def package_graph(root: Path = ROOT) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module, targets in module_graph(root).items():
        source = package_of(module)
        edges = graph.setdefault(source, set())
        edges.update(package_of(target) for target in targets if package_of(target) != source)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def module_cycles_within_packages(root: Path = ROOT) -> list[list[str]]:
    graph = module_graph(root)
    inside = {
        module: {target for target in targets if package_of(target) == package_of(module)}
        for module, targets in graph.items()
    }
    return cycles(inside)


def edge_lines(graph: dict[str, set[str]]) -> Iterator[str]:
    for source in sorted(graph):
        for target in sorted(graph[source]):
            yield f"{source} -> {target}"


def _print_cycles(title: str, found: Iterable[list[str]]) -> int:
    found = list(found)
    print(f"\n{title}: {len(found)}")
    for component in found:
        print("  " + " <-> ".join(component))
    return len(found)


@functools.cache
def _imports_from_a_fresh_interpreter(root: str) -> dict[str, list[str]]:
    script = Path(__file__).resolve()
    answer = subprocess.run(
        [sys.executable, str(script), "--imports-json", "--root", root],
        capture_output=True,
        text=True,
        check=True,
    )
    found: dict[str, list[str]] = json.loads(answer.stdout)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--modules", action="store_true", help="also list module cycles inside packages")
    parser.add_argument("--imports-json", action="store_true", help="print every module's imports as JSON")
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.imports_json:
        modules = project_modules(args.root)
        print(json.dumps({name: sorted(imports_of(name, path)) for name, path in modules.items()}))
        return 0
    graph = package_graph()
    print("\n".join(edge_lines(graph)))
    count = _print_cycles("package cycles", cycles(graph))
    if args.modules:
        count += _print_cycles("module cycles inside a package", module_cycles_within_packages())
    return 1 if count else 0


if __name__ == "__main__":
    raise SystemExit(main())
