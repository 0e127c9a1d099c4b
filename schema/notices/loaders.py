"""DataLoaders of notices, built once per request (`Context.loader`)."""

from __future__ import annotations

from strawberry.dataloader import DataLoader

from bff.catalog.templates_file import templates_of
from bff.models.notices import Notice
from bff.notices.queries import OrderKey, notices_by_order
from schema.context import Info


async def _load_by_order(keys: list[OrderKey]) -> list[list[Notice]]:
    found = await notices_by_order(keys)
    return [found.get(key, []) for key in keys]


def by_order(info: Info) -> DataLoader[OrderKey, list[Notice]]:
    """(user id, order number) → that order's notices, oldest first; one query per batch."""
    return info.context.loader("notices.by_order", lambda: DataLoader(_load_by_order))  # type: ignore[no-any-return]


def template_title(info: Info, template_id: str) -> str:
    """The template's title from the templates file (its id when the file no longer has it)."""
    template = templates_of(info.context.resources.settings).by_id(template_id)
    return template.title if template is not None else template_id
