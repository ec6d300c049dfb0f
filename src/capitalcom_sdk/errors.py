"""One exception hierarchy for everything the SDK raises, mapped from the API's errorCodes.

Subclasses say what the caller can do: authenticate again (:class:`AuthenticationError`), wait
(:class:`RateLimitError`), fix the request (:class:`InvalidRequestError`), look the deal up
(:class:`OrderOutcomeUnknown`), or give up. Messages never contain secrets.
"""

from __future__ import annotations

import re
import warnings
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

if TYPE_CHECKING:
    from capitalcom_sdk._intent import OrderIntent

__all__ = [
    "APIError",
    "AuthenticationError",
    "BacktestEnded",
    "CapitalError",
    "ClientRateLimitError",
    "ConfigurationError",
    "DealRejectedError",
    "InvalidRequestError",
    "NetworkError",
    "NotFoundError",
    "OrderOutcomeUnknown",
    "RateLimitError",
    "ReconcileAccountError",
    "RequestTimeoutError",
    "RequestValidationError",
    "ServerError",
    "SessionExpiredError",
    "SimulatorClockError",
    "UnexpectedResponseError",
    "error_from_response",
    "split_error_code",
]


class CapitalError(Exception):
    """Base class of every error raised by capitalcom_sdk."""


class ConfigurationError(CapitalError):
    """The client was configured wrongly (missing credentials, unknown environment, ...)."""


class SimulatorClockError(CapitalError):
    """A client on the simulator's clock (``clock="simulator"``) could not read or move it: the
    server is not a capitalcom simulator, or it is unreachable."""


class BacktestEnded(SimulatorClockError):
    """A wait on the simulator's clock reached the end of the backtest (the simulator's 409
    ``error.sim.clock.end``): the run is over. A bot may catch it to finish cleanly; the
    backtest runner treats it as the normal end of a script."""


class RequestValidationError(CapitalError, ValueError):
    """A request failed validation before anything was sent. ``field`` names the culprit."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


class NetworkError(CapitalError):
    """The server could not be reached or the connection broke.

    ``sent`` is False when the request certainly never left (connection refused, pool timeout),
    True when it may have reached the server.
    """

    def __init__(self, message: str, *, sent: bool = True) -> None:
        self.sent = sent
        super().__init__(message)


class RequestTimeoutError(NetworkError):
    """The request timed out (``sent`` says whether it may have reached the server).

    Named so that it does not shadow the builtin ``TimeoutError``.
    """


class APIError(CapitalError):
    """The API answered with an error status.

    Attributes:
        status: HTTP status code.
        error_code: the bare errorCode (before any ``:``), e.g. ``error.invalid.stoploss.minvalue``.
        value: the value after the colon parsed as float when numeric (e.g. ``17.146``), else str.
        raw_error_code: the errorCode exactly as received.
        method, path: the request that failed (no query string, no secrets).
        hint: what the commonest cause of this error is, when known (also in the message).
    """

    def __init__(
        self,
        status: int,
        error_code: str | None,
        *,
        value: float | str | None = None,
        raw_error_code: str | None = None,
        method: str = "",
        path: str = "",
    ) -> None:
        self.status = status
        self.error_code = error_code
        self.value = value
        self.raw_error_code = raw_error_code if raw_error_code is not None else error_code
        self.method = method
        self.path = path
        self.hint = hint_for(error_code, path)
        where = f" on {method} {path}" if method else ""
        hint = f": {self.hint}" if self.hint else ""
        super().__init__(f"HTTP {status} {self.raw_error_code or '(no errorCode)'}{where}{hint}")


class AuthenticationError(APIError):
    """Credentials or API key were rejected (``error.invalid.details``, ``...api.key``)."""


class SessionExpiredError(AuthenticationError):
    """The session tokens are no longer valid; the client logs in again by itself once."""


class RateLimitError(APIError):
    """HTTP 429 ``error.too-many.requests`` (after the retry budget was spent)."""


class ClientRateLimitError(RateLimitError):
    """The client-side limiter would have to wait longer than allowed (``max_rate_wait``).

    Nothing was sent. Typical cause: the demo budget of 1000 order POSTs per hour is spent.
    ``wait`` is how many seconds the next slot is away.
    """

    def __init__(self, endpoint: str, wait: float) -> None:
        self.wait = wait
        self.endpoint = endpoint
        super().__init__(429, None, raw_error_code="client-side rate limit")
        self.args = (f"{endpoint}: client-side rate limit, next slot in {wait:.1f} s",)

    def __str__(self) -> str:
        return str(self.args[0])


class InvalidRequestError(APIError):
    """HTTP 400: the server rejected the request. ``field`` names the field when the code does."""

    @property
    def field(self) -> str | None:
        code = self.error_code or ""
        parts = code.split(".")
        # error.invalid.stoploss.minvalue -> stoploss; error.null.epic -> epic
        if len(parts) >= 3 and parts[0] == "error":
            return parts[2]
        return None


class NotFoundError(APIError):
    """HTTP 404: no such deal, epic, watchlist, confirm, ..."""


class ServerError(APIError):
    """HTTP 5xx."""


class DealRejectedError(CapitalError):
    """The deal confirmation says REJECTED; ``reason`` is the server's reason."""

    def __init__(self, deal_reference: str, reason: str | None, confirm: Any = None) -> None:
        self.deal_reference = deal_reference
        self.reason = reason
        self.confirm = confirm
        super().__init__(f"deal {deal_reference} rejected: {reason or 'no reason given'}")


