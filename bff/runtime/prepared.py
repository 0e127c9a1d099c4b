"""Statements built once: the SQL text tortoise builds for a read, kept by shape and dialect.

Tortoise builds a statement in about half a millisecond of CPU (pypika, queryset clones), five
times asyncpg's round trip (issue 12). `select` keeps the text of a read's statement the first
time a shape is run and afterwards runs the text through tortoise's own executor: the same rows
and model instances, the same statement log (tests count statements on it). Keys are few: a
shape name and the number of values bound (the order tab binds at most a page of ids).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from tortoise.models import Model
from tortoise.queryset import QuerySet

M = TypeVar("M", bound=Model)

_STATEMENTS: dict[tuple[Hashable, ...], str] = {}


async def select(
    model: type[M], shape: Hashable, params: list[Any], build: Callable[[], QuerySet[M]]
) -> list[M]:
    """The rows of ``build()`` run with ``params``; its SQL is built by tortoise on the first call of
    this shape and reused after, through tortoise's own executor (same rows, same model instances,
    same statement log). ``params`` must be the values ``build()`` binds, in order: checked when the
    statement is built, and a shape whose values differ is never remembered."""
    db = model._choose_db()
    key = (model.__name__, shape, len(params), db.capabilities.dialect)
    sql = _STATEMENTS.get(key)
    if sql is None:
        query = build()
        query._choose_db_if_not_chosen()
        query._make_query()
        sql, bound = query.query.get_parameterized_sql()
        if list(bound) != params:
            return await query
        _STATEMENTS[key] = sql
    executor = db.executor_class(model=model, db=db)
    return await executor.execute_select(sql, params)  # type: ignore[no-any-return]
