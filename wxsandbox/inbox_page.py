"""``/sandbox/inbox/page``: each user's received notices drawn like WeChat's 服务通知 cards.

Every value comes from a client request, so everything is HTML-escaped. The page reloads itself
every 2 s (meta refresh: no script needed).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape
from urllib.parse import quote

from wxsandbox.clock import BEIJING
from wxsandbox.state import InboxMessage

REFRESH_S = 2

_STYLE = """
body{font-family:-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;background:#ededed;
 margin:0;padding:16px}
h1{font-size:18px;margin:0 0 12px} h2{font-size:15px;color:#555;margin:20px 0 8px}
.user{max-width:420px} .empty{color:#888}
.card{background:#fff;border-radius:8px;padding:14px 16px 0;margin:0 0 12px;box-shadow:0 1px 2px #0001}
.card .title{font-size:16px;font-weight:600;margin-bottom:4px}
.card .time{font-size:12px;color:#999;margin-bottom:10px}
.card .line{font-size:14px;color:#333;margin:4px 0;display:flex}
.card .label{color:#999;min-width:72px;margin-right:8px}
.card .open{border-top:1px solid #eee;margin-top:12px;padding:10px 0;font-size:14px;color:#576b95;
 display:flex;justify-content:space-between}
.card .page{color:#bbb;font-size:11px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap;max-width:60%}
.state{font-size:11px;color:#fff;background:#fa9d3b;border-radius:3px;padding:0 4px;margin-left:6px}
"""

_OPEN_LINK = {
    "zh_CN": "进入小程序查看",
    "zh_HK": "進入小程序查看",
    "zh_TW": "進入小程式查看",
    "en_US": "View in Mini Program",
}


def render_inbox_page(messages: Sequence[InboxMessage], *, openid: str | None = None) -> str:
    shown = [m for m in messages if openid is None or m.openid == openid]
    users: dict[str, list[InboxMessage]] = {}
    for message in shown:
        users.setdefault(message.openid, []).append(message)
    sections = [_user_section(user, list(reversed(cards))) for user, cards in users.items()]
    body = "".join(sections) or '<p class="empty">还没有服务通知 (no notices delivered yet)</p>'
    heading = "服务通知" + (f" · {escape(openid)}" if openid else "")
    return (
        '<!doctype html>\n<html lang="zh-CN"><head><meta charset="utf-8">'
        f'<meta http-equiv="refresh" content="{REFRESH_S}">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>WeChat sandbox · 服务通知</title><style>{_STYLE}</style></head>"
        f"<body><h1>{heading}</h1>{body}</body></html>\n"
    )


def _user_section(openid: str, messages: Sequence[InboxMessage]) -> str:
    link = f"?openid={quote(openid, safe='')}"
    cards = "".join(_card(message) for message in messages)
    return (
        f'<section class="user"><h2><a href="{escape(link)}">{escape(openid)}</a> '
        f"({len(messages)})</h2>{cards}</section>"
    )


def _card(message: InboxMessage) -> str:
    when = datetime.fromtimestamp(message.received_at, BEIJING).strftime("%Y-%m-%d %H:%M")
    lines = "".join(_line(line) for line in message.lines)
    state = (
        f'<span class="state">{escape(message.miniprogram_state)}</span>'
        if message.miniprogram_state != "formal"
        else ""
    )
    page = escape(message.page) if message.page else ""
    open_label = _OPEN_LINK.get(message.lang, _OPEN_LINK["zh_CN"])
    footer = (
        f'<div class="open"><span>{escape(open_label)}</span><span class="page">{page}</span></div>'
        if message.page
        else '<div class="open" style="color:#bbb"><span>—</span></div>'
    )
    return (
        f'<div class="card" data-msgid="{message.msgid}">'
        f'<div class="title">{escape(message.title)}{state}</div>'
        f'<div class="time">{when}</div>{lines}{footer}</div>'
    )


def _line(line: str) -> str:
    label, _, value = line.partition(": ")
    return f'<div class="line"><span class="label">{escape(label)}</span><span>{escape(value)}</span></div>'
