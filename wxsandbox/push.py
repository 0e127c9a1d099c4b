"""Delivery of message-push events to the BFF, the way WeChat's servers do it (§4, §5).

Plaintext mode signs the URL (``signature``, ``timestamp``, ``nonce``) and posts the event as is;
secure mode adds ``encrypt_type=aes``, ``msg_signature`` and ``openid`` to the URL and posts an
envelope around the AES-encrypted event. An attempt that does not get HTTP 200 within
``push_timeout_s`` is retried, ``push_attempts`` in all. Every attempt and the BFF's answer is
recorded for ``/sandbox/pushes``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from bff.runtime.logsafe import mask
from bff.wechat.crypto import PushCrypto
from bff.wechat.events import PushFormat, build_event_body, build_secure_envelope
from wxsandbox.config import SandboxConfig
from wxsandbox.faults import Faults

log = logging.getLogger("wxsandbox.push")

_ANSWER_KEPT = 500  # characters of the BFF's answer kept per attempt


@dataclass
class PushAttempt:
    at: float
    status: int | None
    answer: str | None
    error: str | None

    def as_json(self) -> dict[str, Any]:
        return {"at": self.at, "status": self.status, "answer": self.answer, "error": self.error}


@dataclass
class PushRecord:
    id: int
    event: str
    openid: str
    copy: int  # 1, or 2 for the duplicate a fault sends
    mode: str
    format: str
    body: str  # the plaintext event (before encryption)
    attempts: list[PushAttempt] = field(default_factory=list)
    # None while attempts are still being made.
    delivered: bool | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "event": self.event,
            "openid": self.openid,
            "copy": self.copy,
            "mode": self.mode,
            "format": self.format,
            "body": self.body,
            "attempts": [attempt.as_json() for attempt in self.attempts],
            "delivered": self.delivered,
        }


class PushDelivery:
    def __init__(
        self,
        config: SandboxConfig,
        faults: Callable[[], Faults],
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self._config = config
        self._faults = faults
        self._client = client
        self._owns_client = client is None
        self._crypto = PushCrypto(
            token=config.push_token, encoding_aes_key=config.encoding_aes_key, appid=config.appid
        )
        self._tasks: set[asyncio.Task[None]] = set()
        self.records: list[PushRecord] = []

    @property
    def enabled(self) -> bool:
        return self._config.push_url is not None

    def emit(self, event: str, openid: str, items: Sequence[Mapping[str, str | int]]) -> None:
        """Push ``event`` with ``items`` (the ``List`` entries) to the BFF, in the background."""
        if not self.enabled or not items:
            return
        faults = self._faults()
        # A forced object only exists for one item; several always travel as an array.
        list_as_array = None if faults.list_as_array is False and len(items) > 1 else faults.list_as_array
        body = build_event_body(
            self._config.push_format,
            to_user=self._config.original_id,
            openid=openid,
            event=event,
            items=list(items),
            create_time=int(time.time()),
            list_as_array=list_as_array,
            numbers_as_strings=self._config.json_numbers_as_strings,
        )
        copies = 2 if faults.duplicate_pushes else 1
        task = asyncio.get_running_loop().create_task(
            self._deliver_copies(event, openid, body, copies, faults.push_delay_ms / 1000)
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def wait_idle(self, timeout_s: float) -> bool:
        """Wait until every push under way has finished; False if some are still running."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        while self._tasks:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return False
            await asyncio.wait(set(self._tasks), timeout=remaining)
        return True

    @property
    def pending(self) -> int:
        return len(self._tasks)

    def forget(self) -> None:
        self.records.clear()

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._owns_client and self._client is not None:
            await self._client.aclose()
            self._client = None

    # -- delivery ---------------------------------------------------------------------------

    async def _deliver_copies(
        self, event: str, openid: str, body: bytes, copies: int, delay_s: float
    ) -> None:
        if delay_s > 0:
            await asyncio.sleep(delay_s)
        for copy in range(1, copies + 1):
            record = PushRecord(
                id=len(self.records) + 1,
                event=event,
                openid=openid,
                copy=copy,
                mode=self._config.push_mode,
                format=self._config.push_format.name.lower(),
                body=body.decode("utf-8"),
            )
            self.records.append(record)
            await self._deliver(record, body)

    async def _deliver(self, record: PushRecord, body: bytes) -> None:
        url = self._config.push_url
        assert url is not None
        params, content = self._sign(body, record.openid)
        headers = {"Content-Type": _content_type(self._config.push_format)}
        client = self._http()
        for _attempt in range(self._config.push_attempts):
            attempt = PushAttempt(at=time.time(), status=None, answer=None, error=None)
            record.attempts.append(attempt)
            try:
                response = await asyncio.wait_for(
                    client.post(url, params=params, content=content, headers=headers),
                    timeout=self._config.push_timeout_s,
                )
            except TimeoutError:
                attempt.error = f"no answer within {self._config.push_timeout_s:g} s"
            except httpx.HTTPError as exc:
                attempt.error = f"{type(exc).__name__}: {exc}"
            else:
                attempt.status = response.status_code
                attempt.answer = response.text[:_ANSWER_KEPT]
                if response.status_code == 200:
                    record.delivered = True
                    return
            log.info(
                "push %s to %s attempt %d failed: %s",
                record.event,
                mask(record.openid),
                len(record.attempts),
                attempt.error or f"HTTP {attempt.status}",
            )
        record.delivered = False

    def _sign(self, body: bytes, openid: str) -> tuple[dict[str, str], bytes]:
        timestamp = str(int(time.time()))
        nonce = str(secrets.randbelow(9_000_000_000) + 1_000_000_000)
        params = {
            "signature": self._crypto.signature(timestamp, nonce),
            "timestamp": timestamp,
            "nonce": nonce,
        }
        if self._config.push_mode == "plain":
            return params, body
        encrypt = self._crypto.encrypt(body)
        params["openid"] = openid
        params["encrypt_type"] = "aes"
        params["msg_signature"] = self._crypto.msg_signature(timestamp, nonce, encrypt)
        envelope = build_secure_envelope(
            self._config.push_format, to_user=self._config.original_id, encrypt=encrypt
        )
        return params, envelope

    def open(self) -> None:
        """Open the default HTTP client now (the app's lifespan does) rather than on first push."""
        self._http()

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._config.push_timeout_s)
            self._owns_client = True
        return self._client


def _content_type(fmt: PushFormat) -> str:
    return "application/json" if fmt is PushFormat.JSON else "text/xml"
