"""The documented password encryption for ``POST /session`` with ``encryptedPassword: true``."""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import load_der_public_key


def password_payload(password: str, timestamp: int) -> bytes:
    """Steps 2-4: base64 of ``password|timeStamp`` (UTF-8), as ASCII bytes."""
    return base64.b64encode(f"{password}|{timestamp}".encode())


def encrypt_password(password: str, encryption_key: str, timestamp: int) -> str:
    """Encrypt the API key password as the API documents it.

    RSA (PKCS#1 v1.5) over base64(``password|timestamp``) with the DER X.509 public key returned
    by ``GET /session/encryptionKey``; the ciphertext is returned base64-encoded.
    """
    key = load_der_public_key(base64.b64decode(encryption_key))
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("encryptionKey is not an RSA public key")
    ciphertext = key.encrypt(password_payload(password, timestamp), padding.PKCS1v15())
    return base64.b64encode(ciphertext).decode("ascii")
