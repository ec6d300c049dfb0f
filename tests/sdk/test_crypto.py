"""The documented password encryption (SPEC 3.3) with the documented key and timestamp."""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from capitalcom_sdk._crypto import encrypt_password, password_payload

DOC_KEY = (
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA1dOujgcFh/9n4JLJMY4VMWZ7aRrynwKXUC9RuoC8Qu5UOeskx"
    "gZ1q5DmAXjkes77KrLfFZYEKtrp2g1TB0MBkSALiyrG+Fl52vhET9/AWRhvHuFyskWI7tEtcGIaOB1FwR0EDO9bnylTaZ"
    "+Y9sPbLVA7loAtfaX3HW/TI9JDpdmgzXZ0KrwIxdMRzPxVqQXcA8yJL1m33pvo9mOJ0AsQ8FFuy+ctjI8l/8xUhe2Hk01"
    "rpMBXDwI1lSjnvuUUDvAtacxyYVlNsnRvbrMZYp7hyimm27RtvCUXhTX2A94tDB0MFLApURrki+tvTvw5ImDPN8qOdTUzbs"
    "8hNtVwTpSxPwIDAQAB"
)
DOC_TIMESTAMP = 1647440528194
DOC_PASSWORD = "1111qqqq"


def test_steps_two_to_four_give_the_documented_payload() -> None:
    assert password_payload(DOC_PASSWORD, DOC_TIMESTAMP) == b"MTExMXFxcXF8MTY0NzQ0MDUyODE5NA=="


def test_documented_key_gives_a_344_character_ciphertext_that_differs_each_time() -> None:
    first = encrypt_password(DOC_PASSWORD, DOC_KEY, DOC_TIMESTAMP)
    second = encrypt_password(DOC_PASSWORD, DOC_KEY, DOC_TIMESTAMP)
    assert len(first) == 344
    assert first.endswith("=")
    assert len(base64.b64decode(first)) == 256
    assert first != second  # PKCS#1 v1.5 random padding


def test_holder_of_the_private_key_recovers_password_and_timestamp() -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_der = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    ciphertext = encrypt_password("pässwörd|with-bar", base64.b64encode(public_der).decode(), 42)
    plain = private.decrypt(base64.b64decode(ciphertext), padding.PKCS1v15())
    password, _, timestamp = base64.b64decode(plain).decode().rpartition("|")
    assert (password, timestamp) == ("pässwörd|with-bar", "42")
