"""``login(code)`` and ``viewer`` (schema/operations/miniprogram.graphql); WeChat is the sandbox."""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from arq.connections import ArqRedis
from tortoise.context import TortoiseContext

from bff.models import User
from bff.runtime.resources import Resources
from bff.runtime.settings import Settings
from bff.sessions import SESSION_TTL, issue_session_token, verify_session_token
from bff.web.app import create_app
from tests.conftest import graphql
from tests.wechat.client_harness import SANDBOX_BASE, SandboxHarness, running_sandbox

LOGIN = """
mutation Login($code: String!) {
  login(code: $code) {
    token
    expiresAt
    viewer { openid }
    userErrors { code field message }
  }
}
"""
VIEWER = "query Viewer { viewer { openid nickname memberTier points region } }"
OPENID = "oUSER_openid_example_000006"


@dataclasses.dataclass
class LoginWorld:
    sandbox: SandboxHarness
    client: httpx.AsyncClient  # the BFF's GraphQL endpoint
    settings: Settings


async def _bff(
    settings: Settings, arq: ArqRedis, http: httpx.AsyncClient
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, resources=Resources(settings=settings, arq=arq, http=http))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client,
    ):
        yield client


@pytest.fixture
async def world(settings: Settings, db: TortoiseContext, arq_pool: ArqRedis) -> AsyncIterator[LoginWorld]:
    """The BFF whose WeChat is the sandbox (only the API base differs from production)."""
    wx_settings = dataclasses.replace(settings, wechat_api_base=SANDBOX_BASE)
    async with running_sandbox() as sb:
        async for client in _bff(wx_settings, arq_pool, sb.http):
            yield LoginWorld(sandbox=sb, client=client, settings=wx_settings)


async def login(world: LoginWorld, code: str) -> dict[str, Any]:
    answer = await graphql(world.client, LOGIN, {"code": code})
    assert "errors" not in answer, answer
    payload: dict[str, Any] = answer["data"]["login"]
    return payload


# --- login ------------------------------------------------------------------------------------


async def test_first_login_creates_the_user_and_signs_a_session(world: LoginWorld) -> None:
    # given a fresh wx.login code of a new user
    code = await world.sandbox.login_code(OPENID, unionid="oUNION_000006")
    before = datetime.now(UTC)

    # when
    payload = await login(world, code)

    # then a token valid for 7 days comes back with the viewer, and the user exists
    assert payload["userErrors"] == []
    assert payload["viewer"] == {"openid": OPENID}
    expires_at = datetime.fromisoformat(payload["expiresAt"])
    assert expires_at.utcoffset() == timedelta(hours=8)  # business time zone, with its offset
    assert before + SESSION_TTL - timedelta(seconds=2) <= expires_at <= datetime.now(UTC) + SESSION_TTL
    user = await User.get(openid=OPENID)
    assert user.unionid == "oUNION_000006"
    assert user.seen_at is not None
    # and the token answers viewer
    viewer = await graphql(world.client, VIEWER, token=payload["token"])
    assert viewer["data"]["viewer"]["openid"] == OPENID


async def test_a_later_login_updates_the_same_user(world: LoginWorld) -> None:
    # given a user who logged in before
    first = await login(world, await world.sandbox.login_code(OPENID))
    user = await User.get(openid=OPENID)
    first_seen = user.seen_at

    # when they log in again with a new code
    second = await login(world, await world.sandbox.login_code(OPENID, unionid="oUNION_later"))

    # then it is the same user, seen again, now with a unionid
    assert await User.filter(openid=OPENID).count() == 1
    again = await User.get(openid=OPENID)
    assert again.seen_at is not None and first_seen is not None and again.seen_at >= first_seen
    assert again.unionid == "oUNION_later"
    assert first["viewer"] == second["viewer"] == {"openid": OPENID}


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("unknown", "INVALID_CODE"),
        ("used", "CODE_USED"),
        ("blocked", "CODE_BLOCKED"),
        ("empty", "INVALID_CODE"),
    ],
)
async def test_bad_codes_are_user_errors_with_stable_codes(world: LoginWorld, case: str, code: str) -> None:
    # given
    if case == "unknown":
        wx_code = "not-a-code-WeChat-issued"
    elif case == "used":
        wx_code = await world.sandbox.login_code(OPENID)
        await login(world, wx_code)
        await User.filter(openid=OPENID).delete()
    elif case == "blocked":
        wx_code = await world.sandbox.login_code(OPENID, blocked=True)
    else:
        wx_code = "   "

    # when
    payload = await login(world, wx_code)

    # then no token, no viewer, one user error on the code field, and no user
    assert payload["token"] is None
    assert payload["viewer"] is None
    assert payload["expiresAt"] is None
    [error] = payload["userErrors"]
    assert (error["code"], error["field"]) == (code, "code")
    assert error["message"]
    assert await User.filter(openid=OPENID).count() == 0