class OrderOutcomeUnknown(CapitalError):
    """An order write was sent but its outcome is unknown.

    Raised once a position or working-order write (open, amend, close; create, amend, cancel)
    may have reached the server and no definitive answer came back: a timeout, reset or
    dropped connection after sending; a 5xx; an answer that is not the API's own (empty, HTML,
    a redirect, truncated JSON, a 4xx without a Capital.com ``errorCode`` body); or, after the
    write was answered with a deal reference, any failure of the confirmation poll. It is never
    sent again automatically.

    ``intent`` (:class:`~capitalcom_sdk._intent.OrderIntent`) is what was sent: the endpoint,
    the account the session was on, the body, the target deal, the deal reference when the
    server gave one, when it was sent and when the client gave up. ``cause`` says what went
    wrong. Pass the exception to ``client.reconcile(...)`` to find out what happened.
    """

    def __init__(self, intent: OrderIntent, cause: str) -> None:
        self.intent = intent
        self.cause = cause
        super().__init__(
            f"outcome of {intent.endpoint.name} unknown ({cause}); call reconcile() to find out"
        )

    @property
    def endpoint(self) -> str:
        """The endpoint's name, e.g. ``positions.open`` (for people; logic uses ``intent``)."""
        return self.intent.endpoint.name

    @property
    def method(self) -> str:
        return self.intent.endpoint.method

    @property
    def path(self) -> str:
        return self.intent.path

    @property
    def body(self) -> dict[str, Any]:
        return dict(self.intent.body)

    @property
    def sent_at(self) -> float:
        return self.intent.sent_at

    @property
    def account_id(self) -> str | None:
        """The account the write was sent on."""
        return self.intent.account_id

    @property
    def deal_reference(self) -> str | None:
        """The deal reference the server answered with, when it did."""
        return self.intent.deal_reference

    @property
    def request(self) -> dict[str, Any]:
        """What was sent, as a plain dict (endpoint, method, path, body, sent_at, account,
        deal reference)."""
        intent = self.intent
        return {
            "endpoint": intent.endpoint.name,
            "method": intent.endpoint.method,
            "path": intent.path,
            "body": dict(intent.body),
            "sent_at": intent.sent_at,
            "account_id": intent.account_id,
            "deal_reference": intent.deal_reference,
        }


