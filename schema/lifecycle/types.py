"""GraphQL types of the lifecycle tab (contracts: Lifecycle, SnoozeReplenishment, SetReplenishmentCycle,
DismissReplenishment). Times are ISO 8601 in the business time zone, like the order tab's."""

from __future__ import annotations

from datetime import datetime

import strawberry

from bff.lifecycle.queries import LifecycleView, MaintenanceView, OfferView, OwnedView, ReplenishmentView
from bff.lifecycle.stages import Stage
from bff.models.lifecycle import Replenishment, ReplenishmentStatus
from bff.offers.rules import OfferKind
from schema.errors import UserError

strawberry.enum(ReplenishmentStatus, name="ReplenishmentStatus")
strawberry.enum(Stage, name="LifecycleStage")
strawberry.enum(OfferKind, name="OfferKind")


def iso(value: datetime, zone: object) -> str:
    return value.astimezone(zone).isoformat()  # type: ignore[arg-type]


@strawberry.type(name="OwnedProduct")
class OwnedProductType:
    sku_code: str
    name: str
    stage: Stage
    purchased_at: str = strawberry.field(description="The latest delivery")

    @classmethod
    def of(cls, view: OwnedView, zone: object) -> OwnedProductType:
        return cls(
            sku_code=view.sku_code,
            name=view.name,
            stage=view.stage,
            purchased_at=iso(view.purchased_at, zone),
        )


@strawberry.type(name="Replenishment")
class ReplenishmentType:
    sku_code: str
    name: str
    last_purchased_at: str
    cycle_days: int
    predicted_run_out_at: str
    remind_at: str
    status: ReplenishmentStatus

    @classmethod
    def of(cls, view: ReplenishmentView, zone: object) -> ReplenishmentType:
        return cls(
            sku_code=view.sku_code,
            name=view.name,
            last_purchased_at=iso(view.last_purchased_at, zone),
            cycle_days=view.cycle_days,
            predicted_run_out_at=iso(view.predicted_run_out_at, zone),
            remind_at=iso(view.remind_at, zone),
            status=view.status,
        )

    @classmethod
    def of_row(cls, row: Replenishment, now: datetime, zone: object) -> ReplenishmentType:
        return cls.of(ReplenishmentView.of(row, now), zone)


@strawberry.type(name="MaintenanceItem")
class MaintenanceItemType:
    sku_code: str
    title: str
    due_at: str
    note: str

    @classmethod
    def of(cls, view: MaintenanceView, zone: object) -> MaintenanceItemType:
        return cls(sku_code=view.sku_code, title=view.title, due_at=iso(view.due_at, zone), note=view.note)


@strawberry.type(name="Offer")
class OfferType:
    id: strawberry.ID
    kind: OfferKind
    title: str
    description: str
    expires_at: str

    @classmethod
    def of(cls, view: OfferView, zone: object) -> OfferType:
        return cls(
            id=strawberry.ID(view.id),
            kind=OfferKind(view.kind),
            title=view.title,
            description=view.description,
            expires_at=iso(view.expires_at, zone),
        )


@strawberry.type(name="Lifecycle")
class LifecycleType:
    owned_products: list[OwnedProductType]
    replenishments: list[ReplenishmentType]
    maintenance: list[MaintenanceItemType]
    offers: list[OfferType] = strawberry.field(description="Offers valid now")

    @classmethod
    def of(cls, view: LifecycleView, zone: object) -> LifecycleType:
        return cls(
            owned_products=[OwnedProductType.of(v, zone) for v in view.owned_products],
            replenishments=[ReplenishmentType.of(v, zone) for v in view.replenishments],
            maintenance=[MaintenanceItemType.of(v, zone) for v in view.maintenance],
            offers=[OfferType.of(v, zone) for v in view.offers],
        )


@strawberry.type
class SnoozeReplenishmentPayload:
    replenishment: ReplenishmentType | None
    user_errors: list[UserError]


@strawberry.type
class SetReplenishmentCyclePayload:
    replenishment: ReplenishmentType | None
    user_errors: list[UserError]


@strawberry.type
class DismissReplenishmentPayload:
    replenishment: ReplenishmentType | None
    user_errors: list[UserError]
