"""Errors of the streaming client (subclasses of :class:`~capitalcom_sdk.errors.CapitalError`)."""

from __future__ import annotations

from collections.abc import Sequence

from capitalcom_sdk.errors import CapitalError


class StreamError(CapitalError):
    """A streaming operation failed (closed stream, timeout, protocol error)."""


class StreamClosedError(StreamError):
    """The stream was closed (by the caller) while an operation waited."""


class StreamOverflowError(StreamError):
    """More OHLC bars waited for the consumer than the buffer allows (bars are never dropped)."""


class SubscriptionError(StreamError):
    """The server refused a subscription.

    Attributes:
        error_code: the server's errorCode (e.g. ``error.invalid.epic``).
        epics: the epics it was refused for.
        destination: the request (``marketData.subscribe``, ...).
    """

    def __init__(self, error_code: str | None, epics: Sequence[str], destination: str) -> None:
        self.error_code = error_code
        self.epics = list(epics)
        self.destination = destination
        super().__init__(
            f"{destination} refused for {', '.join(self.epics)}: {error_code or 'no errorCode'}"
        )
