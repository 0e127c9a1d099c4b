"""Supply-chain events applied to the order projection, inside the ingest transaction.

New events are applied to `orders` and what hangs off them (timeline, ETAs, slots, exceptions,
presale, status), and to the reference data (SKUs, members). Times compare by `occurred_at`, so
late and out-of-order events land where they belong and an older node never replaces a newer
current node. An event for an order not seen yet is kept (`PendingEvent`) and applied when its
`order.placed` arrives. Events a user should hear about are collected as `Plan`s; nothing is
sent from here.

What a delivery means beyond the order (the lifecycle tab's owned products) is not the orders'
business: the caller passes it in as `on_delivered` (bff.inbound.supply_chain).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from bff.catalog.nodes import DELIVERED_NODE, node_rank
from bff.models.orders import (
    DeliverySlotOffer,
    Order,
    OrderException,
    OrderItem,
    OrderNodeEvent,
    OrderNodeExpectation,
    OrderStatus,
    PendingEvent,
    Sku,
    SupplyChainEvent,
)
from bff.models.users import User
from bff.orders import shipping
from bff.orders.status import derive_status, is_open
from bff.supply_chain import events as ev
from bff.supply_chain.parsing import reparse
from bff.supply_chain.scope import Scope, link_scoped_orders
from bff.supply_chain.sql import db_time, render
from bff.supply_chain.store import Plan, order_no_of

log = logging.getLogger("lvyue.supply_chain")

# Orders an exception given by orderNos no longer concerns.
_CLOSED_FOR_EXCEPTIONS = (OrderStatus.CANCELLED, OrderStatus.COMPLETED)

# Runs when an order's DELIVERED node is applied (in the transaction, the order row locked).
OnDelivered = Callable[[Order, datetime], Awaitable[object]]


class EventApplier:
    """Applies new events to the projection inside the ingest transaction; collects plans."""

    def __init__(self, conn: BaseDBAsyncClient, now: datetime, *, on_delivered: OnDelivered) -> None:
        self.conn = conn
        self.now = now
        self.on_delivered = on_delivered
        self.plans: list[Plan] = []

    # -- dispatch

    async def apply(self, event: ev.SupplyChainEvent, row_id: int) -> None:
        if isinstance(event, ev.OrderPlaced):
            await self._placed(event, row_id)
        elif isinstance(event, ev.OrderException):
            await self._exception(event, row_id)
        elif isinstance(event, ev.SkuUpsert):
            await self._sku(event)
            await self._mark(row_id, order_id=None, notify=False)
        elif isinstance(event, ev.MemberUpsert):
            await self._member(event)
            await self._mark(row_id, order_id=None, notify=False)
        else:
            order_no = order_no_of(event)
            assert order_no is not None
            order = await self._order(order_no)
            if order is None:
                await PendingEvent.create(event_id=row_id, order_no=order_no)
                return
            await self._apply_to_order(event, row_id, order)

    async def _apply_to_order(self, event: ev.SupplyChainEvent, row_id: int, order: Order) -> None:
        """Apply a single-order event to a known order, then mark it applied (and plan it)."""
        notify: bool
        if isinstance(event, ev.OrderPaid):
            notify = await self._paid(event, order)
        elif isinstance(event, ev.OrderNode):
            notify = await self._node(event, row_id, order)
        elif isinstance(event, ev.PresaleProgress):
            notify = await self._presale(event, order)
        elif isinstance(event, ev.DeliverySlots):
            notify = await self._slots(event, row_id, order)
        elif isinstance(event, ev.OrderCancelled):
            notify = await self._cancelled(event, order)
        else:  # pragma: no cover - every single-order type is listed above
            raise TypeError(f"not a single-order event: {event.type}")
        await self._mark(row_id, order_id=order.id, notify=notify)
        if notify:
            self.plans.append(Plan(row_id))

    async def _mark(self, row_id: int, *, order_id: int | None, notify: bool) -> None:
        await SupplyChainEvent.filter(id=row_id).update(applied_at=self.now, order_id=order_id, notify=notify)

    async def _order(self, order_no: str) -> Order | None:
        # FOR UPDATE (PostgreSQL): concurrent batches about one order apply one after the other.
        return await Order.filter(order_no=order_no).select_for_update().first()

    async def _save_with_status(self, order: Order) -> None:
        order.status = derive_status(order, receipt_confirmed=order.status == OrderStatus.COMPLETED)
        await order.save()

    # -- order.placed, and the events that waited for it

    async def _placed(self, event: ev.OrderPlaced, row_id: int) -> None:
        placed = event.order
        existing = await self._order(placed.order_no)
        if existing is not None:
            log.info("order.placed %s: order %s exists already; ignored", event.event_id, placed.order_no)
            await self._mark(row_id, order_id=existing.id, notify=False)
            return
        user, _ = await User.get_or_create(openid=placed.openid)
        order = await Order.create(
            order_no=placed.order_no,
            user_id=user.id,
            status=OrderStatus.PENDING_PAYMENT,
            placed_at=placed.placed_at,
            total_amount=placed.total_amount,
            region=placed.region,
            warehouse=placed.warehouse,
            presale=placed.presale,
        )
        await OrderItem.bulk_create(
            [
                OrderItem(
                    order_id=order.id,
                    position=position,
                    sku_code=item.sku_code,
                    name=item.name,
                    quantity=item.quantity,
                    unit_price=item.unit_price,
                )
                for position, item in enumerate(placed.items)
            ]
        )
        await self._mark(row_id, order_id=order.id, notify=False)
        await self._apply_pending(order)

    async def _apply_pending(self, order: Order) -> None:
        waiting = (
            await PendingEvent.filter(order_no=order.order_no)
            .select_related("event")
            .order_by("event__occurred_at", "event__id")
        )
        for pending in waiting:
            stored = pending.event
            event = reparse(stored.payload)
            if isinstance(event, ev.OrderException):
                await self._link_late_exception(event, stored.id, order)
            else:
                await self._apply_to_order(event, stored.id, order)
            await pending.delete()

    # -- single-order events; each returns whether the user should hear about it

    async def _paid(self, event: ev.OrderPaid, order: Order) -> bool:
        if order.paid_at is not None:
            return False
        order.paid_at = event.paid_at
        order.transaction_id = event.transaction_id
        await self._save_with_status(order)
        await shipping.mark_due(order, now=self.now)  # shipped before the payment was known
        return order.status != OrderStatus.CANCELLED

    async def _node(self, event: ev.OrderNode, row_id: int, order: Order) -> bool:
        await OrderNodeEvent.create(
            order_id=order.id,
            node=event.node,
            occurred_at=event.occurred_at,
            location=event.location,
            note=event.note,
            carrier=event.carrier,
            tracking_no=event.tracking_no,
            estimated_arrival=event.estimated_arrival,
            source_event_id=row_id,
        )
        became_current = order.current_node_at is None or (event.occurred_at, node_rank(event.node)) > (
            order.current_node_at,
            node_rank(order.current_node),
        )
        if became_current:
            order.current_node = event.node
            order.current_node_at = event.occurred_at
        carries_shipment = any(
            v is not None for v in (event.carrier, event.tracking_no, event.estimated_arrival)
        )
        if carries_shipment and (
            order.shipment_updated_at is None or event.occurred_at >= order.shipment_updated_at
        ):
            order.carrier = event.carrier or order.carrier
            order.tracking_no = event.tracking_no or order.tracking_no
            order.estimated_arrival = event.estimated_arrival or order.estimated_arrival
            order.shipment_updated_at = event.occurred_at
        await self._record_expectations(event, order)
        await self._save_with_status(order)
        if carries_shipment:
            await shipping.mark_due(order, now=self.now)  # WeChat needs the shipping info once
        if event.node == DELIVERED_NODE and order.status != OrderStatus.CANCELLED:
            await self.on_delivered(order, event.occurred_at)
        # A late, older node is kept in the timeline but nobody is told about it.
        return became_current and order.status != OrderStatus.CANCELLED

    async def _record_expectations(self, event: ev.OrderNode, order: Order) -> None:
        if not event.expected:
            return
        known = {row.node: row for row in await OrderNodeExpectation.filter(order_id=order.id)}
        for expected in event.expected:
            row = known.get(expected.node)
            if row is None:
                await OrderNodeExpectation.create(
                    order_id=order.id,
                    node=expected.node,
                    expected_at=expected.expected_at,
                    reported_at=event.occurred_at,
                )
            elif event.occurred_at >= row.reported_at:
                row.expected_at = expected.expected_at
                row.reported_at = event.occurred_at
                await row.save(update_fields=["expected_at", "reported_at"])

    async def _presale(self, event: ev.PresaleProgress, order: Order) -> bool:
        if order.presale_updated_at is not None and event.occurred_at < order.presale_updated_at:
            return False
        order.presale_stage = event.stage
        order.presale_progress_percent = event.progress_percent
        order.presale_expected_ship_date = event.expected_ship_date
        order.presale_updated_at = event.occurred_at
        await self._save_with_status(order)
        return order.status != OrderStatus.CANCELLED

    async def _slots(self, event: ev.DeliverySlots, row_id: int, order: Order) -> bool:
        offer = await DeliverySlotOffer.filter(order_id=order.id).first()
        if offer is not None and event.occurred_at < offer.offered_at:
            return False
        options = [
            {
                "id": slot.id,
                "label": slot.label,
                "startsAt": slot.starts_at.isoformat(),
                "endsAt": slot.ends_at.isoformat(),
            }
            for slot in event.slots
        ]
        fields: dict[str, Any] = {
            "deadline": event.deadline,
            "default_slot_id": event.default_slot_id,
            "options": options,
            "offered_at": event.occurred_at,
            # A newer offer is a new question: an earlier choice no longer holds.
            "chosen_slot_id": None,
            "decided_by": None,
            "decided_at": None,
            "source_event_id": row_id,
        }
        if offer is None:
            await DeliverySlotOffer.create(order_id=order.id, **fields)
        else:
            await DeliverySlotOffer.filter(id=offer.id).update(**fields)
        return is_open(order.status)

    async def _cancelled(self, event: ev.OrderCancelled, order: Order) -> bool:
        if order.cancelled_at is not None:
            return False
        order.cancelled_at = event.occurred_at
        order.cancel_reason = event.reason
        await self._save_with_status(order)
        return True  # the planner may withdraw what it had planned for the order

    # -- exceptions

    async def _exception(self, event: ev.OrderException, row_id: int) -> None:
        exception = await self._upsert_exception(event, row_id)
        if event.scope is not None:
            scope = Scope(
                warehouse=event.scope.warehouse, sku_code=event.scope.sku_code, region=event.scope.region
            )
            linked = await link_scoped_orders(self.conn, exception.id, scope, self.now)
            log.info("order.exception %s: scope %s linked %d open orders", event.exception_id, scope, linked)
        else:
            order_nos = list(event.order_nos or ())
            found = await Order.filter(order_no__in=order_nos).values_list("id", "order_no", "status")
            await self._link(
                exception.id, [int(i) for i, _, status in found if status not in _CLOSED_FOR_EXCEPTIONS]
            )
            known = {str(no) for _, no, _ in found}
            missing = [no for no in order_nos if no not in known]
            if missing:
                await PendingEvent.bulk_create([PendingEvent(event_id=row_id, order_no=no) for no in missing])
        await self._mark(row_id, order_id=None, notify=True)
        self.plans.append(Plan(row_id))

    async def _upsert_exception(self, event: ev.OrderException, row_id: int) -> OrderException:
        fields: dict[str, Any] = {
            "kind": event.kind,
            "reason": event.reason,
            "deadline": event.deadline,
            "default_option": event.default_option,
            "options": [{"code": o.code, "label": o.label} for o in event.options],
            "occurred_at": event.occurred_at,
            "source_event_id": row_id,
        }
        if event.scope is not None:
            fields.update(
                scope_warehouse=event.scope.warehouse,
                scope_sku_code=event.scope.sku_code,
                scope_region=event.scope.region,
            )
        exception = await OrderException.filter(exception_id=event.exception_id).select_for_update().first()
        if exception is None:
            return await OrderException.create(exception_id=event.exception_id, **fields)
        if event.occurred_at >= exception.occurred_at:
            # The same exception restated (new deadline, options…): the newer statement wins.
            await OrderException.filter(id=exception.id).update(**fields)
        return exception

    async def _link(self, exception_pk: int, order_ids: Sequence[int]) -> None:
        if not order_ids:
            return
        sql = (
            "INSERT INTO order_exception_links (order_id, exception_id, created_at) VALUES "
            + ", ".join("(?, ?, ?)" for _ in order_ids)
            + " ON CONFLICT (order_id, exception_id) DO NOTHING"
        )
        values: list[object] = []
        for order_id in order_ids:
            values += [order_id, exception_pk, db_time(self.now)]
        await self.conn.execute_query(render(self.conn, sql), values)

    async def _link_late_exception(self, event: ev.OrderException, row_id: int, order: Order) -> None:
        exception = await OrderException.get(exception_id=event.exception_id)
        if order.status in _CLOSED_FOR_EXCEPTIONS:
            return
        await self._link(exception.id, [order.id])
        self.plans.append(Plan(row_id, order_id=order.id))

    # -- reference data

    async def _sku(self, event: ev.SkuUpsert) -> None:
        sku = event.sku
        fields: dict[str, Any] = {
            "name": sku.name,
            "category": sku.category,
            "consumable": sku.consumable,
            "usage_days_per_unit": sku.usage_days_per_unit,
            "maintenance": [{"afterDays": m.after_days, "title": m.title} for m in sku.maintenance],
            "renewal_after_days": sku.renewal_after_days,
            "source_occurred_at": event.occurred_at,
        }
        row = await Sku.filter(sku_code=sku.sku_code).select_for_update().first()
        if row is None:
            await Sku.create(sku_code=sku.sku_code, **fields)
        elif event.occurred_at >= row.source_occurred_at:
            await Sku.filter(id=row.id).update(**fields)

    async def _member(self, event: ev.MemberUpsert) -> None:
        """Apply a member.upsert unless a newer one (by occurredAt) is stored already: senders
        retry and batches cross, so a late, older record must not overwrite newer points."""
        member = event.member
        await User.get_or_create(openid=member.openid)
        # The row lock makes two concurrent upserts of one member apply in occurredAt order.
        user = await User.filter(openid=member.openid).select_for_update().get()
        if user.member_updated_at is not None and event.occurred_at < user.member_updated_at:
            log.info("member.upsert %s is older than the stored member record; ignored", event.event_id)
            return
        user.member_tier = member.member_tier
        user.points = member.points
        user.points_expire_at = member.points_expire_at
        user.birthday = member.birthday
        user.member_updated_at = event.occurred_at
        if member.region is not None:
            user.region = member.region
        await user.save(
            update_fields=[
                "member_tier",
                "points",
                "points_expire_at",
                "birthday",
                "region",
                "member_updated_at",
            ]
        )
