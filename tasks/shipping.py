"""Jobs that upload paid orders' shipping information to WeChat (`bff.orders.shipping`).

- `upload_shipping_info(order_id)`: one attempt; job id `shipping:<order id>`. A retryable answer
  re-queues the job itself (arq `Retry`) after the backoff recorded on the upload row.
- `dispatch_shipping_uploads` (cron, every 15 s): queues the upload of every due row: rows the
  webhook made due (ingestion only writes them), retries whose job was lost, and uploads a dead
  worker left UPLOADING past their lease.

Tests may put a `bff.orders.shipping.UploadPolicy` under ctx["shipping_policy"] (short backoff).
"""

from __future__ import annotations

from typing import Any

from arq import Retry

from bff.orders.shipping import UploadPolicy, enqueue_due_uploads, upload
from bff.runtime.settings import Settings
from bff.wechat.client import wechat_client_for


async def upload_shipping_info(ctx: dict[str, Any], order_id: int) -> str:
    settings: Settings = ctx["settings"]
    client = wechat_client_for(settings, ctx["http"], ctx["redis"])
    policy: UploadPolicy = ctx.get("shipping_policy") or UploadPolicy()
    report = await upload(
        client, order_id, consignor_contact=settings.shipping_consignor_contact, policy=policy
    )
    if report.retry_in is not None:
        raise Retry(defer=report.retry_in)
    return f"{report.status.value if report.status else 'SKIPPED'}: {report.detail}"


async def dispatch_shipping_uploads(ctx: dict[str, Any]) -> int:
    """Queue uploads for due rows; returns how many jobs were newly queued."""
    return await enqueue_due_uploads(ctx["redis"])
