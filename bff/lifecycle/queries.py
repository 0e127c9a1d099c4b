"""The lifecycle tab as the viewer sees it, in a fixed number of statements whatever it holds.

Five SELECTs (``lifecycle_rows``): owned products, their SKUs, replenishments, the latest order
placed per SKU and the latest notice opened (the last two decide DORMANT); the tab's offers are
made from the same rows. Stages, maintenance and statuses are then
computed by the same functions the scans use (stages.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from tortoise.functions import Max

from bff.lifecycle import stages
from bff.lifecycle.rules import DEFAULT_RULES, LifecycleRules
from bff.lifecycle.stages import MaintenanceItem, Stage
from bff.models.lifecycle import OwnedProduct, Replenishment, ReplenishmentStatus
from bff.models.notices import NoticeOpen
from bff.models.orders import OrderItem, Sku


@dataclass(frozen=True)
class OwnedView:
    sku_code: str
    name: str
    stage: Stage
    purchased_at: datetime  # the latest delivery


@dataclass(frozen=True)
class ReplenishmentView:
    sku_code: str
    name: str
    last_purchased_at: datetime
    cycle_days: int
    predicted_run_out_at: datetime
    remind_at: datetime
    status: ReplenishmentStatus

    @classmethod
    def of(cls, row: Replenishment, now: datetime) -> ReplenishmentView:
        return cls(
            sku_code=row.sku_code,
            name=row.name,
            last_purchased_at=row.last_purchased_at,
            cycle_days=row.cycle_days,
            predicted_run_out_at=row.predicted_run_out_at,
            remind_at=row.remind_at,
            status=stages.replenishment_status(row.status, row.remind_at, now),
        )


@dataclass(frozen=True)
class MaintenanceView:
    sku_code: str
    title: str
    due_at: datetime
    note: str


@dataclass(frozen=True)
class OfferView:
    """An offer valid now, as the tab shows it (made by bff/offers)."""

    id: str
    kind: str
    title: str
    description: str
    expires_at: datetime


@dataclass(frozen=True)
class LifecycleView:
    owned_products: list[OwnedView]
    replenishments: list[ReplenishmentView]
    maintenance: list[MaintenanceView]
    offers: list[OfferView]


async def last_activity_of(user_ids: Iterable[int]) -> dict[tuple[int, str | None], datetime]:
    """The latest order placed per (user, SKU) and the latest notice opened per (user, None):
    what keeps an owned product out of DORMANT (two grouped SELECTs)."""
    ids = list(set(user_ids))
    if not ids:
        return {}
    ordered = (
        await OrderItem.filter(order__user_id__in=ids)
        .annotate(at=Max("order__placed_at"))
        .group_by("order__user_id", "sku_code")
        .values_list("order__user_id", "sku_code", "at")
    )
    opened = (
        await NoticeOpen.filter(user_id__in=ids)
        .annotate(at=Max("opened_at"))
        .group_by("user_id")
        .values_list("user_id", "at")
    )
    latest: dict[tuple[int, str | None], datetime] = {}
    for user_id, sku_code, at in ordered:
        if at is not None:
            latest[(int(user_id), str(sku_code))] = _aware(at)
    for user_id, at in opened:
        if at is not None:
            latest[(int(user_id), None)] = _aware(at)
    return latest


def _aware(value: object) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def product_last_active(
    activity: dict[tuple[int, str | None], datetime], user_id: int, sku_code: str
) -> datetime | None:
    return stages.last_activity(activity.get((user_id, sku_code)), activity.get((user_id, None)))


@dataclass(frozen=True)
class LifecycleRows:
    """What the tab reads of one user (five SELECTs): owned products (latest delivery first), their
    SKUs, replenishments (every status), the latest order per SKU and notice opened. The offers of
    the tab are made from the same rows (bff.offers.lifecycle_source.PreloadedLifecycle)."""

    user_id: int
    owned: list[OwnedProduct]
    skus: dict[str, Sku]
    replenishments: list[Replenishment]
    activity: dict[tuple[int, str | None], datetime]


async def lifecycle_rows(user_id: int) -> LifecycleRows:
    owned = await OwnedProduct.filter(user_id=user_id).order_by("-last_delivered_at", "sku_code")
    skus = (
        {s.sku_code: s for s in await Sku.filter(sku_code__in=[o.sku_code for o in owned])} if owned else {}
    )
    replenishments = await Replenishment.filter(user_id=user_id).order_by("remind_at", "sku_code")
    activity = await last_activity_of([user_id])
    return LifecycleRows(user_id, list(owned), skus, list(replenishments), activity)


async def lifecycle_of(
    user_id: int, *, now: datetime, rules: LifecycleRules = DEFAULT_RULES
) -> LifecycleView:
    return lifecycle_view(await lifecycle_rows(user_id), now=now, rules=rules)


def lifecycle_view(
    rows: LifecycleRows, *, now: datetime, rules: LifecycleRules = DEFAULT_RULES
) -> LifecycleView:
    """The tab from its rows: stages, maintenance and statuses by the functions the scans use."""
    user_id, owned, skus, activity = rows.user_id, rows.owned, rows.skus, rows.activity

    owned_views: list[OwnedView] = []
    items: list[MaintenanceItem] = []
    for product in owned:
        sku = skus.get(product.sku_code)
        owned_views.append(
            OwnedView(
                sku_code=product.sku_code,
                name=sku.name if sku else product.name,
                stage=stages.stage_of(
                    delivered_at=product.last_delivered_at,
                    renewal_after_days=sku.renewal_after_days if sku else None,
                    last_active_at=product_last_active(activity, user_id, product.sku_code),
                    now=now,
                    rules=rules,
                ),
                purchased_at=product.last_delivered_at,
            )
        )
        if sku is not None:
            items += stages.maintenance_items(
                user_id=user_id,
                sku_code=product.sku_code,
                name=sku.name,
                delivered_at=product.last_delivered_at,
                maintenance=sku.maintenance,
            )
    maintenance = [
        MaintenanceView(item.sku_code, item.title, item.due_at, stages.due_note(item, now))
        for item in sorted(items, key=lambda i: (i.due_at, i.sku_code, i.title))
        if stages.is_listed(item, now, rules)
    ]
    return LifecycleView(
        owned_products=owned_views,
        replenishments=[ReplenishmentView.of(row, now) for row in rows.replenishments],
        maintenance=maintenance,
        offers=[],
    )
