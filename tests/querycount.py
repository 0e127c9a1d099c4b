"""Count the SQL statements tortoise sends, on SQLite and PostgreSQL alike.

Every tortoise client logs each statement at DEBUG on the `tortoise.db_client` logger before
running it (execute_query, execute_query_dict, execute_insert, execute_many, execute_script), so
a handler on that logger sees every statement whatever the engine.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

_SQL_VERBS = ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH")


class _Counter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.statements: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args
        text = str(args[0]) if isinstance(args, tuple) and args else str(record.msg)
        if text.lstrip().upper().startswith(_SQL_VERBS):
            self.statements.append(text)


@contextmanager
def count_queries() -> Iterator[list[str]]:
    """`with count_queries() as statements:` … `len(statements)` is the number of SQL statements."""
    logger = logging.getLogger("tortoise.db_client")
    counter = _Counter()
    previous = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(counter)
    try:
        yield counter.statements
    finally:
        logger.removeHandler(counter)
        logger.setLevel(previous)
