"""Signatures and AES envelope of WeChat's message push (消息推送), see wechat-platform.md §5.

* ``signature`` (every push, and the GET handshake) is ``sha1`` over the sorted token, timestamp
  and nonce; ``msg_signature`` (secure mode) adds the ``Encrypt`` field. Only ``msg_signature``
  authenticates an encrypted body.
* The envelope is AES-256-CBC with IV = key[:16] and PKCS#7 padding to 32-byte blocks over
  ``random(16) || len(msg) as 4 bytes big-endian || msg || appid``, then Base64.

During an EncodingAESKey rotation the receiver keeps the previous key and tries it after the
current one (§5.5). The module is shared by the push receiver and the WeChat sandbox.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

__all__ = [
    "ForeignAppIdError",
    "PushCrypto",
    "PushCryptoError",
    "generate_encoding_aes_key",
    "sha1_signature",
]

_KEY_LENGTH = 43
_KEY_ALPHABET = re.compile(r"[A-Za-z0-9]{43}")
_PAD_BLOCK = 32
_RANDOM_PREFIX = 16
_LENGTH_FIELD = 4


class PushCryptoError(Exception):
    """An encrypted push body could not be decrypted (bad Base64, padding, layout or key)."""


class ForeignAppIdError(PushCryptoError):
    """The body decrypted cleanly but was encrypted for another appid."""

    def __init__(self, expected: str, found: str) -> None:
        super().__init__(f"message is for appid {found!r}, expected {expected!r}")
        self.expected = expected
        self.found = found


def sha1_signature(*parts: str) -> str:
    """Lowercase hex sha1 of the parts sorted lexicographically and joined without separator."""
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def generate_encoding_aes_key() -> str:
    """A fresh EncodingAESKey: 43 characters of ``[A-Za-z0-9]`` that decode to 32 random bytes."""
    while True:
        candidate = base64.b64encode(secrets.token_bytes(32)).decode("ascii").rstrip("=")
        # The admin console only issues alphanumeric keys; '+' and '/' are valid Base64 but not
        # accepted there, so draw again. Each of the 42 free positions is alphanumeric with
        # p = 62/64 (the 43rd always is), so about a quarter of the draws pass.
        if _KEY_ALPHABET.fullmatch(candidate):
            return candidate


def _decode_key(encoding_aes_key: str, what: str) -> bytes:
    if len(encoding_aes_key) != _KEY_LENGTH:
        raise ValueError(f"{what} must be {_KEY_LENGTH} characters long, got {len(encoding_aes_key)}")
    if not _KEY_ALPHABET.fullmatch(encoding_aes_key):
        raise ValueError(f"{what} may only contain the characters A-Z, a-z and 0-9")
    key = base64.b64decode(encoding_aes_key + "=", validate=True)
    if len(key) != 32:  # pragma: no cover - 43 alphanumerics always decode to 32 bytes
        raise ValueError(f"{what} must decode to 32 bytes, got {len(key)}")
    return key


def _random_prefix() -> bytes:
    """The 16 random bytes that open every plaintext (a seam for known-answer tests)."""
    return secrets.token_bytes(_RANDOM_PREFIX)


def _pkcs7_pad(data: bytes) -> bytes:
    amount = _PAD_BLOCK - len(data) % _PAD_BLOCK
    return data + bytes([amount]) * amount


def _pkcs7_unpad(data: bytes) -> bytes:
    amount = data[-1]
    if not 1 <= amount <= _PAD_BLOCK or amount > len(data) or data[-amount:] != bytes([amount]) * amount:
        raise PushCryptoError("bad PKCS#7 padding (wrong EncodingAESKey or damaged ciphertext)")
    return data[:-amount]


def _aes(key: bytes) -> Cipher[modes.CBC]:
    return Cipher(algorithms.AES(key), modes.CBC(key[:16]))


class PushCrypto:
    """Signs, verifies, encrypts and decrypts message-push payloads for one mini program."""

    def __init__(
        self,
        *,
        token: str,
        encoding_aes_key: str,
        appid: str,
        previous_aes_key: str | None = None,
    ) -> None:
        if not token:
            raise ValueError("token must not be empty")
        if not appid:
            raise ValueError("appid must not be empty")
        self._token = token
        self._appid = appid
        self._appid_bytes = appid.encode("utf-8")
        self._keys = [_decode_key(encoding_aes_key, "encoding_aes_key")]
        if previous_aes_key is not None:
            self._keys.append(_decode_key(previous_aes_key, "previous_aes_key"))

    @property
    def appid(self) -> str:
        return self._appid

    # -- signatures -------------------------------------------------------------------------

    def signature(self, timestamp: str, nonce: str) -> str:
        """The 3-value ``signature`` WeChat puts on every push URL and on the GET handshake."""
        return sha1_signature(self._token, timestamp, nonce)

    def check_signature(self, signature: str, timestamp: str, nonce: str) -> bool:
        return _same(signature, self.signature(timestamp, nonce))

    def msg_signature(self, timestamp: str, nonce: str, encrypt: str) -> str:
        """The 4-value ``msg_signature`` that authenticates a secure-mode body."""
        return sha1_signature(self._token, timestamp, nonce, encrypt)

    def check_msg_signature(self, msg_signature: str, timestamp: str, nonce: str, encrypt: str) -> bool:
        return _same(msg_signature, self.msg_signature(timestamp, nonce, encrypt))

    # -- envelope ---------------------------------------------------------------------------

    def encrypt(self, plaintext: bytes) -> str:
        """Encrypt ``plaintext`` with the current key, as WeChat does for the ``Encrypt`` field."""
        full = _random_prefix() + struct.pack(">I", len(plaintext)) + plaintext + self._appid_bytes
        encryptor = _aes(self._keys[0]).encryptor()
        ciphertext = encryptor.update(_pkcs7_pad(full)) + encryptor.finalize()
        return base64.b64encode(ciphertext).decode("ascii")

    def decrypt(self, encrypt_b64: str) -> bytes:
        """Decrypt an ``Encrypt`` field with the current key, then the previous one if configured.

        Raises ForeignAppIdError when the message decrypts cleanly but names another appid, and
        PushCryptoError for anything else that is wrong. CBC does not authenticate: a flipped bit
        can change the message undetected, so verify ``msg_signature`` before calling this.
        """
        try:
            ciphertext = base64.b64decode(encrypt_b64, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise PushCryptoError(f"Encrypt is not valid Base64: {exc}") from exc
        if not ciphertext or len(ciphertext) % _PAD_BLOCK:
            raise PushCryptoError(
                f"ciphertext length {len(ciphertext)} is not a positive multiple of {_PAD_BLOCK} bytes"
            )
        failures: list[PushCryptoError] = []
        for key in self._keys:
            try:
                return self._decrypt_with(key, ciphertext)
            except PushCryptoError as exc:
                failures.append(exc)
        # A foreign appid means some key produced a well-formed message: that is the real story.
        for failure in failures:
            if isinstance(failure, ForeignAppIdError):
                raise failure
        raise failures[0]

    def _decrypt_with(self, key: bytes, ciphertext: bytes) -> bytes:
        decryptor = _aes(key).decryptor()
        full = _pkcs7_unpad(decryptor.update(ciphertext) + decryptor.finalize())
        header = _RANDOM_PREFIX + _LENGTH_FIELD
        if len(full) < header:
            raise PushCryptoError("decrypted message is shorter than its 20-byte header")
        (length,) = struct.unpack(">I", full[_RANDOM_PREFIX:header])
        if length > len(full) - header:
            raise PushCryptoError(f"declared message length {length} exceeds the decrypted data")
        message = full[header : header + length]
        found = full[header + length :]
        if not hmac.compare_digest(found, self._appid_bytes):
            raise ForeignAppIdError(self._appid, found.decode("utf-8", errors="replace"))
        return message


def _same(given: str, expected: str) -> bool:
    """Constant-time comparison that tolerates non-ASCII input from the query string."""
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))
