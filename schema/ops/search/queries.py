"""The operators' reads: who is calling, and the searches (thin: bff/ops/search.py does the work)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from bff.ops import search
from schema.errors import PublicError
from schema.ops.context import OpsInfo
from schema.ops.search.types import (
    AlertPageType,
    AuditEntryType,
    AuditPageType,
    CommandPageType,
    NoticeFilterInput,
    NoticePageType,
    OperatorType,
    OpsAlertType,
    OpsCommandType,
    OpsNoticeType,
)

DEFAULT_FIRST = 20
FilterArgument = Annotated[NoticeFilterInput | None, strawberry.argument(name="filter")]


def _first(first: int | None) -> int:
    return DEFAULT_FIRST if first is None else first


@strawberry.type
class SearchQueries:
    @strawberry.field(description="the name of the caller's key (OPS_API_KEY name=key)")
    def operator(self, info: OpsInfo) -> OperatorType:
        return OperatorType(name=info.context.operator)

    @strawberry.field(description="newest first")
    async def notices(
        self,
        info: OpsInfo,
        filter_: FilterArgument = None,
        first: int | None = DEFAULT_FIRST,
        after: str | None = None,
    ) -> NoticePageType:
        spec = filter_.to_domain() if filter_ is not None else search.NoticeFilter()
        zone = info.context.resources.settings.zone
        try:
            page = await search.list_notices(spec, zone=zone, first=_first(first), after=after)
        except search.OpsRequestError as exc:
            raise PublicError(str(exc)) from None
        nodes = [OpsNoticeType.of(view, info.context) for view in page.nodes]
        return NoticePageType(nodes=nodes, end_cursor=page.end_cursor, has_next_page=page.has_next_page)

    @strawberry.field(description="newest first; status PENDING / SENDING / SENT / FAILED")
    async def commands(
        self,
        info: OpsInfo,
        status: str | None = None,
        first: int | None = DEFAULT_FIRST,
        after: str | None = None,
    ) -> CommandPageType:
        try:
            page = await search.list_commands(status=status, first=_first(first), after=after)
        except search.OpsRequestError as exc:
            raise PublicError(str(exc)) from None
        nodes = [OpsCommandType.of(row, info.context) for row in page.nodes]
        return CommandPageType(nodes=nodes, end_cursor=page.end_cursor, has_next_page=page.has_next_page)

    @strawberry.field(description="newest lastSeenAt first; by default only those needing attention")
    async def alerts(
        self,
        info: OpsInfo,
        include_acknowledged: bool | None = False,
        first: int | None = DEFAULT_FIRST,
        after: str | None = None,
    ) -> AlertPageType:
        try:
            page = await search.list_alerts(
                include_acknowledged=bool(include_acknowledged), first=_first(first), after=after
            )
        except search.OpsRequestError as exc:
            raise PublicError(str(exc)) from None
        nodes = [OpsAlertType.of(view, info.context) for view in page.nodes]
        return AlertPageType(nodes=nodes, end_cursor=page.end_cursor, has_next_page=page.has_next_page)

    @strawberry.field(description="newest first")
    async def audit_log(
        self, info: OpsInfo, first: int | None = DEFAULT_FIRST, after: str | None = None
    ) -> AuditPageType:
        try:
            page = await search.list_audit(first=_first(first), after=after)
        except search.OpsRequestError as exc:
            raise PublicError(str(exc)) from None
        nodes = [AuditEntryType.of(row, info.context) for row in page.nodes]
        return AuditPageType(nodes=nodes, end_cursor=page.end_cursor, has_next_page=page.has_next_page)
