"""Message-push signatures and the AES envelope (wechat-platform.md §5)."""

from __future__ import annotations

import base64
import re
import struct

import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given, settings
from hypothesis import strategies as st

from bff.wechat import crypto
from bff.wechat.crypto import (
    ForeignAppIdError,
    PushCrypto,
    PushCryptoError,
    generate_encoding_aes_key,
    sha1_signature,
)

APPID = "wx0123456789abcdef"

# Known-answer vector of the WXBizMsgCrypt sample (the same envelope, used by WeCom's docs and
# quoted verbatim in wechatpy's tests/test_crypto.py).
SAMPLE_TOKEN = "123456"
SAMPLE_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
SAMPLE_APPID = "wx49f0ab532d5d035a"
SAMPLE_TIMESTAMP = "1411525903"
SAMPLE_NONCE = "461056294"
SAMPLE_ENCRYPT = (
    "RgqEoJj5A4EMYlLvWO1F86ioRjZfaex/gePD0gOXTxpsq5Yj4GNglrBb8I2BAJVODGajiFnXBu7mCPatfjsu6IHCrsTyeDXzF6Bv"
    "283dGymzxh6ydJRvZsryDyZbLTE7rhnus50qGPMfp2wASFlzEgMW9z1ef/RD8XzaFYgm7iTdaXpXaG4+BiYyolBug/gYNx410cvk"
    "KR2/nPwBiT+P4hIiOAQqGp/TywZBtDh1yCF2KOd0gpiMZ5jSw3e29mTvmUHzkVQiMS6td7vXUaWOMZnYZlF3So2SjHnwh4jYFxdg"
    "pkHHqIrH/54SNdshoQgWYEvccTKe7FS709/5t6NMxuGhcUGAPOQipvWTT4dShyqio7mlsl5noTrb++x6En749zCpQVhDpbV6GDnT"
    "bcX2e8K9QaNWHp91eBdCRxthuL0="
)
SAMPLE_MSG_SIGNATURE = "74d92dfeb87ba7c714f89d98870ae5eb62dff26d"
SAMPLE_REPLY = (
    b"<xml>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[test]]></Content>\n"
    b"<FromUserName><![CDATA[wx49f0ab532d5d035a]]></FromUserName>\n"
    b"<ToUserName><![CDATA[messense]]></ToUserName>\n<AgentID>1</AgentID>\n"
    b"<CreateTime>1411525903</CreateTime>\n</xml>"
)
SAMPLE_REPLY_ENCRYPT = (
    "9s4gMv99m88kKTh/H8IdkOiMg6bisoy3ypwy9H4hvSPe9nsGaqyw5hhSjdYbcrKk+j3nba4HMOTzHrluLBYqxgNcBqGsL8Gqxlh"
    "ZgURnAtObvesEl5nZ+uBE8bviY0LWke8Zy9V/QYKxNV2FqllNXcfmstttyIkMKCCmVbCFM2JTF5wY0nFhHZSjPUL2Q1qvSUCUld"
    "+/WIXrx0oyKQmpB6o8NRrrNrsDf03oxI1p9FxUgMnwKKZeOA/uu+2IEvEBtb7muXsVbwbgX05UPPJvFurDXafG0RQyPR+mf1nDn"
    "AtQmmNOuiR5MIkdQ39xn1vWwi1O5oazPoQJz0nTYjxxEE8kv3kFxtAGVRe3ypD3WeK2XeFYFMNMpatF9XiKzHo3"
)
SAMPLE_REPLY_MSG_SIGNATURE = "407518b7649e86ef23978113f92d27afa9296533"


def make_crypto(key: str | None = None, *, appid: str = APPID, previous: str | None = None) -> PushCrypto:
    return PushCrypto(
        token="AAAAA",
        encoding_aes_key=key or generate_encoding_aes_key(),
        appid=appid,
        previous_aes_key=previous,
    )


# --- signatures: official vectors ------------------------------------------------------------


def test_handshake_signature_matches_official_example() -> None:
    # given the §5.2 worked example
    # when
    signature = sha1_signature("AAAAA", "1714036504", "1514711492")
    # then
    assert signature == "f464b24fc39322e44b38aa78f5edd27bd1441696"


