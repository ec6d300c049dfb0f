"""Credentials, session tokens and the login flow (plain or RSA-encrypted password)."""

from __future__ import annotations

import threading
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from typing import Any

from capitalcom_sdk import _endpoints as ep
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


@dataclass(frozen=True)
class SessionTokens:
    """A session's CST / X-SECURITY-TOKEN pair and its account, to carry a session over to
    another client or process (:meth:`Client.export_session` / :meth:`Client.resume_session`).

    The tokens are secrets: never in the repr; whoever holds them can trade until the session
    ends (10 minutes after its last use).
    """

    cst: str = field(repr=False)
    security_token: str = field(repr=False)
    account_id: str | None = None

    def __post_init__(self) -> None:
        if not self.cst or not self.security_token:
            raise ValueError("SessionTokens needs both cst and security_token")
        registry.add(self.cst, self.security_token)

    def __repr__(self) -> str:
        return f"SessionTokens(account_id={self.account_id!r}, cst=***, security_token=***)"


class TokenStore:
    """The CST / X-SECURITY-TOKEN pair of one client, updated from any response carrying them.

    ``generation`` grows on every change, so a caller that saw a token expire can tell whether
    somebody else has already logged in again since (single-flight re-login).
    """

    __slots__ = ("_headers", "_lock", "cst", "generation", "security_token")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.cst: str | None = None
        self.security_token: str | None = None
        self.generation = 0
        self._headers: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"TokenStore(logged_in={self.present}, generation={self.generation})"

    @property
    def present(self) -> bool:
        """Whether both tokens are known."""
        return self.cst is not None and self.security_token is not None

    def update(self, headers: Mapping[str, str], sent_generation: int | None = None) -> bool:
        """Adopt the tokens a response carries; returns whether anything changed.

        ``sent_generation`` is the generation the request was sent with. If the tokens changed
        since (another caller logged in again), the echo of the older tokens is ignored, so a
        late answer can never bring back a dead session. None adopts unconditionally (login).
        """
        cst = headers.get("cst")
        token = headers.get("x-security-token")
        if not cst and not token:
            return False
        if cst == self.cst and token in (None, self.security_token):
            return False  # the usual echo: nothing to do, no lock taken
        with self._lock:
            if sent_generation is not None and sent_generation != self.generation:
                return False
            changed = bool((cst and cst != self.cst) or (token and token != self.security_token))
            if changed:
                old = (self.cst, self.security_token)
                self.cst = cst or self.cst
                self.security_token = token or self.security_token
                # Only the live pair stays registered for redaction; log lines that show a
                # replaced token by header name are still masked by name (_logging).
                registry.replace(old, (self.cst, self.security_token))
                self._bump()
            return changed

    def clear(self) -> None:
        """Forget both tokens (logout)."""
        with self._lock:
            registry.discard(self.cst, self.security_token)
            self.cst = None
            self.security_token = None
            self._bump()

    def _bump(self) -> None:
        self.generation += 1
        headers: dict[str, str] = {}
        if self.cst:
            headers["CST"] = self.cst
        if self.security_token:
            headers["X-SECURITY-TOKEN"] = self.security_token
        self._headers = headers

    def headers(self) -> dict[str, str]:
        """The token headers to send (a shared dict: do not modify)."""
        return self._headers


def login_flow(
    credentials: Credentials, *, encrypted: bool
) -> Generator[ep.ApiCall[Any], Any, LoginResponse]:
    """The login as a flow of calls: encryption key first when ``encrypted``, then POST /session."""
    password = credentials.password
    if encrypted:
        # cryptography loads only for an encrypted login (it is a tenth of the client's import)
        from capitalcom_sdk._crypto import encrypt_password

        key: EncryptionKey = yield ep.ENCRYPTION_KEY.call()
        password = encrypt_password(password, key.encryption_key, key.time_stamp)
    body = {
        "identifier": credentials.identifier,
        "password": password,
        "encryptedPassword": encrypted,
    }
    response: LoginResponse = yield ep.LOGIN.call(body=body)
    return response
