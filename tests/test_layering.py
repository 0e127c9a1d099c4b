"""The dependency direction of docs/architecture.md ("Layers"), checked on every import.

Lazy imports inside functions and `importlib.import_module("...")` count too (scripts/depgraph.py
reads them), because a hidden import is still a dependency.
"""

from __future__ import annotations

from scripts.depgraph import (
    ROOT,
    cycles,
    imports_of,
    module_cycles_within_packages,
    package_graph,
    project_modules,
)

EDGE_MODULES = {"bff.cli", "bff.devserver"}
EDGE_PACKAGES = {"bff.web", "bff.demo"}
FRAMEWORKS = ("starlette", "strawberry", "uvicorn")
ABOVE_DOMAIN = ("wxsandbox", "schema", "tasks")
# Lower layers first; a package may import its own layer's lower neighbours and any lower layer.
LAYERS: list[tuple[str, ...]] = [
    ("bff.constants", "bff.untrusted"),
    ("bff.models",),
    ("bff.runtime",),
    ("bff.wechat",),
    ("bff.catalog",),
    ("bff.supply_chain",),
    ("bff.orders",),
    ("bff.sessions", "bff.accounts", "bff.consent"),
    ("bff.notices",),
    ("bff.lifecycle",),
    ("bff.offers",),
    ("bff.ops",),
    ("bff.inbound",),
    ("bff.insight",),
]


def is_edge(module: str) -> bool:
    return module in EDGE_MODULES or any(module == p or module.startswith(p + ".") for p in EDGE_PACKAGES)


def test_domain_modules_import_no_web_graphql_sandbox_or_job_code() -> None:
    # given every module of bff/ outside the edge (HTTP app, CLI, dev server, demo data)
    offenders = []
    for name, path in project_modules().items():
        if not name.startswith("bff.") or is_edge(name):
            continue
        # when we read its imports, lazy ones included
        for module in imports_of(name, path):
            # then none of them is a framework, the sandbox, the schema or the jobs
            if module.split(".")[0] in FRAMEWORKS + ABOVE_DOMAIN:
                offenders.append(f"{path.relative_to(ROOT)} imports {module}")
    assert offenders == []


def test_no_package_depends_on_itself_through_others() -> None:
    # given the graph of every import between the project's packages
    graph = package_graph()

    # then it has no cycle: dependencies point one way
    assert cycles(graph) == []


def test_no_module_cycle_inside_a_package() -> None:
    assert module_cycles_within_packages() == []


def test_packages_import_only_their_layer_or_those_below() -> None:
    # given each domain package's layer (docs/architecture.md)
    rank = {package: level for level, packages in enumerate(LAYERS) for package in packages}
    upward = []
    for source, targets in package_graph().items():
        if source not in rank:
            continue
        for target in targets:
            # then no import points to a higher layer (the edge and tasks are above them all)
            if (target in rank and rank[target] > rank[source]) or target in EDGE_PACKAGES:
                upward.append(f"{source} -> {target}")
    assert sorted(upward) == []


def test_every_package_of_bff_has_a_layer() -> None:
    # a new package must be placed in LAYERS (and the docs) before it can be checked
    placed = set(rank_names()) | EDGE_PACKAGES | EDGE_MODULES
    unplaced = sorted(p for p in package_graph() if p.startswith("bff.") and p not in placed)
    assert unplaced == []


def rank_names() -> list[str]:
    return [package for packages in LAYERS for package in packages]
