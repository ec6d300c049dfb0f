"""Find out what became of an order write whose answer was lost (one flow, both clients).

After :class:`~capitalcom_sdk.errors.OrderOutcomeUnknown` the order may or may not have been
applied. Everything the flow knows comes from the exception's typed
:class:`~capitalcom_sdk._intent.OrderIntent`. It first checks that the session is on the account
the write was sent on (``GET /session``; another account is refused with
:class:`~capitalcom_sdk.errors.ReconcileAccountError`). When the server answered with a deal
reference, ``GET /confirms/{dealReference}`` settles it (ACCEPTED: FOUND, REJECTED: NOT_PLACED).
Otherwise, for an amendment, close or cancel the flow reads the position or working order back:
gone after a close or cancel means applied; after an amendment the levels in force are compared
with what was sent. For an order placement it looks, in this order, at

1. open positions (``positions.open``; also for ``orders.create`` since the order may have filled),
2. working orders (``orders.create``),
3. recent activity (a position that was opened and already closed, or netted against an
   opposite one, leaves an activity),

for a deal with the same epic, direction and size (and level, order type and stop/profit levels
when they were sent as levels) created after the request was sent, less a clock-skew
allowance. Times are compared on the server's clock: the flow reads ``GET /time`` first and
converts the client's ``sent_at`` with the measured offset. A deal this client already
attributed to another write (:class:`~capitalcom_sdk._intent.DealRegistry`) is never the answer;
a single match that may predate the request, or another unsettled identical order, makes the
verdict AMBIGUOUS.

NOT_PLACED is only answered once the write can no longer be applied: ``late_apply_window``
seconds after the client gave up (a proxy or a server queue may still hold it). Before that the
verdict is AMBIGUOUS with ``check_after``; ``wait=True`` waits that long and checks again.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from capitalcom_sdk import _endpoints as ep
from capitalcom_sdk._flow import Sleep
from capitalcom_sdk._intent import DealRegistry, OrderIntent
from capitalcom_sdk._settings import DEFAULT_LATE_APPLY_WINDOW, DEFAULT_SKEW
from capitalcom_sdk.errors import (
    CapitalError,
    NotFoundError,
    OrderOutcomeUnknown,
    ReconcileAccountError,
)
from capitalcom_sdk.models.enums import DealStatus
from capitalcom_sdk.models.general import ServerTime
from capitalcom_sdk.models.history import Activity, ActivityHistory
from capitalcom_sdk.models.session import SessionDetails
from capitalcom_sdk.models.trading import (
    Confirm,
    Position,
    Positions,
    PositionWithMarket,
    WorkingOrder,
    WorkingOrders,
)

__all__ = [
    "ReconcileResult",
    "ReconcileStatus",
    "reconcile_flow",
]

_EARLY = 0.05
"""A match created this long before the request left may be an earlier identical order."""

_TOLERANCE = 1e-9
_REJECTED = frozenset({"REJECTED", "CANCEL_REJECT", "MODIFY_REJECT"})


class ReconcileStatus(StrEnum):
    """The verdict of :func:`reconcile_flow`."""

    FOUND = "FOUND"  # the order was applied: see deal_id / position / working_order / activity
    NOT_PLACED = "NOT_PLACED"  # it was not applied and no longer can be: sending again is safe
    AMBIGUOUS = "AMBIGUOUS"  # can't be told (yet): see candidates and check_after


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
        confirm: the deal confirmation, when the deal reference settled it.
        check_after: when AMBIGUOUS only because the write could still be applied late: the
            moment (UTC) after which reconciling again can answer NOT_PLACED.
    """

    status: ReconcileStatus
    deal_id: str | None = None
    position: Position | None = None
    working_order: WorkingOrder | None = None
    activity: Activity | None = None
    candidates: tuple[Any, ...] = ()
    request: dict[str, Any] = field(default_factory=dict)
    confirm: Confirm | None = None
    check_after: datetime | None = None

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


Check = Generator[ep.ApiCall[Any], Any, ReconcileResult | None]


