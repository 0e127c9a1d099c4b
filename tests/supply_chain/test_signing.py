from __future__ import annotations

import hashlib
import hmac

import pytest

from bff.supply_chain.signing import SignatureError, sign, signed_headers, verify

SECRET = "s3cret-supply-chain"
BODY = '{"events": [{"eventId": "evt-1", "note": "已出库"}]}'.encode()
NOW = 1_795_000_000.0


def test_signature_is_hmac_sha256_of_timestamp_dot_body_in_lowercase_hex() -> None:
    # given
    expected = hmac.new(SECRET.encode(), b"1795000000." + BODY, hashlib.sha256).hexdigest()

    # when
    signature = sign(SECRET, "1795000000", BODY)

    # then
    assert signature == "sha256=" + expected
    assert signature == signature.lower()


def test_signed_headers_verify_and_carry_json_content_type() -> None:
    # given
    headers = signed_headers(SECRET, BODY, now=NOW)

    # when
    verify(SECRET, headers, BODY, now=NOW + 10)

    # then
    assert headers["X-Timestamp"] == "1795000000"
    assert headers["Content-Type"] == "application/json"


def test_header_names_are_case_insensitive() -> None:
    # given
    headers = {key.lower(): value for key, value in signed_headers(SECRET, BODY, now=NOW).items()}

    # when / then (no error)
    verify(SECRET, headers, BODY, now=NOW)


@pytest.mark.parametrize("dropped", ["X-Timestamp", "X-Signature"])
def test_missing_header_is_a_missing_signature(dropped: str) -> None:
    # given
    headers = signed_headers(SECRET, BODY, now=NOW)
    del headers[dropped]

    # when
    with pytest.raises(SignatureError) as caught:
        verify(SECRET, headers, BODY, now=NOW)

    # then
    assert caught.value.reason == "missing signature"


def test_tampered_body_is_a_bad_signature() -> None:
    # given
    headers = signed_headers(SECRET, BODY, now=NOW)

    # when
    with pytest.raises(SignatureError) as caught:
        verify(SECRET, headers, BODY.replace(b"evt-1", b"evt-2"), now=NOW)

    # then
    assert caught.value.reason == "bad signature"
    assert str(caught.value) == "bad signature"


def test_other_secret_is_a_bad_signature() -> None:
    # given
    headers = signed_headers("someone-else", BODY, now=NOW)

    # when / then
    with pytest.raises(SignatureError, match="bad signature"):
        verify(SECRET, headers, BODY, now=NOW)


def test_signature_without_prefix_is_bad() -> None:
    # given
    headers = signed_headers(SECRET, BODY, now=NOW)
    headers["X-Signature"] = headers["X-Signature"].removeprefix("sha256=")

    # when / then
    with pytest.raises(SignatureError, match="bad signature"):
        verify(SECRET, headers, BODY, now=NOW)


def test_moved_timestamp_breaks_the_signature() -> None:
    # given: a captured request replayed with a fresh timestamp
    headers = signed_headers(SECRET, BODY, now=NOW - 3600)
    headers["X-Timestamp"] = str(int(NOW))

    # when / then
    with pytest.raises(SignatureError, match="bad signature"):
        verify(SECRET, headers, BODY, now=NOW)


@pytest.mark.parametrize("offset", [-300, 300])
def test_timestamp_exactly_at_tolerance_is_accepted(offset: int) -> None:
    # given
    headers = signed_headers(SECRET, BODY, now=NOW + offset)

    # when / then (no error)
    verify(SECRET, headers, BODY, now=NOW)


@pytest.mark.parametrize("offset", [-301, 301, -86_400])
def test_timestamp_beyond_tolerance_is_stale(offset: int) -> None:
    # given
    headers = signed_headers(SECRET, BODY, now=NOW + offset)

    # when
    with pytest.raises(SignatureError) as caught:
        verify(SECRET, headers, BODY, now=NOW)

    # then
    assert caught.value.reason == "stale timestamp"


def test_tolerance_is_configurable() -> None:
    # given
    headers = signed_headers(SECRET, BODY, now=NOW - 60)

    # when / then
    with pytest.raises(SignatureError, match="stale timestamp"):
        verify(SECRET, headers, BODY, now=NOW, tolerance_s=30)


@pytest.mark.parametrize("timestamp", ["yesterday", "1795000000.5", "-1795000000", "1_795_000_000", "１２３"])
def test_non_integer_timestamp_is_a_bad_timestamp(timestamp: str) -> None:
    # given
    headers = {"X-Timestamp": timestamp, "X-Signature": sign(SECRET, timestamp, BODY)}

    # when
    with pytest.raises(SignatureError) as caught:
        verify(SECRET, headers, BODY, now=NOW)

    # then
    assert caught.value.reason == "bad timestamp"
