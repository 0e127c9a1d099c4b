"""Helpers of the offers tests: members, a lifecycle as the lifecycle package would report it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from arq.connections import ArqRedis

from bff.catalog.templates_file import TemplatesFile, load_templates_file
from bff.models import User
from bff.notices.planner import NoticeContext
from bff.offers.rules import UserLifecycle

SHANGHAI = ZoneInfo("Asia/Shanghai")
BUNDLED = load_templates_file()
MEMBER_TEMPLATE = "tmpl-member-benefit-0001"
OFFER_TEMPLATE = "tmpl-offer-0001"


def context(arq: ArqRedis | None, templates: TemplatesFile = BUNDLED) -> NoticeContext:
    return NoticeContext(templates=templates, zone=SHANGHAI, arq=arq)


def openid(n: int) -> str:
    return f"oOFFER{n:022d}"


async def member(n: int, *, at: datetime, points: int = 100, birthday: str | None = None) -> User:
    """A user the member system described (member.upsert at ``at``)."""
    return await User.create(openid=openid(n), points=points, birthday=birthday, member_updated_at=at)


class FixedLifecycle:
    """A LifecycleSource answering from a dict: what the lifecycle package reports, per user."""

    def __init__(self, by_user: Mapping[int, UserLifecycle]) -> None:
        self.by_user = dict(by_user)

    async def lifecycle_of(self, user_ids: Sequence[int], now: datetime) -> Mapping[int, UserLifecycle]:
        return {u: self.by_user[u] for u in user_ids if u in self.by_user}
