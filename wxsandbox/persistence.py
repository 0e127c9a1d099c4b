"""The sandbox's memory on disk, so `make run` restarts it as WeChat would be: unchanged.

WeChat does not forget a user's quotas or the cards it delivered when the BFF restarts. With
``SandboxConfig.state_file`` set (``SANDBOX_STATE_FILE``; `bff dev` points it into `data/`),
the sandbox reads the file at start, writes it within a second of any change, and once more on
shutdown. Faults, the random generator and in-flight sends are not kept: they belong to a run.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections import Counter
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from wxsandbox.state import InboxMessage, LoginCode, SandboxState, ShippingOrder, Subscription
from wxsandbox.tokens import IssuedToken

log = logging.getLogger("wxsandbox.persistence")

FORMAT_VERSION = 1
SAVE_INTERVAL_S = 1.0


class StateFileError(ValueError):
    """The state file cannot be read back; the message names the file."""


def snapshot(state: SandboxState) -> dict[str, Any]:
    """Everything worth keeping across a restart, as JSON-ready data."""
    orders: dict[int, tuple[list[list[str]], ShippingOrder]] = {}
    for key, order in state.orders.items():
        orders.setdefault(id(order), ([], order))[0].append(list(key))
    book = state.tokens
    return {
        "version": FORMAT_VERSION,
        "clock_offset": state.clock.offset,
        "users": state.users,
        "login_codes": [asdict(login) for login in state.login_codes.values()],
        "subscriptions": [
            {"openid": openid, "template_id": template_id, **asdict(sub)}
            for (openid, template_id), sub in state.subscriptions.items()
        ],
        "daily_sends": sorted(state.daily_sends.items()),
        "banned_templates": sorted(state.banned_templates),
        "inbox": [asdict(message) for message in state.inbox],
        "msgids": sorted(state._msgids),
        "orders": [
            {
                "keys": keys,
                **asdict(order),
                "modes": list(order.modes) if order.modes else None,
                "last_upload_time": order.last_upload_time.isoformat() if order.last_upload_time else None,
            }
            for keys, order in orders.values()
        ],
        "sends_by_errcode": sorted(state.sends_by_errcode.items()),
        "counters": dict(state.counters),
        "tokens": {
            "issued": [asdict(token) for token in book._tokens.values()],
            "plain_current": book._plain_current.value if book._plain_current else None,
            "stable_current": book._stable_current.value if book._stable_current else None,
            "last_force_at": book._last_force_at,
            "daily": [[day, kind, count] for (day, kind), count in book._daily.items()],
            "counters": dict(book.counters),
        },
    }


def restore(state: SandboxState, data: dict[str, Any]) -> None:
    """Put a snapshot back into a freshly reset state."""
    if data.get("version") != FORMAT_VERSION:
        raise ValueError(f"unknown format version {data.get('version')!r}")
    offset = float(data["clock_offset"])
    if offset > 0:
        state.clock.advance(offset)
    state.users = {str(openid): unionid for openid, unionid in data["users"].items()}
    state.login_codes = {row["code"]: LoginCode(**row) for row in data["login_codes"]}
    state.subscriptions = {
        (row.pop("openid"), row.pop("template_id")): Subscription(**row) for row in data["subscriptions"]
    }
    state.daily_sends = Counter({int(day): int(count) for day, count in data["daily_sends"]})
    state.banned_templates = set(data["banned_templates"])
    state.inbox = [InboxMessage(**row) for row in data["inbox"]]
    state._msgids = {int(msgid) for msgid in data["msgids"]}
    state.orders = {}
    for row in data["orders"]:
        keys = row.pop("keys")
        modes = row.pop("modes")
        uploaded = row.pop("last_upload_time")
        order = ShippingOrder(
            **row,
            modes=(int(modes[0]), int(modes[1])) if modes else None,
            last_upload_time=datetime.fromisoformat(uploaded) if uploaded else None,
        )
        for key in keys:
            state.orders[tuple(key)] = order
    state.sends_by_errcode = Counter({int(code): int(count) for code, count in data["sends_by_errcode"]})
    state.counters = Counter(data["counters"])
    tokens = data["tokens"]
    book = state.tokens
    book._tokens = {row["value"]: IssuedToken(**row) for row in tokens["issued"]}
    book._plain_current = book._tokens.get(tokens["plain_current"] or "")
    book._stable_current = book._tokens.get(tokens["stable_current"] or "")
    book._last_force_at = tokens["last_force_at"]
    book._daily = Counter({(int(day), str(kind)): int(count) for day, kind, count in tokens["daily"]})
    book.counters = Counter(tokens["counters"])


def load(state: SandboxState, path: Path) -> bool:
    """Restore ``state`` from ``path``; False when there is no file yet."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return False
    try:
        restore(state, json.loads(text))
    except (ValueError, KeyError, TypeError) as exc:
        raise StateFileError(
            f"{path}: cannot restore the sandbox state ({exc}); delete the file to start afresh"
        ) from None
    return True


def encode(state: SandboxState) -> str:
    return json.dumps(snapshot(state), ensure_ascii=False, sort_keys=True)


def write(path: Path, text: str) -> None:
    """Replace the file atomically: a crash mid-write leaves the previous state, not half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


class StateKeeper:
    """Writes the state to its file within ``SAVE_INTERVAL_S`` of a change, and at the end."""

    def __init__(self, state: SandboxState, path: Path) -> None:
        self.state = state
        self.path = path
        self._written: str | None = None
        self._task: asyncio.Task[None] | None = None

    def restore(self) -> None:
        """Read the file back (before serving); StateFileError when it cannot be."""
        if load(self.state, self.path):
            log.info("sandbox state restored from %s", self.path)
        self._written = encode(self.state)

    def start(self) -> None:
        self._task = asyncio.create_task(self._keep())

    async def _keep(self) -> None:
        while True:
            await asyncio.sleep(SAVE_INTERVAL_S)
            await self.save()

    async def save(self) -> None:
        async with self.state.lock:
            text = encode(self.state)
        if text != self._written:
            await asyncio.to_thread(write, self.path, text)
            self._written = text

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.save()