@pytest.mark.parametrize(
    "wechat",
    [
        lambda request: httpx.Response(200, json={"errcode": -1, "errmsg": "system error"}),
        lambda request: httpx.Response(
            200, json={"errcode": 45011, "errmsg": "api minute-quota reach limit"}
        ),
        lambda request: httpx.Response(200, json={"errcode": 40125, "errmsg": "invalid appsecret"}),
        lambda request: httpx.Response(503, text="busy"),
    ],
    ids=["system-error", "minute-quota", "bad-secret", "http-503"],
)
async def test_wechat_trouble_is_wechat_unavailable(
    settings: Settings,
    db: TortoiseContext,
    arq_pool: ArqRedis,
    wechat: Callable[[httpx.Request], httpx.Response],
) -> None:
    # given a WeChat that cannot redeem codes right now (a stub: the sandbox's login never fails so)
    async with httpx.AsyncClient(transport=httpx.MockTransport(wechat)) as http:
        async for client in _bff(settings, arq_pool, http):
            # when
            answer = await graphql(client, LOGIN, {"code": "0a1b2c3d"})

    # then
    [error] = answer["data"]["login"]["userErrors"]
    assert error["code"] == "WECHAT_UNAVAILABLE"
    assert answer["data"]["login"]["token"] is None


async def test_unreachable_wechat_is_wechat_unavailable(
    settings: Settings, db: TortoiseContext, arq_pool: ArqRedis
) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as http:
        async for client in _bff(settings, arq_pool, http):
            answer = await graphql(client, LOGIN, {"code": "0a1b2c3d"})
    assert answer["data"]["login"]["userErrors"][0]["code"] == "WECHAT_UNAVAILABLE"


# --- viewer and the session token -----------------------------------------------------------------


async def logged_in(world: LoginWorld) -> str:
    payload = await login(world, await world.sandbox.login_code(OPENID))
    token = payload["token"]
    assert isinstance(token, str)
    return token


def flip(token: str, index: int) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    replacement = alphabet[(alphabet.index(token[index]) + 1) % len(alphabet)]
    return token[:index] + replacement + token[index + 1 :]


@pytest.mark.parametrize(
    "mangle",
    [
        lambda token, secret: None,
        lambda token, secret: flip(token, 3),  # the user id
        lambda token, secret: flip(token, 15),  # the expiry
        lambda token, secret: flip(token, len(token) - 2),  # the signature
        lambda token, secret: token + "A",
        lambda token, secret: token[:-1],
        lambda token, secret: issue_session_token("another-secret-0123456789", 1)[0],
        lambda token, secret: issue_session_token(secret, 1, now=datetime.now(UTC) - SESSION_TTL * 2)[0],
        lambda token, secret: "not a token",
    ],
    ids=[
        "missing",
        "forged-user",
        "forged-expiry",
        "forged-mac",
        "longer",
        "shorter",
        "other-secret",
        "expired",
        "junk",
    ],
)
async def test_viewer_gets_no_data_without_a_valid_token(
    world: LoginWorld, mangle: Callable[[str, str], str | None]
) -> None:
    # given a real session token, and a bad variant of it
    token = await logged_in(world)
    bad = mangle(token, world.settings.session_secret)

    # when
    answer = await graphql(world.client, VIEWER, token=bad)

    # then
    assert answer == {"data": {"viewer": None}}


async def test_viewer_of_a_deleted_user_is_null(world: LoginWorld) -> None:
    token = await logged_in(world)
    await User.filter(openid=OPENID).delete()
    assert await graphql(world.client, VIEWER, token=token) == {"data": {"viewer": None}}


async def test_authorization_needs_the_bearer_scheme(world: LoginWorld) -> None:
    token = await logged_in(world)
    response = await world.client.post("/graphql", json={"query": VIEWER}, headers={"Authorization": token})
    assert response.json() == {"data": {"viewer": None}}
    response = await world.client.post(
        "/graphql", json={"query": VIEWER}, headers={"Authorization": f"bearer {token}"}
    )
    assert response.json()["data"]["viewer"]["openid"] == OPENID


# --- session tokens ---------------------------------------------------------------------------


SECRET = "session-secret-for-tests-0123456789"


def test_session_token_round_trip() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    token, expires_at = issue_session_token(SECRET, 42, timedelta(hours=1), now=now)
    assert expires_at == now + timedelta(hours=1)
    assert verify_session_token(SECRET, token, now=now) == 42
    assert verify_session_token(SECRET, token, now=now + timedelta(minutes=59)) == 42
    assert verify_session_token(SECRET, token, now=now + timedelta(hours=1)) is None


def test_every_altered_byte_is_refused() -> None:
    token, _ = issue_session_token(SECRET, 42)
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    for index in range(len(raw)):
        altered = raw[:index] + bytes([raw[index] ^ 0x01]) + raw[index + 1 :]
        forged = base64.urlsafe_b64encode(altered).rstrip(b"=").decode()
        assert verify_session_token(SECRET, forged) is None, index


def test_a_token_with_characters_outside_the_alphabet_is_refused() -> None:
    token, _ = issue_session_token(SECRET, 42)
    assert verify_session_token(SECRET, token[:10] + "." + token[10:]) is None
    assert verify_session_token(SECRET, "\u00e9" * 66) is None
    assert verify_session_token(SECRET, "A" * 10_000) is None


def test_tokens_carry_no_readable_secret() -> None:
    token, _ = issue_session_token(SECRET, 42)
    assert SECRET not in token
    assert len(token) == 66
