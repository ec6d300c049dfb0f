"""Find out what became of an order write whose answer was lost (one flow, both clients).

After :class:`~capitalcom_sdk.errors.OrderOutcomeUnknown` the order may or may not have been
applied. For an amendment, close or cancel (``positions.update/close``,
``orders.update/delete``) the flow reads the position or working order back: gone after a close
or cancel means applied; after an amendment the levels in force are compared with what was sent.
For an order placement it looks, in this order, at

1. open positions (``positions.open``; also for ``orders.create`` since the order may have filled),
2. working orders (``orders.create``),
3. recent activity (a position that was opened and already closed, or netted against an
   opposite one, leaves an activity),

for a deal with the same epic, direction and size (and level, order type and stop/profit levels
when they were sent as levels) created after the request was sent, less a clock-skew
allowance. Times are compared on the server's clock: the flow reads ``GET /time`` first and
converts the client's ``sent_at`` with the measured offset.
"""

from __future__ import annotations

import math
import time
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from urllib.parse import unquote

from capitalcom_sdk import _endpoints as ep
from capitalcom_sdk.errors import NotFoundError, OrderOutcomeUnknown
from capitalcom_sdk.models.general import ServerTime
from capitalcom_sdk.models.history import Activity, ActivityHistory
from capitalcom_sdk.models.trading import (
    Position,
    Positions,
    PositionWithMarket,
    WorkingOrder,
    WorkingOrders,
)

__all__ = ["DEFAULT_SKEW", "ReconcileResult", "ReconcileStatus", "reconcile_flow"]

DEFAULT_SKEW = 1.0
"""Seconds a deal may appear to predate the request (clock offset drift, rounding)."""

_TOLERANCE = 1e-9
_REJECTED = frozenset({"REJECTED", "CANCEL_REJECT", "MODIFY_REJECT"})


class ReconcileStatus(StrEnum):
    """The verdict of :func:`reconcile_flow`."""

    FOUND = "FOUND"  # the order was applied: see deal_id / position / working_order / activity
    NOT_PLACED = "NOT_PLACED"  # it was not applied: sending it again is safe
    AMBIGUOUS = "AMBIGUOUS"  # can't be told (several matches, or nothing left to compare)


@dataclass(frozen=True)
class ReconcileResult:
    """What :meth:`Client.reconcile` found.

    Attributes:
        status: FOUND, NOT_PLACED or AMBIGUOUS.
        deal_id: the position's (or working order's) deal id when FOUND.
        position: the open position, when the deal is one.
        working_order: the pending order, when the deal is one.
        activity: the activity entry, when only the history shows the deal.
        candidates: every match when AMBIGUOUS (positions, working orders or activities).
        request: what was sent (from the exception).
    """

    status: ReconcileStatus
    deal_id: str | None = None
    position: Position | None = None
    working_order: WorkingOrder | None = None
    activity: Activity | None = None
    candidates: tuple[Any, ...] = ()
    request: dict[str, Any] = field(default_factory=dict)

    @property
    def found(self) -> bool:
        """Whether the order was applied."""
        return self.status is ReconcileStatus.FOUND


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return str(getattr(value, "value", value))


def _same(a: float | None, b: Any) -> bool:
    if b is None:
        return True  # not sent: no constraint
    if a is None:
        return True  # the server does not report it: cannot contradict
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=_TOLERANCE)


def _after(created: datetime | None, since: datetime) -> bool:
    return created is None or created >= since


def _position_matches(
    position: Position, epic: str | None, body: dict[str, Any], since: datetime
) -> bool:
    return (
        epic == body.get("epic")
        and _text(position.direction) == body.get("direction")
        and _same(position.size, body.get("size"))
        and _same(position.stop_level, body.get("stopLevel"))
        and _same(position.profit_level, body.get("profitLevel"))
        and _after(position.created_date_utc, since)
    )


