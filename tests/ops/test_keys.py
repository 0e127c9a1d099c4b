from __future__ import annotations

from bff.ops.keys import bearer_token, operator_for

KEYS = (("alice", "a" * 20 + "1234567890ab"), ("bob", "b" * 20 + "1234567890ab"))


def test_a_configured_key_names_its_operator() -> None:
    assert operator_for(KEYS, "b" * 20 + "1234567890ab") == "bob"
    assert operator_for(KEYS, "a" * 20 + "1234567890ab") == "alice"


def test_a_prefix_a_longer_value_or_another_key_names_nobody() -> None:
    assert operator_for(KEYS, "a" * 20) is None
    assert operator_for(KEYS, "a" * 20 + "1234567890abX") is None
    assert operator_for(KEYS, "c" * 32) is None
    assert operator_for((), "a" * 32) is None


def test_text_that_is_not_ascii_or_utf8_is_simply_no_key() -> None:
    assert operator_for(KEYS, "密钥\ud800") is None


def test_bearer_token_reads_the_header_value() -> None:
    assert bearer_token("Bearer abc") == "abc"
    assert bearer_token("bearer   abc  ") == "abc"
    assert bearer_token("Basic abc") is None
    assert bearer_token("Bearer ") is None
    assert bearer_token("") is None
