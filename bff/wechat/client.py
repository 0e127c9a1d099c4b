"""The WeChat server-API client: tokens, login, subscription messages, templates, shipping.

Every call goes to ``api_base`` (``https://api.weixin.qq.com`` in production, the sandbox in
development and tests); the client does not know which one it talks to.

Failures are raised, never returned: ``WeChatAPIError`` when WeChat answered a non-zero
``errcode`` (its ``.action`` follows the §11 table; errcode, errmsg and request id are kept) and
``WeChatTransportError`` when no usable answer came (``outcome_unknown`` tells whether the request
may have been processed). Only a request to the protected API itself can be outcome-unknown: a
failed token fetch (timeout, 5xx, an answer that is not JSON) raises ``outcome_unknown=False``,
since the call it was for never went out. Token problems (40001 / 40014 / 42001) are handled here: the failed
token is dropped from the cache if it is still the cached one, a fresh token is fetched in normal
mode and the call is retried once. If normal mode hands back the very token WeChat just refused,
one ``force_refresh`` is tried, within WeChat's 30 s / 20-a-day rule.

Subscription values are sent as given: the caller has prepared them once
(``bff.wechat.keywords.prepare_data`` shortens and validates them against the template's rules,
as the notice sender does), so the client needs no templates and knows nothing of the file.

The AppSecret, access tokens, session keys and full openids are never logged; httpx's request
log lines are filtered so that the ``access_token``, ``secret`` and ``js_code`` query values are
masked.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import httpx
from redis.asyncio import Redis

from bff.runtime.logsafe import mask
from bff.runtime.resources import Resources
from bff.runtime.settings import Settings
from bff.wechat.errors import Action, WeChatAPIError, WeChatTransportError
from bff.wechat.tokens import FetchedToken, ForceRefresh, TokenCache, TokenUnavailableError

__all__ = [
    "LANGS",
    "MINIPROGRAM_STATES",
    "BeforeRequest",
    "SendResult",
    "Session",
    "WeChatClient",
    "wechat_client",
    "wechat_client_for",
]

log = logging.getLogger("lvyue.wechat.client")

MINIPROGRAM_STATES = ("developer", "trial", "formal")
LANGS = ("zh_CN", "en_US", "zh_HK", "zh_TW")

API_STABLE_TOKEN = "stable_token"
API_JSCODE2SESSION = "jscode2session"
API_SEND = "subscribe_send"
API_GET_TEMPLATES = "gettemplate"
API_UPLOAD_SHIPPING = "upload_shipping_info"
API_GET_SHIPPING_ORDER = "get_order"

_PATHS = {
    API_STABLE_TOKEN: "/cgi-bin/stable_token",
    API_JSCODE2SESSION: "/sns/jscode2session",
    API_SEND: "/cgi-bin/message/subscribe/send",
    API_GET_TEMPLATES: "/wxaapi/newtmpl/gettemplate",
    API_UPLOAD_SHIPPING: "/wxa/sec/order/upload_shipping_info",
    API_GET_SHIPPING_ORDER: "/wxa/sec/order/get_order",
}


# --- log hygiene ------------------------------------------------------------------------------

_SECRET_QUERY = re.compile(r"(?P<name>access_token|secret|js_code)=(?P<value>[^&\s\"]*)")


def _redact(text: str) -> str:
    return _SECRET_QUERY.sub(lambda m: f"{m['name']}={mask(m['value'])}", text)


class _RedactSecretsFilter(logging.Filter):
    """httpx logs every request URL at INFO; ours carry the token or the AppSecret."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(_redact(str(a)) if isinstance(a, httpx.URL | str) else a for a in record.args)
        return True


# Awaited right before a request to a token-protected API goes out (see send_subscribe_message).
BeforeRequest = Callable[[], Awaitable[None]]

_httpx_logger = logging.getLogger("httpx")
if not any(isinstance(f, _RedactSecretsFilter) for f in _httpx_logger.filters):
    _httpx_logger.addFilter(_RedactSecretsFilter())


