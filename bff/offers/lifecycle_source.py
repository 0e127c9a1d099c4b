"""The lifecycle as the offers read it: owned products with their stage and since when.

Stages come from `bff.lifecycle.stages.stage_of`, the function the lifecycle tab and its scans use,
so an offer is made exactly when the tab shows the product in RENEWAL or the user DORMANT.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from bff.lifecycle import stages
from bff.lifecycle.queries import LifecycleRows, last_activity_of, product_last_active
from bff.lifecycle.rules import DEFAULT_RULES, LifecycleRules
from bff.models.lifecycle import OwnedProduct, Replenishment, ReplenishmentStatus
from bff.models.orders import Sku
from bff.offers.rules import OwnedStage, UserLifecycle


class LifecycleTables:
    """Reads owned products, SKUs, activity and dismissed replenishments in four queries per call."""

    def __init__(self, rules: LifecycleRules = DEFAULT_RULES) -> None:
        self.rules = rules

    def _since(
        self, stage: stages.Stage, delivered: datetime, renewal_days: int | None, active: datetime
    ) -> datetime:
        if stage is stages.Stage.RENEWAL and renewal_days is not None:
            return delivered + timedelta(days=renewal_days)
        if stage is stages.Stage.DORMANT:
            return active + timedelta(days=self.rules.dormant_after_days)
        if stage is stages.Stage.USAGE:
            return delivered + timedelta(days=self.rules.purchase_stage_days)
        return delivered

    async def lifecycle_of(self, user_ids: Sequence[int], now: datetime) -> Mapping[int, UserLifecycle]:
        ids = sorted(set(user_ids))
        if not ids:
            return {}
        owned = await OwnedProduct.filter(user_id__in=ids).order_by("user_id", "sku_code")
        skus = {s.sku_code: s for s in await Sku.filter(sku_code__in=sorted({p.sku_code for p in owned}))}
        activity = await last_activity_of(ids)
        dismissed: dict[int, set[str]] = defaultdict(set)
        for user_id, sku_code in await Replenishment.filter(
            user_id__in=ids, status=ReplenishmentStatus.DISMISSED
        ).values_list("user_id", "sku_code"):
            dismissed[int(user_id)].add(str(sku_code))  # type: ignore[call-overload]
        return self.build(ids, owned, skus, activity, dismissed, now)

    def build(
        self,
        ids: Sequence[int],
        owned: Sequence[OwnedProduct],
        skus: Mapping[str, Sku],
        activity: dict[tuple[int, str | None], datetime],
        dismissed: Mapping[int, set[str]],
        now: datetime,
    ) -> dict[int, UserLifecycle]:
        """The users' lifecycles from their rows; ``owned`` in (user, SKU) order."""
        products: dict[int, list[OwnedStage]] = defaultdict(list)
        for product in owned:
            sku = skus.get(product.sku_code)
            renewal_days = sku.renewal_after_days if sku is not None else None
            delivered = product.last_delivered_at
            active = stages.last_activity(
                product_last_active(activity, product.user_id, product.sku_code), delivered
            )
            assert active is not None
            stage = stages.stage_of(
                delivered_at=delivered,
                renewal_after_days=renewal_days,
                last_active_at=active,
                now=now,
                rules=self.rules,
            )
            products[product.user_id].append(
                OwnedStage(
                    sku_code=product.sku_code,
                    name=product.name,
                    category=sku.category if sku is not None else None,
                    stage=str(stage),
                    since=self._since(stage, delivered, renewal_days, active),
                    purchased_at=delivered,
                )
            )

        found: dict[int, UserLifecycle] = {}
        for user_id in ids:
            mine = tuple(products.get(user_id, ()))
            all_dormant = bool(mine) and all(p.stage == stages.Stage.DORMANT for p in mine)
            found[user_id] = UserLifecycle(
                owned=mine,
                dormant_since=max(p.since for p in mine) if all_dormant else None,
                dismissed=frozenset(dismissed.get(user_id, ())),
            )
        return found


class PreloadedLifecycle:
    """The lifecycle of the one user whose tab rows were read already (``lifecycle_rows``): the
    tab's offers cost no second read of owned products, SKUs, activity and replenishments."""

    def __init__(self, rows: LifecycleRows, rules: LifecycleRules = DEFAULT_RULES) -> None:
        self.rows = rows
        self.tables = LifecycleTables(rules)

    async def lifecycle_of(self, user_ids: Sequence[int], now: datetime) -> Mapping[int, UserLifecycle]:
        rows = self.rows
        ids = sorted(set(user_ids))
        if ids != [rows.user_id]:
            raise ValueError(f"preloaded for user {rows.user_id} only, asked for {ids}")
        owned = sorted(rows.owned, key=lambda p: p.sku_code)  # LifecycleTables' order
        dismissed = {
            rows.user_id: {
                r.sku_code for r in rows.replenishments if r.status == ReplenishmentStatus.DISMISSED
            }
        }
        return self.tables.build(ids, owned, rows.skus, rows.activity, dismissed, now)
