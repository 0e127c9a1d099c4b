"""The schema accepts the mini-program's own operations (schema/operations/miniprogram.graphql) as written."""

from __future__ import annotations

import pytest
from graphql import parse, validate

from schema import schema
from tests.operations import contract_operations

# Every operation of the contract is built.
NOT_YET_BUILT: set[str] = set()

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
