"""Exit codes of the command line, one per class of error (documented in docs/cli.md)."""

from __future__ import annotations

from enum import IntEnum

from capitalcom_sdk.errors import (
    APIError,
    AuthenticationError,
    ConfigurationError,
    DealRejectedError,
    InvalidRequestError,
    NetworkError,
    NotFoundError,
    OrderOutcomeUnknown,
    RateLimitError,
    RequestValidationError,
    ServerError,
)


class ExitCode(IntEnum):
    """What the process exit status means."""

    OK = 0
    UNEXPECTED = 1
    USAGE = 2
    AUTH = 3
    NOT_FOUND = 4
    REJECTED = 5
    RATE_LIMITED = 6
    NETWORK = 7
    OUTCOME_UNKNOWN = 8
    SERVER = 9
    API = 10
    INTERRUPTED = 130
    TERMINATED = 143  # SIGTERM during ``stream quotes`` or ``paper`` (after the summary)


# First match wins: subclasses before their bases.
EXIT_CODES: tuple[tuple[type[BaseException], ExitCode, str], ...] = (
    (ConfigurationError, ExitCode.USAGE, "configuration missing or wrong"),
    (AuthenticationError, ExitCode.AUTH, "credentials or session rejected"),
    (NotFoundError, ExitCode.NOT_FOUND, "no such epic, deal, watchlist, ..."),
    (RequestValidationError, ExitCode.REJECTED, "request invalid (checked before sending)"),
    (InvalidRequestError, ExitCode.REJECTED, "request rejected by the server (HTTP 400)"),
    (DealRejectedError, ExitCode.REJECTED, "deal confirmation says REJECTED"),
    (RateLimitError, ExitCode.RATE_LIMITED, "rate limited (HTTP 429)"),
    (NetworkError, ExitCode.NETWORK, "server unreachable, connection broken or timed out"),
    (OrderOutcomeUnknown, ExitCode.OUTCOME_UNKNOWN, "order sent, outcome unknown: check"),
    (ServerError, ExitCode.SERVER, "server error (HTTP 5xx)"),
    (APIError, ExitCode.API, "any other API error"),
)


# Streaming errors, matched by name so that this module does not import the streaming package.
STREAM_EXIT_CODES: tuple[tuple[str, ExitCode, str], ...] = (
    ("SubscriptionError", ExitCode.REJECTED, "subscription refused (e.g. unknown epic)"),
    ("StreamError", ExitCode.NETWORK, "stream closed, timed out or broken"),
)
_STREAM_ERRORS = "capitalcom_sdk.streaming.errors"

# The trading safety layer's refusals, by name for the same reason.
TRADING_EXIT_CODES: tuple[tuple[str, ExitCode, str], ...] = (
    ("PolicyViolation", ExitCode.REJECTED, "refused by the trading policy (nothing sent)"),
)
_TRADING_ERRORS = "capitalcom_sdk.trading.errors"


def exit_code_for(exc: BaseException) -> ExitCode:
    """The exit code of an exception raised while running a command."""
    mro = type(exc).__mro__
    names = {c.__name__ for c in mro if c.__module__ == _STREAM_ERRORS}
    for name, code, _ in STREAM_EXIT_CODES:
        if name in names:
            return code
    names = {c.__name__ for c in mro if c.__module__ == _TRADING_ERRORS}
    for name, code, _ in TRADING_EXIT_CODES:
        if name in names:
            return code
    for cls, code, _ in EXIT_CODES:
        if isinstance(exc, cls):
            return code
    return ExitCode.UNEXPECTED