def test_plaintext_post_signature_matches_official_example() -> None:
    # given the §5.3 worked example and a receiver configured with the same token
    receiver = make_crypto()
    # when / then
    assert receiver.check_signature("899cf89e464efb63f54ddac96b0a0a235f53aa78", "1714037059", "486452656")


def test_secure_mode_url_signature_matches_official_example() -> None:
    # given the §5.4 worked example
    receiver = make_crypto()
    # when
    signature = receiver.signature("1714112445", "415670741")
    # then
    assert signature == "6c5c811b55cc85e0e1b54100749188c20beb3f5d"


def test_signature_is_independent_of_argument_order() -> None:
    # given / when / then: sorting makes the order irrelevant
    assert sha1_signature("b", "a", "c") == sha1_signature("c", "b", "a") == sha1_signature("a", "b", "c")


@pytest.mark.parametrize(
    ("signature", "timestamp", "nonce"),
    [
        ("f464b24fc39322e44b38aa78f5edd27bd1441696", "1714036504", "1514711493"),  # nonce changed
        ("f464b24fc39322e44b38aa78f5edd27bd1441696", "1714036505", "1514711492"),  # timestamp changed
        ("f464b24fc39322e44b38aa78f5edd27bd1441697", "1714036504", "1514711492"),  # signature changed
        ("", "1714036504", "1514711492"),
        ("签名", "1714036504", "1514711492"),  # non-ASCII query value must not crash the comparison
    ],
)
def test_check_signature_rejects_any_mismatch(signature: str, timestamp: str, nonce: str) -> None:
    # given a receiver with the official token
    receiver = make_crypto()
    # when / then
    assert not receiver.check_signature(signature, timestamp, nonce)


def test_check_signature_with_another_token_fails() -> None:
    # given a receiver whose token differs from the one that signed
    receiver = PushCrypto(token="BBBBB", encoding_aes_key=generate_encoding_aes_key(), appid=APPID)
    # when / then
    official = "f464b24fc39322e44b38aa78f5edd27bd1441696"
    assert not receiver.check_signature(official, "1714036504", "1514711492")


def test_msg_signature_covers_the_encrypted_body() -> None:
    # given a secure-mode body signed by the receiver's token
    receiver = make_crypto()
    encrypt = receiver.encrypt(b'{"Event":"subscribe_msg_popup_event"}')
    signed = receiver.msg_signature("1714112445", "415670741", encrypt)
    # when a different Encrypt value is presented with the same msg_signature
    other = receiver.encrypt(b'{"Event":"subscribe_msg_change_event"}')
    # then only the original body verifies
    assert receiver.check_msg_signature(signed, "1714112445", "415670741", encrypt)
    assert not receiver.check_msg_signature(signed, "1714112445", "415670741", other)
    assert signed == sha1_signature("AAAAA", "1714112445", "415670741", encrypt)


# --- envelope: known-answer vectors ----------------------------------------------------------


def test_decrypts_the_wxbizmsgcrypt_sample() -> None:
    # given the sample receiver and its signed ciphertext
    receiver = PushCrypto(token=SAMPLE_TOKEN, encoding_aes_key=SAMPLE_KEY, appid=SAMPLE_APPID)
    # when
    verified = receiver.check_msg_signature(
        SAMPLE_MSG_SIGNATURE, SAMPLE_TIMESTAMP, SAMPLE_NONCE, SAMPLE_ENCRYPT
    )
    message = receiver.decrypt(SAMPLE_ENCRYPT)
    # then
    assert verified
    assert message.startswith(b"<xml><ToUserName><![CDATA[wx49f0ab532d5d035a]]></ToUserName>")
    assert b"<Content><![CDATA[test]]></Content>" in message
    assert message.endswith(b"</xml>")


