"""Domain code does not know the web framework or the GraphQL library (docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EDGE = {ROOT / "bff" / "web"}
FORBIDDEN = ("starlette", "strawberry", "uvicorn", "wxsandbox", "schema", "tasks")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_domain_modules_import_no_web_graphql_sandbox_or_job_code() -> None:
    # given every module of bff/ outside the HTTP edge and the CLI wiring
    offenders = []
    for path in (ROOT / "bff").rglob("*.py"):
        if any(edge in path.parents for edge in EDGE) or path.name in {"cli.py", "devserver.py"}:
            continue
        # when we read its imports
        for module in imported_modules(path):
            # then none of them is a framework, the sandbox, the schema or the jobs
            if module.split(".")[0] in FORBIDDEN:
                offenders.append(f"{path.relative_to(ROOT)} imports {module}")
    assert offenders == []
