"""Send one subscription message through the production WeChat client (to the sandbox under `make run`).

    python scripts/send_message.py --openid oDEMO_user_0000000000000001 \
        [--template tmpl-order-progress-0001] [--grant]

`--grant` first plays the user's "accept" in the sandbox (POST /sandbox/subscribe), so the send
has a unit to spend; without it a user with no units gets WeChat's 43101. The message then shows
on the sandbox inbox page (http://127.0.0.1:$SANDBOX_PORT/sandbox/inbox/page, 8001 by default).
The client is the one the workers use; only WECHAT_API_BASE (by default the sandbox on
SANDBOX_PORT) tells it where WeChat is.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bff.catalog.templates_file import load_templates_file
from bff.catalog.templates_render import render_data, render_page
from bff.runtime.redis import create_arq_pool, resolve_redis_url
from bff.runtime.resources import new_http_client
from bff.runtime.settings import SettingsError, load_settings
from bff.wechat.client import wechat_client_for
from bff.wechat.errors import WeChatAPIError, WeChatTransportError
from bff.wechat.keywords import KeywordError, prepare_data

SAMPLE_VALUES = {
    "order_no": "SO20261120000001",
    "node_phrase": "已出库",
    "node_title": "已出库",
    "occurred_at": "2026年11月20日 09:30",
    "note": "您的订单已从杭州仓发出",
    "location": "杭州仓",
    "carrier": "顺丰速运",
    "tracking_no": "SF1234567890",
    "eta": "2026年11月22日 18:00",
    "deadline": "2026年11月21日 12:00",
    "exception_reason": "暴雨导致干线延误",
    "option_summary": "继续等待",
    "slot_label": "11月22日 09:00-12:00",
    "sku_name": "有机燕麦片 1kg",
    "run_out_date": "2026年12月01日",
    "remind_date": "2026年11月28日",
    "offer_title": "以旧换新立减100元",
    "expires_at": "2026年12月31日",
    "points": "1280",
    "amount": "¥199.00",
    "stage": "尾款生产",
    "progress": "已完成60%",
    "open_token": "demo",
}


async def send(openid: str, template_id: str, grant: bool) -> int:
    os.environ.setdefault("LVYUE_ENV", "development")
    settings = load_settings()
    template = load_templates_file(settings.templates_file).by_id(template_id)
    if template is None:
        print(f"no template {template_id!r} in the templates file", file=sys.stderr)
        return 2
    http = new_http_client()
    redis = await create_arq_pool(resolve_redis_url(settings))
    try:
        if grant:
            answer = await http.post(
                f"{settings.wechat_api_base}/sandbox/subscribe",
                json={"openid": openid, "answers": {template_id: "accept"}},
            )
            print("sandbox: user answered", answer.json())
        client = wechat_client_for(settings, http, redis)
        result = await client.send_subscribe_message(
            openid=openid,
            template_id=template_id,
            data=prepare_data(template.rules(), render_data(template, SAMPLE_VALUES)),
            page=render_page(template, SAMPLE_VALUES),
            miniprogram_state=settings.miniprogram_state,
        )
        print(f"sent {template.title} ({template_id}); msgid {result.msgid}")
        return 0
    except (WeChatAPIError, WeChatTransportError) as exc:
        print(f"WeChat refused: {exc} (action: {exc.action})", file=sys.stderr)
        return 1
    except KeywordError as exc:
        print(f"not sent: {exc}", file=sys.stderr)
        return 2
    finally:
        await http.aclose()
        await redis.aclose()


def main() -> int:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--openid", required=True)
    parser.add_argument("--template", default="tmpl-order-progress-0001")
    parser.add_argument("--grant", action="store_true", help="play an accept in the sandbox first")
    args = parser.parse_args()
    try:
        return asyncio.run(send(args.openid, args.template, args.grant))
    except SettingsError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