def test_encrypts_exactly_like_the_wxbizmsgcrypt_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    # given the sample's fixed random prefix
    monkeypatch.setattr(crypto, "_random_prefix", lambda: b"1234567890123456")
    sender = PushCrypto(token=SAMPLE_TOKEN, encoding_aes_key=SAMPLE_KEY, appid=SAMPLE_APPID)
    # when
    encrypt = sender.encrypt(SAMPLE_REPLY)
    # then
    assert encrypt == SAMPLE_REPLY_ENCRYPT
    assert sender.msg_signature(SAMPLE_TIMESTAMP, SAMPLE_NONCE, encrypt) == SAMPLE_REPLY_MSG_SIGNATURE


def _independent_encrypt(key: bytes, message: bytes, appid: bytes) -> str:
    """§5.4 written out with cryptography's own PKCS#7 padder (block 256 bits)."""
    full = b"\x00" * 16 + struct.pack(">I", len(message)) + message + appid
    padder = padding.PKCS7(256).padder()
    padded = padder.update(full) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode()


@pytest.mark.parametrize("size", [0, 1, 26, 31, 58, 100, 1000])
def test_decrypts_envelopes_built_independently_from_the_spec(size: int) -> None:
    # given a ciphertext built step by step from §5.4, including exact-multiple-of-32 lengths
    key_text = generate_encoding_aes_key()
    key = base64.b64decode(key_text + "=")
    message = (bytes(range(256)) * 4)[:size]
    encrypt = _independent_encrypt(key, message, APPID.encode())
    # when
    decrypted = make_crypto(key_text).decrypt(encrypt)
    # then
    assert decrypted == message


def test_full_padding_block_is_added_when_already_aligned(monkeypatch: pytest.MonkeyPatch) -> None:
    # given a message whose header + body + appid is exactly 64 bytes
    monkeypatch.setattr(crypto, "_random_prefix", lambda: b"\x00" * 16)
    key_text = generate_encoding_aes_key()
    message = b"x" * (64 - 20 - len(APPID))
    # when
    encrypt = make_crypto(key_text).encrypt(message)
    # then the ciphertext carries one extra 32-byte block of padding, as the reference does
    assert len(base64.b64decode(encrypt)) == 96
    assert encrypt == _independent_encrypt(base64.b64decode(key_text + "="), message, APPID.encode())


# --- keys ---------------------------------------------------------------------------------------


def test_generated_keys_have_the_admin_console_shape() -> None:
    # given / when
    keys = {generate_encoding_aes_key() for _ in range(200)}
    # then all are distinct, 43 alphanumerics, and decode to 32 bytes
    assert len(keys) == 200
    for key in keys:
        assert re.fullmatch(r"[A-Za-z0-9]{43}", key)
        assert len(base64.b64decode(key + "=")) == 32


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("a" * 42, "43 characters long, got 42"),
        ("a" * 44, "43 characters long, got 44"),
        ("", "43 characters long, got 0"),
        ("a" * 42 + "+", "A-Z, a-z and 0-9"),
        ("a" * 42 + "=", "A-Z, a-z and 0-9"),
        ("密" * 43, "A-Z, a-z and 0-9"),
    ],
)
def test_bad_encoding_aes_key_is_rejected_with_the_problem_named(key: str, problem: str) -> None:
    # given / when / then
    with pytest.raises(ValueError, match=re.escape(problem)) as caught:
        PushCrypto(token="AAAAA", encoding_aes_key=key, appid=APPID)
    assert "encoding_aes_key" in str(caught.value)


def test_bad_previous_key_is_named_as_such() -> None:
    # given / when / then
    with pytest.raises(ValueError, match="previous_aes_key must be 43 characters"):
        PushCrypto(token="AAAAA", encoding_aes_key=SAMPLE_KEY, appid=APPID, previous_aes_key="short")


@pytest.mark.parametrize(("token", "appid", "field"), [("", APPID, "token"), ("AAAAA", "", "appid")])
def test_empty_token_or_appid_is_rejected(token: str, appid: str, field: str) -> None:
    with pytest.raises(ValueError, match=f"{field} must not be empty"):
        PushCrypto(token=token, encoding_aes_key=SAMPLE_KEY, appid=appid)


# --- round trips and rotation -------------------------------------------------------------------