def _by_confirm(intent: OrderIntent, request: dict[str, Any]) -> Check:
    """The verdict of the deal confirmation, when the server gave a reference and still has it."""
    if intent.deal_reference is None:
        return None
    try:
        confirm: Confirm = yield ep.CONFIRM.call({"dealReference": intent.deal_reference})
    except CapitalError:
        return None  # not (yet, or any more) there, or unreadable: look at the deals instead
    if confirm.deal_status == DealStatus.REJECTED:
        return ReconcileResult(ReconcileStatus.NOT_PLACED, request=request, confirm=confirm)
    if intent.placement:
        opened = confirm.opened_deal_ids if intent.on_position else []
        deal_id = opened[0] if opened else confirm.deal_id
    else:
        deal_id = intent.deal_id
    return ReconcileResult(ReconcileStatus.FOUND, deal_id=deal_id, request=request, confirm=confirm)


def _by_change(intent: OrderIntent, request: dict[str, Any]) -> Check:
    """Reconcile an amendment, close or cancel of an existing deal by reading it back.

    None when the deal shows no effect of the write (it may still come).
    """
    deal_id = intent.deal_id
    found: dict[str, Any] = {"deal_id": deal_id}
    current: Position | WorkingOrder | None
    if intent.on_position:
        try:
            entry: PositionWithMarket = yield ep.POSITION.call({"dealId": deal_id or ""})
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
        status = ReconcileStatus.FOUND if intent.removal else ReconcileStatus.AMBIGUOUS
        return ReconcileResult(status, request=request, **found)
    if intent.removal:
        return None
    verdict = _amendment_verdict(current, request, **found)
    return None if verdict.status is ReconcileStatus.NOT_PLACED else verdict


def _created(match: Any) -> datetime | None:
    if isinstance(match, Activity):
        return match.date_utc
    return match.created_date_utc  # type: ignore[no-any-return]


def _one_of(
    matches: Sequence[Any],
    intent: OrderIntent,
    twins: Sequence[OrderIntent],
    sent: datetime,
    request: dict[str, Any],
    **found: Any,
) -> ReconcileResult | None:
    """FOUND for one unattributed match that surely follows the request; else AMBIGUOUS."""
    if not matches:
        return None
    early = sent.timestamp() - _EARLY
    created = _created(matches[0])
    if (
        len(matches) > 1
        or twins  # another lost identical order could own it
        or (created is not None and created.timestamp() < early)  # may predate the request
    ):
        return ReconcileResult(
            ReconcileStatus.AMBIGUOUS, candidates=tuple(matches), request=request
        )
    return ReconcileResult(ReconcileStatus.FOUND, request=request, **found)


def _by_search(
    intent: OrderIntent,
    registry: DealRegistry,
    request: dict[str, Any],
    clock_skew: float,
    late_apply_window: float,
    clock: Callable[[], float],
) -> Check:
    """Look for the placed deal among positions, working orders and recent activity."""
    twins = registry.twins(
        intent, still_possible_after=intent.sent_at - clock_skew - late_apply_window
    )
    body = dict(intent.body)
    server: ServerTime = yield ep.SERVER_TIME.call()
    server_now = server.server_time / 1000.0
    offset = server_now - clock()  # the client's clock: sent_at was read on it
    sent_ts = intent.sent_at + offset
    sent = datetime.fromtimestamp(sent_ts, tz=UTC)
    since = datetime.fromtimestamp(sent_ts - clock_skew, tz=UTC)

    def mine(deal_id: str | None) -> bool:
        return not registry.taken_by_other(deal_id, intent)

    positions: Positions = yield ep.POSITIONS.call()
    position_matches = [
        entry.position
        for entry in positions.positions
        if _position_matches(
            entry.position, entry.market.epic if entry.market else None, body, since
        )
        and mine(entry.position.deal_id)
    ]
    is_order = not intent.on_position
    order_matches: list[WorkingOrder] = []
    if is_order:
        orders: WorkingOrders = yield ep.WORKING_ORDERS.call()
        order_matches = [
            entry.working_order_data
            for entry in orders.working_orders
            if _order_matches(entry.working_order_data, body, since)
            and mine(entry.working_order_data.deal_id)
        ]
    if order_matches or position_matches:
        both: list[Any] = [*order_matches, *position_matches]
        first = both[0]
        kind = "working_order" if order_matches else "position"
        return _one_of(both, intent, twins, sent, request, deal_id=first.deal_id, **{kind: first})

    last_period = min(86_400, max(1, math.ceil(server_now - sent_ts + clock_skew) + 1))
    history: ActivityHistory = yield ep.ACTIVITY.call(
        params={"lastPeriod": last_period, "detailed": True}
    )
    kinds = ("WORKING_ORDER", "POSITION") if is_order else ("POSITION",)
    # A filled order also leaves a POSITION activity; either proves it was placed.
    activities = [
        a
        for a in history.activities
        if any(_activity_matches(a, kind, body, since) for kind in kinds) and mine(a.deal_id)
    ]
    if not activities:
        return None
    # One deal may leave several activities (opened, then closed): group by deal id.
    oldest_by_deal: dict[str | None, Activity] = {}
    for activity in sorted(activities, key=lambda a: a.date_utc):
        oldest_by_deal.setdefault(activity.deal_id, activity)
    deals = list(oldest_by_deal.values())
    if len(deals) > 1:
        return ReconcileResult(
            ReconcileStatus.AMBIGUOUS, candidates=tuple(activities), request=request
        )
    oldest = deals[0]
    return _one_of(deals, intent, twins, sent, request, deal_id=oldest.deal_id, activity=oldest)