class ReconcileAccountError(CapitalError):
    """``reconcile()`` refused: the session is on another account than the write was sent on.

    Switch back with ``client.session.switch_account(exc.account_id)`` and reconcile again.
    """

    def __init__(self, sent_on: str, current: str) -> None:
        self.account_id = sent_on
        self.current_account_id = current
        super().__init__(
            f"the order write was sent on account {sent_on} but the session is on {current}:"
            f" switch to {sent_on} and reconcile again"
        )


class UnexpectedResponseError(CapitalError):
    """A successful answer whose body does not fit the declared model (``endpoint`` names it)."""

    def __init__(self, endpoint: str, status: int, detail: str) -> None:
        self.endpoint = endpoint
        self.status = status
        super().__init__(f"{endpoint}: unexpected response body (HTTP {status}): {detail}")


# The session's tokens are gone or refused: logging in again fixes it (REST answers, WebSocket
# error frames). ``error.null.accountId`` is not among them: SPEC section 9 has POST /session
# itself answer it (no usable account for the key / environment), so a new login cannot help.
SESSION_ERROR_CODES = frozenset(
    {
        "error.invalid.session.token",
        "error.security.token-invalid",
        "error.null.client.token",
        "error.security.cst-invalid",
    }
)
_AUTH_CODES = frozenset(
    {
        "error.invalid.details",
        "error.invalid.api.key",
        "error.null.api.key",
        "error.null.accountId",
        "error.invalid.api.key.expired",
        "error.invalid.api.key.disabled",
        "error.security.api-key-invalid",
        "error.invalid.credentials",
        "error.invalid.password",
    }
)
_NUMBER = re.compile(r"^-?\d+(\.\d+)?([eE][-+]?\d+)?$")

_WRONG_LOGIN = (
    "the identifier (your login) or the password was not accepted; the password is the one "
    "you set for this API key when you created it, not your platform password"
)
_EPIC_IN_PATH = re.compile(r"/(?:markets|prices|positions)/([^/?]+)")


def hint_for(error_code: str | None, path: str) -> str | None:
    """What usually causes an error, for the messages of the commonest mistakes."""
    if error_code in (
        "error.invalid.details",
        "error.invalid.credentials",
        "error.invalid.password",
    ):
        return _WRONG_LOGIN
    if error_code == "error.not-found.epic":
        match = _EPIC_IN_PATH.search(path)
        epic = unquote(match.group(1)) if match else ""
        if epic != epic.upper():
            return f"epics are upper-case: did you mean {epic.upper()}?"
    return None


def split_error_code(raw: str | None) -> tuple[str | None, float | str | None]:
    """Split ``"error.invalid.stoploss.minvalue: 17.146"`` into the code and its value."""
    if raw is None:
        return None, None
    code, sep, rest = raw.partition(":")
    if not sep:
        return raw.strip(), None
    text = rest.strip()
    return code.strip(), float(text) if _NUMBER.match(text) else text


def error_from_response(status: int, body: Any, *, method: str = "", path: str = "") -> APIError:
    """Build the right :class:`APIError` subclass from an error response."""
    raw = body.get("errorCode") if isinstance(body, dict) else None
    raw = raw if isinstance(raw, str) else None
    code, value = split_error_code(raw)
    cls: type[APIError]
    if code in SESSION_ERROR_CODES:
        cls = SessionExpiredError
    elif code in _AUTH_CODES:
        cls = AuthenticationError
    elif status == 429:
        cls = RateLimitError
    elif status == 404:
        cls = NotFoundError
    elif status >= 500:
        cls = ServerError
    elif status == 401:
        cls = AuthenticationError
    else:
        cls = InvalidRequestError
    return cls(status, code, value=value, raw_error_code=raw, method=method, path=path)


def __getattr__(name: str) -> Any:
    # The class was called ``TimeoutError`` until 0.1 (shadowing the builtin); the old name
    # still resolves, with a warning, so code written against it keeps working.
    if name == "TimeoutError":
        warnings.warn(
            "capitalcom_sdk.errors.TimeoutError is deprecated, use RequestTimeoutError",
            DeprecationWarning,
            stacklevel=2,
        )
        return RequestTimeoutError
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
