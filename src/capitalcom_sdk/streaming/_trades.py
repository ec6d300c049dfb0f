"""A polled feed of trade events, built from differences between REST snapshots.

The WebSocket API carries prices only; there is no push channel for positions and orders. The
feed polls ``GET /positions`` and ``GET /workingorders`` every ``interval`` seconds (two
requests per poll, well inside the 10 requests/s limit) and reports what changed since the
previous poll. Changes that start and end between two polls are not seen; times are the poll's.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Literal, Protocol, Self

from capitalcom_sdk._clock import Clock, WallClock, utc
from capitalcom_sdk.errors import RequestValidationError
from capitalcom_sdk.models.trading import Positions, WorkingOrders

TradeEventKind = Literal[
    "position.opened",
    "position.updated",
    "position.closed",
    "order.created",
    "order.updated",
    "order.deleted",
]
_POSITION_FIELDS = (
    "size",
    "level",
    "stop_level",
    "profit_level",
    "stop_distance",
    "profit_distance",
    "guaranteed_stop",
    "trailing_stop",
)
_ORDER_FIELDS = (
    "order_size",
    "order_level",
    "stop_level",
    "profit_level",
    "stop_distance",
    "profit_distance",
    "good_till_date_utc",
    "guaranteed_stop",
    "trailing_stop",
)


@dataclass(frozen=True, slots=True)
class TradeEvent:
    """A change seen between two polls.

    ``before``/``after`` are the position (:class:`~capitalcom_sdk.models.trading.Position`) or
    working order (:class:`~capitalcom_sdk.models.trading.WorkingOrder`) as last seen and as
    seen now (None for openings and closings respectively). ``changed`` names the fields that
    differ on updates. A closed position or deleted order may have been closed, stopped out,
    filled or cancelled: ask ``client.history`` to know which.
    """

    kind: TradeEventKind
    deal_id: str
    epic: str | None
    detected_at: datetime
    before: Any = None
    after: Any = None
    changed: tuple[str, ...] = ()


@dataclass(frozen=True)
class TradeSnapshot:
    """Open positions and working orders by deal id, with their epics."""

    positions: dict[str, tuple[Any, str | None]]
    orders: dict[str, tuple[Any, str | None]]

    @classmethod
    def of(cls, positions: Positions, orders: WorkingOrders) -> TradeSnapshot:
        return cls(
            {
                p.position.deal_id: (p.position, p.market.epic if p.market else None)
                for p in positions.positions
            },
            {
                o.working_order_data.deal_id: (o.working_order_data, o.working_order_data.epic)
                for o in orders.working_orders
            },
        )


def _diff(
    before: dict[str, tuple[Any, str | None]],
    after: dict[str, tuple[Any, str | None]],
    fields: tuple[str, ...],
    kinds: tuple[TradeEventKind, TradeEventKind, TradeEventKind],
    now: datetime,
) -> list[TradeEvent]:
    opened, updated, closed = kinds
    events = []
    for deal_id, (item, epic) in after.items():
        old = before.get(deal_id)
        if old is None:
            events.append(TradeEvent(opened, deal_id, epic, now, None, item))
            continue
        changed = tuple(f for f in fields if getattr(old[0], f, None) != getattr(item, f, None))
        if changed:
            events.append(TradeEvent(updated, deal_id, epic, now, old[0], item, changed))
    for deal_id, (item, epic) in before.items():
        if deal_id not in after:
            events.append(TradeEvent(closed, deal_id, epic, now, item, None))
    return events


def diff_snapshots(
    before: TradeSnapshot, after: TradeSnapshot, now: datetime | None = None
) -> list[TradeEvent]:
    """The trade events that turn ``before`` into ``after`` (positions first)."""
    when = now or datetime.now(UTC)  # a pure function: the feeds pass their client's time
    return _diff(
        before.positions,
        after.positions,
        _POSITION_FIELDS,
        ("position.opened", "position.updated", "position.closed"),
        when,
    ) + _diff(
        before.orders,
        after.orders,
        _ORDER_FIELDS,
        ("order.created", "order.updated", "order.deleted"),
        when,
    )


class _TradingClient(Protocol):
    @property
    def positions(self) -> Any: ...

    @property
    def orders(self) -> Any: ...


def _check_interval(interval: float) -> float:
    if not interval > 0:
        raise RequestValidationError("interval", "must be > 0")
    return float(interval)


class _Feed:
    """What both feeds keep: the last snapshot, the events not yet taken, the poll schedule."""

    def __init__(self, client: _TradingClient, interval: float = 1.0) -> None:
        self._client = client
        # The client's clock: the polls are spaced in simulated time in a backtest.
        self._clock: Clock = getattr(client, "clock", None) or WallClock()
        self.interval = _check_interval(interval)
        self._snapshot: TradeSnapshot | None = None
        self._pending: deque[TradeEvent] = deque()
        self._next_poll = 0.0
        self.polls = 0

    def _record(self, positions: Any, orders: Any) -> list[TradeEvent]:
        """Take the snapshot of a poll; returns (and queues) the events since the previous one."""
        snapshot = TradeSnapshot.of(positions, orders)
        clock = self._clock
        events = (
            []
            if self._snapshot is None
            else diff_snapshots(self._snapshot, snapshot, utc(clock.time()))
        )
        self._snapshot = snapshot
        self._pending.extend(events)
        self._next_poll = clock.monotonic() + self.interval
        self.polls += 1
        return events


class AsyncTradeFeed(_Feed):
    """``async for event in AsyncTradeFeed(client, interval=1.0)``: trade events by polling.

    The first poll sets the baseline (no events for what is already open).
    """

    async def __aenter__(self) -> Self:
        await self.poll()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    async def poll(self) -> list[TradeEvent]:
        """Take a snapshot now; returns (and queues) the events since the previous one."""
        positions = await self._client.positions.list()
        return self._record(positions, await self._client.orders.list())

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> TradeEvent:
        if self._snapshot is None:
            await self.poll()
        while not self._pending:
            await self._clock.asleep(max(0.0, self._next_poll - self._clock.monotonic()))
            await self.poll()
        return self._pending.popleft()


class TradeFeed(_Feed):
    """``for event in TradeFeed(client, interval=1.0)``: the blocking twin of
    :class:`AsyncTradeFeed` (same snapshots and differences)."""

    def __enter__(self) -> Self:
        self.poll()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    def poll(self) -> list[TradeEvent]:
        """Take a snapshot now; returns (and queues) the events since the previous one."""
        return self._record(self._client.positions.list(), self._client.orders.list())

    def __iter__(self) -> Iterator[TradeEvent]:
        return self

    def __next__(self) -> TradeEvent:
        if self._snapshot is None:
            self.poll()
        while not self._pending:
            self._clock.sleep(max(0.0, self._next_poll - self._clock.monotonic()))
            self.poll()
        return self._pending.popleft()
