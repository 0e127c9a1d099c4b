"""The schema accepts the mini-program's own operations (schema/operations/miniprogram.graphql) as written."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import OperationDefinitionNode, parse, validate

from schema import schema

CONTRACT = Path(__file__).resolve().parents[2] / "schema" / "operations" / "miniprogram.graphql"

# Every operation of the contract is built.
NOT_YET_BUILT: set[str] = set()


def contract_operations() -> list[tuple[str, str]]:
    document = parse(CONTRACT.read_text(encoding="utf-8"))
    source = CONTRACT.read_text(encoding="utf-8")
    operations = []
    for definition in document.definitions:
        assert isinstance(definition, OperationDefinitionNode) and definition.name is not None
        assert definition.loc is not None
        operations.append((definition.name.value, source[definition.loc.start : definition.loc.end]))
    return operations


OPERATIONS = [op for op in contract_operations() if op[0] not in NOT_YET_BUILT]


@pytest.mark.parametrize(("name", "document"), OPERATIONS, ids=[name for name, _ in OPERATIONS])
def test_contract_operation_validates_against_the_schema(name: str, document: str) -> None:
    # when the mini-program's document is validated against our schema
    errors = validate(schema._schema, parse(document))

    # then it is accepted as written
    assert [error.message for error in errors] == []


def test_the_contract_file_is_read_whole() -> None:
    # then every operation the mini-program ships is either checked above or listed as not yet built
    names = {name for name, _ in contract_operations()}
    assert len(names) == 16
    assert names >= NOT_YET_BUILT
