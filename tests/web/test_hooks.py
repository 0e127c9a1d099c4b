"""POST /hooks/supply-chain, driven the way the supply chain drives it (bff/web/hooks.py)."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from arq.connections import ArqRedis
from redis.exceptions import ConnectionError as RedisConnectionError

from bff.models import Order, OrderNodeEvent, OrderStatus, SupplyChainEvent
from bff.runtime.resources import Resources
from bff.supply_chain import builders as b
from bff.supply_chain.signing import signed_headers
from tests.conftest import WorkerFactory

CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=CST)
OPENID = "oUSER_hooks_0000000000000001"
URL = "/hooks/supply-chain"


async def post(
    client: httpx.AsyncClient, resources: Resources, body: bytes, **header_overrides: str
) -> httpx.Response:
    headers = signed_headers(resources.settings.supply_chain_secret, body) | header_overrides
    return await client.post(URL, content=body, headers=headers)


async def queued_job_ids(arq: ArqRedis) -> set[str]:
    return {str(job.job_id) for job in await arq.queued_jobs()}


async def test_a_signed_batch_is_stored_and_answered_with_counts(
    client: httpx.AsyncClient, resources: Resources
) -> None:
    # given
    body = b.body(b.placed("SO1", OPENID, T0), b.paid("SO1", T0 + timedelta(minutes=1)))

    # when
    response = await post(client, resources, body)

    # then
    assert response.status_code == 200
    assert response.json() == {"accepted": 2, "duplicates": 0}
    assert (await Order.get(order_no="SO1")).status == OrderStatus.PAID


async def test_events_a_user_should_hear_about_are_handed_to_the_worker_once(
    client: httpx.AsyncClient, resources: Resources, arq_pool: ArqRedis
) -> None:
    # given
    body = b.body(b.placed("SO1", OPENID, T0), b.node("SO1", "OUTBOUND", T0 + timedelta(hours=3)))

    # when: the sender sends the batch twice
    first = await post(client, resources, body)
    second = await post(client, resources, body)

    # then: one planning job for the node (the placement itself is not news), none for the retry
    assert first.json() == {"accepted": 2, "duplicates": 0}
    assert second.json() == {"accepted": 0, "duplicates": 2}
    node_row = await SupplyChainEvent.get(type="order.node")
    assert await queued_job_ids(arq_pool) == {f"plan:{node_row.id}"}
    assert node_row.plan_enqueued_at is not None


async def test_the_worker_runs_the_planning_job(
    client: httpx.AsyncClient, resources: Resources, worker: WorkerFactory
) -> None:
    # given
    await post(client, resources, b.body(b.placed("SO1", OPENID, T0), b.paid("SO1", T0)))

    # when
    w = await worker()
    await w.run_check()

    # then
    assert w.jobs_complete == 1
    assert w.jobs_failed == 0


async def test_missing_wrong_or_stale_signatures_are_refused_and_nothing_is_stored(
    client: httpx.AsyncClient, resources: Resources
) -> None:
    # given
    body = b.body(b.placed("SO1", OPENID, T0))
    secret = resources.settings.supply_chain_secret
    stale = signed_headers(secret, body, now=time.time() - 301)
    cases: dict[str, dict[str, str]] = {
        "missing signature": {"Content-Type": "application/json"},
        "bad signature": signed_headers("another-secret", body),
        "stale timestamp": stale,
    }

    # when
    answers = {name: await client.post(URL, content=body, headers=headers) for name, headers in cases.items()}

    # then
    assert {name: (r.status_code, r.json()["error"]) for name, r in answers.items()} == {
        name: (401, name) for name in cases
    }
    assert await SupplyChainEvent.all().count() == 0


async def test_a_signature_over_another_body_is_refused(
    client: httpx.AsyncClient, resources: Resources
) -> None:
    # given: a signature captured from one request, replayed with a different body
    headers = signed_headers(resources.settings.supply_chain_secret, b.body(b.placed("SO1", OPENID, T0)))
    forged = b.body(b.placed("SO666", OPENID, T0))

    # when
    response = await client.post(URL, content=forged, headers=headers)

    # then
    assert response.status_code == 401
    assert not await Order.exists()


async def test_a_malformed_batch_gets_422_listing_each_bad_event_and_stores_nothing(
    client: httpx.AsyncClient, resources: Resources
) -> None:
    # given
    good = b.placed("SO1", OPENID, T0)
    bad_node = b.node("SO1", "OUTBOUND", T0)
    bad_node["node"] = "TELEPORTED"
    bad_items = b.placed("SO2", OPENID, T0)
    bad_items["order"]["items"][0]["quantity"] = 0
    body = b.body(good, bad_node, bad_items)

    # when
    response = await post(client, resources, body)

    # then
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert [(e["index"], e["field"]) for e in errors] == [(1, "node"), (2, "order.items[0].quantity")]
    assert all(e["message"] for e in errors)
    assert await SupplyChainEvent.all().count() == 0
    assert not await Order.exists()


async def test_a_body_that_is_not_json_gets_422(client: httpx.AsyncClient, resources: Resources) -> None:
    # when
    response = await post(client, resources, b"events: [")

    # then
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body"


async def test_when_the_queue_is_down_the_answer_asks_for_a_retry_which_hands_the_work_over(
    client: httpx.AsyncClient, resources: Resources, arq_pool: ArqRedis
) -> None:
    # given: Redis refuses the first handover
    body = b.body(b.placed("SO1", OPENID, T0), b.paid("SO1", T0))
    real = resources.arq

    class DownRedis:
        async def enqueue_job(self, *args: Any, **kwargs: Any) -> None:
            raise RedisConnectionError("connection refused")

    resources.arq = DownRedis()  # type: ignore[assignment]
    try:
        refused = await post(client, resources, body)
    finally:
        resources.arq = real

    # when: the sender retries
    retried = await post(client, resources, body)

    # then: the events were kept the first time and planned after the retry
    assert refused.status_code == 503
    assert retried.json() == {"accepted": 0, "duplicates": 2}
    paid_row = await SupplyChainEvent.get(type="order.paid")
    assert await queued_job_ids(arq_pool) == {f"plan:{paid_row.id}"}


async def test_only_post_is_accepted(client: httpx.AsyncClient) -> None:
    # when
    response = await client.get(URL)

    # then
    assert response.status_code == 405


async def test_the_same_batch_sent_concurrently_is_applied_once(
    client: httpx.AsyncClient, resources: Resources
) -> None:
    # given: a sender that retries before the first request has answered
    body = b.body(
        b.placed("SO1", OPENID, T0),
        b.node("SO1", "OUTBOUND", T0 + timedelta(hours=2)),
        b.node("SO1", "TRUNK_TRANSIT", T0 + timedelta(hours=5)),
    )

    # when
    answers = await asyncio.gather(*(post(client, resources, body) for _ in range(5)))

    # then: every request succeeds, and the events count once in total
    assert [r.status_code for r in answers] == [200] * 5
    assert sum(r.json()["accepted"] for r in answers) == 3
    assert sum(r.json()["duplicates"] for r in answers) == 12
    assert await SupplyChainEvent.all().count() == 3
    assert await OrderNodeEvent.all().count() == 2
    assert (await Order.get(order_no="SO1")).current_node == "TRUNK_TRANSIT"


# --- hostile numbers, text and dates (issue 8, items 13 and 14) -------------------------------


async def test_a_quantity_with_a_huge_exponent_is_422_without_being_expanded(
    client: httpx.AsyncClient, resources: Resources
) -> None:
    # given a signed order whose quantity is 1e300000 (int() of it took 4 s, 1e1000000 29 s)
    body = b.body(b.placed("SO1", OPENID, T0)).replace(b'"quantity": 1', b'"quantity": 1e1000000', 1)
    assert b"1e1000000" in body

    # when
    response = await post(client, resources, body)

    # then the number is refused as too large, and nothing is stored
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {
            "index": 0,
            "field": "order.items[0].quantity",
            "message": "must be an integer of at most 2147483647, got 1E+1000000",
        }
    ]
    assert await SupplyChainEvent.all().count() == 0


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("SO\x001", "contains a NUL character at position 2"),
        ("SO\ud8001", "unpaired UTF-16 surrogate U+D800"),
    ],
)
@pytest.mark.parametrize("where", ["orderNo", "extra field"])
async def test_unstorable_text_anywhere_in_an_event_is_422(
    client: httpx.AsyncClient, resources: Resources, text: str, problem: str, where: str
) -> None:
    # given a signed event with a NUL or a lone surrogate in a field, or in a field the contract
    # does not know (stored with the event all the same)
    event = b.paid("SO1", T0)
    if where == "orderNo":
        event["orderNo"] = text
    else:
        event["senderNote"] = {"free": text}
    body = json.dumps({"events": [event]}).encode()  # ASCII: the text travels as \u escapes

    # when
    response = await post(client, resources, body)

    # then
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["field"] == ("orderNo" if where == "orderNo" else "senderNote.free")
    assert problem in error["message"]
    assert await SupplyChainEvent.all().count() == 0


@pytest.mark.parametrize(
    "moment", ["0001-01-01T00:00:00+08:00", "9999-12-31T23:59:59-08:00", "1999-12-31T23:59:59+00:00"]
)
async def test_a_time_outside_2000_to_2200_is_422(
    client: httpx.AsyncClient, resources: Resources, moment: str
) -> None:
    # given a payment at year 1 or 9999 (not a datetime once in UTC), or before 2000
    event = b.paid("SO1", T0)
    event["paidAt"] = moment

    # when
    response = await post(client, resources, json.dumps({"events": [event]}).encode())

    # then
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"index": 0, "field": "paidAt", "message": f"must be from 2000 up to 2200, got {moment!r}"}
    ]