def _order_matches(order: WorkingOrder, body: dict[str, Any], since: datetime) -> bool:
    return (
        order.epic == body.get("epic")
        and _text(order.direction) == body.get("direction")
        and _same(order.order_size, body.get("size"))
        and _same(order.order_level, body.get("level"))
        and _text(order.order_type) == body.get("type", _text(order.order_type))
        and _after(order.created_date_utc, since)
    )


def _activity_matches(activity: Activity, kind: str, body: dict[str, Any], since: datetime) -> bool:
    details = activity.details
    return (
        activity.epic == body.get("epic")
        and _text(activity.type) == kind
        and activity.date_utc >= since
        and _text(activity.status) not in _REJECTED
        and (details is None or _text(details.direction) in (None, body.get("direction")))
        and (details is None or _same(details.size, body.get("size")))
    )


def _verdict(
    matches: Sequence[Any], request: dict[str, Any], **found: Any
) -> ReconcileResult | None:
    if not matches:
        return None
    if len(matches) > 1:
        return ReconcileResult(
            ReconcileStatus.AMBIGUOUS, candidates=tuple(matches), request=request
        )
    return ReconcileResult(ReconcileStatus.FOUND, request=request, **found)


# What an amendment sent, and where the position / working order shows what is in force.
_IN_FORCE = {
    "level": "order_level",
    "stopLevel": "stop_level",
    "profitLevel": "profit_level",
    "stopDistance": "stop_distance",
    "profitDistance": "profit_distance",
    "guaranteedStop": "guaranteed_stop",
    "trailingStop": "trailing_stop",
}


def _in_force(current: Position | WorkingOrder, key: str, sent: Any) -> bool | None:
    """Whether ``current`` shows the sent value; None when it can't tell (e.g. stopAmount)."""
    if key == "goodTillDate" and isinstance(current, WorkingOrder):
        until = current.good_till_date_utc
        return None if until is None else until.strftime("%Y-%m-%dT%H:%M:%S") == sent
    # No stop (profit) level at all: no stop (profit) setting of any kind is in force.
    for prefix, level in (("stop", current.stop_level), ("profit", current.profit_level)):
        if key.startswith(prefix) and level is None:
            return False
    attribute = _IN_FORCE.get(key)
    actual = getattr(current, attribute, None) if attribute else None
    if actual is None:
        return None
    if isinstance(sent, bool):
        return bool(actual) is sent
    return _same(actual, sent)


def _amendment_verdict(
    current: Position | WorkingOrder, request: dict[str, Any], **found: Any
) -> ReconcileResult:
    undecided = False
    for key, sent in request["body"].items():
        shown = _in_force(current, key, sent)
        if shown is False:
            return ReconcileResult(ReconcileStatus.NOT_PLACED, request=request, **found)
        undecided = undecided or shown is None
    if undecided:
        return ReconcileResult(
            ReconcileStatus.AMBIGUOUS, candidates=(current,), request=request, **found
        )
    return ReconcileResult(ReconcileStatus.FOUND, request=request, **found)


def _change_flow(exc: OrderOutcomeUnknown) -> Generator[ep.ApiCall[Any], Any, ReconcileResult]:
    """Reconcile an amendment, close or cancel of an existing deal by reading it back."""
    request = exc.request
    deal_id = unquote(exc.path.rstrip("/").rsplit("/", 1)[-1])
    removal = exc.endpoint in (ep.CLOSE_POSITION.name, ep.DELETE_ORDER.name)
    found: dict[str, Any] = {"deal_id": deal_id}
    current: Position | WorkingOrder | None
    if exc.endpoint in (ep.CLOSE_POSITION.name, ep.UPDATE_POSITION.name):
        try:
            entry: PositionWithMarket = yield ep.POSITION.call({"dealId": deal_id})
        except NotFoundError:
            current = None
        else:
            current = found["position"] = entry.position
    else:
        orders: WorkingOrders = yield ep.WORKING_ORDERS.call()
        current = next(
            (
                o.working_order_data
                for o in orders.working_orders
                if o.working_order_data.deal_id == deal_id
            ),
            None,
        )
        if current is not None:
            found["working_order"] = current
    if current is None:
        # Gone: closed or cancelled by this request, or at the same moment by a stop or a fill.
        # A close or cancel has nothing left to do; an amendment can't be told.
        status = ReconcileStatus.FOUND if removal else ReconcileStatus.AMBIGUOUS
        return ReconcileResult(status, request=request, **found)
    if removal:
        return ReconcileResult(ReconcileStatus.NOT_PLACED, request=request, **found)
    return _amendment_verdict(current, request, **found)


