"""The simulator's side of the documented password encryption (SPEC 3.3).

An RSA-2048 key pair is generated once per simulator (lazily, on the first
``GET /session/encryptionKey``, so that starting a simulator stays fast). Every ``timeStamp``
handed out is remembered; an encrypted login is accepted only with a timestamp this server issued
within the freshness window (simulated clock).
"""

from __future__ import annotations

import base64
import binascii
import threading

from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


class PasswordDecryptionError(ValueError):
    """The encrypted password could not be decrypted or is not ``base64(password|timeStamp)``."""


class EncryptionKeys:
    """The RSA key pair and the timestamps issued with its public half. Thread-safe."""

    def __init__(self, window_ms: int) -> None:
        self.window_ms = window_ms
        self._lock = threading.Lock()
        self._private: rsa.RSAPrivateKey | None = None
        self._public_b64 = ""
        self._issued: dict[int, None] = {}  # insertion-ordered set of issued timestamps

    def _key(self) -> rsa.RSAPrivateKey:
        with self._lock:
            if self._private is None:
                self._private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
                der = self._private.public_key().public_bytes(
                    Encoding.DER, PublicFormat.SubjectPublicKeyInfo
                )
                self._public_b64 = base64.b64encode(der).decode("ascii")
            return self._private

    def issue(self, now_ms: int) -> tuple[str, int]:
        """The base64 DER SubjectPublicKeyInfo and a fresh ``timeStamp`` (= ``now_ms``)."""
        self._key()
        with self._lock:
            for stamp in [t for t in self._issued if now_ms - t > self.window_ms]:
                del self._issued[stamp]
            self._issued[now_ms] = None
            return self._public_b64, now_ms

    def is_fresh(self, timestamp: int, now_ms: int) -> bool:
        """True when this server issued ``timestamp`` and it is at most ``window_ms`` old."""
        with self._lock:
            return timestamp in self._issued and 0 <= now_ms - timestamp <= self.window_ms

    def decrypt_password(self, encrypted: str) -> tuple[str, int]:
        """Undo steps 4-7: returns ``(password, timeStamp)``.

        Raises:
            PasswordDecryptionError: not decryptable, not base64, or no ``|<digits>`` suffix.
        """
        key = self._key()
        try:
            ciphertext = base64.b64decode(encrypted, validate=True)
            plain_b64 = key.decrypt(ciphertext, padding.PKCS1v15())
            text = base64.b64decode(plain_b64, validate=True).decode("utf-8")
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise PasswordDecryptionError("cannot decrypt password") from None
        password, sep, stamp = text.rpartition("|")
        if not sep or not stamp.isdigit():
            raise PasswordDecryptionError("decrypted password has no |timeStamp suffix")
        return password, int(stamp)