# --- results -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Session:
    """What jscode2session answered. ``session_key`` stays on the server (never shown in repr)."""

    openid: str
    session_key: str = field(repr=False)
    unionid: str | None = None


@dataclass(frozen=True)
class SendResult:
    """A successful send: WeChat's ``msgid`` (a 64-bit integer kept as its decimal string; None if
    WeChat gave none) and the keyword values as sent."""

    msgid: str | None
    data: Mapping[str, str]


# --- transport --------------------------------------------------------------------------------


def _transport_error(api: str, exc: httpx.HTTPError) -> WeChatTransportError:
    """Connect failures never reached WeChat; a read timeout or a dropped connection after the
    request was written may have been processed (a send may have gone out)."""
    name = type(exc).__name__
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        unknown = False
    elif isinstance(exc, httpx.WriteError | httpx.WriteTimeout | httpx.LocalProtocolError):
        unknown = False  # the request was not completely written, so WeChat cannot have acted on it
    elif isinstance(
        exc, httpx.ReadTimeout | httpx.ReadError | httpx.RemoteProtocolError | httpx.DecodingError
    ):
        unknown = True
    elif isinstance(exc, httpx.TimeoutException):
        unknown = True  # any other timeout: assume the request may have gone out
    else:
        unknown = False  # proxy / protocol / URL problems: raised before anything was sent
    return WeChatTransportError(api=api, detail=_redact(f"{name}: {exc}")[:300], outcome_unknown=unknown)


def _msgid(value: object) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and value.strip().isdigit():
        return str(int(value.strip()))
    if value is not None:
        log.warning("send answered a msgid that is not an integer (%s); ignoring it", type(value).__name__)
    return None


class WeChatClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        redis: Redis,
        *,
        appid: str,
        secret: str,
        api_base: str,
        token_cache: TokenCache | None = None,
    ) -> None:
        if not appid or not secret:
            raise ValueError("appid and secret must not be empty")
        self._http = http
        self._appid = appid
        self._secret = secret
        self._api_base = api_base.rstrip("/")
        self.tokens = token_cache or TokenCache(redis, appid)

    def __repr__(self) -> str:
        return f"WeChatClient(appid={self._appid!r}, api_base={self._api_base!r})"

    # -- plumbing -------------------------------------------------------------------------------

    async def _request(
        self,
        api: str,
        method: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        content = None
        headers = {}
        if body is not None:
            content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            headers["Content-Type"] = "application/json; charset=utf-8"
        try:
            response = await self._http.request(
                method, self._api_base + _PATHS[api], params=params, content=content, headers=headers
            )
        except httpx.HTTPError as exc:
            error = _transport_error(api, exc)
            log.warning("%s", error)
            raise error from None
        if not 200 <= response.status_code < 300:
            raise WeChatTransportError(
                api=api, detail=f"HTTP {response.status_code}", outcome_unknown=response.status_code >= 500
            )
        try:
            # The stdlib decoder keeps integers exact, so a 64-bit msgid never becomes a float.
            answer = response.json()
        except ValueError:
            raise WeChatTransportError(api=api, detail="answer is not JSON", outcome_unknown=True) from None
        if not isinstance(answer, dict):
            raise WeChatTransportError(api=api, detail="answer is not a JSON object", outcome_unknown=True)
        errcode = answer.get("errcode", 0)
        if isinstance(errcode, bool) or not isinstance(errcode, int):
            raise WeChatTransportError(
                api=api, detail=f"errcode {errcode!r} is not an integer", outcome_unknown=True
            )
        if errcode != 0:
            api_error = WeChatAPIError.from_response(api, errcode, str(answer.get("errmsg", "")))
            log.info(
                "%s: errcode %d (%s), rid %s", api, errcode, api_error.action, api_error.request_id or "-"
            )
            raise api_error
        return answer

    async def _fetch_token(self, *, force_refresh: bool) -> FetchedToken:
        try:
            answer = await self._request(
                API_STABLE_TOKEN,
                "POST",
                body={
                    "grant_type": "client_credential",
                    "appid": self._appid,
                    "secret": self._secret,
                    "force_refresh": force_refresh,
                },
            )
        except WeChatTransportError as exc:
            # Whether stable_token processed it or not, the call the token was for did not go out.
            raise WeChatTransportError(api=exc.api, detail=exc.detail, outcome_unknown=False) from None
        value = answer.get("access_token")
        expires_in = answer.get("expires_in")
        if (
            not isinstance(value, str)
            or not value
            or isinstance(expires_in, bool)
            or not isinstance(expires_in, int)
        ):
            raise WeChatTransportError(
                api=API_STABLE_TOKEN, detail="answer has no access_token / expires_in", outcome_unknown=False
            )
        return FetchedToken(value=value, expires_in=expires_in)

    async def _fetch_normal(self) -> FetchedToken:
        return await self._fetch_token(force_refresh=False)

    async def _fetch_forced(self) -> FetchedToken:
        return await self._fetch_token(force_refresh=True)

    async def access_token(self) -> str:
        """The current access token (cached; fetched by one process at a time)."""
        try:
            return await self.tokens.get(self._fetch_normal)
        except TokenUnavailableError as exc:
            raise WeChatTransportError(api=API_STABLE_TOKEN, detail=str(exc), outcome_unknown=False) from None

    async def _force_refresh(self, failed: str) -> str | None:
        """A token other than ``failed`` via force_refresh, or None when the limits forbid it now."""
        decision = await self.tokens.reserve_force_refresh()
        if decision is ForceRefresh.ALLOWED:
            log.warning("stable_token normal mode returned the refused token; forcing a refresh (alert)")
            try:
                return await self.tokens.replace(self._fetch_forced)
            except TokenUnavailableError:
                return None
        # Another process may have forced a refresh moments ago: use its token if it is new.
        cached = await self.tokens.peek()
        log.warning("token refused again and force_refresh is not allowed now (%s)", decision)
        return cached if cached and cached != failed else None

    async def _with_token(
        self,
        api: str,
        method: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
        before_request: BeforeRequest | None = None,
    ) -> dict[str, Any]:
        """Call a token-protected API; on a token error refresh and retry exactly once.

        ``before_request`` is awaited with the token at hand, right before each request to ``api``.
        """
        token = await self.access_token()
        try:
            if before_request is not None:
                await before_request()
            return await self._request(
                api, method, params={**(params or {}), "access_token": token}, body=body
            )
        except WeChatAPIError as exc:
            if exc.action is not Action.REFRESH_TOKEN:
                raise
            first_error = exc
        await self.tokens.expire_if_current(token)
        fresh = await self.access_token()
        if fresh == token:
            forced = await self._force_refresh(token)
            if forced is None:
                raise first_error
            fresh = forced
        log.info("%s: retrying once with a refreshed access_token after errcode %d", api, first_error.errcode)
        if before_request is not None:
            await before_request()
        return await self._request(api, method, params={**(params or {}), "access_token": fresh}, body=body)

    # -- APIs -----------------------------------------------------------------------------------

    async def code_to_session(self, code: str) -> Session:
        """jscode2session (§7): the user behind a ``wx.login`` code. Codes are single-use."""
        answer = await self._request(
            API_JSCODE2SESSION,
            "GET",
            params={
                "appid": self._appid,
                "secret": self._secret,
                "js_code": code,
                "grant_type": "authorization_code",
            },
        )
        openid = answer.get("openid")
        session_key = answer.get("session_key")
        if not isinstance(openid, str) or not openid or not isinstance(session_key, str):
            raise WeChatTransportError(
                api=API_JSCODE2SESSION, detail="answer has no openid / session_key", outcome_unknown=True
            )
        unionid = answer.get("unionid")
        return Session(
            openid=openid,
            session_key=session_key,
            unionid=unionid if isinstance(unionid, str) and unionid else None,
        )

    async def send_subscribe_message(
        self,
        *,
        openid: str,
        template_id: str,
        data: Mapping[str, str],
        page: str | None,
        miniprogram_state: str,
        lang: str = "zh_CN",
        before_send: BeforeRequest | None = None,
    ) -> SendResult:
        """subscribeMessage.send (§1). ``data`` goes out as given: the caller has prepared it
        (``keywords.prepare_data``). A bad openid, state or lang raises ValueError before any request.

        ``before_send`` is awaited once the access token is at hand, right before the send request
        is written (and again before the one retry after a token refresh): whatever fails or is
        cancelled before it — the token fetch, the wait for another process's refresh — sent
        nothing. The notice sender commits ``call_started_at`` there.
        """
        if not openid:
            raise ValueError("openid must not be empty")
        if miniprogram_state not in MINIPROGRAM_STATES:
            raise ValueError(
                f"miniprogram_state must be one of {MINIPROGRAM_STATES}, got {miniprogram_state!r}"
            )
        if lang not in LANGS:
            raise ValueError(f"lang must be one of {LANGS}, got {lang!r}")
        values = dict(data)
        body: dict[str, Any] = {
            "touser": openid,
            "template_id": template_id,
            "data": {code: {"value": value} for code, value in values.items()},
            "miniprogram_state": miniprogram_state,
            "lang": lang,
        }
        if page:
            body["page"] = page
        answer = await self._with_token(API_SEND, "POST", body=body, before_request=before_send)
        result = SendResult(msgid=_msgid(answer.get("msgid")), data=MappingProxyType(values))
        log.info("sent %s to %s (msgid %s)", template_id, mask(openid), result.msgid or "-")
        return result

    async def get_templates(self) -> list[dict[str, Any]]:
        """getTemplateList (§8.1): the account's private templates, as WeChat lists them."""
        answer = await self._with_token(API_GET_TEMPLATES, "GET")
        data = answer.get("data", [])
        if not isinstance(data, list):
            raise WeChatTransportError(
                api=API_GET_TEMPLATES, detail="data is not a list", outcome_unknown=False
            )
        return [item for item in data if isinstance(item, dict)]

    async def upload_shipping_info(self, payload: Mapping[str, Any]) -> None:
        """upload_shipping_info (§10.1); ``payload`` is the documented JSON body."""
        await self._with_token(API_UPLOAD_SHIPPING, "POST", body=payload)

    async def shipping_order_state(self, transaction_id: str) -> int:
        """get_order (§10.2): the payment's ``order_state`` (1 awaiting shipment, 2 shipped, 3 receipt
        confirmed, ...). 10060001 (payment unknown) is raised as a WeChatAPIError."""
        answer = await self._with_token(
            API_GET_SHIPPING_ORDER, "POST", body={"transaction_id": transaction_id}
        )
        order = answer.get("order")
        state = order.get("order_state") if isinstance(order, dict) else None
        if isinstance(state, bool) or not isinstance(state, int):
            raise WeChatTransportError(
                api=API_GET_SHIPPING_ORDER, detail="answer has no order.order_state", outcome_unknown=False
            )
        return state


# --- factories --------------------------------------------------------------------------------


def wechat_client_for(
    settings: Settings, http: httpx.AsyncClient, redis: Redis, *, token_memo_s: float = 0.0
) -> WeChatClient:
    """A client for the configured account. ``token_memo_s``: how long its token cache answers the
    token it last read without asking Redis (a worker's sender, which lives as long as the worker)."""
    return WeChatClient(
        http,
        redis,
        appid=settings.wechat_appid,
        secret=settings.wechat_secret,
        api_base=settings.wechat_api_base,
        token_cache=TokenCache(redis, settings.wechat_appid, memo_s=token_memo_s),
    )


def wechat_client(resources: Resources) -> WeChatClient:
    """The client of a web process or a test (``resources``); workers use ``wechat_client_for(
    ctx["settings"], ctx["http"], ctx["redis"])``."""
    return wechat_client_for(resources.settings, resources.http, resources.arq)