_CHANGES = frozenset(
    e.name for e in (ep.UPDATE_POSITION, ep.CLOSE_POSITION, ep.UPDATE_ORDER, ep.DELETE_ORDER)
)


def reconcile_flow(
    exc: OrderOutcomeUnknown, *, clock_skew: float = DEFAULT_SKEW
) -> Generator[ep.ApiCall[Any], Any, ReconcileResult]:
    """The reconcile flow of any order write (run by a transport)."""
    if exc.endpoint in _CHANGES:
        return (yield from _change_flow(exc))
    if exc.endpoint not in (ep.OPEN_POSITION.name, ep.CREATE_ORDER.name):
        raise ValueError(f"cannot reconcile {exc.endpoint}: it is not an order write")
    request = exc.request
    body = exc.body
    server: ServerTime = yield ep.SERVER_TIME.call()
    server_now = server.server_time / 1000.0
    offset = server_now - time.time()
    since_ts = exc.sent_at + offset - clock_skew
    since = datetime.fromtimestamp(since_ts, tz=UTC)

    positions: Positions = yield ep.POSITIONS.call()
    position_matches = [
        entry.position
        for entry in positions.positions
        if _position_matches(
            entry.position, entry.market.epic if entry.market else None, body, since
        )
    ]
    is_order = exc.endpoint == ep.CREATE_ORDER.name
    if is_order:
        orders: WorkingOrders = yield ep.WORKING_ORDERS.call()
        order_matches = [
            entry.working_order_data
            for entry in orders.working_orders
            if _order_matches(entry.working_order_data, body, since)
        ]
        if order_matches or position_matches:
            both: list[Any] = [*order_matches, *position_matches]
            if len(both) > 1:
                return ReconcileResult(
                    ReconcileStatus.AMBIGUOUS, candidates=tuple(both), request=request
                )
            if order_matches:
                order = order_matches[0]
                return ReconcileResult(
                    ReconcileStatus.FOUND,
                    deal_id=order.deal_id,
                    working_order=order,
                    request=request,
                )
    if position_matches:
        position = position_matches[0]
        verdict = _verdict(position_matches, request, deal_id=position.deal_id, position=position)
        assert verdict is not None
        return verdict

    last_period = min(86_400, max(1, math.ceil(server_now - since_ts) + 1))
    history: ActivityHistory = yield ep.ACTIVITY.call(
        params={"lastPeriod": last_period, "detailed": True}
    )
    kind = "WORKING_ORDER" if is_order else "POSITION"
    activities = [a for a in history.activities if _activity_matches(a, kind, body, since)]
    if is_order:
        # A filled order also leaves a POSITION activity; either proves it was placed.
        activities += [
            a for a in history.activities if _activity_matches(a, "POSITION", body, since)
        ]
    if not activities:
        return ReconcileResult(ReconcileStatus.NOT_PLACED, request=request)
    # One deal may leave several activities (opened, then closed): group by deal id.
    deal_ids = {a.deal_id for a in activities}
    if len(deal_ids) > 1:
        return ReconcileResult(
            ReconcileStatus.AMBIGUOUS, candidates=tuple(activities), request=request
        )
    oldest = min(activities, key=lambda a: a.date_utc)
    return ReconcileResult(
        ReconcileStatus.FOUND, deal_id=oldest.deal_id, activity=oldest, request=request
    )
