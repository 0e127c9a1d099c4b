"""`POST /hooks/supply-chain`: the supply chain's events in (docs/supply-chain.md).

401 for a missing, wrong or stale signature (nothing stored); 422 listing every bad event by
index and field (nothing stored); otherwise the batch is stored and applied in one
transaction, the planning jobs are handed to the worker, and the answer is
200 `{"accepted": N, "duplicates": M}`. Nothing is sent to users from the request.
"""

from __future__ import annotations

import logging

from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bff.constants import SUPPLY_CHAIN_MAX_BODY_BYTES
from bff.inbound.supply_chain import hand_over, ingest
from bff.runtime.resources import Resources
from bff.supply_chain.parsing import BatchInvalid, parse_batch, payloads_of
from bff.supply_chain.signing import SignatureError, verify
from bff.web.bodies import BodyTooLarge, read_body

log = logging.getLogger("lvyue.supply_chain")


async def supply_chain_hook(request: Request) -> Response:
    resources: Resources = request.app.state.resources
    try:
        body = await read_body(request, SUPPLY_CHAIN_MAX_BODY_BYTES)
    except BodyTooLarge:
        return JSONResponse(
            {"error": f"body larger than {SUPPLY_CHAIN_MAX_BODY_BYTES} bytes"}, status_code=413
        )
    try:
        verify(resources.settings.supply_chain_secret, request.headers, body)
    except SignatureError as exc:
        log.warning("supply-chain hook refused: %s", exc.reason)
        return JSONResponse({"error": exc.reason}, status_code=401)
    try:
        events = parse_batch(body)
    except BatchInvalid as exc:
        return JSONResponse({"errors": [error.as_json() for error in exc.errors]}, status_code=422)

    result = await ingest(events, payloads_of(body))
    try:
        await hand_over(resources.arq, result.plans)
    except (RedisError, OSError):
        # The events are stored; the sender's retry (duplicates) hands their planning over again.
        log.exception("supply-chain hook: %d events stored, planning not queued", result.accepted)
        return JSONResponse(
            {"error": "events stored but their processing could not be queued; retry the request"},
            status_code=503,
        )
    return JSONResponse({"accepted": result.accepted, "duplicates": result.duplicates})
