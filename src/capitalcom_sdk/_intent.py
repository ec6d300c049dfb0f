"""What an order write meant to do, carried from the request to the exception to reconcile.

An :class:`OrderIntent` is recorded by the transport the moment an order write is about to be
sent (endpoint, account, body, target deal, send time); the confirm flow adds the deal reference
once the server gave one, and the moment the client gave up when the outcome became unknown.
:class:`~capitalcom_sdk.errors.OrderOutcomeUnknown` holds it and ``reconcile()`` reads nothing
else: no deal id is parsed back out of a path, no endpoint name is compared as a string.

:class:`DealRegistry` is the per-client memory of which deal belongs to which write, so that a
deal already attributed to another order is never given as the answer for this one.
"""

from __future__ import annotations

import itertools
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from capitalcom_sdk import _endpoints as ep

__all__ = ["PLACEMENTS", "REMOVALS", "DealRegistry", "OrderIntent"]

PLACEMENTS: frozenset[ep.Endpoint[Any]] = frozenset({ep.OPEN_POSITION, ep.CREATE_ORDER})
"""Writes that create a deal (its id is unknown until the confirm)."""
REMOVALS: frozenset[ep.Endpoint[Any]] = frozenset({ep.CLOSE_POSITION, ep.DELETE_ORDER})
"""Writes that remove an existing deal."""
ON_POSITIONS: frozenset[ep.Endpoint[Any]] = frozenset(
    {ep.OPEN_POSITION, ep.UPDATE_POSITION, ep.CLOSE_POSITION}
)
"""Writes whose deal is (or becomes) a position rather than a working order."""

_ids = itertools.count(1)


@dataclass(frozen=True)
class OrderIntent:
    """One order write as it was sent.

    Attributes:
        endpoint: the declared endpoint (``endpoint.name`` for people, the object for logic).
        path: the path actually sent (under ``/api/v1``).
        body: the JSON body sent (empty for a close or cancel).
        account_id: the account the session was on when it was sent (None if not known).
        sent_at: epoch seconds on the client clock, taken just before sending.
        deal_id: the deal an amendment, close or cancel acts on (None for a placement).
        deal_reference: the reference the server answered with, when it answered.
        gave_up_at: epoch seconds when the client stopped waiting for the outcome.
        key: a number unique in this process (identity for the registry).
    """

    endpoint: ep.Endpoint[Any]
    path: str
    body: Mapping[str, Any]
    account_id: str | None
    sent_at: float
    deal_id: str | None = None
    deal_reference: str | None = None
    gave_up_at: float | None = None
    key: int = field(default_factory=lambda: next(_ids))

    @property
    def placement(self) -> bool:
        """Whether the write creates a deal (``positions.open``, ``orders.create``)."""
        return self.endpoint in PLACEMENTS

    @property
    def removal(self) -> bool:
        """Whether the write removes a deal (``positions.close``, ``orders.delete``)."""
        return self.endpoint in REMOVALS

    @property
    def on_position(self) -> bool:
        """Whether the deal is a position (else a working order)."""
        return self.endpoint in ON_POSITIONS

    def answered(self, deal_reference: str) -> OrderIntent:
        """The same intent with the server's deal reference."""
        return replace(self, deal_reference=deal_reference)

    def given_up(self, at: float) -> OrderIntent:
        """The same intent, marked as given up at ``at`` (epoch seconds)."""
        return replace(self, gave_up_at=at)


_MAX_DEALS = 100_000
_MAX_UNSETTLED = 10_000


class DealRegistry:
    """Which deal ids this client attributed to which order write (thread-safe, bounded).

    Filled by every confirmation of a placement and by every FOUND verdict; read by reconcile,
    which never answers with a deal attributed to another write. Also keeps the placements
    whose outcome is still unsettled, so that two identical lost orders are not told apart by
    guesswork.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._owners: OrderedDict[str, int] = OrderedDict()
        self._unsettled: dict[int, OrderIntent] = {}

    def attribute(self, deal_ids: Iterable[str | None], intent: OrderIntent) -> None:
        """Record ``deal_ids`` as the result of ``intent``."""
        with self._lock:
            for deal_id in deal_ids:
                if deal_id:
                    self._owners[deal_id] = intent.key
                    self._owners.move_to_end(deal_id)
            while len(self._owners) > _MAX_DEALS:
                self._owners.popitem(last=False)

    def taken_by_other(self, deal_id: str | None, intent: OrderIntent) -> bool:
        """Whether ``deal_id`` was attributed to a write other than ``intent``."""
        if deal_id is None:
            return False
        with self._lock:
            owner = self._owners.get(deal_id)
        return owner is not None and owner != intent.key

    def unsettled(self, intent: OrderIntent) -> None:
        """Remember a placement whose outcome is unknown until it is settled."""
        if intent.placement:
            with self._lock:
                self._unsettled[intent.key] = intent
                while len(self._unsettled) > _MAX_UNSETTLED:
                    del self._unsettled[next(iter(self._unsettled))]

    def settled(self, intent: OrderIntent) -> None:
        """Forget an unknown placement (reconcile gave a final verdict)."""
        with self._lock:
            self._unsettled.pop(intent.key, None)

    def twins(self, intent: OrderIntent, *, still_possible_after: float) -> list[OrderIntent]:
        """Other unsettled placements that sent the same order (same endpoint and body) and
        could still have been applied after ``still_possible_after`` (epoch seconds), given
        when they gave up."""
        with self._lock:
            others = list(self._unsettled.values())
        return [
            other
            for other in others
            if other.key != intent.key
            and (other.gave_up_at or other.sent_at) >= still_possible_after
            and other.endpoint is intent.endpoint
            and other.account_id == intent.account_id
            and dict(other.body) == dict(intent.body)
        ]