def test_round_trip_with_a_generated_key() -> None:
    # given
    receiver = make_crypto()
    body = '{"ToUserName":"gh_0a1b2c3d4e5f","Event":"subscribe_msg_popup_event","Label":"订单"}'.encode()
    # when
    encrypt = receiver.encrypt(body)
    # then the ciphertext is randomised but always decrypts to the body
    assert receiver.encrypt(body) != encrypt
    assert receiver.decrypt(encrypt) == body


def test_message_from_the_previous_key_decrypts_during_rotation() -> None:
    # given a message WeChat encrypted before the key was rotated
    old_key, new_key = generate_encoding_aes_key(), generate_encoding_aes_key()
    encrypt = make_crypto(old_key).encrypt(b"sent before rotation")
    # when the receiver holds the new key and keeps the old one as previous
    receiver = make_crypto(new_key, previous=old_key)
    # then both old and new messages decrypt, and new messages use the new key
    assert receiver.decrypt(encrypt) == b"sent before rotation"
    assert make_crypto(new_key).decrypt(receiver.encrypt(b"after")) == b"after"


def test_message_from_an_old_key_fails_without_previous_key() -> None:
    # given a message encrypted with a key the receiver no longer keeps
    old_key, new_key = generate_encoding_aes_key(), generate_encoding_aes_key()
    encrypt = make_crypto(old_key).encrypt(b"sent before rotation")
    # when / then
    with pytest.raises(PushCryptoError):
        make_crypto(new_key).decrypt(encrypt)


def test_message_for_another_appid_is_refused() -> None:
    # given a message for another mini program under the same key
    key = generate_encoding_aes_key()
    encrypt = make_crypto(key, appid="wxOTHERAPP00000000").encrypt(b"not for you")
    # when
    with pytest.raises(ForeignAppIdError) as caught:
        make_crypto(key).decrypt(encrypt)
    # then the error names both appids
    assert caught.value.found == "wxOTHERAPP00000000"
    assert caught.value.expected == APPID
    assert "wxOTHERAPP00000000" in str(caught.value)


def test_foreign_appid_is_reported_even_when_a_previous_key_is_configured() -> None:
    # given a rotation setup and a message for another appid under the current key
    key, previous = generate_encoding_aes_key(), generate_encoding_aes_key()
    encrypt = make_crypto(key, appid="wxOTHERAPP00000000").encrypt(b"x")
    # when / then the meaningful failure wins over the previous key's padding error
    with pytest.raises(ForeignAppIdError):
        make_crypto(key, previous=previous).decrypt(encrypt)


@pytest.mark.parametrize(
    "bad",
    [
        "not base64 at all!",
        "",
        base64.b64encode(b"\x00" * 31).decode(),  # not a block multiple
        base64.b64encode(b"\x00" * 48).decode(),  # AES-aligned but not a 32-byte multiple
    ],
)
def test_malformed_encrypt_field_raises_push_crypto_error(bad: str) -> None:
    with pytest.raises(PushCryptoError):
        make_crypto().decrypt(bad)


def test_tampered_last_block_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    # given a deterministic envelope (fixed key and prefix) whose last ciphertext byte is altered
    monkeypatch.setattr(crypto, "_random_prefix", lambda: b"1234567890123456")
    receiver = PushCrypto(token=SAMPLE_TOKEN, encoding_aes_key=SAMPLE_KEY, appid=SAMPLE_APPID)
    raw = bytearray(base64.b64decode(receiver.encrypt(b"x" * 100)))
    raw[-1] ^= 0x01
    tampered = base64.b64encode(bytes(raw)).decode()
    # when / then the garbled last block no longer carries valid padding
    with pytest.raises(PushCryptoError, match="padding"):
        receiver.decrypt(tampered)


def test_tampered_ciphertext_fails_the_msg_signature() -> None:
    # given a signed envelope and a copy with one bit flipped in the first block
    # (CBC alone does not detect that: it only garbles the random prefix and flips a message bit,
    # which is why receivers must verify msg_signature before decrypting)
    receiver = make_crypto()
    encrypt = receiver.encrypt(b'{"FromUserName":"oUSER_openid_example_001"}')
    signed = receiver.msg_signature("1714112445", "415670741", encrypt)
    raw = bytearray(base64.b64decode(encrypt))
    raw[10] ^= 0x01
    tampered = base64.b64encode(bytes(raw)).decode()
    # when / then
    assert not receiver.check_msg_signature(signed, "1714112445", "415670741", tampered)


