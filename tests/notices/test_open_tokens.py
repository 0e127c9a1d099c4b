"""Open tokens: the notice id a tapped card carries, signed so it cannot be forged or altered."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bff.notices.open_tokens import issue_open_token, verify_open_token
from bff.sessions import issue_session_token, verify_session_token

SECRET = "test-secret-0123456789abcdef"


def test_a_token_names_its_notice() -> None:
    # given a token issued for notice 42
    token = issue_open_token(SECRET, 42)

    # then it verifies to 42, is short and safe in a page query
    assert verify_open_token(SECRET, token) == 42
    assert len(token) == 28
    assert all(ch.isalnum() or ch in "-_" for ch in token)


@given(st.integers(min_value=1, max_value=2**63 - 1))
def test_every_notice_id_round_trips(notice_id: int) -> None:
    assert verify_open_token(SECRET, issue_open_token(SECRET, notice_id)) == notice_id


def test_a_token_of_another_secret_is_refused() -> None:
    assert verify_open_token(SECRET, issue_open_token("another-secret-0123456789", 42)) is None


def test_an_altered_token_is_refused() -> None:
    # given a token whose notice id was changed from 42 to 43
    raw = bytearray(base64.urlsafe_b64decode(issue_open_token(SECRET, 42) + "=="))
    raw[8] = 43
    forged = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()

    # then it does not verify
    assert verify_open_token(SECRET, forged) is None


@pytest.mark.parametrize(
    "token", ["", "x", "not a token at all", "é" * 28, "A" * 500, "AAAAAAAAAAAAAAAAAAAAAAAAAAAA", "====="]
)
def test_malformed_tokens_are_refused_without_raising(token: str) -> None:
    assert verify_open_token(SECRET, token) is None


@pytest.mark.parametrize("spelling", ["a dot inside", "a newline at the end", "padding"])
def test_a_token_spelled_other_than_the_canonical_way_is_refused(spelling: str) -> None:
    # given a valid token of notice 42, spelled another way the base64 decoder would still read
    token = issue_open_token(SECRET, 42)
    respelled = {
        "a dot inside": token[:10] + "." + token[10:],
        "a newline at the end": token + "\n",
        "padding": token + "==",
    }[spelling]

    # then it does not verify: only the spelling we issued names the notice
    assert verify_open_token(SECRET, respelled) is None


def test_open_tokens_and_session_tokens_cannot_stand_in_for_each_other() -> None:
    # given a session token of user 42 and an open token of notice 42, with the same secret
    session, _ = issue_session_token(SECRET, 42)
    opened = issue_open_token(SECRET, 42)

    # then neither verifies as the other
    assert verify_open_token(SECRET, session) is None
    assert verify_session_token(SECRET, opened) is None


@pytest.mark.parametrize("notice_id", [0, -1, 2**63])
def test_issuing_for_an_impossible_id_is_an_error(notice_id: int) -> None:
    with pytest.raises(ValueError, match="notice id"):
        issue_open_token(SECRET, notice_id)


def test_issuing_without_a_secret_is_an_error() -> None:
    with pytest.raises(ValueError, match="secret"):
        issue_open_token("", 1)
