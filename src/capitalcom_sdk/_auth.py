"""Credentials, session tokens, the login flow (plain or RSA-encrypted password) and the one
single-flight re-login decision (:class:`LoginGate`) both transports wait around."""

from __future__ import annotations

import threading
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from typing import Any

from capitalcom_sdk import _endpoints as ep
from capitalcom_sdk._logging import registry
from capitalcom_sdk.errors import CapitalError, ConfigurationError
from capitalcom_sdk.models.requests import LoginRequest
from capitalcom_sdk.models.session import EncryptionKey, LoginResponse

_CREDENTIAL_FIELDS = ("api_key", "identifier", "password")


def check_credential(value: object, field_name: str) -> str:
    """A credential as it can go into a header or a JSON body, or a ConfigurationError that
    names the field and says what is wrong, never showing the value (it is a secret).

    Refused everywhere: non-strings, empty values and control characters (a trailing newline
    is typical when a value is read from a file). The API key goes into an HTTP header: only
    printable ASCII, no leading or trailing space. The identifier (a login name) has no
    leading or trailing space either; a password may contain any printable character.
    """
    if not isinstance(value, str):
        raise ConfigurationError(f"{field_name} must be a string, got {type(value).__name__}")
    if not value:
        raise ConfigurationError(f"{field_name} is empty")
    for position, char in enumerate(value):
        if not char.isprintable():
            kind = "a line break" if char in "\r\n" else "a control character"
            raise ConfigurationError(
                f"{field_name} contains {kind} at position {position} of {len(value)}"
                " (read from a file? strip it)"
            )
        if field_name == "api_key" and not char.isascii():
            raise ConfigurationError(
                f"api_key contains a non-ASCII character at position {position}"
                " (it is sent as an HTTP header: printable ASCII only)"
            )
    if field_name != "password" and value != value.strip():
        raise ConfigurationError(f"{field_name} has leading or trailing spaces: strip them")
    return value


@dataclass(frozen=True)
class Credentials:
    """API key, login identifier and the API key's password. Never shown in reprs."""

    api_key: str = field(repr=False)
    identifier: str
    password: str = field(repr=False)

    def __post_init__(self) -> None:
        # Registered first: whatever goes wrong below, the values are already redacted.
        registry.add(self.api_key, self.password)
        for name in _CREDENTIAL_FIELDS:
            check_credential(getattr(self, name), name)

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
        for name in ("cst", "security_token"):
            value = getattr(self, name)
            if not (value.isascii() and value.isprintable()) or value != value.strip():
                # Never the value: it is a secret (and would fail as an HTTP header).
                raise ValueError(f"SessionTokens.{name} must be printable ASCII without spaces")

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
    # No local holds the password (tracebacks printed with local variables show locals); the
    # credentials and the body model hide it in their reprs.
    if encrypted:
        # cryptography loads only for an encrypted login (it is a tenth of the client's import)
        from capitalcom_sdk._crypto import encrypt_password

        key: EncryptionKey = yield ep.ENCRYPTION_KEY.call()
        body = LoginRequest(
            identifier=credentials.identifier,
            password=encrypt_password(credentials.password, key.encryption_key, key.time_stamp),
            encrypted_password=True,
        )
    else:
        body = LoginRequest(
            identifier=credentials.identifier,
            password=credentials.password,
            encrypted_password=False,
        )
    response: LoginResponse = yield ep.LOGIN.call(body=body)
    return response


class LoginGate:
    """The single-flight re-login decision, written once for both transports.

    Whoever sees the tokens of ``generation`` fail asks :meth:`needed` while holding the
    transport's login lock (a ``threading.Lock`` or an ``asyncio.Lock``, the only difference
    between the two waits around it); the answer is

    * False: the tokens changed since (somebody else logged in meanwhile), just repeat;
    * the error of the login this caller waited for, raised, when that login failed, so that
      twenty waiters do not send twenty failing logins;
    * True: log in now, then report the outcome with :meth:`finish`.

    ``ticket()`` is taken before waiting for the lock: it tells whether a login finished while
    the caller waited. A failure is remembered only until the next login finishes, so a later
    call tries afresh.
    """

    __slots__ = ("_failure", "_finished", "_tokens")

    def __init__(self, tokens: TokenStore) -> None:
        self._tokens = tokens
        self._finished = 0
        self._failure: CapitalError | None = None

    def __repr__(self) -> str:
        return f"LoginGate(finished={self._finished}, failed={self._failure is not None})"

    def ticket(self) -> int:
        """Taken before waiting for the login lock."""
        return self._finished

    def needed(self, generation: int, ticket: int) -> bool:
        """Whether to log in now (holding the lock); raises the failure waited for."""
        tokens = self._tokens
        if tokens.generation != generation and tokens.present:
            return False
        if self._finished != ticket and self._failure is not None:
            raise self._failure
        return True

    def finish(self, failure: CapitalError | None) -> None:
        """The login this caller ran is over (``failure``: how it failed)."""
        self._failure = failure
        self._finished += 1
