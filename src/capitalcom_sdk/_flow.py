"""The vocabulary of flows and procedures: the actions they yield, written once.

A *flow* (login, waiting for a deal confirmation, paging, reconcile) yields
:class:`~capitalcom_sdk._endpoints.ApiCall`, :class:`Sleep`, :class:`Prefetch` or
:class:`OrderWrite` and receives each call's parsed result (or has its
:class:`~capitalcom_sdk.errors.CapitalError` thrown in). A *procedure* (what
:class:`~capitalcom_sdk._transport._Core` makes of one call) yields the primitives
:class:`Send`, :class:`Sleep`, :class:`Relogin`, :class:`Start` and :class:`Join`, which the
drivers in :mod:`capitalcom_sdk._drivers` carry out with their own I/O.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from capitalcom_sdk._endpoints import ApiCall
from capitalcom_sdk._intent import OrderIntent
from capitalcom_sdk.models.general import DealReference

T = TypeVar("T")

__all__ = [
    "Action",
    "Flow",
    "Join",
    "OrderWrite",
    "Prefetch",
    "Primitive",
    "Procedure",
    "Relogin",
    "Send",
    "SentWrite",
    "Sleep",
    "Start",
    "single",
]


@dataclass(frozen=True, slots=True)
class Sleep:
    """Wait this many seconds (a flow action and a primitive)."""

    seconds: float


@dataclass(frozen=True, slots=True)
class Send:
    """Send one HTTP request; the driver answers with the response or throws the error in."""

    request: httpx.Request


@dataclass(frozen=True, slots=True)
class Relogin:
    """Log in again unless the tokens changed since ``generation`` (single flight)."""

    generation: int


@dataclass(frozen=True, slots=True)
class Prefetch:
    """A flow action: ``call`` (safe to repeat) will be yielded later; it may be sent now."""

    call: ApiCall[Any]


@dataclass(frozen=True, slots=True)
class Start:
    """Begin ``procedure`` on the side; the driver answers with a handle for :class:`Join`."""

    procedure: Generator[Any, Any, Any]


@dataclass(frozen=True, slots=True)
class Join:
    """The result of a started procedure (its error thrown in); the sync driver runs it here."""

    handle: Any


@dataclass(frozen=True, slots=True)
class OrderWrite:
    """A flow action: send an order write; the flow receives a :class:`SentWrite`."""

    call: ApiCall[DealReference]


@dataclass(frozen=True, slots=True)
class SentWrite:
    """The answer to an :class:`OrderWrite`: the server's deal reference and the intent."""

    reference: DealReference
    intent: OrderIntent


Action = ApiCall[Any] | Sleep | Prefetch | OrderWrite
Flow = Generator[Action, Any, T]
Primitive = Send | Sleep | Relogin | Start | Join
Procedure = Generator[Primitive, Any, T]


def single(call: ApiCall[T]) -> Flow[T]:
    """A flow of one call."""
    result: T = yield call
    return result
