"""Consent inventory per template (bff/insight/consent_inventory.py)."""

from __future__ import annotations

from datetime import date

from tortoise.context import TortoiseContext

from bff.catalog.topics import Topic
from bff.consent import ledger
from bff.consent.alerts import AlertKind, raise_alert
from bff.consent.matching import record_accept
from bff.insight.consent_inventory import consent_inventory
from bff.insight.period import period
from bff.models import ConsentLedger, CreditSource, NoticeStatus, PushEvent, SubscribeRequestLog
from bff.notices.reasons import Reason
from bff.wechat.events import CHANGE_EVENT, POPUP_EVENT
from tests.insight.world import SHANGHAI, TEMPLATES, local, notice, user

RANGE = period(date(2026, 10, 1), date(2026, 10, 2), SHANGHAI)


def template_of(topic: Topic) -> str:
    template = TEMPLATES.for_topic(topic)
    assert template is not None
    return template.template_id


async def test_units_accepts_rejects_bans_and_suppressions_per_template(db: TortoiseContext) -> None:
    # given two users accepting the delivery template (A twice, C once)
    delivery = template_of(Topic.NODE_DELIVERED)
    a, c, d = await user("oA"), await user("oC"), await user("oD")
    for key, who, at in (("r1", a, local(10, 1, 9)), ("r2", a, local(10, 2, 9)), ("r3", c, local(10, 2, 10))):
        await record_accept(who.id, delivery, source=CreditSource.REPORT, source_key=key, occurred_at=at)
    assert await ledger.reserve_unit(a.id, delivery)  # one of A's two units is spent
    # D rejects in a popup (reported and pushed: one reject), then bans the template
    await SubscribeRequestLog.create(
        request_id="q1",
        user_id=d.id,
        moment="ORDER_DETAIL",
        template_ids=[delivery],
        reported_at=local(10, 1, 11),
        results={delivery: "REJECT"},
    )
    await PushEvent.create(
        dedupe_key="x1",
        event=POPUP_EVENT,
        openid="oD",
        template_id=delivery,
        create_time=int(local(10, 1, 11).timestamp()),
        details={"status": "reject"},
        body="",
        body_format="xml",
    )
    await PushEvent.create(
        dedupe_key="x2",
        event=CHANGE_EVENT,
        openid="oC",
        template_id=delivery,
        create_time=int(local(10, 2, 15).timestamp()),
        details={"status": "reject"},
        body="",
        body_format="xml",
    )
    await ledger.ban(d.id, delivery)
    await raise_alert(AlertKind.BAN, user_id=d.id, template_id=delivery, detail="ban", now=local(10, 2, 16))
    await notice(d, Topic.NODE_DELIVERED, local(10, 2, 17), NoticeStatus.SUPPRESSED, reason=Reason.NO_UNITS)
    await notice(d, Topic.NODE_DELIVERED, local(10, 3, 1), NoticeStatus.SUPPRESSED, reason=Reason.NO_UNITS)

    # when
    inventory = {t.template_id: t for t in await consent_inventory(RANGE, TEMPLATES)}

    # then
    row = inventory[delivery]
    assert row.title is not None and "NODE_DELIVERED" in row.topics
    assert (row.users_with_units, row.units_outstanding, row.suppressed_no_units) == (2, 2, 1)
    assert [(h.day.day, h.accepts, h.rejects, h.bans) for h in row.history] == [(1, 1, 1, 0), (2, 2, 1, 1)]
    # every template of the file is listed, by id, with every day of the range
    assert list(inventory) == sorted(inventory)
    assert {t.template_id for t in TEMPLATES.templates} <= set(inventory)
    assert all(len(t.history) == 2 for t in inventory.values())
    # and the units agree with the ledger read directly
    held = [r for r in await ConsentLedger.filter(template_id=delivery, banned=False) if r.granted > r.spent]
    assert row.units_outstanding == sum(r.granted - r.spent for r in held)