def test_zero_padding_byte_is_refused() -> None:
    # given a ciphertext whose plaintext ends with a 0 byte (invalid PKCS#7)
    key_text = generate_encoding_aes_key()
    key = base64.b64decode(key_text + "=")
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    ciphertext = encryptor.update(b"\x00" * 64) + encryptor.finalize()
    # when / then
    with pytest.raises(PushCryptoError, match="padding"):
        make_crypto(key_text).decrypt(base64.b64encode(ciphertext).decode())


def test_declared_length_beyond_the_data_is_refused() -> None:
    # given a well-padded envelope that declares a longer message than it holds
    key_text = generate_encoding_aes_key()
    key = base64.b64decode(key_text + "=")
    full = b"\x00" * 16 + struct.pack(">I", 500) + b"short" + APPID.encode()
    padder = padding.PKCS7(256).padder()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    ciphertext = encryptor.update(padder.update(full) + padder.finalize()) + encryptor.finalize()
    # when / then
    with pytest.raises(PushCryptoError, match="length 500"):
        make_crypto(key_text).decrypt(base64.b64encode(ciphertext).decode())


# --- properties ---------------------------------------------------------------------------------

_appids = st.text(min_size=1, max_size=40)
_KEY = generate_encoding_aes_key()


@settings(max_examples=200, deadline=None)
@given(message=st.binary(max_size=2048), appid=_appids)
def test_encrypt_decrypt_round_trip_for_any_bytes_and_appid(message: bytes, appid: str) -> None:
    # given a receiver for an arbitrary appid
    receiver = make_crypto(_KEY, appid=appid)
    # when / then
    assert receiver.decrypt(receiver.encrypt(message)) == message


@settings(max_examples=100, deadline=None)
@given(message=st.binary(max_size=256), sender_appid=_appids, receiver_appid=_appids)
def test_decrypting_for_a_different_appid_always_fails(
    message: bytes, sender_appid: str, receiver_appid: str
) -> None:
    # given a message encrypted for sender_appid
    encrypt = make_crypto(_KEY, appid=sender_appid).encrypt(message)
    receiver = make_crypto(_KEY, appid=receiver_appid)
    # when / then
    if sender_appid == receiver_appid:
        assert receiver.decrypt(encrypt) == message
    else:
        with pytest.raises(ForeignAppIdError):
            receiver.decrypt(encrypt)


@settings(max_examples=100, deadline=None)
@given(timestamp=st.text(), nonce=st.text(), encrypt=st.text())
def test_msg_signature_verifies_itself(timestamp: str, nonce: str, encrypt: str) -> None:
    receiver = make_crypto(_KEY)
    signed = receiver.msg_signature(timestamp, nonce, encrypt)
    assert receiver.check_msg_signature(signed, timestamp, nonce, encrypt)
    assert re.fullmatch(r"[0-9a-f]{40}", signed)


def test_handshake_check_accepts_the_official_example() -> None:
    # given the §5.2 receiver (token AAAAA) and WeChat's GET query
    receiver = make_crypto()
    # when / then
    assert receiver.check_signature("f464b24fc39322e44b38aa78f5edd27bd1441696", "1714036504", "1514711492")


_OLD_KEY = generate_encoding_aes_key()


@settings(max_examples=100, deadline=None)
@given(message=st.binary(max_size=512), use_old_key=st.booleans())
def test_rotation_receiver_reads_messages_under_either_key(message: bytes, use_old_key: bool) -> None:
    # given a message encrypted under the old or the new key
    sender = make_crypto(_OLD_KEY if use_old_key else _KEY)
    receiver = make_crypto(_KEY, previous=_OLD_KEY)
    # when / then
    assert receiver.decrypt(sender.encrypt(message)) == message
