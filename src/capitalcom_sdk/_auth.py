"""Credentials, session tokens and the login flow (plain or RSA-encrypted password)."""

from __future__ import annotations

import threading
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from typing import Any

from capitalcom_sdk import _endpoints as ep
from capitalcom_sdk._crypto import encrypt_password
from capitalcom_sdk._logging import registry
from capitalcom_sdk.models.session import EncryptionKey, LoginResponse


@dataclass(frozen=True)
class Credentials:
    """API key, login identifier and the API key's password. Never shown in reprs."""

    api_key: str = field(repr=False)
    identifier: str
    password: str = field(repr=False)

    def __post_init__(self) -> None:
        registry.add(self.api_key, self.password)

    def __repr__(self) -> str:
        return f"Credentials(identifier={self.identifier!r}, api_key=***, password=***)"


class TokenStore:
    """The CST / X-SECURITY-TOKEN pair of one client, updated from any response carrying them.

    ``generation`` grows on every change, so a caller that saw a token expire can tell whether
    somebody else has already logged in again since.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.cst: str | None = None
        self.security_token: str | None = None
        self.generation = 0

    def __repr__(self) -> str:
        return f"TokenStore(logged_in={self.cst is not None}, generation={self.generation})"

    @property
    def present(self) -> bool:
        return self.cst is not None and self.security_token is not None

    def update(self, headers: Mapping[str, str]) -> None:
        cst = headers.get("cst")
        token = headers.get("x-security-token")
        if cst is None and token is None:
            return
        registry.add(cst, token)
        with self._lock:
            changed = (cst and cst != self.cst) or (token and token != self.security_token)
            if cst:
                self.cst = cst
            if token:
                self.security_token = token
            if changed:
                self.generation += 1

    def clear(self) -> None:
        with self._lock:
            self.cst = None
            self.security_token = None
            self.generation += 1

    def headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        if self.cst:
            headers["CST"] = self.cst
        if self.security_token:
            headers["X-SECURITY-TOKEN"] = self.security_token
        return headers


def login_flow(
    credentials: Credentials, *, encrypted: bool
) -> Generator[ep.ApiCall[Any], Any, LoginResponse]:
    """The login as a flow of calls: encryption key first when ``encrypted``, then POST /session."""
    password = credentials.password
    if encrypted:
        key: EncryptionKey = yield ep.ENCRYPTION_KEY.call()
        password = encrypt_password(password, key.encryption_key, key.time_stamp)
    body = {
        "identifier": credentials.identifier,
        "password": password,
        "encryptedPassword": encrypted,
    }
    response: LoginResponse = yield ep.LOGIN.call(body=body)
    return response
