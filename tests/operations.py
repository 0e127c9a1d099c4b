"""The mini-program's own documents (schema/operations/miniprogram.graphql), by operation name:
tests send exactly what the mini-program sends."""

from __future__ import annotations

from pathlib import Path

from graphql import OperationDefinitionNode, parse

OPERATIONS_FILE = Path(__file__).resolve().parents[1] / "schema" / "operations" / "miniprogram.graphql"


def contract_operations() -> list[tuple[str, str]]:
    """(name, document) of every operation, in file order, each as written in the file."""
    source = OPERATIONS_FILE.read_text(encoding="utf-8")
    operations = []
    for definition in parse(source).definitions:
        assert isinstance(definition, OperationDefinitionNode) and definition.name is not None
        assert definition.loc is not None
        operations.append((definition.name.value, source[definition.loc.start : definition.loc.end]))
    return operations


OPERATIONS: dict[str, str] = dict(contract_operations())