def reconcile_flow(
    exc: OrderOutcomeUnknown,
    *,
    registry: DealRegistry | None = None,
    clock_skew: float = DEFAULT_SKEW,
    late_apply_window: float = DEFAULT_LATE_APPLY_WINDOW,
    wait: bool = False,
    clock: Callable[[], float] = time.time,
) -> Generator[ep.ApiCall[Any] | Sleep, Any, ReconcileResult]:
    """The reconcile flow of any order write (run by a transport).

    ``clock`` is the client's ``clock.time`` (the one ``sent_at`` and ``gave_up_at`` were read
    on): the late-apply window and the clock offset are measured on it, so in a backtest they
    are simulated seconds, and ``wait=True`` waits through the client's clock (``Sleep``).

    Raises:
        ReconcileAccountError: the session is on another account than the write was sent on.
        ValueError: the exception is not about an order write.
    """
    intent = exc.intent
    if not intent.endpoint.order_write:
        raise ValueError(f"cannot reconcile {intent.endpoint.name}: it is not an order write")
    if late_apply_window < 0:
        raise ValueError("late_apply_window must be >= 0")
    registry = registry if registry is not None else DealRegistry()
    request = exc.request
    if intent.account_id is not None:
        details: SessionDetails = yield ep.SESSION_DETAILS.call()
        if details.account_id != intent.account_id:
            raise ReconcileAccountError(intent.account_id, details.account_id)
    while True:
        verdict = yield from _by_confirm(intent, request)
        if verdict is None:
            if intent.placement:
                verdict = yield from _by_search(
                    intent, registry, request, clock_skew, late_apply_window, clock
                )
            else:
                verdict = yield from _by_change(intent, request)
        if verdict is not None and (
            verdict.status is not ReconcileStatus.NOT_PLACED or verdict.confirm is not None
        ):
            break  # FOUND, AMBIGUOUS among candidates, or REJECTED by the confirm
        # No effect shown: NOT_PLACED only once the write can no longer be applied.
        deadline = (intent.gave_up_at or intent.sent_at) + late_apply_window
        remaining = deadline - clock()
        if remaining <= 0:
            verdict = ReconcileResult(
                ReconcileStatus.NOT_PLACED, deal_id=intent.deal_id, request=request
            )
            break
        if not wait:
            check_after = datetime.fromtimestamp(deadline, tz=UTC)
            return ReconcileResult(
                ReconcileStatus.AMBIGUOUS,
                deal_id=intent.deal_id,
                request=request,
                check_after=check_after,
            )
        yield Sleep(remaining)
    if verdict.status is not ReconcileStatus.AMBIGUOUS:
        registry.settled(intent)
        if verdict.status is ReconcileStatus.FOUND and intent.placement:
            registry.attribute([verdict.deal_id], intent)
    return verdict
